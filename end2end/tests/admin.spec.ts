// The admin pages in Chromium: Problem IPs, the DNSBL blacklists module, check runs with
// their live progress, the config page and the audit log, by role, with and without
// JavaScript. Zones are served by the e2e DNS server from files under target/e2e/dnsbl/;
// the checker script finds an address in use while target/e2e/answering/ names it.
import { type Page } from '@playwright/test';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  adminPassword,
  allocate,
  allocateAndRelease,
  createUser,
  openConfirm,
  openNewNetwork,
  release,
  runCycleFromDashboard,
  signInOk,
  unique,
  waitHydrated,
  watchConsole,
  expect,
  test,
  pageHeaders,
} from './helpers';

// These walk whole workflows, cycles included: more than the default 30 s each.
test.describe.configure({ timeout: 120_000 });

const e2e = resolve(__dirname, '../../target/e2e');
const zones = resolve(e2e, 'dnsbl');
const answering = resolve(e2e, 'answering');
const shots = resolve(e2e, 'screenshots');

function zoneFile(zone: string, lines: string[] = []) {
  mkdirSync(zones, { recursive: true });
  writeFileSync(resolve(zones, zone), lines.map((l) => `${l}\n`).join(''));
}

function answers(ip: string, yes: boolean) {
  mkdirSync(answering, { recursive: true });
  if (yes) writeFileSync(resolve(answering, ip), '');
  else rmSync(resolve(answering, ip), { force: true });
}

async function addZone(page: Page, zone: string) {
  await page.goto('/dnsbl');
  await waitHydrated(page);
  const form = page.locator('section.add-zone form');
  await form.getByLabel('Zone').fill(zone);
  await form.getByRole('button', { name: 'Add zone' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Zone added.' })).toBeVisible();
  return page.locator(`table.zones tr[data-zone="${zone}"]`);
}

async function deleteZone(page: Page, zone: string) {
  await page.goto('/dnsbl');
  await waitHydrated(page);
  const row = page.locator(`table.zones tr[data-zone="${zone}"]`);
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(row).toHaveCount(0);
}

/** Opens a <details> unless it is open already (a re-rendered row may keep its state). */
async function openDetails(details: ReturnType<Page['locator']>) {
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
  await expect(details).toHaveAttribute('open', '');
}

async function saveSetting(page: Page, key: string, value: string) {
  await page.goto('/settings');
  await waitHydrated(page);
  const row = page.locator(`tr[data-key="${key}"]`);
  const input = row.getByLabel(`${key} value`);
  if ((await input.evaluate((el) => el.tagName)) === 'SELECT') await input.selectOption(value);
  else await input.fill(value);
  await row.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved; in effect now.' })).toBeVisible();
  await expect(row.locator('.source')).toContainText('saved here by admin');
  return row;
}

async function resetSetting(page: Page, key: string) {
  await page.goto('/settings');
  await waitHydrated(page);
  const row = page.locator(`tr[data-key="${key}"]`);
  await row.getByRole('button', { name: 'Back to default' }).click();
  await expect(row.locator('.source')).toHaveText('default');
}

const PAGES: [string, string][] = [
  ['/', 'Dashboard'],
  ['/problems', 'Problem IPs'],
  ['/dnsbl', 'DNSBL blacklists'],
  ['/checks', 'Check runs'],
  ['/sites', 'Sites'],
  ['/settings', 'Settings'],
  ['/alerts', 'Alerts'],
  ['/audit', 'Audit log'],
];

test('every admin page renders hydrated with no console errors, and without JavaScript', async ({ page, browser }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  for (const [path, heading] of PAGES) {
    await page.goto(path);
    await waitHydrated(page);
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
    await page.screenshot({ path: resolve(shots, `${heading.toLowerCase().replace(/ /g, '-')}.png`), fullPage: true });
  }
  // The dashboard's chart fills its card; the days before this run had no cycle and say
  // so, hatched; on a phone the page keeps the screen's width.
  await page.goto('/');
  await waitHydrated(page);
  const chart = page.locator('.problem-chart');
  await expect(chart.locator('g.no-data').first()).toBeAttached();
  const [svgBox, chartBox] = [await chart.locator('svg').boundingBox(), await chart.boundingBox()];
  expect(svgBox!.width).toBeGreaterThan(chartBox!.width - 40);
  await expect(chart.locator('.tick').first()).not.toHaveText('1');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: resolve(shots, 'phone-dashboard.png'), fullPage: true });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  // A word wider than the screen (the checker script's path on a deeper checkout: CI's
  // widened this page) wraps instead of widening the page.
  await page.locator('section.checks p').first().evaluate((p) => {
    p.textContent = `Availability is checked by the checker script /srv/${'nesteddirectory/'.repeat(5)}checker.sh.`;
  });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.setViewportSize({ width: 1280, height: 800 });
  // Client-side navigation between them, without reloads.
  await page.goto('/');
  await waitHydrated(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const [, heading] of PAGES.slice(1)) {
    const link = heading === 'DNSBL blacklists' ? 'DNSBL' : heading;
    await nav.getByRole('link', { name: link, exact: true }).click();
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
  }
  expect(await page.evaluate(() => (window as any).ipvetHydrated)).toBe(true);
  expect(errors).toEqual([]);

  const context = await browser.newContext({ javaScriptEnabled: false });
  const plain = await context.newPage();
  await signInOk(plain, 'admin', adminPassword, { js: false });
  for (const [path, heading] of PAGES) {
    await plain.goto(path);
    await expect(plain.getByRole('heading', { name: heading, exact: true })).toBeVisible();
    await plain.screenshot({ path: resolve(shots, `nojs-${heading.toLowerCase().replace(/ /g, '-')}.png`), fullPage: true });
  }
  await plain.goto('/settings');
  await expect(plain.locator('table.settings tr[data-key="CheckPeriod"]')).toBeVisible();
  await plain.goto('/');
  await expect(plain.locator('.problem-chart svg')).toBeVisible();
  // A change without JavaScript: a plain form post, and the page again.
  await plain.goto('/dnsbl');
  const form = plain.locator('section.add-zone form');
  await form.getByLabel('Zone').fill('nojs.e2e.test');
  await form.getByRole('button', { name: 'Add zone' }).click();
  await expect(plain.locator('tr[data-zone="nojs.e2e.test"]')).toBeVisible();
  await plain.locator('tr[data-zone="nojs.e2e.test"]').getByRole('button', { name: 'Delete' }).click();
  await expect(plain.locator('tr[data-zone="nojs.e2e.test"]')).toHaveCount(0);
  await context.close();
});

