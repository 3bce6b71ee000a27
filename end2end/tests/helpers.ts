import { test as base, expect, type BrowserContext, type Locator, type Page } from '@playwright/test';

export { expect };

/** Every test: a page of any context it opens that reports a Content-Security-Policy
 * violation (a blocked script, style or wasm compile) fails it, so the policy is known to
 * let every page work. Contexts made with `browser.newContext()` or `browser.newPage()`
 * are watched too. */
export const test = base.extend<{ cspViolations: string[] }>({
  cspViolations: [
    async ({ browser, context }, use) => {
      const violations: string[] = [];
      const watchPage = (page: Page) => {
        const note = (text: string) => {
          if (/Content.Security.Policy/i.test(text)) violations.push(`${page.url()}: ${text}`);
        };
        page.on('console', (msg) => note(msg.text()));
        page.on('pageerror', (err) => note(err.message));
      };
      const watch = (ctx: BrowserContext) => {
        ctx.pages().forEach(watchPage);
        ctx.on('page', watchPage);
      };
      watch(context);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (options) => {
        const ctx = await newContext(options);
        watch(ctx);
        return ctx;
      };
      try {
        await use(violations);
      } finally {
        browser.newContext = newContext;
      }
      expect(violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});

/** What the pages' own script would send with a request: the origin, without which the
 * server refuses a state change made with the session cookie. */
export function pageHeaders(page: Page) {
  return { Accept: 'application/json', Origin: new URL(page.url()).origin };
}

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

/** Creates a network on the Networks page and opens it. */
export async function openNewNetwork(page: Page, cidr: string, name: string) {
  await page.goto('/networks');
  await waitHydrated(page);
  const create = page.locator('section.card form');
  await create.getByLabel('CIDR').fill(cidr);
  await create.getByLabel('Name').fill(name);
  await create.getByRole('button', { name: 'Create network' }).click();
  await page.locator(`tr[data-network="${cidr}"]`).getByRole('link', { name: cidr }).click();
  // The network's page may wait for its chunk before it is shown (pages load on demand).
  await expect(page).toHaveURL(/\/networks\/\d+$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(cidr);
  await waitHydrated(page);
}

/** On an open network page: allocates the lowest free address once per entry of `ips`
 * (which must be those addresses, in order). */
export async function allocate(page: Page, ips: string[]) {
  const alloc = page.locator('section.card form');
  for (const ip of ips) {
    await alloc.getByRole('button', { name: 'Allocate' }).click();
    await expect(page.locator(`tr[data-address="${ip}"] .badge`)).toHaveText('Allocated');
  }
}

/** On an open network page: allocates `ips` as `allocate` does, then releases each. */
export async function allocateAndRelease(page: Page, ips: string[]) {
  await allocate(page, ips);
  await release(page, ips);
}

/** Opens the actions menu of an address row (`scope`), if it has one and it is closed. */
export async function openRowMenu(scope: Locator) {
  const menu = scope.locator('details.row-menu');
  if ((await menu.count()) !== 1) return;
  if ((await menu.getAttribute('open')) === null) await menu.locator('summary').first().click();
  await expect(menu).toHaveAttribute('open', '');
}

/** On an open network page: releases each of `ips`. */
export async function release(page: Page, ips: string[]) {
  for (const ip of ips) {
    const row = page.locator(`tr[data-address="${ip}"]`);
    await openRowMenu(row);
    await row.getByRole('button', { name: 'Release' }).click();
    await expect(row.locator('.badge')).toHaveText('Being checked');
  }
}

/** Starts a cycle from the dashboard and waits, without reloading, until the dashboard's
 * live view of it says it finished. */
export async function runCycleFromDashboard(page: Page) {
  await page.goto('/');
  await waitHydrated(page);
  await page.getByRole('button', { name: 'Run check now' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Check cycle started.' })).toBeVisible();
  await expect(page.locator('section.checks .run-progress')).toHaveAttribute('data-state', 'finished', {
    timeout: 20_000,
  });
  // The dashboard loads its figures again when it sees the cycle end: the button comes back.
  await expect(page.getByRole('button', { name: 'Run check now' })).toBeEnabled();
}

/** Creates a user on the Users page (as a signed-in admin). */
export async function createUser(page: Page, name: string, role: string, password: string) {
  await page.goto('/users');
  await waitHydrated(page);
  const form = page.locator('section.card form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Role').selectOption(role);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.locator(`tr[data-user="${name}"]`)).toContainText(role);
}

/**
 * Opens a destructive action's question (components/confirm.rs) under `scope`, whose first
 * button says `label`, unless it is open already, and returns the question's step, which
 * holds the button that acts.
 */
export async function openConfirm(scope: Locator, label: string): Promise<Locator> {
  await openRowMenu(scope);
  const details = scope
    .locator('details.confirm')
    .filter({ has: scope.page().locator('summary', { hasText: new RegExp(`^${label}$`) }) });
  await expect(details).toHaveCount(1);
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
  await expect(details).toHaveAttribute('open', '');
  return details.locator('.confirm-step');
}
