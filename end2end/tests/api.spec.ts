// API tokens and the REST API page in Chromium: a user makes a token, sees its secret
// once, a program uses it over /api/v1, and revoking it locks the program out.
import { resolve } from 'node:path';
import { adminPassword, createUser, openConfirm, signInOk, unique, waitHydrated, watchConsole, expect, test } from './helpers';

const shots = resolve(__dirname, '../../target/e2e/screenshots');

test('a token made on the Tokens page works on the API until it is revoked', async ({ page, request }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  const operator = unique('api-op');
  await createUser(page, operator, 'operator', 'operator pass phrase 1');

  await page.goto('/tokens');
  await waitHydrated(page);
  const name = unique('billing');
  const form = page.locator('section.card form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('For').selectOption({ label: `${operator} (operator)` });
  await form.getByRole('button', { name: 'Make token' }).click();
  const secret = (await page.locator('code.secret-value').innerText()).trim();
  expect(secret).toMatch(/^ipvet_[0-9a-f]{64}$/);
  await page.screenshot({ path: resolve(shots, 'tokens.png'), fullPage: true });
  const row = page.locator(`tr[data-token="${name}"]`);
  await expect(row).toContainText(operator);
  await expect(row).toContainText('never');
  await expect(row).toContainText('live');

  // The program: plain HTTP with the token, no cookie.
  const auth = { Authorization: `Bearer ${secret}` };
  const cidr = '198.18.60.0/29';
  const made = await request.post('/api/v1/networks', { headers: auth, data: { cidr, name: 'api e2e' } });
  expect(made.status()).toBe(403); // an operator's token creates no network
  const adminToken = await (async () => {
    const f = page.locator('section.card form');
    await f.getByLabel('Name').fill(unique('admin-tool'));
    await f.getByLabel('For').selectOption({ label: 'admin (admin)' });
    await f.getByRole('button', { name: 'Make token' }).click();
    await expect(page.locator('code.secret-value')).not.toHaveText(secret);
    return (await page.locator('code.secret-value').innerText()).trim();
  })();
  const net = await request.post('/api/v1/networks', {
    headers: { Authorization: `Bearer ${adminToken}` },
    data: { cidr, name: 'api e2e' },
  });
  expect(net.status()).toBe(201);
  const { id } = await net.json();
  const alloc = await request.post(`/api/v1/networks/${id}/allocations`, {
    headers: { ...auth, 'Idempotency-Key': unique('order') },
    data: { owner: 'e2e' },
  });
  expect(alloc.status()).toBe(201);
  expect((await alloc.json()).address).toBe('198.18.60.1');

  // Last use shows on the page; revoking locks the program out at once.
  await page.reload();
  await waitHydrated(page);
  await expect(row).not.toContainText('never');
  const revoke = await openConfirm(row, 'Revoke');
  await expect(revoke).toContainText(`Revoke the token “${name}”?`);
  await revoke.getByRole('button', { name: `Revoke ${name}` }).click();
  await expect(row).toContainText('revoked');
  const after = await request.get('/api/v1/networks', { headers: auth });
  expect(after.status()).toBe(401);
  expect((await after.json()).error.code).toBe('unauthenticated');
  expect(errors).toEqual([]);
});

test('the API page lists every endpoint from the OpenAPI document', async ({ page, request }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await page.goto('/api');
  await waitHydrated(page);
  await expect(page.getByRole('heading', { name: 'REST API' })).toBeVisible();
  const doc = await (await request.get('/api/v1/openapi.json')).json();
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const method of Object.keys(item)) {
      await expect(page.locator(`[data-endpoint="${method.toUpperCase()} ${path}"]`)).toBeVisible();
    }
  }
  await expect(page.locator('[data-endpoint="POST /api/v1/networks/{id}/allocations"]')).toContainText('Idempotency-Key');
  await expect(page.locator('#schema-Address')).toContainText('last_checked_at');
  await page.screenshot({ path: resolve(shots, 'api.png'), fullPage: false });
  // The index lists every endpoint under its tag and jumps to it.
  const index = page.getByRole('navigation', { name: 'Endpoints by tag' });
  const operations = Object.values<any>(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  await expect(index.locator('ul ul li')).toHaveCount(operations);
  await index.getByRole('link', { name: 'PATCH /api/v1/addresses/{ip}' }).click();
  await expect(page).toHaveURL(/#patch--api-v1-addresses--ip-$/);
  await expect(page.locator('[data-endpoint="PATCH /api/v1/addresses/{ip}"]')).toBeInViewport();
  expect(errors).toEqual([]);
});

test('without JavaScript the Tokens page offers no form that could not show its secret', async ({ browser, page }) => {
  await signInOk(page, 'admin', adminPassword);
  const operator = unique('nojs-op');
  await createUser(page, operator, 'operator', 'operator pass phrase 2');
  const context = await browser.newContext({ javaScriptEnabled: false });
  const nojs = await context.newPage();
  await signInOk(nojs, operator, 'operator pass phrase 2', { js: false });
  await nojs.goto('/tokens');
  await expect(nojs.getByRole('button', { name: 'Make token' })).toBeHidden();
  await expect(nojs.locator('section.card p.needs-script')).toBeVisible();
  await expect(nojs.locator('section.card')).toContainText('Making a token needs JavaScript');
  // An operator is not sent to a server command only an admin of the machine can run.
  await expect(nojs.locator('section.card')).not.toContainText('ipvet token create');
  await nojs.screenshot({ path: resolve(shots, 'nojs-tokens.png'), fullPage: true });
  await context.close();
  // With JavaScript the form is there and the notice is not.
  await page.goto('/tokens');
  await waitHydrated(page);
  await expect(page.getByRole('button', { name: 'Make token' })).toBeVisible();
  await expect(page.locator('section.card p.needs-script')).toBeHidden();
});