test('Problem IPs show why; re-check and release, one by one and in bulk', async ({ page }) => {
  const errors = watchConsole(page);
  zoneFile('bl.e2e.test');
  await signInOk(page, 'admin', adminPassword);
  const zone = await addZone(page, 'bl.e2e.test');
  await expect(zone.locator('.zone-health')).toHaveText('Healthy');
  await openNewNetwork(page, '198.18.20.0/24', 'problems');
  const ips = ['198.18.20.1', '198.18.20.2', '198.18.20.3', '198.18.20.4', '198.18.20.5'];
  await allocate(page, ips);
  // After they were handed out, three start answering and a blacklist lists one.
  for (const ip of ['198.18.20.1', '198.18.20.3', '198.18.20.4']) answers(ip, true);
  zoneFile('bl.e2e.test', ['198.18.20.2 e2e listing']);
  await release(page, ips);
  await runCycleFromDashboard(page);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Problem IPs' }).click();
  await expect(page.getByRole('heading', { name: 'Problem IPs' })).toBeVisible();
  await waitHydrated(page);
  const used = page.locator('tr[data-address="198.18.20.1"]');
  const blocked = page.locator('tr[data-address="198.18.20.2"]');
  await expect(used.locator('.badge')).toHaveText('Used in network');
  await expect(used.locator('.evidence')).toHaveText('checker script: reply from 198.18.20.1 (test marker)');
  await expect(used.locator('.failed-checks')).toHaveText('1');
  await expect(used.locator('.found-by')).toHaveText('Script');
  await expect(blocked.locator('.found-by')).toHaveText('DNSBL');
  await expect(blocked.locator('.badge')).toHaveText('Blocked by DNSBL');
  await expect(blocked.locator('.evidence')).toHaveText('listed by bl.e2e.test (127.0.0.2): e2e listing');
  await expect(page.locator('tr[data-address="198.18.20.5"]')).toHaveCount(0);
  await page.screenshot({ path: resolve(shots, 'problem-ips-listed.png'), fullPage: true });

  // The zone filter, through the page address.
  await page.locator('select[name="zone"]').selectOption('bl.e2e.test');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/zone=bl\.e2e\.test/);
  await expect(page.locator('table.problems tbody tr')).toHaveCount(1);
  await expect(blocked).toBeVisible();
  await page.locator('select[name="status"]').selectOption('used_in_network');
  await page.locator('select[name="zone"]').selectOption('');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('table.problems tbody tr[data-address^="198.18.20."]')).toHaveCount(3);
  await expect(blocked).toHaveCount(0);
  // By network and by search.
  await page.locator('select[name="status"]').selectOption('');
  await page.locator('select[name="network"]').selectOption({ label: '198.18.20.0/24' });
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('table.problems tbody tr')).toHaveCount(4);
  // An address searched for is where the list starts.
  await page.getByLabel('Search').fill('198.18.20.3');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('table.problems tbody tr').first()).toHaveAttribute('data-address', '198.18.20.3');
  await expect(page.locator('table.problems tbody tr')).toHaveCount(2);
  await page.goto('/problems');
  await waitHydrated(page);

  // Delisted: re-check moves it to free at once.
  zoneFile('bl.e2e.test');
  await blocked.getByRole('button', { name: 'Re-check now' }).click();
  await expect(page.locator('.recheck-outcome')).toContainText('198.18.20.2: Blocked by DNSBL → Free');
  await expect(blocked).toHaveCount(0);

  // Still answering: released by hand, without checks, with a reason.
  const releaseUsed = await openConfirm(used, 'Release');
  await expect(releaseUsed).toContainText('Release 198.18.20.1 without checks?');
  await releaseUsed.getByLabel('Reason for release').fill('moved to the new rack');
  await releaseUsed.getByRole('button', { name: 'Release 198.18.20.1' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Released: the address is free, without checks.' })).toBeVisible();
  await expect(used).toHaveCount(0);

  // In bulk: .4 went quiet and is freed by the re-check, .3 still answers and stays,
  // then is released by hand.
  answers('198.18.20.4', false);
  const third = page.locator('tr[data-address="198.18.20.3"]');
  const fourth = page.locator('tr[data-address="198.18.20.4"]');
  await third.getByRole('checkbox').check();
  await fourth.getByRole('checkbox').check();
  await page.getByRole('button', { name: 'Re-check selected' }).click();
  await expect(fourth).toHaveCount(0);
  await expect(third.locator('.failed-checks')).toHaveText('2');
  await third.getByRole('checkbox').check();
  const bulkRelease = await openConfirm(page.locator('form#problems-bulk'), 'Release selected');
  await bulkRelease.getByLabel('Reason for bulk release').fill('decommissioned');
  await bulkRelease.getByRole('button', { name: 'Release the selected addresses' }).click();
  await expect(third).toHaveCount(0);
  // The page it returns to says what was released.
  await expect(page.getByRole('status').filter({ hasText: 'Freed 198.18.20.3 without checks.' })).toBeVisible();
  // A refused bulk release says why on the page (it used to sit unseen in the address).
  await waitHydrated(page);
  const none = await openConfirm(page.locator('form#problems-bulk'), 'Release selected');
  await none.getByLabel('Reason for bulk release').fill('nothing selected');
  await none.getByRole('button', { name: 'Release the selected addresses' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Select at least one address.' })).toBeVisible();
  await page.goto('/address?ip=198.18.20.3');
  await expect(page.locator('ol.timeline li').first()).toContainText('decommissioned');
  await page.goto('/address?ip=198.18.20.1');
  await expect(page.locator('ol.timeline li').first()).toContainText('moved to the new rack');

  await page.goto('/audit');
  await waitHydrated(page);
  await page.getByLabel('Action').selectOption('address.recheck');
  await page.getByRole('button', { name: 'Filter' }).click();
  // Newest first: the bulk re-check, then the one of a single address.
  const rechecks = page.locator('tr[data-action="address.recheck"] .target');
  await expect(rechecks.nth(0)).toHaveText('198.18.20.3 198.18.20.4');
  await expect(rechecks.nth(1)).toHaveText('198.18.20.2');
  // By actor and day: today's entries by admin hold it; none before today.
  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel('Actor').fill('admin');
  await page.getByLabel('From', { exact: true }).fill(today);
  await page.getByLabel('To', { exact: true }).fill(today);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(rechecks.nth(1)).toHaveText('198.18.20.2');
  await expect(page.locator('table.audit tbody td.actor').first()).toHaveText('admin');
  await page.getByLabel('From', { exact: true }).fill('2000-01-01');
  await page.getByLabel('To', { exact: true }).fill('2000-01-02');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('table.audit tbody tr')).toHaveCount(0);
  await expect(page.getByText('No entries match.')).toBeVisible();
  for (const ip of ['198.18.20.1', '198.18.20.3']) answers(ip, false);
  await deleteZone(page, 'bl.e2e.test');
  expect(errors).toEqual([]);
});

test('a zone shows unhealthy while its self-test fails and healthy once it passes', async ({ page }) => {
  const errors = watchConsole(page);
  rmSync(resolve(zones, 'flip.e2e.test'), { force: true });
  await signInOk(page, 'admin', adminPassword);
  const row = await addZone(page, 'flip.e2e.test');
  await expect(row.locator('.health')).toHaveText('Failing');
  await expect(row.locator('.zone-error')).toContainText('the test address 127.0.0.2 is not listed');
  await page.goto('/');
  await expect(page.locator('.unhealthy-zones')).toContainText('flip.e2e.test');

  zoneFile('flip.e2e.test', ['198.18.20.77 listed for the flip test']);
  await page.goto('/dnsbl');
  await waitHydrated(page);
  await row.getByRole('button', { name: 'Self-test now' }).click();
  await expect(row.locator('.health')).toHaveText('Healthy');
  await page.screenshot({ path: resolve(shots, 'dnsbl-zones.png'), fullPage: true });
  await page.goto('/');
  await expect(page.locator('.unhealthy-zones')).toHaveCount(0);

  // Asking the zone about an address shows its raw answer.
  await page.goto('/dnsbl');
  await waitHydrated(page);
  const ask = page.locator('section.ask form');
  await ask.getByLabel('Address').fill('198.18.20.77');
  await ask.getByLabel('Zone').fill('flip.e2e.test');
  await ask.getByRole('button', { name: 'Ask' }).click();
  const answer = page.locator('table.answers tr[data-zone="flip.e2e.test"]');
  await expect(answer.locator('.outcome')).toHaveText('Listed');
  await expect(answer).toContainText('127.0.0.2');
  await expect(answer).toContainText('listed for the flip test');
  await expect(answer.locator('.query')).toHaveText('77.20.18.198.flip.e2e.test.');

  // Disabled, it is not used; enabled again, it is tested at once; renamed, it starts over.
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row).toContainText('Disabled');
  await row.getByRole('button', { name: 'Enable' }).click();
  await expect(row).toContainText('Enabled');
  await expect(row.locator('.health')).toHaveText('Healthy');
  await openDetails(row.locator('details.rename'));
  await row.getByLabel('New zone name').fill('flop.e2e.test');
  await row.getByRole('button', { name: 'Save' }).click();
  const renamed = page.locator('table.zones tr[data-zone="flop.e2e.test"]');
  await expect(renamed.locator('.health')).toHaveText('Failing');
  await expect(page.locator('table.zones tr[data-zone="flip.e2e.test"]')).toHaveCount(0);
  await openDetails(renamed.locator('details.rename'));
  await renamed.getByLabel('New zone name').fill('flip.e2e.test');
  await renamed.getByRole('button', { name: 'Save' }).click();
  await expect(row.locator('.health')).toHaveText('Healthy');

  // A suggested public zone is added disabled, never asked until enabled.
  await page.getByRole('button', { name: 'Add psbl.surriel.com' }).click();
  const suggested = page.locator('table.zones tr[data-zone="psbl.surriel.com"]');
  await expect(suggested).toContainText('Disabled');
  await expect(suggested.locator('.health')).toHaveText('Never tested');
  await deleteZone(page, 'psbl.surriel.com');
  await deleteZone(page, 'flip.e2e.test');
  expect(errors).toEqual([]);
});

