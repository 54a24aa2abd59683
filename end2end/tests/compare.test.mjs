// Compare two points by clicking: an administrator backs up a file tree
// (names with spaces, quotes and other scripts), changes three files, backs
// up again, opens the newer point's Changes from the history, and sees
// exactly those three; then picks the pair the other way round on the
// compare page and sees the same three.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backUpTree, byTestId, launchBrowser, startServer, waitForHydration } from '../support/harness.mjs';

const CHANGED = ['device 7/it\'s "quoted".csv', 'readme.txt', '数据/温度 ✓.csv'];

async function makeTree() {
  const root = await mkdtemp(join(tmpdir(), 'tidemark-e2e-compare-'));
  for (let d = 0; d < 10; d++) {
    await mkdir(join(root, `device ${d}`));
    for (let i = 0; i < 20; i++) {
      await writeFile(join(root, `device ${d}`, `reading-${i}.csv`), `ts,value\n${i},${d}\n`);
    }
  }
  await mkdir(join(root, '数据'));
  await writeFile(join(root, '数据', '温度 ✓.csv'), 'ts,温度\n1,21.5\n');
  await writeFile(join(root, 'device 7', 'it\'s "quoted".csv'), 'a\n');
  await writeFile(join(root, 'readme.txt'), 'sensor data\n');
  return root;
}

describe('compare points', () => {
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

  test('three files changed between two backups show as exactly those three', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const id = (testid) => byTestId(page, testid);

    const row = await backUpTree(page, server, { source: 'sensors', task: 'sensors nightly', tree });

    for (const name of CHANGED) await writeFile(join(tree, name), `changed: ${name}\n`);
    await row.locator('[data-testid="backup-now"]').click();

    // The newer point's Changes: against its parent.
    await row.locator('[data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    await waitForHydration(page);
    // Both runs succeeded (the second may still be running when the page opens).
    await page.locator('[data-testid="history-row"][data-state="succeeded"]').nth(1).waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="history-row"] [data-testid="compare-run-point"]').first().click();
    await page.waitForURL(/\/backups\/\d+\/compare\?to=/);
    const report = id('diff-report');
    await report.waitFor();
    assert.equal(await report.getAttribute('data-changed'), '3');
    assert.equal(await report.getAttribute('data-added'), '0');
    assert.equal(await report.getAttribute('data-removed'), '0');
    const names = async () => page.locator('[data-testid="diff-row"]').evaluateAll((rows) => rows.map((r) => r.dataset.name));
    assert.deepEqual((await names()).sort(), [...CHANGED].sort());
    for (const name of CHANGED) {
      const line = page.locator(`[data-testid="diff-row"][data-name="${name.replaceAll('"', '\\"')}"]`);
      assert.match(await line.textContent(), /changed: content/);
    }

    // The other way round, chosen on the page: the same three.
    await page.locator('[data-testid="compare-page"][data-hydrated="true"]').waitFor();
    const [newer, older] = await id('compare-to').locator('option').evaluateAll((options) => options.map((o) => o.value));
    await id('compare-to').selectOption(older);
    await id('compare-from').selectOption(newer);
    await id('compare-run').click();
    await page.waitForURL(new RegExp(`from=${encodeURIComponent(newer)}`));
    await page.locator(`[data-testid="diff-report"][data-changed="3"]`).waitFor();
    assert.deepEqual((await names()).sort(), [...CHANGED].sort());
    assert.match(await id('diff-summary').textContent(), /0 added · 0 removed · 3 changed · 2\d\d unchanged/);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
