import { resolve } from 'node:path';
import { adminPassword, createUser, openConfirm, openNewNetwork, openRowMenu, signInOk, unique, waitHydrated, watchConsole, expect, test, pageHeaders } from './helpers';

test('create a network, allocate, release, force-free with a reason', async ({ page, browser }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await page.getByRole('link', { name: 'Networks' }).click();
  await expect(page.getByRole('heading', { name: 'Networks' })).toBeVisible();
  await waitHydrated(page);

  const create = page.locator('section.card form');
  await create.getByLabel('CIDR').fill('198.18.7.1/24');
  await create.getByLabel('Name').fill('lab');
  await create.getByRole('button', { name: 'Create network' }).click();
  await expect(page.getByRole('alert')).toHaveText('198.18.7.1/24 has host bits set; did you mean 198.18.7.0/24?');
  await create.getByLabel('CIDR').fill('198.18.7.0/24');
  await create.getByRole('button', { name: 'Create network' }).click();
  const netRow = page.locator('tr[data-network="198.18.7.0/24"]');
  await expect(netRow).toContainText('254 / 254');

  await netRow.getByRole('link', { name: '198.18.7.0/24' }).click();
  await expect(page.getByRole('heading', { level: 1, name: /198\.18\.7\.0\/24/ })).toBeVisible();
  await waitHydrated(page);
  // Where the page stands, above the table and below it.
  await expect(page.locator('nav.pager .position')).toHaveText(['1–100 of 254', '1–100 of 254']);
  await page.locator('nav.pager').last().getByRole('link', { name: 'Next' }).click();
  await expect(page.locator('nav.pager .position').first()).toHaveText('101–200 of 254');
  await page.locator('nav.pager').first().getByRole('link', { name: 'First' }).click();
  await expect(page.locator('nav.pager .position').first()).toHaveText('1–100 of 254');
  await page.locator('details.edit-network summary').click();
  const edit = page.locator('details.edit-network form');
  await edit.getByLabel('Name').fill('lab renamed');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: /lab renamed/ })).toBeVisible();
  const alloc = page.locator('section.card form');
  await alloc.getByLabel('Owner').fill('customer-42');
  await alloc.getByLabel('Host name').fill('web1.example');
  await alloc.getByRole('button', { name: 'Allocate' }).click();
  // The message names the address, linked to its page, and its holder.
  const allocated = page.getByRole('status').filter({ hasText: 'Allocated 198.18.7.1 to customer-42.' });
  await expect(allocated).toBeVisible();
  await expect(allocated.getByRole('link', { name: '198.18.7.1' })).toHaveAttribute('href', '/address?ip=198.18.7.1');
  const row = page.locator('tr[data-address="198.18.7.1"]');
  await expect(row.locator('.badge')).toHaveText('Allocated');
  await expect(row).toContainText('customer-42');

  // Each row's actions sit in one menu, which opens from the keyboard too.
  await row.getByLabel('Actions for 198.18.7.1', { exact: true }).focus();
  await page.keyboard.press('Enter');
  await expect(row.locator('details.row-menu')).toHaveAttribute('open', '');
  await row.getByRole('button', { name: 'Release' }).click();
  await expect(row.locator('.badge')).toHaveText('Being checked');
  // The newest message replaces the one before.
  await expect(page.getByRole('status').filter({ hasText: 'Released 198.18.7.1: it is being checked' })).toBeVisible();
  await expect(allocated).toHaveCount(0);
  // Said where the admin looks: scrolled down the list, the answer stays in sight.
  const far = page.locator('tr[data-address="198.18.7.90"]');
  await openRowMenu(far);
  await far.getByRole('button', { name: 'Reserve' }).click();
  const reserved = page.getByRole('status').filter({ hasText: 'Reserved 198.18.7.90.' });
  await expect(reserved).toBeInViewport();
  await expect(far.locator('.badge')).toHaveText('Reserved');
  await openRowMenu(far);
  await far.getByRole('button', { name: 'Unreserve' }).click();
  await expect(far.locator('.badge')).toHaveText('Free');

  // Force-free asks in the page's one dialog, from the keyboard alone: Enter on the row's
  // menu item opens it on the reason, Enter sends it.
  await openRowMenu(row);
  await row.getByRole('link', { name: 'Force-free…' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Force-free 198.18.7.1 without checks?');
  await expect(dialog.getByLabel('Reason for force-free')).toBeFocused();
  await page.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/confirm-force-free.png') });
  // Cancelled, nothing happens; asked again, it is done.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(row.locator('.badge')).toHaveText('Being checked');
  await row.getByRole('link', { name: 'Force-free…' }).click();
  await expect(dialog.getByLabel('Reason for force-free')).toBeFocused();
  await page.keyboard.type('test cleanup');
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();
  await expect(row.locator('.badge')).toHaveText('Free');
  await expect(page.getByRole('status').filter({ hasText: 'Freed 198.18.7.1 without checks' })).toBeVisible();

  await row.getByRole('link', { name: '198.18.7.1' }).click();
  const history = page.locator('ol.timeline li');
  await expect(history).toHaveCount(3);
  await expect(history.first()).toContainText('admin');
  await expect(history.first()).toContainText('test cleanup');
  await expect(history.first().locator('.badge').last()).toHaveText('Free');
  expect(errors.filter((e) => !e.includes('400'))).toEqual([]);

  // An operator sees no force-free, and the server refuses a forged one.
  const name = unique('op');
  await createUser(page, name, 'operator', 'operator long password');
  const context = await browser.newContext();
  const operator = await context.newPage();
  await signInOk(operator, name, 'operator long password');
  await operator.goto('/networks');
  await operator.locator('tr[data-network="198.18.7.0/24"] a').click();
  await waitHydrated(operator);
  await operator.locator('section.card form').getByRole('button', { name: 'Allocate' }).click();
  const opRow = operator.locator('tr[data-address="198.18.7.1"]');
  await expect(opRow.locator('.badge')).toHaveText('Allocated');
  await openRowMenu(opRow);
  await expect(opRow.getByRole('button', { name: 'Release' })).toBeVisible();
  await expect(opRow.getByRole('link', { name: 'Force-free…' })).toHaveCount(0);
  await expect(operator.getByRole('dialog')).toHaveCount(0);
  await expect(operator.getByRole('button', { name: /^Force-free/ })).toHaveCount(0);
  const forged = await operator.request.post('/api/addresses/force_free', {
    headers: pageHeaders(operator),
    form: { address: '198.18.7.1', reason: 'forged' },
  });
  expect(forged.status()).toBe(403);
  await context.close();

  // The Networks page's usage meter, drawn without an inline style (the page's CSP).
  await page.goto('/networks');
  const meter = page.locator('tr[data-network="198.18.7.0/24"] meter.bar');
  await expect(meter).toHaveAttribute('value', /^0\.[0-9]/);
  const shots = resolve(__dirname, '../../target/e2e/screenshots');
  await page.screenshot({ path: resolve(shots, 'networks.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: resolve(shots, 'phone-networks.png'), fullPage: true });
});

test('bulk release and bulk force-free, all or nothing', async ({ page }) => {
  await signInOk(page, 'admin', adminPassword);
  await page.goto('/networks');
  await waitHydrated(page);
  const create = page.locator('section.card form');
  await create.getByLabel('CIDR').fill('198.18.9.0/28');
  await create.getByLabel('Name').fill('bulk');
  await create.getByRole('button', { name: 'Create network' }).click();
  await page.locator('tr[data-network="198.18.9.0/28"] a').click();
  await waitHydrated(page);
  const alloc = page.locator('section.card form');
  for (let i = 1; i <= 3; i++) {
    await alloc.getByRole('button', { name: 'Allocate' }).click();
    await expect(page.locator(`tr[data-address="198.18.9.${i}"] .badge`)).toHaveText('Allocated');
  }

  // A free address in the selection spoils the batch: nothing changes, the reason shows.
  await page.getByLabel('Select 198.18.9.1', { exact: true }).check();
  await page.getByLabel('Select 198.18.9.5', { exact: true }).check();
  const bulk = page.locator('form#bulk');
  await (await openConfirm(bulk, 'Release selected')).getByRole('button', { name: 'Release the selected addresses' }).click();
  await expect(page.getByRole('alert')).toContainText('198.18.9.5: Cannot release an address that is Free');
  await expect(page.locator('tr[data-address="198.18.9.1"] .badge')).toHaveText('Allocated');

  await page.getByLabel('Select 198.18.9.1', { exact: true }).check();
  await page.getByLabel('Select 198.18.9.2', { exact: true }).check();
  await (await openConfirm(bulk, 'Release selected')).getByRole('button', { name: 'Release the selected addresses' }).click();
  await expect(page.locator('tr[data-address="198.18.9.1"] .badge')).toHaveText('Being checked');
  await expect(page.locator('tr[data-address="198.18.9.2"] .badge')).toHaveText('Being checked');
  await expect(
    page.getByRole('status').filter({
      hasText: 'Released 198.18.9.1 and 198.18.9.2: they are being checked before anyone gets them again.',
    }),
  ).toBeVisible();
  await expect(page.locator('tr[data-address="198.18.9.3"] .badge')).toHaveText('Allocated');

  await page.getByLabel('Select 198.18.9.1', { exact: true }).check();
  await page.getByLabel('Select 198.18.9.3', { exact: true }).check();
  const forceFree = await openConfirm(bulk, 'Force-free selected');
  await forceFree.getByLabel('Reason for bulk force-free').fill('rack emptied');
  await forceFree.getByRole('button', { name: 'Force-free the selected addresses' }).click();
  await expect(page.locator('tr[data-address="198.18.9.1"] .badge')).toHaveText('Free');
  await expect(page.locator('tr[data-address="198.18.9.3"] .badge')).toHaveText('Free');
  await expect(page.getByRole('status').filter({ hasText: 'Freed 198.18.9.1 and 198.18.9.3 without checks.' })).toBeVisible();
  await expect(page.locator('tr[data-address="198.18.9.2"] .badge')).toHaveText('Being checked');
});

test('CSV import reports every bad line and imports nothing until the file is clean', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await page.goto('/networks');
  await waitHydrated(page);
  const create = page.locator('section.card form');
  await create.getByLabel('CIDR').fill('198.18.11.0/29');
  await create.getByLabel('Name').fill('import');
  await create.getByRole('button', { name: 'Create network' }).click();
  await page.locator('tr[data-network="198.18.11.0/29"] a').click();
  await waitHydrated(page);

  await page.locator('details.import summary').click();
  const form = page.locator('details.import form');
  await form.getByLabel('CSV').fill('198.18.11.2,allocated,Acme,web1.example,\n198.18.12.1,allocated\n198.18.11.3,lent\n');
  await form.getByRole('button', { name: 'Import' }).click();
  const report = page.locator('details.import [role="alert"]');
  await expect(report).toContainText('Nothing was imported: 2 lines have errors.');
  await expect(report.locator('li')).toHaveText([
    'Line 2: 198.18.12.1 is not in the network 198.18.11.0/29.',
    /^Line 3: `lent` is not a status/,
  ]);
  await expect(page.locator('tr[data-address="198.18.11.2"] .badge')).toHaveText('Free');

  await form.getByLabel('CSV').fill('198.18.11.2,allocated,Acme,web1.example,\n198.18.11.3,reserved\n');
  await form.getByRole('button', { name: 'Import' }).click();
  await expect(page.locator('details.import [role="status"]')).toHaveText('Imported 2 addresses.');
  await expect(page.locator('tr[data-address="198.18.11.2"] .badge')).toHaveText('Allocated');
  await expect(page.locator('tr[data-address="198.18.11.2"]')).toContainText('Acme');
  await expect(page.locator('tr[data-address="198.18.11.3"] .badge')).toHaveText('Reserved');
  expect(errors).toEqual([]);
});

test('without JavaScript, a change is confirmed on the page it returns to, naming the address', async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signInOk(page, 'admin', adminPassword, { js: false });
  await page.goto('/networks');
  const create = page.locator('section.card form');
  // A refused network comes back with what was typed, and says why.
  await create.getByLabel('CIDR').fill('198.18.37.1/29');
  await create.getByLabel('Name').fill('nojs notices');
  await create.getByRole('button', { name: 'Create network' }).click();
  await expect(page.getByRole('alert')).toHaveText('198.18.37.1/29 has host bits set; did you mean 198.18.37.0/29?');
  await expect(create.getByLabel('CIDR')).toHaveValue('198.18.37.1/29');
  await expect(create.getByLabel('Name')).toHaveValue('nojs notices');
  await page.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/nojs-network-refused.png'), fullPage: true });
  await create.getByLabel('CIDR').fill('198.18.37.0/29');
  await create.getByLabel('Name').fill('nojs notices');
  await create.getByRole('button', { name: 'Create network' }).click();
  await page.locator('tr[data-network="198.18.37.0/29"]').getByRole('link', { name: '198.18.37.0/29' }).click();
  const alloc = page.locator('section.card form').filter({ has: page.getByRole('button', { name: 'Allocate' }) });
  await alloc.getByLabel('Owner').fill('Acme');
  await alloc.getByRole('button', { name: 'Allocate' }).click();
  const told = page.getByRole('status').filter({ hasText: 'Allocated 198.18.37.1 to Acme.' });
  await expect(told).toBeVisible();
  await expect(told.getByRole('link', { name: '198.18.37.1' })).toHaveAttribute('href', '/address?ip=198.18.37.1');
  await page.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/nojs-allocated.png'), fullPage: true });
  // Said once: the page loaded again says nothing.
  await page.reload();
  await expect(page.locator('tr[data-address="198.18.37.1"] .badge')).toHaveText('Allocated');
  await expect(told).toHaveCount(0);
  await openRowMenu(page.locator('tr[data-address="198.18.37.1"]'));
  await page.locator('tr[data-address="198.18.37.1"]').getByRole('button', { name: 'Release' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Released 198.18.37.1: it is being checked before anyone gets it again.' })).toBeVisible();
  await expect(page.locator('tr[data-address="198.18.37.1"] .badge')).toHaveText('Being checked');
  // A row's force-free, without JavaScript, is asked on the address's own page.
  await openRowMenu(page.locator('tr[data-address="198.18.37.1"]'));
  await page.locator('tr[data-address="198.18.37.1"]').getByRole('link', { name: 'Force-free…' }).click();
  await expect(page).toHaveURL(/\/address\?ip=198\.18\.37\.1#force-free$/);
  const here = await openConfirm(page.locator('section.address-actions'), 'Force-free');
  await here.getByLabel('Reason for force-free').fill('nojs cleanup');
  await here.getByRole('button', { name: 'Force-free 198.18.37.1' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('198.18.37.1 Free');
  await context.close();
});

test('an address nobody has held in a large IPv6 network has its own page, free', async ({ page }) => {
  const errors = watchConsole(page);
  await signInOk(page, 'admin', adminPassword);
  await openNewNetwork(page, '2001:2:0:7::/64', 'v6 lab');
  await page.goto('/address?ip=2001:2:0:7::abcd');
  await waitHydrated(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('2001:2:0:7::abcd Free');
  await expect(page.getByRole('link', { name: '2001:2:0:7::/64' })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.locator('ol.timeline li')).toHaveCount(0);
  await expect(page.locator('p.no-history')).toHaveText('No change yet: nobody has held this address.');
  await page.screenshot({ path: resolve(__dirname, '../../target/e2e/screenshots/address-never-held.png'), fullPage: true });
  expect(errors).toEqual([]);
});
