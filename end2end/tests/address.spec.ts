import { resolve } from 'node:path';
import { adminPassword, createUser, openConfirm, openNewNetwork, signInOk, unique, waitHydrated, watchConsole, expect, test } from './helpers';

const shots = resolve(__dirname, '../../target/e2e/screenshots');

test('an address page edits the holder and moves the address through its lifecycle', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '198.18.41.0/29', 'address page');
  const alloc = page.locator('section.card form').filter({ has: page.getByRole('button', { name: 'Allocate' }) });
  await alloc.getByLabel('Owner').fill('Acme');
  await alloc.getByRole('button', { name: 'Allocate' }).click();
  await expect(page.locator('tr[data-address="198.18.41.1"] .badge')).toHaveText('Allocated');

  await page.goto('/address?ip=198.18.41.1');
  await waitHydrated(page);
  const heading = page.getByRole('heading', { level: 1 });
  const actions = page.locator('section.address-actions');
  const edit = actions.locator('form.edit-holder');
  await expect(edit.getByLabel('Owner')).toHaveValue('Acme');
  await edit.getByLabel('Owner').fill('Acme Ltd');
  await edit.getByLabel('Host name').fill('web7.example');
  await edit.getByLabel('Note').fill('rack 2');
  await edit.getByRole('button', { name: 'Save holder' }).click();
  const saved = page.getByRole('status').filter({ hasText: 'Saved the holder of 198.18.41.1.' });
  await expect(saved).toBeVisible();
  await expect(page.locator('dl.fields')).toContainText('web7.example');
  // Times say how long ago they were on hover, and what they are to a machine.
  const since = page.locator('dl.fields time').first();
  await expect(since).toHaveAttribute('title', /^(just now|\d+ min ago)$/);
  await expect(since).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  await expect(page.locator('ol.timeline li').first()).toContainText('holder edited');
  await expect(page.locator('ol.timeline li').first()).toContainText('Acme Ltd · web7.example · rack 2');
  // A bad host name is refused with the reason, and nothing changes.
  await edit.getByLabel('Host name').fill('bad host');
  await edit.getByRole('button', { name: 'Save holder' }).click();
  await expect(page.getByRole('alert')).toHaveText('`bad host` is not a host name.');
  await expect(saved).toHaveCount(0);
  await page.screenshot({ path: resolve(shots, 'address-actions.png'), fullPage: true });

  await actions.getByRole('button', { name: 'Release' }).click();
  await expect(heading).toHaveText('198.18.41.1 Being checked');
  await expect(page.getByRole('status').filter({ hasText: 'Released 198.18.41.1: it is being checked' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);

  // Force-free, keyboard only: the question opens with Enter, the reason is typed, Enter frees.
  await actions.locator('details.confirm summary').focus();
  await page.keyboard.press('Enter');
  const confirm = actions.locator('.confirm-step');
  await expect(confirm).toContainText('Force-free 198.18.41.1 without checks?');
  await page.keyboard.press('Tab');
  await expect(confirm.getByLabel('Reason for force-free')).toBeFocused();
  await page.keyboard.type('wrongly held');
  await page.keyboard.press('Enter');
  await expect(heading).toHaveText('198.18.41.1 Free');
  await expect(page.locator('ol.timeline li').first()).toContainText('wrongly held');

  const reserve = actions.locator('form.reserve-here');
  await reserve.getByLabel('Reason').fill('maintenance');
  await reserve.getByRole('button', { name: 'Reserve' }).click();
  await expect(heading).toHaveText('198.18.41.1 Reserved');
  await actions.getByRole('button', { name: 'Unreserve' }).click();
  await expect(heading).toHaveText('198.18.41.1 Free');
  const here = actions.locator('form.allocate-here');
  await here.getByLabel('Owner').fill('Beta');
  await here.getByRole('button', { name: 'Allocate' }).click();
  await expect(heading).toHaveText('198.18.41.1 Allocated');
  const told = page.getByRole('status').filter({ hasText: 'Allocated 198.18.41.1 to Beta.' });
  await expect(told.getByRole('link', { name: '198.18.41.1' })).toHaveAttribute('href', '/address?ip=198.18.41.1');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: resolve(shots, 'phone-address-actions.png'), fullPage: true });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  expect(errors.filter((e) => !e.includes('400'))).toEqual([]);

  // A viewer sees the address and no action.
  const name = unique('viewer');
  await createUser(page, name, 'viewer', 'viewer long password');
  const context = await page.context().browser()!.newContext();
  const viewer = await context.newPage();
  await signInOk(viewer, name, 'viewer long password');
  await viewer.goto('/address?ip=198.18.41.1');
  await expect(viewer.locator('section.address-actions')).toContainText('Viewers see addresses; operators change them.');
  await expect(viewer.locator('section.address-actions form')).toHaveCount(0);
  await context.close();
});

test('without JavaScript, the address page edits and releases, saying what it did', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signInOk(page, 'admin', adminPassword, { js: false });
  await page.goto('/networks');
  const create = page.locator('section.card form');
  await create.getByLabel('CIDR').fill('198.18.42.0/29');
  await create.getByLabel('Name').fill('nojs address page');
  await create.getByRole('button', { name: 'Create network' }).click();
  await page.goto('/address?ip=198.18.42.3');
  const heading = page.getByRole('heading', { level: 1 });
  await expect(heading).toHaveText('198.18.42.3 Free');
  const here = page.locator('form.allocate-here');
  await here.getByLabel('Owner').fill('Gamma');
  await here.getByRole('button', { name: 'Allocate' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Allocated 198.18.42.3 to Gamma.' })).toBeVisible();
  await expect(heading).toHaveText('198.18.42.3 Allocated');
  const edit = page.locator('form.edit-holder');
  await edit.getByLabel('Host name').fill('gamma.example');
  await edit.getByRole('button', { name: 'Save holder' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved the holder of 198.18.42.3.' })).toBeVisible();
  await expect(page.locator('dl.fields')).toContainText('gamma.example');
  await page.locator('section.address-actions').getByRole('button', { name: 'Release' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Released 198.18.42.3' })).toBeVisible();
  await expect(heading).toHaveText('198.18.42.3 Being checked');
  await page.screenshot({ path: resolve(shots, 'nojs-address-actions.png'), fullPage: true });
  await context.close();
});

test('the allocation form works from the keyboard alone', async ({ page }) => {
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '198.18.47.0/29', 'keyboard');
  const alloc = page.locator('section.card form').filter({ has: page.getByRole('button', { name: 'Allocate' }) });
  await alloc.getByLabel('Address').focus();
  await page.keyboard.type('198.18.47.3');
  for (const text of ['Keys Inc', 'kb.example', 'typed']) {
    await page.keyboard.press('Tab');
    await page.keyboard.type(text);
  }
  await page.keyboard.press('Tab');
  await expect(alloc.getByRole('button', { name: 'Allocate' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('status').filter({ hasText: 'Allocated 198.18.47.3 to Keys Inc.' })).toBeVisible();
  await expect(page.locator('tr[data-address="198.18.47.3"]')).toContainText('kb.example');
});
