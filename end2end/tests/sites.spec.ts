// The Sites page in Chromium: an admin makes a site, moves a network to it on the network
// page, adds an agent and runs it (a real `ipvet agent` process on loopback, with the
// end-to-end checker script as its prober), sees it live, and sees its verdicts on the
// check run's page; a site with networks and no agent is flagged on the dashboard.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
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

const root = resolve(__dirname, '../..');
const e2e = resolve(root, 'target/e2e');
const answering = resolve(e2e, 'answering');
const shots = resolve(e2e, 'screenshots');

function startAgent(token: string): ChildProcess {
  const port = Number(process.env.IPVET_E2E_PORT ?? 3100);
  return spawn(resolve(root, 'target/debug/ipvet'), ['agent', '--server', `http://127.0.0.1:${port}`], {
    env: {
      PATH: process.env.PATH,
      IPVET_AGENT_TOKEN: token,
      IPVET_IP_CHECKER_SCRIPT: resolve(__dirname, '../fixtures/checker.sh'),
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

test('an admin makes a site, gives it an agent and sees the agent judge its network', async ({ page }) => {
  const errors = watchConsole(page);
  let agent: ChildProcess | undefined;
  const ips = ['198.18.62.1', '198.18.62.2'];
  try {
    await signInOk(page, 'admin', adminPassword);
    const site = unique('dc').toLowerCase().replace(/[^a-z0-9-]/g, '-');
    await page.goto('/sites');
    await waitHydrated(page);
    await expect(page.getByRole('heading', { name: 'Sites', exact: true })).toBeVisible();
    const add = page.locator('form.add-site');
    await add.getByLabel('Name').fill(site);
    await add.getByLabel('Description').fill('Frankfurt, racks 10–14');
    await add.getByRole('button', { name: 'Add site' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Site added.' })).toBeVisible();
    const card = page.locator(`section.site[data-site="${site}"]`);
    await expect(card.locator('.site-down')).toContainText('No live agent since');

    // A network with two released addresses, one of which answers out there, moved to
    // the site on its own page.
    await openNewNetwork(page, '198.18.62.0/28', unique('far'));
    await allocateAndRelease(page, ips);
    const moveForm = page.locator('details.network-site-form');
    await moveForm.locator('summary').click();
    await moveForm.getByLabel('Checked from the site').fill(site);
    await moveForm.getByRole('button', { name: 'Move' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Network moved' })).toBeVisible();
    await expect(page.locator('p.check-policy')).toContainText(`from the site ${site}`);
    await page.screenshot({ path: resolve(shots, 'network-at-site.png'), fullPage: true });

    // No agent yet: the dashboard says the site's addresses are not checked.
    await page.goto('/');
    await waitHydrated(page);
    await expect(page.locator('.sites-without-agent')).toContainText(site);
    await page.screenshot({ path: resolve(shots, 'dashboard-site-without-agent.png'), fullPage: true });

    await page.goto('/sites');
    await waitHydrated(page);
    const agentForm = card.locator('form.add-agent');
    await agentForm.getByLabel('Agent name').fill('probe-1');
    await agentForm.getByRole('button', { name: 'Add agent' }).click();
    const secret = page.locator('section.secret .secret-value');
    await expect(secret).toHaveText(/^ipvet_agent_[0-9a-f]{64}$/);
    const token = (await secret.textContent())!;

    mkdirSync(answering, { recursive: true });
    writeFileSync(resolve(answering, ips[0]), '');
    agent = startAgent(token);
    await expect
      .poll(async () => {
        await page.goto('/sites');
        return page.locator(`section.site[data-site="${site}"] tr[data-agent="probe-1"]`).getAttribute('data-state');
      }, { timeout: 30_000 })
      .toBe('live');
    await waitHydrated(page);
    const row = card.locator('tr[data-agent="probe-1"]');
    await expect(row).toContainText('127.0.0.1');
    await expect(row).toContainText('checker script');
    await expect(card.locator('.site-down')).toHaveCount(0);
    await page.screenshot({ path: resolve(shots, 'sites.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: resolve(shots, 'phone-sites.png'), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 800 });

    await runCycleFromDashboard(page);
    await page.goto('/checks');
    await waitHydrated(page);
    await page.locator('a[href^="/checks/"]').first().click();
    await waitHydrated(page);
    const worker = page.locator(`table.workers tr[data-runner="agent probe-1 of site ${site}"]`);
    await expect(worker).toBeVisible();
    await expect(worker.locator('td.num')).toHaveText('2');
    const verdicts = page.locator('table.verdicts');
    await expect(verdicts).toContainText('reply from 198.18.62.1 (test marker) (agent probe-1)');
    await page.screenshot({ path: resolve(shots, 'check-run-agent.png'), fullPage: true });
    expect(errors).toEqual([]);
  } finally {
    agent?.kill('SIGKILL');
    rmSync(resolve(answering, ips[0]), { force: true });
  }
});
