import { resolve } from 'node:path';
import { adminPassword, openNewNetwork, signInOk, waitHydrated, watchConsole, expect, test } from './helpers';

const shots = resolve(__dirname, '../../target/e2e/screenshots');

test('the header search jumps to an address or network and lists host names and owners', async ({ page, browser }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '198.18.43.0/24', 'search lab');
  const networkUrl = page.url();
  const alloc = page.locator('section.card form').filter({ has: page.getByRole('button', { name: 'Allocate' }) });
  for (const [owner, host] of [['Zeta Corp', 'zeta1.example'], ['zeta-two', 'db.zeta.example']]) {
    await alloc.getByLabel('Owner').fill(owner);
    await alloc.getByLabel('Host name').fill(host);
    await alloc.getByRole('button', { name: 'Allocate' }).click();
    await expect(page.getByRole('status').filter({ hasText: `to ${owner}.` })).toBeVisible();
  }
  const find = page.getByRole('search').getByLabel(/Find in every network/);

  await find.fill('ZETA');
  await find.press('Enter');
  await expect(page).toHaveURL(/\/search\?q=ZETA$/);
  const rows = page.locator('table.search-addresses tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText('198.18.43.1');
  await expect(rows.first()).toContainText('Zeta Corp');
  await expect(rows.first().getByRole('link', { name: '198.18.43.0/24' })).toBeVisible();
  await page.screenshot({ path: resolve(shots, 'search-results.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: resolve(shots, 'phone-search-results.png'), fullPage: true });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.setViewportSize({ width: 1280, height: 800 });

  await find.fill('198.18.43.2');
  await find.press('Enter');
  await expect(page).toHaveURL(/\/address\?ip=198\.18\.43\.2$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('198.18.43.2 Allocated');

  await find.fill('198.18.43.0/24');
  await find.press('Enter');
  await expect(page).toHaveURL(networkUrl);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('search lab');

  await find.fill('search l');
  await find.press('Enter');
  await expect(page.locator('ul.search-networks').getByRole('link', { name: '198.18.43.0/24' })).toBeVisible();

  await find.fill('198.18.43.7/24');
  await find.press('Enter');
  await expect(page.getByRole('alert')).toHaveText('198.18.43.7/24 has host bits set; did you mean 198.18.43.0/24?');
  await find.fill('nothing-like-this');
  await find.press('Enter');
  await expect(page.getByText('Nothing found.')).toBeVisible();
  expect(errors).toEqual([]);

  // Without JavaScript the same form jumps by a redirect.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const nojs = await context.newPage();
  await signInOk(nojs, 'admin', adminPassword, { js: false });
  const nojsFind = nojs.getByRole('search').getByLabel(/Find in every network/);
  await nojsFind.fill('198.18.43.1');
  await nojsFind.press('Enter');
  await expect(nojs).toHaveURL(/\/address\?ip=198\.18\.43\.1$/);
  await expect(nojs.getByRole('heading', { level: 1 })).toHaveText('198.18.43.1 Allocated');
  await context.close();
});

test('a network page draws its subnet map and opens a block or an address from it', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '198.18.48.0/22', 'map lab');
  const alloc = page.locator('section.card form').filter({ has: page.getByRole('button', { name: 'Allocate' }) });
  await alloc.getByLabel('Address').fill('198.18.49.7');
  await alloc.getByLabel('Owner').fill('Mapped');
  await alloc.getByRole('button', { name: 'Allocate' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Allocated 198.18.49.7 to Mapped.' })).toBeVisible();

  const map = page.locator('section.subnet-map');
  await expect(map.getByRole('heading')).toHaveText('Subnet map of 198.18.48.0/22');
  const blocks = map.locator('.map-grid > *');
  await expect(blocks).toHaveCount(4);
  const used = map.getByRole('link', { name: '198.18.49.0/24 · 1 of 256 in use' });
  await expect(used).toHaveClass(/f1/);
  await page.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/subnet-map-blocks.png'), fullPage: true });
  await used.click();
  await expect(map.getByRole('heading')).toHaveText('Subnet map of 198.18.49.0/24');
  await expect(blocks).toHaveCount(256);
  const cell = map.getByRole('link', { name: '198.18.49.7 · Allocated · Mapped' });
  await expect(cell).toHaveClass(/allocated/);
  // Hovering a cell shows its name on the line under the grid.
  await cell.hover();
  expect(await cell.evaluate((el) => getComputedStyle(el, '::after').content)).toBe('"198.18.49.7 · Allocated · Mapped"');
  await map.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/subnet-map-hover.png') });
  await expect(map.locator('.map-legend')).toContainText('Used in network');
  await map.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/subnet-map-addresses.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await map.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/phone-subnet-map.png') });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.setViewportSize({ width: 1280, height: 800 });
  await map.getByRole('link', { name: 'Up to 198.18.48.0/22' }).click();
  await expect(map.getByRole('heading')).toHaveText('Subnet map of 198.18.48.0/22');
  await map.getByRole('link', { name: '198.18.49.0/24 · 1 of 256 in use' }).click();
  await map.getByRole('link', { name: '198.18.49.7 · Allocated · Mapped' }).click();
  await expect(page).toHaveURL(/\/address\?ip=198\.18\.49\.7$/);
  await waitHydrated(page);
  expect(errors).toEqual([]);
});
