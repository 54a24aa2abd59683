// Restore drills and RPO/RTO in the browser, against a real server and a
// real repository: a task with an RPO target of a few seconds lets it lapse
// and turns red on the dashboard ("never proven" is red too); a drill run
// from the task page by clicking restores the point into a sandbox, shows
// its phases and checks, and turns the task's proof green.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { byTestId, clickNav, launchBrowser, openSignedIn, startServer, waitForHydration } from '../support/harness.mjs';

describe('restore drills', () => {
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

  test('an RPO target lapses to red, a drill run by clicking proves the task green', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const id = (testid) => byTestId(page, testid);

    // A task of the demo SQLite source with an RPO target of a few seconds.
    await openSignedIn(page, `${server.url}/backups`);
    await id('new-task').click();
    await page.waitForURL(`${server.url}/backups/new`);
    await waitForHydration(page);
    await id('task-name').fill('metrics-drilled');
    const demo = id('task-source_id').locator('option', { hasText: 'demo-metrics' });
    await demo.waitFor({ state: 'attached' });
    await id('task-source_id').selectOption(await demo.getAttribute('value'));
    // A bad target is refused beside its field, with what to write.
    await id('task-rpo_target').fill('soon');
    await id('save-task').click();
    const rpoError = page.locator('[data-testid="drill-fields"] [data-testid="error-rpo_target"]');
    await rpoError.waitFor();
    assert.match(await rpoError.textContent(), /a duration like 90s, 30m, 4h or 2d/);
    await id('task-rpo_target').fill('5s');
    await id('task-rto_target').fill('10m');
    await id('save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    const row = page.locator('[data-testid="task-row"][data-name="metrics-drilled"]');
    await row.waitFor();
    await row.locator('[data-testid="rto-status"][data-level="red"]', { hasText: 'never proven' }).waitFor();

    // A backup: the newest good point is fresh, then older than 5 s.
    await row.locator('[data-testid="backup-now"]').click();
    await row.locator('[data-testid="task-last-state"]', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });

    await clickNav(page, 'nav-dashboard');
    const recovery = page.locator('[data-testid="recovery-row"][data-name="metrics-drilled"]');
    await recovery.waitFor();
    await recovery.locator('[data-testid="rpo-status"][data-level="red"]').waitFor({ timeout: 30_000 });
    assert.match(await recovery.locator('[data-testid="rpo-status"]').textContent(), /target 5s/);
    const rto = recovery.locator('[data-testid="rto-status"]');
    assert.equal(await rto.getAttribute('data-level'), 'red');
    assert.match(await rto.textContent(), /never proven/);

    // The task page: Run drill now, by clicking; the drill passes.
    await recovery.locator('a').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    await waitForHydration(page);
    const drills = id('drills');
    await drills.locator('[data-testid="rto-status"][data-level="red"]').waitFor();
    await id('run-drill').click();
    const drill = drills.locator('[data-testid="drill-row"]').first();
    await drills.locator('[data-testid="drill-row"][data-status="passed"]').waitFor({ timeout: 60_000 });
    assert.equal(await drills.locator('[data-testid="drill-row"]').count(), 1);
    assert.match(await drill.locator('[data-testid="drill-rto"]').textContent(), /^\d+s$/);
    const phases = await drills.locator('[data-testid="drill-phase"]').evaluateAll(
      (items) => items.map((li) => li.getAttribute('data-name')),
    );
    assert.deepEqual(phases, ['sandbox', 'restore', 'checks', 'cleanup']);
    const checks = drills.locator('[data-testid="drill-check"]');
    assert.ok((await checks.count()) >= 1);
    assert.equal(await drills.locator('[data-testid="drill-check"][data-passed="false"]').count(), 0);
    assert.match(await checks.first().textContent(), /content of/);

    // Proven: green on the task page, a badge on the point in the history.
    await drills.locator('[data-testid="rto-status"][data-level="green"]', { hasText: 'target 10m' }).waitFor();
    await page.locator('[data-testid="history-row"] [data-testid="proven-badge"]').waitFor();

    // And green on the dashboard, where the RPO stays red.
    await clickNav(page, 'nav-dashboard');
    await recovery.locator('[data-testid="rto-status"][data-level="green"]').waitFor();
    assert.equal(await recovery.locator('[data-testid="rpo-status"]').getAttribute('data-level'), 'red');
    await page.locator('[data-testid="recovery-problem"][data-name="metrics-drilled"]', { hasText: 'RPO exceeded' }).waitFor();

    assert.deepEqual(problems, []);
    await page.close();
  });
});
