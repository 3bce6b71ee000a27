// The Content-Security-Policy in Chromium: every page hydrates under it, its scripts
// carry the response's nonce, and nothing is blocked (the shared fixture in helpers.ts
// fails any test whose pages report a violation).
import { adminPassword, openNewNetwork, signInOk, waitHydrated, watchConsole, expect, test } from './helpers';

test('every page hydrates under its Content-Security-Policy', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '198.18.250.0/29', 'csp');
  const network = new URL(page.url()).pathname;
  const nonces = new Set<string>();
  for (const path of [
    '/',
    '/networks',
    network,
    '/address?ip=198.18.250.1',
    '/problems',
    '/dnsbl',
    '/checks',
    '/sites',
    '/settings',
    '/users',
    '/alerts',
    '/audit',
    '/tokens',
    '/api',
    '/account',
  ]) {
    const res = await page.goto(path);
    const policy = res!.headers()['content-security-policy'] ?? '';
    expect(policy, path).toContain("'wasm-unsafe-eval'");
    expect(policy, path).toContain("frame-ancestors 'none'");
    const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
    expect(nonce, path).toBeTruthy();
    nonces.add(nonce!);
    await waitHydrated(page);
  }
  expect(nonces.size, 'a fresh nonce per response').toBe(15);
  // The hydrated app still works: navigating and a server function's answer.
  await page.goto('/networks');
  await waitHydrated(page);
  await expect(page.locator('tr[data-network="198.18.250.0/29"] meter.bar')).toHaveAttribute('value', '0');
  await page.getByRole('link', { name: '198.18.250.0/29' }).click();
  await expect(page.locator('tr[data-address="198.18.250.1"]')).toBeVisible();
  expect(errors).toEqual([]);
});
