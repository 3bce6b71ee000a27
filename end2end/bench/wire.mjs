// Bytes on the wire for a page, as Chromium sees them (web benchmark, `make bench`):
// a first visit with an empty cache and a repeat visit in the same browser, each the sum
// of every response's headers and body as transferred (compressed where it was); a file
// the browser's cache answered costs nothing and is counted apart.
//
//   node end2end/bench/wire.mjs BASE_URL PATH COOKIE_NAME=VALUE
//
// Prints one JSON line: {"first": {...}, "repeat": {...}}, each with bytes, requests
// (those that went to the server), from_cache and every file.
import { chromium } from '@playwright/test';

const [base, path, cookie] = process.argv.slice(2);
if (!base || !path || !cookie) {
  console.error('usage: wire.mjs BASE_URL PATH COOKIE_NAME=VALUE');
  process.exit(2);
}
const [name, value] = cookie.split(/=(.*)/s);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const context = await browser.newContext();
  await context.addCookies([{ name, value, url: base }]);
  const page = await context.newPage();

  // Chromium's own account of each response (DevTools protocol): what crossed the network,
  // headers and body as transferred, and whether its cache answered instead. Playwright's
  // request sizes report a cached file's stored headers as if they had been sent.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  let responses = new Map();
  cdp.on('Network.responseReceived', (e) => {
    const r = e.response;
    responses.set(e.requestId, {
      url: r.url.replace(base, ''),
      status: r.status,
      cached: Boolean(r.fromDiskCache || r.fromMemoryCache || r.fromPrefetchCache),
      bytes: 0,
    });
  });
  cdp.on('Network.requestServedFromCache', (e) => {
    const seen = responses.get(e.requestId);
    if (seen) seen.cached = true;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const seen = responses.get(e.requestId);
    if (seen) seen.bytes = seen.cached ? 0 : e.encodedDataLength;
  });

  async function visit() {
    responses = new Map();
    await page.goto(base + path, { waitUntil: 'networkidle' });
    await page.waitForFunction(() => window.ipvetHydrated === true, null, { timeout: 30_000 });
    const files = [...responses.values()];
    const sent = files.filter((f) => !f.cached);
    return {
      bytes: sent.reduce((sum, f) => sum + f.bytes, 0),
      requests: sent.length,
      from_cache: files.length - sent.length,
      files,
    };
  }

  const first = await visit();
  const repeat = await visit();
  console.log(JSON.stringify({ first, repeat }));
} finally {
  await browser.close();
}
