// Point-in-time recovery in the browser, against a real MariaDB with binary
// logging: a MariaDB source and a continuous task made by clicking, a backup,
// rows written after it with their commit second, the timeline showing them
// archived, a second between two writes picked in the restore form, the
// restore into a new database, and exactly the rows up to that second there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MARIADB_PASSWORD, byTestId, clickNav, launchBrowser, openSignedIn, startMariaDb, startServer, waitForHydration,
} from '../support/harness.mjs';

// Waits until the server's clock is past `second` ('YYYY-MM-DD HH:MM:SS'):
// each write then commits in a second of its own.
async function clockPast(db, second) {
  while (db.sql('SELECT UTC_TIMESTAMP()') <= second) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Inserts a row and returns the second it committed in (UTC): the session's
// clock is fixed first, so the binary log's event time and the second
// returned are the same.
function write(db, id, note) {
  return db.sql(
    `SET @@timestamp = UNIX_TIMESTAMP(); INSERT INTO orders (id, note) VALUES (${id}, '${note}'); SELECT UTC_TIMESTAMP();`,
    'shop',
  );
}

describe('point-in-time recovery', () => {
  let db;
  let server;
  let browser;

  before(async () => {
    db = await startMariaDb();
    db.sql('CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL)');
    db.sql("INSERT INTO orders VALUES (1, 'before the backup')", 'shop');
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await server?.stop();
    await db?.stop();
    assert.equal(exit?.code, 0, `server exit: ${JSON.stringify(exit)}`);
  });

  test('a continuous MariaDB task is restored to a second between two writes', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const id = (testid) => byTestId(page, testid);

    // The source and the database to restore into.
    await openSignedIn(page, `${server.url}/sources`);
    for (const [name, database] of [['shop', 'shop'], ['shop-restored', 'shop_restored']]) {
      await id('new-source').click();
      await id('source-name-input').fill(name);
      await id('source-kind').selectOption('mysql');
      await id('source-location').fill(db.location(database));
      await id('source-password').fill(MARIADB_PASSWORD);
      await id('save-source').click();
      await page.locator(`[data-testid="source-row"][data-name="${name}"]`).waitFor();
    }

    // A continuous task: Verify shows the binary log checks, all passing.
    await clickNav(page, 'nav-backups');
    await id('new-task').click();
    await page.waitForURL(`${server.url}/backups/new`);
    await waitForHydration(page);
    await id('task-name').fill('shop-pitr');
    const option = id('task-source_id').locator('option', { hasText: /^shop \(/ });
    await option.waitFor({ state: 'attached' });
    await id('task-source_id').selectOption(await option.getAttribute('value'));
    await id('content-all').check();
    await id('task-continuous-input').check();
    await id('verify-task').click();
    await page.locator('[data-testid="verify-result"]').waitFor();
    const binlogChecks = page.locator('[data-testid="verify-check"]', { hasText: 'Binary logs:' });
    assert.ok((await binlogChecks.count()) >= 4, (await binlogChecks.allTextContents()).join(' | '));
    const failing = page.locator('[data-testid="verify-check"][data-state="fail"]');
    assert.equal(await failing.count(), 0, (await failing.allTextContents()).join(' | '));
    await id('save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    const row = page.locator('[data-testid="task-row"][data-name="shop-pitr"]');
    await row.locator('[data-testid="backup-now"]').click();
    await page.locator('[data-testid="job-progress"][data-phase="succeeded"]').waitFor({ timeout: 120_000 });

    // Writes after the backup, each in its own second; then the accident.
    const kept = write(db, 2, 'kept');
    await clockPast(db, kept);
    const chosen = db.sql('SELECT UTC_TIMESTAMP()');
    await clockPast(db, chosen);
    const lost = write(db, 3, 'after the chosen second');
    await clockPast(db, lost);
    db.sql('DELETE FROM orders', 'shop');
    const deletedAt = db.sql('SELECT UTC_TIMESTAMP()');

    // The task page's timeline: the base point with its coordinates, and a
    // recoverable range that reaches past the delete once it is archived.
    await row.locator('[data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    await waitForHydration(page);
    await id('timeline').waitFor();
    await page.waitForFunction(
      (second) => [...document.querySelectorAll('[data-testid="timeline-range"]')].some((r) => r.dataset.to >= second),
      deletedAt,
      { timeout: 60_000 },
    );
    assert.equal(await id('timeline').getAttribute('data-archiver'), 'running');
    assert.match(await id('point-coordinates').first().textContent(), /binlog\.\d+:\d+, GTID \d+-\d+-\d+/);
    assert.match(await id('timeline-lag').textContent(), /lag \(RPO\)/);
    assert.equal(await id('timeline-gap').count(), 0);

    // The restore form: point in time, the chosen second, the new database.
    await page.locator('[data-testid="history-row"] [data-testid="restore-run"]').first().click();
    await page.waitForURL(/\/restores\/new\?task=/);
    await page.locator('[data-testid="restore-form"][data-hydrated="true"]').waitFor();
    await id('recovery-method').selectOption('time');
    await id('to-time').waitFor();
    const range = await page.locator('[data-testid="to-time"]');
    assert.ok((await range.getAttribute('min')) <= chosen.replace(' ', 'T'));
    assert.ok((await range.getAttribute('max')) >= chosen.replace(' ', 'T'));
    await id('to-time').fill(chosen.replace(' ', 'T'));
    const target = id('target-source-id').locator('option', { hasText: 'shop-restored' });
    await id('target-source-id').selectOption(await target.getAttribute('value'));
    await id('preview-restore').click();
    await id('pitr-plan').waitFor();
    assert.match(await id('pitr-log-range').textContent(), /binlog\.\d+:\d+ → binlog\.\d+:\d+/);
    assert.match(await id('pitr-last-commit').textContent(), new RegExp(kept));
    await id('create-restore').click();
    await page.waitForURL(/\/restores\/\d+$/);
    await waitForHydration(page);
    assert.equal(await id('restore-to-time').textContent(), `${chosen} UTC`);
    // Create recorded a Verify of these settings: its items are on the page.
    await id('restore-checks').waitFor();
    const outcome = await id('restore-checks').getAttribute('data-outcome');
    const items = (await page.locator('[data-testid="check-item"]').allTextContents()).join(' | ');
    assert.notEqual(outcome, 'fail', items);
    if (outcome === 'warn') await id('ack-warnings').check();
    await id('start-restore').click();
    await page.locator('[data-testid="restore-progress"][data-state="finished"]').waitFor({ timeout: 180_000 });
    await page.locator('[data-testid="phase-row"][data-phase="replaying binary logs"][data-status="done"]').waitFor();
    await id('pitr-result').waitFor();
    assert.match(await id('pitr-replayed').textContent(), /[1-9]\d* transaction\(s\)/);
    assert.equal(await page.locator('[data-testid="pitr-count"][data-table="orders"]').getAttribute('data-rows'), '2');

    // Exactly the rows committed up to that second.
    assert.equal(db.sql('SELECT id, note FROM orders ORDER BY id', 'shop_restored'), "1\tbefore the backup\n2\tkept");
    assert.equal(db.sql('SELECT COUNT(*) FROM orders', 'shop'), '0', 'the source keeps its own state');
    assert.deepEqual(problems, []);
    await page.close();
  });
});
