import { adminPassword, createUser, signInOk, unique, waitHydrated, watchConsole, expect, test, pageHeaders } from './helpers';

test('an admin creates an operator, who sees no Users page and is refused admin functions', async ({
  page,
  browser,
}) => {
  const errors = watchConsole(page);
  const name = unique('op');
  const password = 'operator long password';

  await signInOk(page, 'admin', adminPassword);
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible();
  await waitHydrated(page);
  const form = page.locator('section.card form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Role').selectOption('operator');
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByRole('status')).toHaveText('User created.');
  const row = page.locator(`tr[data-user="${name}"]`);
  await expect(row).toContainText('operator');
  expect(errors).toEqual([]);

  const context = await browser.newContext();
  const operator = await context.newPage();
  await signInOk(operator, name, password);
  const nav = operator.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Networks' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Settings' })).toHaveCount(0);

  await operator.goto('/users');
  await expect(operator.getByRole('alert')).toHaveText('Your role does not allow this.');

  // Forged calls with the operator's own session are refused by the server.
  const headers = pageHeaders(operator);
  expect((await operator.request.post('/api/users/list', { headers })).status()).toBe(403);
  const forged = await operator.request.post('/api/users/create', {
    headers,
    form: { name: unique('forged'), role: 'admin', password: 'forged long password' },
  });
  expect(forged.status()).toBe(403);
  await context.close();
});

test('an admin disables a user and that user is signed out at once', async ({ page, browser }) => {
  const name = unique('viewer');
  const password = 'viewer long password';
  await signInOk(page, 'admin', adminPassword);
  await createUser(page, name, 'viewer', password);
  const row = page.locator(`tr[data-user="${name}"]`);
  await expect(row).toContainText('active');

  const context = await browser.newContext();
  const viewer = await context.newPage();
  await signInOk(viewer, name, password);

  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toContainText('disabled');
  await viewer.reload();
  await expect(viewer).toHaveURL(/\/login$/);
  await context.close();
});