test('a CheckPeriod saved on the config page takes effect at once; environment values are read-only', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await page.goto('/settings');
  await waitHydrated(page);
  const ping = page.locator('tr[data-key="PingCount"]');
  await expect(ping).toHaveAttribute('data-editable', 'false');
  await expect(ping.locator('.read-only')).toContainText('environment variable IPVET_PING_COUNT');
  await expect(ping.getByRole('button', { name: 'Save' })).toHaveCount(0);
  const timeout = page.locator('tr[data-key="PingTimeout"]');
  await expect(timeout).toHaveAttribute('data-editable', 'false');
  await expect(timeout.locator('.source')).toHaveText(/fixtures\/ipvet\.conf:3$/);
  await expect(timeout.locator('.read-only')).toContainText('which overrides this page; change it there');
  await expect(timeout.locator('code.value')).toHaveText('800ms');
  const script = page.locator('tr[data-key="IpCheckerScript"]');
  await expect(script.locator('.read-only')).toContainText('a web form must never choose');

  // A bad value is refused in words, beside its field.
  const period = page.locator('tr[data-key="CheckPeriod"]');
  await period.getByLabel('CheckPeriod value').fill('soon');
  await period.getByRole('button', { name: 'Save' }).click();
  await expect(period.getByRole('alert')).toHaveText('`soon` is not a duration such as 90s, 30m or 1h.');
  await expect(page.getByRole('alert')).toHaveCount(1);
  await page.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/settings-field-error.png'), fullPage: true });
  // The browser logs the refused request (400) as a console error; that one was meant.
  expect(errors.splice(0)).toEqual([expect.stringContaining('status of 400')]);

  await openNewNetwork(page, '198.18.21.0/24', 'period');
  await allocateAndRelease(page, ['198.18.21.1']);
  await saveSetting(page, 'CheckPeriod', '2s');
  // Nobody presses "Run check now": the periodic job picks up the new period.
  await expect(async () => {
    await page.goto('/address?ip=198.18.21.1');
    await expect(page.locator('h1 .badge')).toHaveText('Free', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await page.goto('/checks');
  await expect(page.locator('table.runs tbody tr').first()).toContainText('schedule');
  await resetSetting(page, 'CheckPeriod');
  expect(errors).toEqual([]);
});

test('a running cycle shows its progress live and an admin can cancel it', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await saveSetting(page, 'CheckConcurrency', '1');
  await openNewNetwork(page, '198.18.22.0/24', 'progress');
  const csv = Array.from({ length: 60 }, (_, i) => `198.18.22.${i + 1},being_checked,,,`).join('\n');
  const importer = page.locator('details.import');
  await importer.locator('summary').click();
  await importer.getByLabel('CSV').fill(csv);
  await importer.getByRole('button', { name: 'Import' }).click();
  await expect(importer.getByRole('status')).toContainText('Imported 60 addresses.');
  writeFileSync(resolve(e2e, 'slow'), '');
  try {
    await page.goto('/checks');
    await waitHydrated(page);
    await page.getByRole('button', { name: 'Run check now' }).click();
    const running = page.locator('section.running .run-progress');
    await expect(running).toHaveAttribute('data-state', 'running');
    // A second cycle cannot be asked for while one runs.
    const runNow = page.getByRole('button', { name: 'Run check now' });
    await expect(runNow).toBeDisabled();
    const runId = await running.getAttribute('data-run');
    await expect(page.locator(`table.runs tr[data-run="${runId}"] .state`)).toHaveText('running');
    const bar = running.locator('progress');
    const first = Number(await bar.getAttribute('value'));
    const url = page.url();
    // The bar moves without a reload.
    await expect.poll(async () => Number(await bar.getAttribute('value')), { timeout: 15_000 }).toBeGreaterThan(first + 2);
    expect(page.url()).toBe(url);
    await page.screenshot({ path: resolve(shots, 'check-run-progress.png'), fullPage: true });
    await running.getByRole('button', { name: 'Cancel' }).click();
    await expect(running).toHaveAttribute('data-state', 'cancelled', { timeout: 10_000 });
    await expect(running.locator('.last-run')).toContainText('was cancelled by admin');
    // The list follows without a reload: the row says how the cycle ended, and a new one
    // can be started.
    await expect(page.locator(`table.runs tr[data-run="${runId}"] .state`)).toHaveText('cancelled by admin');
    await expect(runNow).toBeEnabled();
    expect(page.url()).toBe(url);
  } finally {
    rmSync(resolve(e2e, 'slow'), { force: true });
  }
  // The cycle's page lists its verdicts, each linking to its address.
  await page.goto('/checks');
  await page.locator('table.runs tbody tr').first().getByRole('link').click();
  await expect(page.getByRole('heading', { name: /Check cycle \d+/ })).toBeVisible();
  // One instance worked on it (the e2e server alone), and wrote what it found.
  const instances = page.locator('table.workers tbody tr');
  await expect(instances).toHaveCount(1);
  await expect(instances.first().locator('td.num')).toHaveText(/^[1-9]\d*$/);
  await expect(instances.first()).not.toContainText('working');
  const verdict = page.locator('table.verdicts tbody tr[data-address^="198.18.22."]').first();
  await expect(verdict.locator('.badge').last()).toHaveText('Free');
  await verdict.getByRole('link').click();
  await expect(page).toHaveURL(/\/address\?ip=198\.18\.22\./);
  await resetSetting(page, 'CheckConcurrency');
  expect(errors).toEqual([]);
});

test('a viewer sees no action buttons and the server refuses forged calls', async ({ page, browser }) => {
  const name = unique('viewer');
  const password = 'viewer long password';
  await signInOk(page, 'admin', adminPassword);
  await createUser(page, name, 'viewer', password);

  const context = await browser.newContext();
  const viewer = await context.newPage();
  const errors = watchConsole(viewer);
  await signInOk(viewer, name, password);
  const nav = viewer.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Settings' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Audit log' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Run check now' })).toHaveCount(0);
  for (const path of ['/problems', '/dnsbl', '/checks']) {
    await viewer.goto(path);
    await waitHydrated(viewer);
    await expect(viewer.locator('main button').filter({ hasNotText: 'Filter' })).toHaveCount(0);
    await expect(viewer.locator('main input[type="checkbox"]')).toHaveCount(0);
  }
  await viewer.goto('/settings');
  await expect(viewer.getByRole('alert')).toHaveText('Your role does not allow this.');
  // With the Origin the page's own script sends: the role, not the origin, refuses them.
  const headers = pageHeaders(viewer);
  for (const [path, form] of [
    ['/api/problems/recheck', { 'addresses[]': '198.18.20.1' }],
    ['/api/dnsbl/add', { zone: 'forged.e2e.test' }],
    ['/api/dnsbl/self_test', { zone_id: '1' }],
    ['/api/checks/run_now', {}],
    ['/api/checks/cancel', { run_id: '1' }],
    ['/api/settings/save', { key: 'CheckPeriod', value: '1s' }],
    ['/api/audit/list', {}],
  ] as [string, Record<string, string>][]) {
    expect((await viewer.request.post(path, { headers, form })).status(), path).toBe(403);
  }
  // The one error is the Settings page itself, answered 403 as an admin page is to a viewer.
  expect(errors).toEqual(['Failed to load resource: the server responded with a status of 403 (Forbidden)']);
  await context.close();
});

test('a cycle started elsewhere shows on an open check runs page and dashboard', async ({ page, browser }) => {
  // Two idle polls of up to five seconds each, and two cycles.
  test.setTimeout(60_000);
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  const context = await browser.newContext();
  const other = await context.newPage();
  await signInOk(other, 'admin', adminPassword);
  const startElsewhere = async () => {
    const res = await other.request.post('/api/checks/run_now', { headers: pageHeaders(other) });
    expect(res.status()).toBe(200);
    return String(await res.json());
  };

  await page.goto('/checks');
  await waitHydrated(page);
  const first = await startElsewhere();
  // The idle page asks every few seconds; it shows the new cycle, which then settles.
  const row = page.locator(`table.runs tbody tr[data-run="${first}"]`);
  await expect(row).toBeVisible({ timeout: 15_000 });
  await expect(row.locator('.state')).toHaveText('finished', { timeout: 15_000 });

  await page.goto('/');
  await waitHydrated(page);
  const second = await startElsewhere();
  await expect(page.locator(`.run-progress[data-run="${second}"]`)).toBeVisible({ timeout: 15_000 });
  await expect(page.locator(`.run-progress[data-run="${second}"]`)).toHaveAttribute('data-state', 'finished', { timeout: 15_000 });
  await context.close();
  expect(errors).toEqual([]);
});
