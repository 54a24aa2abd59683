// Restoring in the browser, against a real server, a real repository and
// real SQLite databases checked with the sqlite3 tool: from a history record
// to a verified, previewed, started restore; a failure fixed and retried; a
// cancel that leaves the target as it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byTestId, clickNav, launchBrowser, openSignedIn, startServer, waitForHydration } from '../support/harness.mjs';

// Enough rows that a restore runs for seconds, so Cancel lands mid-way.
const ROWS = 1_500_000;

const sql = (db, query) => execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
// What the table holds, row by row, as sqlite3 prints it.
const tableDigest = (db, table) =>
  createHash('sha256')
    .update(execFileSync('sqlite3', [db, `SELECT * FROM "${table}" ORDER BY id`], { maxBuffer: 1 << 30 }))
    .digest('hex');
const fileDigest = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

function makeSource(dir) {
  const db = join(dir, 'plant.db');
  sql(db, `CREATE TABLE readings (id INTEGER PRIMARY KEY, ts DATETIME NOT NULL, device TEXT, value REAL);
    CREATE TABLE devices (name TEXT PRIMARY KEY, site TEXT);
    INSERT INTO devices VALUES ('d1', 'north'), ('d2', 'south');
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
    INSERT INTO readings SELECT i, datetime('2026-11-01', '+' || i || ' seconds'), 'device-' || (i % 50), i * 0.25 FROM n;`);
  return db;
}

function immutable(path, on) {
  const result = spawnSync('chattr', [on ? '+i' : '-i', path], { encoding: 'utf8' });
  assert.equal(result.status, 0, `chattr: ${result.stderr}`);
}

