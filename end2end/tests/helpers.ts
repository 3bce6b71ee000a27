import { expect, type Page } from '@playwright/test';

export const adminPassword = process.env.IPVET_E2E_ADMIN_PASSWORD!;

/** Collects console errors and uncaught exceptions; a test asserts the list stays empty. */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/** Clicks before hydration are lost: wait until the wasm app has taken over the page. */
export async function waitHydrated(page: Page) {
  await page.waitForFunction(() => (window as any).ipvetHydrated === true, null, { timeout: 20_000 });
}

export async function signIn(page: Page, name: string, password: string, { js = true } = {}) {
  await page.goto('/login');
  if (js) await waitHydrated(page);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function signInOk(page: Page, name: string, password: string, opts = { js: true }) {
  await signIn(page, name, password, opts);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await expect(page.getByTestId('whoami')).toContainText(name);
}

export function unique(prefix: string) {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
}
