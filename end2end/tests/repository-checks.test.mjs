// Repository checks in the browser: an administrator backs up the demo
// database, opens the default repository's Checks page from the
// Repositories list, gives the data check a schedule (a share over 100% is
// refused beside its field), runs the structure check (clean), damages
// every pack on disk, runs the data check, and the history names the
// damaged pack and the point it breaks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byTestId, clickNav, launchBrowser, openSignedIn, startServer, waitForHydration } from '../support/harness.mjs';

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('repository checks', () => {
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

  test('schedule the data check, run both, and find the damage named', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const id = (testid) => byTestId(page, testid);

    // A point to check: the demo database, backed up by clicking.
    await openSignedIn(page, `${server.url}/backups`);
    await id('new-task').click();
    await page.waitForURL(`${server.url}/backups/new`);
    await waitForHydration(page);
    await id('task-name').fill('metrics checked');
    const demo = id('task-source_id').locator('option', { hasText: 'demo-metrics' });
    await demo.waitFor({ state: 'attached' });
    await id('task-source_id').selectOption(await demo.getAttribute('value'));
    await id('save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    const row = page.locator('[data-testid="task-row"][data-name="metrics checked"]');
    await row.locator('[data-testid="backup-now"]').click();
    await row.locator('[data-testid="task-last-state"]', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });

    // The Checks page, from the repository's row.
    await clickNav(page, 'nav-repositories');
    const repo = page.locator('[data-testid="repository-row"][data-name="local-default"]');
    await repo.locator('[data-testid="repository-checks-link"]').click();
    await page.waitForURL(/\/repositories\/\d+\/checks$/);
    await waitForHydration(page);
    assert.equal(await id('checks-repository').textContent(), 'local-default');
    await id('check-history').or(page.getByText('No checks yet')).first().waitFor();

    // A daily data check reading half the packs; 150% is refused first.
    const data = id('check-plan-data');
    assert.equal(await data.getAttribute('data-schedule'), 'Manual');
    await data.locator('[data-testid="check-schedule_mode"]').selectOption('periodic');
    await data.locator('[data-testid="check-first_start"]').fill('2026-01-01T02:30');
    await data.locator('[data-testid="check-period_value"]').fill('1');
    await data.locator('[data-testid="check-period_unit"]').selectOption('days');
    await data.locator('[data-testid="check-read_percent"]').fill('150');
    await data.locator('[data-testid="check-save"]').click();
    await data.locator('[data-testid="error-read_percent"]').waitFor();
    assert.match(await data.locator('[data-testid="error-read_percent"]').textContent(), /1 to 100/);
    await data.locator('[data-testid="check-read_percent"]').fill('50');
    await data.locator('[data-testid="check-save"]').click();
    await page.locator('[data-testid="check-plan-data"][data-schedule="every 1 day"]').waitFor();
    const next = await id('check-plan-data').locator('[data-testid="check-next"]').textContent();
    assert.match(next, /^\d{4}-\d{2}-\d{2} 02:30:00$/);

    // The structure check, by hand: clean.
    await id('check-run-structure').click();
    await page.locator('[data-testid="check-run"][data-kind="structure"][data-outcome="clean"]').waitFor({ timeout: 60_000 });

    // Every pack damaged on disk; the data check finds it and names it.
    const packs = filesUnder(join(server.dataDir, 'repositories', 'local-default')).filter((p) => p.endsWith('.pack'));
    assert.ok(packs.length >= 1, 'the backup wrote packs');
    for (const pack of packs) {
      const bytes = readFileSync(pack);
      bytes[Math.floor(bytes.length / 2)] ^= 0x5a;
      writeFileSync(pack, bytes);
    }
    await id('check-run-data').click();
    const damaged = page.locator('[data-testid="check-run"][data-kind="data"][data-outcome="damaged"]');
    await damaged.waitFor({ timeout: 60_000 });
    assert.equal(await damaged.getAttribute('data-trigger'), 'manual');
    const problem = damaged.locator('[data-testid="check-problem"]').first();
    assert.match(await problem.textContent(), /^pack /);
    assert.match(await problem.locator('[data-testid="check-affects"]').textContent(), /^breaks .+: /);
    assert.match(await damaged.textContent(), /of \d+ packs .*50% share/);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
