// The bundle as a browser first meets it: a first visit with an empty cache
// records the bytes transferred (as encoded on the wire, what DevTools calls
// "transferred") and the time until the console is interactive, and prints
// them. The bundle files come compressed with a year's immutable caching,
// pages are never cached, and the release bundle stays within 1 MiB.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { launchBrowser, signIn, startServer, waitForHydration } from '../support/harness.mjs';

const SITE = process.env.TIDEMARK_SITE_DIR ?? join(resolve(import.meta.dirname, '..', '..'), 'target', 'site');
const BUDGET = 1024 * 1024;
const BUNDLE_FILE = /\/pkg\/[^/]+\.(wasm|js|css)$/;

// Every response the page receives, with its headers and the bytes it took
// on the wire, from Chromium's DevTools protocol.
async function recordNetwork(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const responses = new Map();
  cdp.on('Network.responseReceived', ({ requestId, response, type }) => {
    const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    responses.set(requestId, {
      url: new URL(response.url).pathname, type, status: response.status, headers,
      fromCache: response.fromDiskCache || response.fromPrefetchCache || false, bytes: 0, finished: false,
    });
  });
  cdp.on('Network.requestServedFromCache', ({ requestId }) => {
    const r = responses.get(requestId);
    if (r) r.fromCache = true;
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const r = responses.get(requestId);
    if (r) Object.assign(r, { bytes: encodedDataLength, finished: true });
  });
  return {
    all: () => [...responses.values()],
    clear: () => responses.clear(),
  };
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

async function bundleProfile() {
  try {
    return (await readFile(join(SITE, 'bundle-profile'), 'utf8')).trim();
  } catch {
    return 'unknown (no bundle-profile in the site directory: built before scripts/build.sh wrote it)';
  }
}

describe('bundle', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await server?.stop();
    assert.equal(exit?.code, 0, `server exit: ${JSON.stringify(exit)}`);
  });

  // Opens the console in a new context (an empty cache, as on an
  // administrator's first visit) and waits until the console is interactive.
  async function firstVisit(label, extraHTTPHeaders = {}) {
    const context = await browser.newContext({ extraHTTPHeaders });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const network = await recordNetwork(page);
    const start = performance.now();
    await page.goto(server.url);
    await page.locator('[data-testid="console"][data-hydrated="true"]').waitFor({ timeout: 60_000 });
    const interactiveMs = performance.now() - start;
    assert.equal(new URL(page.url()).pathname, '/login');

    const responses = network.all();
    const finished = responses.filter((r) => r.finished);
    const bundle = finished.filter((r) => BUNDLE_FILE.test(r.url));
    const total = finished.reduce((sum, r) => sum + r.bytes, 0);
    const bundleBytes = bundle.reduce((sum, r) => sum + r.bytes, 0);
    console.log([
      `first visit, ${label}:`,
      ...bundle.map((r) => `  ${r.url}: ${kib(r.bytes)} (${r.headers['content-encoding'] ?? 'uncompressed'})`),
      `  ${kib(total)} transferred in ${finished.length} responses (bundle ${kib(bundleBytes)}),` +
        ` interactive after ${Math.round(interactiveMs)} ms`,
    ].join('\n'));
    return { context, page, problems, network, responses, bundle, bundleBytes };
  }

  function assertCachedByName(visit, encodings) {
    for (const ext of ['wasm', 'js', 'css']) {
      const files = visit.bundle.filter((r) => r.url.endsWith(`.${ext}`));
      assert.equal(files.length, 1, `one ${ext} download: ${JSON.stringify(files.map((r) => r.url))}`);
      const [file] = files;
      assert.equal(file.status, 200, file.url);
      assert.match(file.url, /\.[0-9a-f]{16}\.\w+$/, `${file.url} has no content hash in its name`);
      assert.match(file.headers['content-encoding'] ?? '', encodings, `${file.url} not sent compressed as accepted`);
      assert.match(file.headers['cache-control'] ?? '', /max-age=31536000/, file.url);
      assert.match(file.headers['cache-control'] ?? '', /immutable/, file.url);
    }
    const documents = visit.responses.filter((r) => r.type === 'Document');
    assert.ok(documents.length > 0, 'no document response recorded');
    for (const doc of documents) {
      assert.match(doc.headers['cache-control'] ?? '', /no-store|no-cache/, `${doc.url} may be cached`);
    }
  }

  function assertWithinBudget(profile, visit) {
    if (profile === 'release') {
      assert.ok(visit.bundleBytes <= BUDGET, `release bundle ${kib(visit.bundleBytes)} is over ${kib(BUDGET)}`);
    }
  }

  test('first visit: bytes transferred and time until interactive; compressed, cached by name', async () => {
    const profile = await bundleProfile();
    console.log(`bundle measured: ${profile} build (${SITE})` +
      (profile === 'release' ? '' : `; the ${kib(BUDGET)} budget is checked on release bundles only (scripts/build.sh --release)`));

    // Chromium's own Accept-Encoding: brotli over HTTPS and to loopback.
    const visit = await firstVisit("Chromium's encodings");
    assertCachedByName(visit, /^(br|gzip)$/);
    assertWithinBudget(profile, visit);

    // Signed in through the form, the console works on the same bundle: no
    // bundle file goes over the network again.
    visit.network.clear();
    await signIn(visit.page);
    await waitForHydration(visit.page);
    const again = visit.network.all().filter((r) => BUNDLE_FILE.test(r.url) && !r.fromCache && r.bytes > 0);
    assert.deepEqual(again.map((r) => r.url), [], 'bundle downloaded again after sign-in');
    assert.deepEqual(visit.problems, []);
    await visit.context.close();

    // Over plain HTTP to another host browsers accept only gzip and deflate.
    const gzipOnly = await firstVisit('gzip only (a browser over plain HTTP)', { 'Accept-Encoding': 'gzip, deflate' });
    assertCachedByName(gzipOnly, /^gzip$/);
    assertWithinBudget(profile, gzipOnly);
    assert.deepEqual(gzipOnly.problems, []);
    await gzipOnly.context.close();
  });
});