describe('restore workflow', () => {
  let server;
  let browser;
  let dir;
  let source;
  let restoreHref;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidemark-e2e-restore-'));
    source = makeSource(dir);
    server = await startServer({ restoreRoots: [dir] });
    browser = await launchBrowser();

    // A SQLite source, a task, and one backup of it, through the console.
    const page = await browser.newPage();
    const id = (testid) => byTestId(page, testid);
    await openSignedIn(page, `${server.url}/sources`);
    await id('new-source').click();
    await id('source-name-input').fill('plant');
    await id('source-kind').selectOption('sqlite');
    await id('source-location').fill(source);
    await id('save-source').click();
    await page.locator('[data-testid="source-row"][data-name="plant"]').waitFor();

    await clickNav(page, 'nav-backups');
    await id('new-task').click();
    await page.waitForURL(`${server.url}/backups/new`);
    await waitForHydration(page);
    await id('task-name').fill('plant-nightly');
    const option = id('task-source_id').locator('option', { hasText: 'plant' }).first();
    await option.waitFor({ state: 'attached' });
    await id('task-source_id').selectOption(await option.getAttribute('value'));
    await id('content-all').check();
    await id('save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    const row = page.locator('[data-testid="task-row"][data-name="plant-nightly"]');
    await row.locator('[data-testid="backup-now"]').click();
    await page.locator('[data-testid="job-progress"][data-phase="succeeded"]').waitFor({ timeout: 120_000 });
    await row.locator('[data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    await waitForHydration(page);
    restoreHref = await page.locator('[data-testid="history-row"] [data-testid="restore-run"]').first().getAttribute('href');
    assert.match(restoreHref, /^\/restores\/new\?task=\d+&point=/);
    await page.close();
  });

  after(async () => {
    await browser?.close();
    const exit = await server?.stop();
    assert.equal(exit?.code, 0, `server exit: ${JSON.stringify(exit)}`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // Signs in, opens the create page from the history record by clicking,
  // and names the task.
  async function startForm(page, name, targetPath) {
    await openSignedIn(page, `${server.url}/backups`);
    const id = (testid) => byTestId(page, testid);
    await page.locator('[data-testid="task-row"][data-name="plant-nightly"] [data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    await waitForHydration(page);
    await page.locator(`[data-testid="history-row"] [data-testid="restore-run"][href="${restoreHref}"]`).click();
    await page.waitForURL(`${server.url}${restoreHref}`);
    // What is typed before the form itself hydrated would not reach it.
    await page.locator('[data-testid="restore-form"][data-hydrated="true"]').waitFor();
    await page.locator('[data-testid="object-row"][data-object="readings"]').waitFor();
    await page.locator('[data-testid="point-row"] [data-testid="point-choose"]:checked').waitFor({ state: 'attached' });
    await id('restore-name').fill(name);
    await id('target-path').fill(targetPath);
    return id;
  }

  async function createAndOpen(page, id) {
    await id('create-restore').click();
    await page.waitForURL(/\/restores\/\d+$/);
    await waitForHydration(page);
    await id('restore-state').waitFor();
  }

  test('from a history record: verify, fix, preview, start, phases, green, data matches', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    // A database that already has the renamed table: Verify must fail.
    const clash = join(dir, 'clash.db');
    sql(clash, 'CREATE TABLE readings_copy (id INTEGER PRIMARY KEY, ts DATETIME, device TEXT, value REAL);');
    const id = await startForm(page, 'plant-restore', clash);
    await page.locator('[data-testid="object-row"][data-object="readings"] [data-testid="object-target-name"]').fill('readings_copy');

    await id('verify-restore').click();
    await page.locator('[data-testid="restore-checks"][data-outcome="fail"]').waitFor();
    const failing = page.locator('[data-testid="check-item"][data-outcome="fail"]');
    assert.equal(await failing.count(), 1, (await failing.allTextContents()).join(' | '));
    assert.match(await failing.textContent(), /readings_copy/);

    // A path outside the restore roots is refused, naming them.
    assert.match(await id('restore-roots').textContent(), new RegExp(`below ${dir}`));
    await id('target-path').fill('/etc/tidemark-e2e.db');
    await id('verify-restore').click();
    await id('error-target_path').waitFor();
    assert.match(await id('error-target_path').textContent(), /outside the restore roots/);

    // Fix: a new database file, as advised, in a directory Start creates.
    const target = join(dir, 'new-dir', 'restored.db');
    await id('target-path').fill(target);
    await id('verify-restore').click();
    await page.locator('[data-testid="restore-checks"][data-outcome="pass"]').waitFor();
    assert.match(
      await page.locator('[data-testid="check-item"][data-name="restore path"]').textContent(),
      /new-dir does not exist yet: Start creates it/,
    );
    await id('preview-restore').click();
    await id('restore-preview').waitFor();
    const planned = page.locator('[data-testid="preview-row"][data-object="readings"]');
    assert.match(await planned.textContent(), /readings_copy/);
    assert.match(await id('restore-preview').textContent(), new RegExp(`${ROWS + 2} rows`));
    assert.equal(existsSync(target), false, 'Verify and Preview create nothing');

    await createAndOpen(page, id);
    assert.equal(await id('restore-state').textContent(), 'new');
    await id('start-restore').click();
    await page.locator('[data-testid="restore-progress"][data-state="finished"]').waitFor({ timeout: 180_000 });
    assert.equal(await id('restore-percent').textContent(), '100%');
    assert.ok((await page.locator('.job-progress--succeeded').count()) > 0, 'the bar is green');
    await page.locator('[data-testid="phase-row"][data-phase="verifying"][data-status="done"]').waitFor();
    for (const phase of ['pending', 'preparing', 'downloading', 'loading', 'committing', 'verifying']) {
      assert.equal(
        await page.locator(`[data-testid="phase-row"][data-phase="${phase}"]`).getAttribute('data-status'),
        'done',
        `${phase} is done`,
      );
    }
    await page.locator('[data-testid="restore-object"][data-object="readings"][data-state="done"]').waitFor();
    // Each table was read back from the restored database and proven exact.
    const check = page.locator('[data-testid="restore-object"][data-object="readings"] [data-testid="restore-object-check"]');
    assert.equal(await check.getAttribute('data-check'), 'content');
    assert.equal(await check.textContent(), `content verified (${ROWS} rows)`);
    assert.equal(
      await page.locator('[data-testid="restore-object"][data-object="devices"] [data-testid="restore-object-check"]').getAttribute('data-check'),
      'content',
    );

    // The data, checked with sqlite3: the renamed table holds exactly the source's rows.
    assert.equal(sql(target, 'SELECT count(*) FROM readings_copy'), String(ROWS));
    assert.equal(tableDigest(target, 'readings_copy'), tableDigest(source, 'readings'));
    assert.equal(sql(target, 'SELECT count(*) FROM devices'), '2');
    // Finished: Retry is not offered, nor Start.
    assert.equal(await id('retry-restore').count(), 0);
    assert.equal(await id('start-restore').count(), 0);
    await clickNav(page, 'nav-restores');
    const listed = page.locator('[data-testid="restore-row"][data-name="plant-restore"]');
    assert.equal(await listed.getAttribute('data-state'), 'finished');
    // A finished restore's progress is its full green bar, as on its page.
    const ended = listed.locator('[data-testid="restore-progress"]');
    assert.match(await ended.getAttribute('class'), /job-progress--succeeded/);
    assert.equal(await ended.locator('[data-testid="restore-percent"]').textContent(), '100%');
    // At a 1400 px wide window the list stays inside the page.
    await page.setViewportSize({ width: 1400, height: 900 });
    const overflow = await page.evaluate(() => {
      const list = document.querySelector('[data-testid="restore-list"]').getBoundingClientRect();
      return { right: list.right, width: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth };
    });
    assert.ok(overflow.right <= overflow.width && overflow.scroll <= overflow.width, JSON.stringify(overflow));
    assert.equal(await listed.locator('[data-testid="row-retry"]').count(), 0);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a failure shows red with its message; fixed, Retry succeeds', async () => {
    const page = await browser.newPage();
    const locked = join(dir, 'locked');
    await mkdir(locked);
    const target = join(locked, 'restored.db');
    const id = await startForm(page, 'plant-retry', target);
    await createAndOpen(page, id);
    await page.locator('[data-testid="restore-checks"][data-outcome="pass"]').waitFor();

    // The target turns read-only between Verify and Start.
    immutable(locked, true);
    try {
      await id('start-restore').click();
      await page.locator('[data-testid="restore-progress"][data-state="failed"]').waitFor({ timeout: 60_000 });
    } finally {
      immutable(locked, false);
    }
    assert.ok((await page.locator('.job-progress--failed').count()) > 0, 'the bar is red');
    await id('restore-error').waitFor();
    assert.match(await id('restore-error').textContent(), /not writable/);
    // The phase it stopped in is marked; later phases never began.
    await page.locator('[data-testid="phase-row"][data-phase="preparing"][data-status="failed"]').waitFor();
    assert.equal(await page.locator('[data-testid="phase-row"][data-phase="loading"]').getAttribute('data-status'), 'waiting');
    assert.equal(existsSync(target), false);

    await id('retry-restore').click();
    await page.locator('[data-testid="restore-progress"][data-state="finished"]').waitFor({ timeout: 180_000 });
    assert.equal(await id('restore-attempt').textContent(), '2');
    assert.equal(sql(target, 'SELECT count(*) FROM readings'), String(ROWS));
    await page.close();
  });

  test('Cancel mid-way leaves the target database unchanged', async () => {
    const page = await browser.newPage();
    const existing = join(dir, 'existing.db');
    sql(existing, "CREATE TABLE keep (n INTEGER); INSERT INTO keep VALUES (42);");
    const before = fileDigest(existing);
    const id = await startForm(page, 'plant-cancel', existing);
    await createAndOpen(page, id);
    // The database holds other tables: a warning that must be acknowledged.
    await page.locator('[data-testid="restore-checks"][data-outcome="warn"]').waitFor();
    assert.equal(await id('start-restore').isDisabled(), true);
    await id('ack-warnings').check();
    await id('start-restore').click();
    await page.locator('[data-testid="restore-progress"][data-state="running"] [data-testid="restore-phase"]', { hasText: 'loading' }).waitFor({ timeout: 60_000 });
    await id('cancel-restore').click();
    await page.locator('[data-testid="restore-progress"][data-state="cancelled"]').waitFor({ timeout: 60_000 });
    assert.equal(await id('restore-state').textContent(), 'cancelled');
    assert.equal(fileDigest(existing), before, 'the database file is byte for byte as before');
    assert.equal(sql(existing, "SELECT group_concat(name) FROM sqlite_master"), 'keep');
    await id('retry-restore').waitFor();
    await page.close();
  });

  test('Create restore task preselects the newest point of the chosen task', async () => {
    const page = await browser.newPage();
    await openSignedIn(page, `${server.url}/restores`);
    await byTestId(page, 'new-restore').click();
    await page.waitForURL(`${server.url}/restores/new`);
    await page.locator('[data-testid="restore-form"][data-hydrated="true"]').waitFor();
    const option = byTestId(page, 'restore-task').locator('option', { hasText: 'plant-nightly' });
    await option.waitFor({ state: 'attached' });
    await byTestId(page, 'restore-task').selectOption(await option.getAttribute('value'));
    const newest = page.locator('[data-testid="point-row"]').first();
    await newest.locator('[data-testid="point-choose"]:checked').waitFor({ state: 'attached' });
    assert.equal(await page.locator('[data-testid="point-choose"]:checked').count(), 1);
    await page.close();
  });
});
