// The administrator's backup workflow in the browser, against a real server
// and a real repository on disk: source → task → Verify → Back Up Now →
// progress → history → copy the backup path → copy the task → delete with files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byTestId, clickNav, launchBrowser, openSignedIn, startServer, waitForHydration } from '../support/harness.mjs';

async function makeTree() {
  const root = await mkdtemp(join(tmpdir(), 'tidemark-e2e-tree-'));
  await mkdir(join(root, 'series', 'sg1'), { recursive: true });
  await mkdir(join(root, 'logs'));
  for (let i = 0; i < 6; i++) {
    // Incompressible, so the run takes long enough to show progress.
    await writeFile(join(root, 'series', 'sg1', `part-${i}.tsfile`), randomBytes(4 * 1024 * 1024));
  }
  await writeFile(join(root, 'series', 'readme.txt'), 'time series\n');
  await writeFile(join(root, 'logs', 'server.log'), 'started\n'.repeat(1000));
  return root;
}

describe('backup workflow', () => {
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

  test('create a source and a task, verify, back up, see history, copy, delete', async () => {
    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const id = (testid) => byTestId(page, testid);

    // The demo source exists at first start.
    await openSignedIn(page, `${server.url}/sources`);
    await page.locator('[data-testid="source-row"][data-name="demo-metrics"]').waitFor();

    // A file-tree source, tested then saved.
    await id('new-source').click();
    await id('source-name-input').fill('iot-data');
    await id('source-kind').selectOption('file-tree');
    await id('source-location').fill('/no/such/dir');
    await id('test-connection').click();
    await id('connection-error').waitFor();
    assert.match(await id('connection-error').textContent(), /no\/such\/dir/);
    await id('source-location').fill(tree);
    await id('test-connection').click();
    await id('connection-ok').waitFor();
    assert.match(await id('connection-ok').textContent(), /File tree/);
    await id('save-source').click();
    await page.locator('[data-testid="source-row"][data-name="iot-data"]').waitFor();

    // A task: Verify fails on content that matches nothing, then passes.
    await clickNav(page, 'nav-backups');
    await id('new-task').click();
    await page.waitForURL(`${server.url}/backups/new`);
    await waitForHydration(page);
    await id('task-name').fill('iot-nightly');
    await id('task-source_id').locator('option', { hasText: 'iot-data' }).waitFor({ state: 'attached' });
    const sourceValue = await id('task-source_id').locator('option', { hasText: 'iot-data' }).getAttribute('value');
    await id('task-source_id').selectOption(sourceValue);
    await id('content-regex').check();
    await id('task-content_regex').fill('nothing-matches-this$');
    await id('verify-task').click();
    await page.locator('[data-testid="verify-result"][data-passed="false"]').waitFor();
    const failing = page.locator('[data-testid="verify-check"][data-state="fail"]');
    assert.equal(await failing.count(), 1, (await failing.allTextContents()).join(" | "));
    assert.match(await failing.textContent(), /Content exists/);

    await id('content-objects').check();
    await page.locator('[data-testid="object-item"][data-name="series"] [data-testid="object-check"]').check();
    assert.equal(await id('selected-count').textContent(), '1 selected');
    await id('verify-task').click();
    await page.locator('[data-testid="verify-result"][data-passed="true"]').waitFor();
    assert.equal(await page.locator('[data-testid="verify-check"][data-state="pass"]').count(), 5);

    // A cron schedule: a wrong expression says why as it is typed; a good
    // one lists its next five runs in its zone (03:00 in Shanghai is 19:00 UTC).
    await id('task-schedule_mode').selectOption('cron');
    await id('task-cron_expression').fill('0 25 * * *');
    await id('cron-problem').waitFor();
    await id('task-cron_timezone').fill('Asia/Shanghai');
    await id('task-cron_expression').fill('0 3 * * *');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="cron-next-run"]').length === 5);
    for (const run of await page.locator('[data-testid="cron-next-run"]').allTextContents()) {
      assert.match(run, /^\w{3} \d{4}-\d\d-\d\d 03:00:00 CST \(\d{4}-\d\d-\d\d 19:00:00 UTC\)$/);
    }
    await id('save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    const row = page.locator('[data-testid="task-row"][data-name="iot-nightly"]');
    await row.waitFor();
    assert.match(await row.textContent(), /cron 0 3 \* \* \* \(Asia\/Shanghai\)/);

    // Back Up Now: the bar runs to 100% and turns green.
    await row.locator('[data-testid="backup-now"]').click();
    const bar = page.locator('[data-testid="job-progress"]');
    await page.locator('[data-testid="job-progress"][data-phase="succeeded"]').waitFor({ timeout: 60_000 });
    assert.equal(await bar.locator('[data-testid="job-percent"]').textContent(), '100%');
    await page.locator('[data-testid="task-row"][data-name="iot-nightly"] [data-testid="task-last-state"]', { hasText: 'succeeded' }).waitFor();

    // History shows the run; Copy puts its backup path on the clipboard.
    await row.locator('[data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    const run = page.locator('[data-testid="history-row"]');
    await run.first().waitFor();
    assert.equal(await run.count(), 1);
    assert.equal(await run.getAttribute('data-state'), 'succeeded');
    assert.equal(await run.locator('[data-testid="run-mode"]').textContent(), 'full');
    const backupPath = await run.locator('[data-testid="backup-path"]').textContent();
    assert.match(backupPath, /\/runs\/iot-nightly_/);
    assert.ok(existsSync(join(backupPath, 'manifest.json')), `${backupPath} holds the manifest`);
    await run.locator('[data-testid="copy-path"]').click();
    await page.waitForFunction(
      async (expected) => (await navigator.clipboard.readText()) === expected,
      backupPath,
    );

    // The run's detail lists its log and the objects it stored.
    await run.locator('[data-testid="run-link"]').click();
    await id('run-log').waitFor();
    assert.match(await id('run-log').textContent(), /full backup of file:\/\//);
    assert.equal(await page.locator('[data-testid="run-object"]').count() >= 7, true);

    // Copy the task: same settings, no source and content; save it with another source.
    await clickNav(page, 'nav-backups');
    await page.locator('[data-testid="task-row"][data-name="iot-nightly"] [data-testid="copy-task"]').click();
    await page.waitForURL(/\/backups\/new\?copy=/);
    await page.locator('[data-testid="task-name"]').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="task-name"]')?.value === 'iot-nightly-copy');
    assert.equal(await id('task-source_id').inputValue(), '');
    const demoValue = await id('task-source_id').locator('option', { hasText: 'demo-metrics' }).getAttribute('value');
    await id('task-source_id').selectOption(demoValue);
    await id('content-all').check();
    await id('save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    await page.locator('[data-testid="task-row"][data-name="iot-nightly-copy"]').waitFor();

    // Delete the first task with its files: its point leaves the repository.
    await page.locator('[data-testid="task-row"][data-name="iot-nightly"] [data-testid="delete-task"]').click();
    await id('delete-files').check();
    await id('confirm-delete').click();
    await id('delete-report').waitFor();
    assert.match(await id('delete-report').textContent(), /1 backup point\(s\)/);
    assert.equal(existsSync(join(backupPath, 'manifest.json')), false);
    await id('close-delete').click();
    await page.locator('[data-testid="task-row"][data-name="iot-nightly"]').waitFor({ state: 'detached' });
    assert.equal(await page.locator('[data-testid="task-row"]').count(), 1);

    assert.deepEqual(problems, []);
    await context.close();
  });
});
