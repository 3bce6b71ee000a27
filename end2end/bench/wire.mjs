// Bytes on the wire for a page, as Chromium sees them (web benchmark, `make bench`):
// a first visit with an empty cache and a repeat visit in the same browser, each the sum
// of every response's headers and body as transferred (compressed where it was).
//
//   node end2end/bench/wire.mjs BASE_URL PATH COOKIE_NAME=VALUE
//
// Prints one JSON line: {"first": {...}, "repeat": {...}}, each with bytes, requests and
// the files fetched.
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

  async function visit() {
    const seen = [];
    const onFinished = (request) => seen.push(request);
    page.on('requestfinished', onFinished);
    await page.goto(base + path, { waitUntil: 'networkidle' });
    await page.waitForFunction(() => window.ipvetHydrated === true, null, { timeout: 30_000 });
    page.off('requestfinished', onFinished);
    let bytes = 0;
    const files = [];
    for (const request of seen) {
      const response = await request.response();
      const sizes = await request.sizes();
      // Chromium's encoded sizes: what crossed the wire (nothing for a file its cache had).
      const wire = Math.max(0, sizes.responseHeadersSize) + Math.max(0, sizes.responseBodySize);
      bytes += wire;
      files.push({ url: request.url().replace(base, ''), status: response?.status(), bytes: wire });
    }
    return { bytes, requests: seen.length, files };
  }

  const first = await visit();
  const repeat = await visit();
  console.log(JSON.stringify({ first, repeat }));
} finally {
  await browser.close();
}
