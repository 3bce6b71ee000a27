// The Alerts page in Chromium: an admin adds a signed webhook pointing at a receiver this
// test runs on loopback, sends a test, and sees each delivery in the target's log, the
// digest of a cycle's new problem included; on a phone the page keeps the screen's width.
import { createServer, type Server } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import {
  adminPassword,
  allocateAndRelease,
  openNewNetwork,
  runCycleFromDashboard,
  signInOk,
  unique,
  waitHydrated,
  watchConsole,
  expect,
  test,
} from './helpers';

test.describe.configure({ timeout: 120_000 });

const e2e = resolve(__dirname, '../../target/e2e');
const answering = resolve(e2e, 'answering');
const shots = resolve(e2e, 'screenshots');
const secret = 'e2e-webhook-secret-0123456789abcdef';

type Hook = { signed: boolean; body: any };

/** A webhook receiver on loopback that checks each request's signature. */
async function receiver(): Promise<{ url: string; got: Hook[]; server: Server }> {
  const got: Hook[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const ts = String(req.headers['x-ipvet-timestamp'] ?? '');
      const sig = String(req.headers['x-ipvet-signature'] ?? '');
      const want = 'v1=' + createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex');
      const signed = sig.length === want.length && timingSafeEqual(Buffer.from(sig), Buffer.from(want));
      got.push({ signed, body: JSON.parse(body.toString('utf8')) });
      res.writeHead(signed ? 200 : 401).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, got, server };
}

test('an admin adds a webhook, sends a test and sees a cycle\'s problem delivered', async ({ page }) => {
  const errors = watchConsole(page);
  const hook = await receiver();
  try {
    await signInOk(page, 'admin', adminPassword);
    await page.goto('/alerts');
    await waitHydrated(page);
    await expect(page.getByRole('heading', { name: 'Alerts', exact: true })).toBeVisible();
    const name = unique('noc');
    const form = page.locator('section.add-target form');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Kind').selectOption('webhook');
    await form.getByLabel('URL').fill(hook.url);
    await form.getByLabel('Signing secret (webhook)').fill(secret);
    await form.getByLabel('An address became a problem').check();
    await form.getByRole('button', { name: 'Add target' }).click();
    await expect(page.locator('section.secret')).toContainText(`Alert target “${name}” added`);
    const card = page.locator(`section.alert-target[data-target="${name}"]`);
    await expect(card.locator('.destination')).toHaveText(/^http:\/\/127\.0\.0\.1:\d+\/…$/);
    await expect(card.locator('.events')).toHaveText('An address became a problem');

    await card.getByRole('button', { name: 'Send a test' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Test sent' })).toBeVisible();
    await expect(card.locator('table.deliveries tbody tr').first()).toHaveAttribute('data-status', 'delivered');
    await expect(card.locator('table.deliveries tbody tr').first()).toContainText('Test');
    expect(hook.got).toHaveLength(1);
    expect(hook.got[0].signed).toBe(true);
    expect(hook.got[0].body.test).toBe(true);

    // A released address that answers becomes a problem in the next cycle: one digest.
    // (It answers only after it is released: the check before allocation would skip it.)
    const ip = '198.18.61.1';
    await openNewNetwork(page, '198.18.61.0/28', unique('alerts'));
    await allocateAndRelease(page, [ip]);
    mkdirSync(answering, { recursive: true });
    writeFileSync(resolve(answering, ip), '');
    await runCycleFromDashboard(page);
    await expect.poll(() => hook.got.length, { timeout: 20_000 }).toBe(2);
    expect(hook.got[1].signed).toBe(true);
    expect(hook.got[1].body.events[0].address).toBe(ip);
    expect(hook.got[1].body.events[0].kind).toBe('problem');
    await page.goto('/alerts');
    await waitHydrated(page);
    const latest = card.locator('table.deliveries tbody tr').first();
    await expect(latest).toHaveAttribute('data-status', 'delivered');
    await expect(latest).toContainText('1 event');
    await page.screenshot({ path: resolve(shots, 'alerts.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: resolve(shots, 'phone-alerts.png'), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 800 });

    expect(errors).toEqual([]);

    // Bad input is refused (400, which the browser logs) with the field named.
    await form.getByLabel('Name').fill(unique('broken'));
    await form.getByLabel('Kind').selectOption('email');
    await form.getByLabel('SMTP server').fill('smtp.example.net');
    await form.getByLabel('From', { exact: true }).fill('not an address');
    await form.getByLabel('To', { exact: true }).fill('noc@example.net');
    await form.getByRole('button', { name: 'Add target' }).click();
    await expect(page.getByRole('alert')).toContainText('mail_from');
    rmSync(resolve(answering, ip), { force: true });
  } finally {
    hook.server.close();
  }
});
