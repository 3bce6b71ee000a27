// Axe's WCAG 2 A and AA rules on every page an admin works in, as drawn with JavaScript,
// after a network and an address exist so the pages have their tables and forms.
import AxeBuilder from '@axe-core/playwright';
import { adminPassword, openNewNetwork, signInOk, waitHydrated, expect, test } from './helpers';

test('every page passes axe (WCAG 2 A and AA)', async ({ page }) => {
  test.setTimeout(90_000);
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '198.18.46.0/24', 'axe');
  const networkPath = new URL(page.url()).pathname;
  const alloc = page.locator('section.card form').filter({ has: page.getByRole('button', { name: 'Allocate' }) });
  await alloc.getByLabel('Owner').fill('Axe');
  await alloc.getByRole('button', { name: 'Allocate' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Allocated 198.18.46.1 to Axe.' })).toBeVisible();
  const paths = [
    '/', '/networks', networkPath, '/address?ip=198.18.46.1', '/problems', '/dnsbl', '/checks',
    '/sites', '/tokens', '/api', '/settings', '/users', '/alerts', '/audit', '/account', '/search?q=axe',
  ];
  const found: string[] = [];
  for (const path of paths) {
    await page.goto(path);
    await waitHydrated(page);
    const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
    for (const v of result.violations) {
      found.push(`${path}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
    }
  }
  expect(found).toEqual([]);
});
