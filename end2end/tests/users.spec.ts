import { resolve } from 'node:path';
import { adminPassword, createUser, openConfirm, signInOk, unique, waitHydrated, watchConsole, expect, test, pageHeaders } from './helpers';

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

  const disable = await openConfirm(row, 'Disable');
  await expect(disable).toContainText(`Disable ${name}? Their sessions and API tokens stop working at once`);
  await disable.getByRole('button', { name: `Disable ${name}` }).click();
  await expect(row).toContainText('disabled');
  await viewer.reload();
  await expect(viewer).toHaveURL(/\/login$/);
  await context.close();
});

test('a user changes their own password: this session stays, the others end', async ({ page, browser }) => {
  const errors = watchConsole(page);
  const name = unique('self');
  const first = 'first long password';
  const second = 'second long password';
  const third = 'third long password!';
  await signInOk(page, 'admin', adminPassword);
  await createUser(page, name, 'viewer', first);

  const mine = await browser.newContext();
  const me = await mine.newPage();
  const meErrors = watchConsole(me);
  await signInOk(me, name, first);
  const other = await browser.newContext();
  const elsewhere = await other.newPage();
  await signInOk(elsewhere, name, first);

  // The name in the top bar leads to the account page.
  await waitHydrated(me);
  await me.getByTestId('whoami').click();
  await expect(me.getByRole('heading', { name: 'Your account' })).toBeVisible();
  await expect(me.getByTestId('account-name')).toHaveText(name);
  const form = me.locator('section.change-password form');
  await form.getByLabel('Current password').fill('not my password at all');
  await form.getByLabel('New password', { exact: true }).fill(second);
  await form.getByLabel('New password again').fill(second);
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(me.getByRole('alert')).toHaveText('The current password is wrong.');

  await form.getByLabel('Current password').fill(first);
  await form.getByLabel('New password', { exact: true }).fill(second);
  await form.getByLabel('New password again').fill(second);
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(me.getByRole('status')).toHaveText('Password changed. Your other sessions have ended.');
  const shots = resolve(__dirname, '../../target/e2e/screenshots');
  await me.screenshot({ path: resolve(shots, 'account.png'), fullPage: true });
  await me.setViewportSize({ width: 390, height: 844 });
  await me.screenshot({ path: resolve(shots, 'phone-account.png'), fullPage: true });

  // This session still works; the other one was signed out.
  await me.goto('/networks');
  await expect(me.getByRole('heading', { name: 'Networks' })).toBeVisible();
  await elsewhere.goto('/networks');
  await expect(elsewhere).toHaveURL(/\/login$/);
  await signInOk(elsewhere, name, second);
  await other.close();

  // The same form without JavaScript: a plain post, the answer in the page again.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const nojs = await plain.newPage();
  await signInOk(nojs, name, second, { js: false });
  await nojs.goto('/account');
  const plainForm = nojs.locator('section.change-password form');
  await plainForm.getByLabel('Current password').fill(second);
  await plainForm.getByLabel('New password', { exact: true }).fill(third);
  await plainForm.getByLabel('New password again').fill('third long password?');
  await plainForm.getByRole('button', { name: 'Change password' }).click();
  await expect(nojs.getByRole('alert')).toHaveText('The new password and its repetition differ.');
  await nojs.locator('section.change-password form').getByLabel('Current password').fill(second);
  await nojs.locator('section.change-password form').getByLabel('New password', { exact: true }).fill(third);
  await nojs.locator('section.change-password form').getByLabel('New password again').fill(third);
  await nojs.locator('section.change-password form').getByRole('button', { name: 'Change password' }).click();
  await expect(nojs.getByRole('heading', { name: 'Your account' })).toBeVisible();
  await nojs.goto('/networks');
  await expect(nojs.getByRole('heading', { name: 'Networks' })).toBeVisible();
  // The JavaScript session was one of the others.
  await me.goto('/networks');
  await expect(me).toHaveURL(/\/login$/);
  await signInOk(me, name, third);
  await plain.close();
  await mine.close();
  expect(errors).toEqual([]);
  // The one error is the refused wrong current password (400).
  expect(meErrors).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
});
