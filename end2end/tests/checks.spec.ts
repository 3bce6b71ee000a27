import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { adminPassword, allocate, openNewNetwork, release, signInOk, watchConsole, expect, test } from './helpers';

// The e2e server's checker script finds an address in use when this directory holds a
// file named after it (see fixtures/checker.sh).
const answering = resolve(__dirname, '../../target/e2e/answering');

test('released addresses are checked by "Run check now": one freed, one a problem with its reason', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '198.18.30.0/24', 'checked');
  await allocate(page, ['198.18.30.1', '198.18.30.2']);
  // Something starts answering on .2 after it was handed out.
  mkdirSync(answering, { recursive: true });
  writeFileSync(resolve(answering, '198.18.30.2'), '');
  await release(page, ['198.18.30.1', '198.18.30.2']);

  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await expect(page.locator('section.checks')).toContainText('Availability is checked by the checker script');
  await page.getByRole('button', { name: 'Run check now' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Check cycle started.' })).toBeVisible();
  // The cycle runs in the background; the dashboard shows it once it is over.
  await expect(async () => {
    await page.reload();
    // Other tests' addresses may be in the same cycle, so the counts are at least ours.
    await expect(page.locator('section.checks .last-run')).toContainText(
      /finished .*\. \d+ checked: [1-9]\d* freed, [1-9]\d* used in network, \d+ blocked by DNSBL, 0 inconclusive\./,
      { timeout: 1000 },
    );
  }).toPass({ timeout: 20_000 });

  await page.goto('/networks');
  await page.locator('tr[data-network="198.18.30.0/24"]').getByRole('link', { name: '198.18.30.0/24' }).click();
  await expect(page.locator('tr[data-address="198.18.30.1"] .badge')).toHaveText('Free');
  const used = page.locator('tr[data-address="198.18.30.2"]');
  await expect(used.locator('.badge')).toHaveText('Used in network');
  await used.getByRole('link', { name: '198.18.30.2' }).click();
  await expect(page.locator('dl')).toContainText('checker script: reply from 198.18.30.2 (test marker)');
  const latest = page.locator('ol.timeline li').first();
  await expect(latest).toContainText('checker');
  await expect(latest).toContainText('availability check: in use');
  await expect(latest.locator('.evidence')).toHaveText('checker script: reply from 198.18.30.2 (test marker)');
  expect(errors).toEqual([]);
});

test('an admin sets a network\'s check policy on its page, and the page says how it is checked', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '198.18.31.0/24', 'policy');
  await expect(page.locator('p.check-policy')).toHaveText('Checked with the configured probes and the DNSBL zones.');
  await page.locator('details.check-policy-form summary').click();
  const form = page.locator('details.check-policy-form form');
  await form.getByLabel('Only these:').check();
  await form.getByLabel('ICMP echo').check();
  await form.getByLabel('ARP / neighbour discovery (on-link)').check();
  await form.getByLabel(/Ask the DNSBL zones/).uncheck();
  await form.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Check policy saved.' })).toBeVisible();
  await expect(page.locator('p.check-policy')).toHaveText('Checked with the probes icmp arp; DNSBL off.');
  await page.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/network-check-policy.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/phone-network-check-policy.png'), fullPage: true });
  // The address table scrolls inside itself: the page is never wider than the phone.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  expect(errors).toEqual([]);
  // Ticking nothing is refused with a reason (a 400, which the console reports), and the
  // saved policy stays.
  await page.setViewportSize({ width: 1280, height: 800 });
  await form.getByLabel('ICMP echo').uncheck();
  await form.getByLabel('ARP / neighbour discovery (on-link)').uncheck();
  await form.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Tick at least one probe method' })).toBeVisible();
  await page.reload();
  await expect(page.locator('p.check-policy')).toHaveText('Checked with the probes icmp arp; DNSBL off.');
  expect(errors).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
});

test('a private network starts with DNSBL off', async ({ page }) => {
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '10.77.0.0/24', 'private');
  await expect(page.locator('p.check-policy')).toHaveText('Checked with the configured probes; DNSBL off.');
});
