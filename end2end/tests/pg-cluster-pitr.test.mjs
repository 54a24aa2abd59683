// Point-in-time recovery of a PostgreSQL cluster in the browser, against a
// real PostgreSQL: a cluster source and a continuous task made by clicking
// (Verify shows the WAL checks), a base backup, rows written after it with
// their commit second, the timeline showing them archived, a second between
// two writes picked in the restore form, the cluster recovered into a new
// data directory and started on a port, and exactly the rows up to that
// second there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  POSTGRES_PASSWORD, byTestId, clickNav, launchBrowser, openSignedIn, startPostgres, startServer, waitForHydration,
} from '../support/harness.mjs';

const NOW = "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')";

// Waits until the server's clock is past `second`: each write then
// commits in a second of its own.
async function clockPast(pg, second) {
  while (pg.sql(`SELECT ${NOW}`) <= second) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Inserts a row (its own transaction) and returns the second the server's
// clock showed after it committed.
function write(pg, id, note) {
  pg.sql(`INSERT INTO orders (id, note) VALUES (${id}, '${note}')`, 'shop');
  return pg.sql(`SELECT ${NOW}`);
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

describe('point-in-time recovery of a PostgreSQL cluster', () => {
  let pg;
  let server;
  let browser;
  let restoreRoot;
  let recovered;
  let passed = false;

  before(async () => {
    pg = await startPostgres();
    pg.sql('CREATE DATABASE shop');
    pg.sql("CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL); INSERT INTO orders VALUES (1, 'before the backup')", 'shop');
    // The recovering server runs as postgres, which must reach the new data directory.
    restoreRoot = await mkdtemp(join(tmpdir(), 'tidemark-e2e-clusters-'));
    await chmod(restoreRoot, 0o711);
    server = await startServer({ restoreRoots: [restoreRoot] });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (!passed && server && pg) {
      // What the server and the archiver's streamer said, for the failure.
      const spool = join(server.dataDir, 'archive-spool');
      const tasks = await readdir(spool).catch(() => []);
      const logs = await Promise.all(tasks.map((t) => readFile(join(spool, t, '.receiver.log'), 'utf8').catch(() => '')));
      const receiver = logs.join('\n');
      console.log(`PostgreSQL log:\n${(await pg.log()).slice(-6000)}\npg_receivewal:\n${receiver.slice(-3000)}`);
    }
    if (recovered) {
      try { pg.stopCluster(recovered); } catch { /* not started */ }
    }
    const exit = await server?.stop();
    await pg?.stop();
    if (restoreRoot) await rm(restoreRoot, { recursive: true, force: true });
    assert.equal(exit?.code, 0, `server exit: ${JSON.stringify(exit)}`);
  });

  test('a continuous cluster task is recovered to a second between two writes', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const id = (testid) => byTestId(page, testid);

    await openSignedIn(page, `${server.url}/sources`);
    await id('new-source').click();
    await id('source-name-input').fill('shop cluster');
    await id('source-kind').selectOption('postgres-cluster');
    await id('source-location').fill(pg.clusterLocation());
    await id('source-password').fill(POSTGRES_PASSWORD);
    await id('save-source').click();
    await page.locator('[data-testid="source-row"][data-name="shop cluster"]').waitFor();

    // A continuous task: Verify shows the WAL checks, all passing.
    await clickNav(page, 'nav-backups');
    await id('new-task').click();
    await page.waitForURL(`${server.url}/backups/new`);
    await waitForHydration(page);
    await id('task-name').fill('shop-cluster');
    const option = id('task-source_id').locator('option', { hasText: /^shop cluster \(/ });
    await option.waitFor({ state: 'attached' });
    await id('task-source_id').selectOption(await option.getAttribute('value'));
    await id('content-all').check();
    await id('task-continuous-input').check();
    await id('verify-task').click();
    await page.locator('[data-testid="verify-result"]').waitFor();
    const walChecks = page.locator('[data-testid="verify-check"]', { hasText: 'WAL:' });
    assert.ok((await walChecks.count()) >= 4, (await walChecks.allTextContents()).join(' | '));
    const failing = page.locator('[data-testid="verify-check"][data-state="fail"]');
    assert.equal(await failing.count(), 0, (await failing.allTextContents()).join(' | '));
    await id('save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    const row = page.locator('[data-testid="task-row"][data-name="shop-cluster"]');
    await row.locator('[data-testid="backup-now"]').click();
    await page.locator('[data-testid="job-progress"][data-phase="succeeded"]').waitFor({ timeout: 120_000 });

    // Writes after the base backup, each in its own second; then the accident.
    const kept = write(pg, 2, 'kept');
    await clockPast(pg, kept);
    const chosen = pg.sql(`SELECT ${NOW}`);
    await clockPast(pg, chosen);
    const lost = write(pg, 3, 'after the chosen second');
    await clockPast(pg, lost);
    pg.sql('DELETE FROM orders', 'shop');
    const deletedAt = pg.sql(`SELECT ${NOW}`);

    // The timeline: the base point with its WAL coordinates, and a range
    // that reaches past the delete once its WAL is archived.
    await row.locator('[data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    await waitForHydration(page);
    await id('timeline').waitFor();
    await page.waitForFunction(
      (second) => [...document.querySelectorAll('[data-testid="timeline-range"]')].some((r) => r.dataset.to >= second),
      deletedAt,
      { timeout: 90_000 },
    );
    assert.equal(await id('timeline').getAttribute('data-archiver'), 'running');
    assert.match(await id('point-coordinates').first().textContent(), /WAL [0-9A-F]{24} from [0-9A-F]+\/[0-9A-F]+, consistent at [0-9A-F]+\/[0-9A-F]+, timeline 1/);
    assert.equal(await id('timeline-gap').count(), 0);
    // The slot's retention is shown, and small: the archive keeps up.
    assert.equal(await id('slot-retained').getAttribute('data-alert'), 'false');
    assert.match(await id('slot-retained').textContent(), /replication slot retains .* of WAL/);

    // The restore form: point in time, the chosen second, a new data directory, a port.
    await page.locator('[data-testid="history-row"] [data-testid="restore-run"]').first().click();
    await page.waitForURL(/\/restores\/new\?task=/);
    await page.locator('[data-testid="restore-form"][data-hydrated="true"]').waitFor();
    await id('recovery-method').selectOption('time');
    await id('to-time').waitFor();
    await id('to-time').fill(chosen.replace(' ', 'T'));
    await id('target-new').check();
    recovered = join(restoreRoot, 'shop at the chosen second');
    await id('target-path').fill(recovered);
    const port = await freePort();
    await id('start-port').fill(String(port));
    await id('preview-restore').click();
    await id('pitr-plan').waitFor();
    assert.match(await id('pitr-log-range').textContent(), /WAL [0-9A-F]{24} \(consistent at [0-9A-F]+\/[0-9A-F]+\) → stop just before [0-9A-F]+\/[0-9A-F]+/);
    await id('create-restore').click();
    await page.waitForURL(/\/restores\/\d+$/);
    await waitForHydration(page);
    assert.equal(await id('restore-to-time').textContent(), `${chosen} UTC`);
    await id('restore-checks').waitFor();
    const outcome = await id('restore-checks').getAttribute('data-outcome');
    const items = (await page.locator('[data-testid="check-item"]').allTextContents()).join(' | ');
    assert.notEqual(outcome, 'fail', items);
    if (outcome === 'warn') await id('ack-warnings').check();
    await id('start-restore').click();
    await page.locator('[data-testid="restore-progress"][data-state="finished"]').waitFor({ timeout: 240_000 });
    await page.locator('[data-testid="phase-row"][data-phase="replaying WAL"][data-status="done"]').waitFor();
    await page.locator('[data-testid="pitr-result"][data-cluster="true"]').waitFor();
    assert.match(await id('pitr-server-stopped').textContent(), /recovery stopping before/);
    assert.match(await id('pitr-data-dir').textContent(), new RegExp(`running on port ${port}`));

    // Exactly the rows committed up to that second, read from the recovered
    // cluster; the source keeps its own state.
    assert.equal(pg.sqlAt(port, 'SELECT id, note FROM orders ORDER BY id', 'shop'), '1|before the backup\n2|kept');
    assert.equal(pg.sql('SELECT count(*) FROM orders', 'shop'), '0');

    // The repair a person makes next: the table as it was at that second,
    // extracted beside the emptied one in the live database (registered
    // as a PostgreSQL data source), the recovered cluster removed.
    await clickNav(page, 'nav-sources');
    await id('new-source').click();
    await id('source-name-input').fill('shop database');
    await id('source-kind').selectOption('postgres');
    await id('source-location').fill(`postgres://postgres@127.0.0.1:${pg.port}/shop`);
    await id('source-password').fill(POSTGRES_PASSWORD);
    await id('save-source').click();
    await page.locator('[data-testid="source-row"][data-name="shop database"]').waitFor();
    await clickNav(page, 'nav-backups');
    await row.locator('[data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    await waitForHydration(page);
    await page.locator('[data-testid="history-row"] [data-testid="restore-run"]').first().click();
    await page.locator('[data-testid="restore-form"][data-hydrated="true"]').waitFor();
    await id('restore-name').fill('orders at the chosen second');
    await id('recovery-method').selectOption('time');
    await id('to-time').waitFor();
    await id('to-time').fill(chosen.replace(' ', 'T'));
    await id('target-new').check();
    const scratch = join(restoreRoot, 'scratch for the extraction');
    await id('target-path').fill(scratch);
    const into = id('extract-source-id').locator('option', { hasText: /^shop database/ });
    await into.waitFor({ state: 'attached' });
    await id('extract-source-id').selectOption(await into.getAttribute('value'));
    await id('extract-database').fill('shop');
    await id('extract-tables').fill('public.orders=public.orders at the chosen second');
    await id('extract-remove').check();
    await id('preview-restore').click();
    await page.locator('[data-testid="pitr-plan"]', { hasText: 'is restored into postgres://' }).waitFor();
    await id('create-restore').click();
    await page.waitForURL(/\/restores\/\d+$/);
    await waitForHydration(page);
    await id('restore-checks').waitFor();
    if (await id('restore-checks').getAttribute('data-outcome') === 'warn') await id('ack-warnings').check();
    await id('start-restore').click();
    await page.locator('[data-testid="restore-progress"][data-state="finished"]').waitFor({ timeout: 240_000 });
    await page.locator('[data-testid="phase-row"][data-phase="extracting"][data-status="done"]').waitFor();
    await id('extract-result').waitFor();
    const check = page.locator('[data-testid="extract-check"][data-object="public.orders at the chosen second"]');
    assert.match(await check.textContent(), /content verified \(2 rows\)/);
    assert.match(await id('extract-summary').textContent(), /recovered data directory was removed/);
    assert.equal(
      pg.sql('SELECT id, note FROM "orders at the chosen second" ORDER BY id', 'shop'),
      '1|before the backup\n2|kept',
    );
    assert.equal(pg.sql('SELECT count(*) FROM orders', 'shop'), '0');
    assert.deepEqual(await readdir(restoreRoot).then((names) => names.includes('scratch for the extraction')), false);
    assert.deepEqual(problems, []);
    await page.close();
    passed = true;
  });
});
