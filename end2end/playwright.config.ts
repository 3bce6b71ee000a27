// Playwright drives Debian's Chromium against a real ipvet server that this config starts
// on a fresh SQLite database with a first admin whose password is made here, per run.
import { defineConfig } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

const port = Number(process.env.IPVET_E2E_PORT ?? 3100);
// The test DNS server (server/examples/e2e_dns.rs) answers DNSBL queries from the zone
// files the tests write under target/e2e/dnsbl/.
const dnsPort = Number(process.env.IPVET_E2E_DNS_PORT ?? 3153);
const baseURL = `http://127.0.0.1:${port}`;
const root = resolve(__dirname, '..');
const dataDir = resolve(root, 'target/e2e');

// The config is evaluated again in every worker; workers inherit the environment of the
// main process, so the first evaluation alone makes the password and the fresh database.
if (!process.env.IPVET_E2E_ADMIN_PASSWORD) {
  process.env.IPVET_E2E_ADMIN_PASSWORD = randomBytes(18).toString('base64url');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
}

export default defineConfig({
  testDir: './tests',
  outputDir: resolve(root, 'target/e2e/results'),
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  reporter: process.env.CI ? [['list']] : [['list']],
  use: {
    baseURL,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: [
  {
    command: `${resolve(root, 'target/debug/examples/e2e_dns')} 127.0.0.1:${dnsPort} ${dataDir}/dnsbl`,
    port: dnsPort,
    timeout: 30_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
  },
  {
    command: `${resolve(root, 'target/debug/ipvet')} --config ${resolve(__dirname, 'fixtures/ipvet.conf')} serve`,
    cwd: root,
    url: `${baseURL}/login`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      IPVET_DATABASE: `sqlite://${dataDir}/ipvet.db`,
      IPVET_LISTEN: `127.0.0.1:${port}`,
      IPVET_SECURE_COOKIES: 'off',
      IPVET_IP_CHECKER_SCRIPT: resolve(__dirname, 'fixtures/checker.sh'),
      IPVET_DNS_RESOLVER: `127.0.0.1:${dnsPort}`,
      // Set in the environment, so the config page shows it read-only.
      IPVET_PING_COUNT: '2',
      IPVET_ADMIN_PASSWORD: process.env.IPVET_E2E_ADMIN_PASSWORD!,
      LEPTOS_SITE_ROOT: resolve(root, 'target/site'),
      RUST_LOG: 'warn',
    },
  },
  ],
});
