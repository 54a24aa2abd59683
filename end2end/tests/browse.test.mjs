// Browse a point and restore one folder of it, by clicking: an
// administrator backs up a tree of 20 000 files, opens Browse from the
// history, walks into a folder (entries paged, folders first), searches by
// substring and by regular expression (a broken one is refused beside the
// field), downloads a 6 MiB file (streamed; its SHA-256 equal to the
// source's, its name kept), ticks one folder, Restore selected, and the
// restored folder is identical to the source's (`diff -r`) with nothing else
// restored beside it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backUpTree, byTestId, launchBrowser, startServer, waitForHydration } from '../support/harness.mjs';

const DEVICES = 100;
const READINGS = 200;
const pad = (n, w) => String(n).padStart(w, '0');
const BIG = 'big "blob" 温度.bin';
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

async function makeTree() {
  const root = await mkdtemp(join(tmpdir(), 'tidemark-e2e-browse-'));
  for (let d = 1; d <= DEVICES; d++) {
    const dir = join(root, 'site A', `device ${pad(d, 3)}`);
    await mkdir(dir, { recursive: true });
    for (let r = 1; r <= READINGS; r++) {
      await writeFile(join(dir, `reading-${pad(r, 3)}.csv`), `ts,value\n${d},${r}\n`);
    }
  }
  await writeFile(join(root, 'readme.txt'), 'sensors of site A\n');
  await writeFile(join(root, BIG), randomBytes(6 * 1024 * 1024));
  return root;
}

describe('browse a point', () => {
  let server;
  let browser;
  let tree;

  before(async () => {
    tree = await makeTree();
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await server?.stop();
    assert.equal(exit?.code, 0, `server exit: ${JSON.stringify(exit)}`);
    if (tree) await rm(tree, { recursive: true, force: true });
  });

  test('walk, search, tick a folder, restore just that', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const id = (testid) => byTestId(page, testid);

    const row = await backUpTree(page, server, { source: 'site A', task: 'site A nightly', tree });
    await row.locator('[data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    await waitForHydration(page);
    await page.locator('[data-testid="history-row"] [data-testid="browse-run-point"]').first().click();
    await page.waitForURL(/\/backups\/\d+\/points\//);
    await page.locator('[data-testid="browse-page"][data-hydrated="true"]').waitFor();

    // The top: the folder first, then the file.
    const names = () => page.locator('[data-testid="browse-entry"]').evaluateAll((rows) => rows.map((r) => r.dataset.name));
    await page.locator('[data-testid="browse-listing"][data-folder=""]').waitFor();
    assert.deepEqual(await names(), ['site A', BIG, 'readme.txt']);

    // A file downloads as it is, under its own name.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator(`[data-testid="browse-entry"][data-name="${BIG.replaceAll('"', '\\"')}"] [data-testid="browse-download"]`).click(),
    ]);
    // The browser replaces quotes in file names; the answer carries it whole.
    assert.equal(download.suggestedFilename(), BIG.replaceAll('"', '_'));
    const href = await page.locator('[data-testid="browse-download"]').first().getAttribute('href');
    const disposition = await page.evaluate(async (url) => (await fetch(url)).headers.get('content-disposition'), href);
    assert.equal(decodeURIComponent(disposition.replace("attachment; filename*=UTF-8''", '')), BIG);
    assert.equal(sha256(await readFile(await download.path())), sha256(await readFile(join(tree, BIG))));
    await page.locator('[data-testid="browse-entry"][data-name="site A"] [data-testid="browse-open"]').click();
    await page.locator('[data-testid="browse-listing"][data-folder="site A"][data-total="100"]').waitFor();
    assert.equal(await page.locator('[data-testid="browse-entry"][data-kind="dir"]').count(), 100);

    // Search: a substring, a regular expression, a broken one.
    await id('browse-search').fill('READING-007');
    await id('browse-search-go').click();
    // The folder listed before also held 100 entries: wait for the results themselves.
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="browse-entry"]')];
      return rows.length === 100 && rows.every((r) => r.dataset.name.endsWith('/reading-007.csv'));
    });
    await page.locator('[data-testid="browse-listing"][data-total="100"]').waitFor();
    assert.ok((await names()).every((n) => n.endsWith('/reading-007.csv')));
    await id('browse-search').fill('/device 04[0-9]/reading-00[12]\\.csv$/');
    await id('browse-search-go').click();
    await page.locator('[data-testid="browse-listing"][data-total="20"]').waitFor();
    await id('browse-search').fill('/(unclosed/');
    await id('browse-search-go').click();
    await id('error-search').waitFor();

    // Back to the folder by its crumb, tick one device, Restore selected.
    await id('browse-search').fill('');
    await id('browse-search-go').click();
    await page.locator('[data-testid="browse-listing"][data-folder=""]').waitFor();
    await page.locator('[data-testid="browse-entry"][data-name="site A"] [data-testid="browse-open"]').click();
    await page.locator('[data-testid="browse-listing"][data-folder="site A"]').waitFor();
    await page.locator('[data-testid="browse-entry"][data-name="site A/device 042"] [data-testid="browse-select"]').check();
    assert.equal(await id('restore-selected').textContent(), 'Restore selected (1)');
    await id('restore-selected').click();
    await page.waitForURL(/\/restores\/new\?task=\d+&point=.+&select=/);
    await page.locator('[data-testid="restore-form"][data-hydrated="true"]').waitFor();
    await page.locator('[data-testid="objects-custom"]:checked').waitFor({ state: 'attached' });
    // The form opens on the selection (the folder and its files, of every
    // object of the point), a page at a time.
    await page.locator(`[data-testid="object-count"][data-selected="${1 + READINGS}"]`).waitFor();
    assert.ok(Number(await id('object-count').getAttribute('data-total')) > DEVICES * READINGS);
    assert.equal(await id('object-table').getAttribute('data-shown'), String(1 + READINGS));
    const rowsOnPage = () => page.locator('[data-testid="object-row"]').evaluateAll((rows) =>
      rows.map((r) => [r.dataset.object, r.querySelector('[data-testid="object-select"]').checked]));
    const first = await rowsOnPage();
    assert.equal(first.length, 100);
    assert.ok(first.every(([name, on]) => on && name.startsWith('site A/device 042')), JSON.stringify(first.slice(0, 3)));
    await id('object-page-next').click();
    await page.waitForFunction((name) => document.querySelector('[data-testid="object-row"]')?.dataset.object !== name, first[0][0]);
    const second = await rowsOnPage();
    assert.ok(second.every(([name, on]) => on && name.startsWith('site A/device 042')), JSON.stringify(second.slice(0, 3)));
    const target = join(server.dataDir, 'restores', 'one "device" folder');
    await id('restore-name').fill('device 042 back');
    await id('target-path').fill(target);
    await id('verify-restore').click();
    await page.locator('[data-testid="restore-checks"][data-outcome="pass"]').waitFor({ timeout: 60_000 });
    await id('create-restore').click();
    await page.waitForURL(/\/restores\/\d+$/);
    await waitForHydration(page);
    await id('start-restore').click();
    await page.locator('[data-testid="restore-progress"][data-state="finished"]').waitFor({ timeout: 120_000 });
    execFileSync('diff', ['-r', join(tree, 'site A', 'device 042'), join(target, 'site A', 'device 042')]);
    assert.equal(existsSync(join(target, 'site A', 'device 041')), false, 'only the chosen folder');
    assert.equal(existsSync(join(target, 'readme.txt')), false);
    assert.equal(existsSync(join(target, BIG)), false);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
