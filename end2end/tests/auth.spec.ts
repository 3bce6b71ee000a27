import { adminPassword, signIn, signInOk, waitHydrated, watchConsole, expect, test, pageHeaders } from './helpers';

test('a wrong password is refused', async ({ page }) => {
  const errors = watchConsole(page);
  await signIn(page, 'admin', 'not the password');
  await expect(page.getByRole('alert')).toHaveText('Wrong user name or password.');
  await expect(page).toHaveURL(/\/login/);
  // The refused sign-in answers 401 on purpose; that is the only console line allowed.
  expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
});

test('the right password signs in and the hydrated app navigates without reloading', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await expect(page.getByRole('cell', { name: 'Being checked' })).toBeVisible();

  // A client-side navigation keeps the window's state; a full page load would not.
  await waitHydrated(page);
  await page.evaluate(() => ((window as any).sameDocument = true));
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible();
  expect(await page.evaluate(() => (window as any).sameDocument)).toBe(true);
  expect(errors).toEqual([]);
});

test('signing out ends the session and the old cookie is dead', async ({ page, browser }) => {
  await signInOk(page, 'admin', adminPassword);
  const cookies = await page.context().cookies();
  expect(cookies.map((c) => c.name)).toContain('ipvet_session');
  await waitHydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);

  // Someone who copied the cookie before sign-out gets nothing with it.
  const thief = await browser.newContext();
  await thief.addCookies(cookies);
  const stolen = await thief.newPage();
  await stolen.goto('/');
  await expect(stolen).toHaveURL(/\/login$/);
  const res = await stolen.request.post('/api/users/list', { headers: pageHeaders(stolen) });
  expect(res.status()).toBe(401);
  await thief.close();
});

test('pages work without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, 'admin', 'wrong again', { js: false });
  await expect(page.getByRole('alert')).toHaveText('Wrong user name or password.');
  await signInOk(page, 'admin', adminPassword, { js: false });
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await context.close();
});
