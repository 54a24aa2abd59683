// A second copy on S3, by clicking: an administrator backs up the demo
// database into the local repository, adds an encrypted S3 repository (a
// real S3 API: moto, started here on loopback), adds a copy job from the
// local repository to it (the same repository twice is refused beside its
// field), edits its retention, runs it (into the S3 repository under an
// upload limit set in its settings), and the S3 repository then holds the point and its data
// check reads it back clean; a second run copies nothing. The history shows
// the point in both repositories; then the local repository is lost (its
// directory removed), and the point is restored from the S3 copy by
// clicking, the restored database equal to the source (`sqlite3 .dump`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { byTestId, clickNav, launchBrowser, openSignedIn, startServer, waitForHydration } from '../support/harness.mjs';

async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// One HTTP/1.1 request with no body; resolves to the status line.
function request(port, line) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(`${line}\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { answer += chunk; });
    socket.on('end', () => (answer.startsWith('HTTP/1.') ? resolve(answer.split('\r\n')[0]) : reject(new Error(`not HTTP: ${answer}`))));
    socket.on('error', reject);
  });
}

// moto's S3 server from scripts/setup.sh's virtual environment.
async function startMoto() {
  const bin = process.env.MOTO_SERVER ?? join(homedir(), '.cache', 'tidemark', 'venv', 'bin', 'moto_server');
  const port = await freePort();
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await request(port, 'GET / HTTP/1.1');
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`moto did not answer on ${port}: ${err.message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { port, stop: () => child.kill() };
}

describe('copy jobs', () => {
  let s3;
  let server;
  let browser;

  before(async () => {
    s3 = await startMoto();
    assert.match(await request(s3.port, 'PUT /offsite HTTP/1.1'), / 200 /);
    // moto accepts any credentials; the server signs with these.
    process.env.AWS_ACCESS_KEY_ID = 'tidemark-e2e';
    process.env.AWS_SECRET_ACCESS_KEY = 'tidemark-e2e-secret';
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await server?.stop();
    s3?.stop();
    assert.equal(exit?.code, 0, `server exit: ${JSON.stringify(exit)}`);
  });

  test('add an S3 repository and a copy job, run it, and check the copy', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const id = (testid) => byTestId(page, testid);

    // A point in the local repository.
    await openSignedIn(page, `${server.url}/backups`);
    await id('new-task').click();
    await page.waitForURL(`${server.url}/backups/new`);
    await waitForHydration(page);
    await id('task-name').fill('metrics copied');
    const demo = id('task-source_id').locator('option', { hasText: 'demo-metrics' });
    await demo.waitFor({ state: 'attached' });
    await id('task-source_id').selectOption(await demo.getAttribute('value'));
    await id('save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    const task = page.locator('[data-testid="task-row"][data-name="metrics copied"]');
    await task.locator('[data-testid="backup-now"]').click();
    await task.locator('[data-testid="task-last-state"]', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });

    // An encrypted repository on S3.
    await clickNav(page, 'nav-repositories');
    await id('new-repository').click();
    await id('repository-name-input').fill('offsite');
    await id('repository-location-input').fill(`s3://offsite/tidemark?endpoint=http://127.0.0.1:${s3.port}&region=us-east-1`);
    await id('save-repository').click();
    const offsite = page.locator('[data-testid="repository-row"][data-name="offsite"][data-encryption="encrypted"]');
    await offsite.waitFor();
    await offsite.locator('[data-testid="repository-usage"][data-points="0"]').waitFor();
    // Its settings: a limit of 0 is refused beside the field, 50 MiB/s kept.
    await offsite.locator('[data-testid="repository-settings"]').click();
    const settings = offsite.locator('[data-testid="repository-settings-form"]');
    await settings.locator('[data-testid="repository-limit-input"]').fill('0');
    await settings.locator('[data-testid="save-repository-settings"]').click();
    await settings.locator('[data-testid="error-limit_upload_mib"]').waitFor();
    await settings.locator('[data-testid="repository-limit-input"]').fill('50');
    await settings.locator('[data-testid="save-repository-settings"]').click();
    await offsite.locator('[data-testid="repository-limit"]', { hasText: 'writes ≤ 50 MiB/s' }).waitFor();

    // The copy job: the same repository twice is refused, then local → S3.
    await clickNav(page, 'nav-copies');
    const form = id('copy-form');
    await form.locator('[data-testid="copy-from_repository_id"] option', { hasText: 'offsite' }).waitFor({ state: 'attached' });
    await id('copy-name').fill('nightly "offsite" copy');
    const local = await form.locator('[data-testid="copy-from_repository_id"] option', { hasText: 'local-default' }).getAttribute('value');
    const remote = await form.locator('[data-testid="copy-to_repository_id"] option', { hasText: 'offsite' }).getAttribute('value');
    await id('copy-from_repository_id').selectOption(local);
    await id('copy-to_repository_id').selectOption(local);
    await id('copy-keep_last').fill('7');
    await id('copy-save').click();
    await form.locator('[data-testid="error-to_repository_id"]').waitFor();
    assert.match(await form.locator('[data-testid="error-to_repository_id"]').textContent(), /another repository/);
    await id('copy-to_repository_id').selectOption(remote);
    await id('copy-save').click();
    const job = page.locator('[data-testid="copy-job"][data-name="nightly \\"offsite\\" copy"]');
    await job.waitFor();
    assert.match(await job.textContent(), /local-default → offsite/);
    assert.match(await job.textContent(), /keeps 7 per task/);

    // Edit: the form comes back filled in; the retention changes.
    await job.locator('[data-testid="copy-edit"]').click();
    await page.locator('[data-testid="copy-form-title"]', { hasText: 'Edit copy job' }).waitFor();
    assert.equal(await id('copy-name').inputValue(), 'nightly "offsite" copy');
    assert.equal(await id('copy-to_repository_id').inputValue(), remote);
    assert.equal(await id('copy-keep_last').inputValue(), '7');
    await id('copy-keep_last').fill('3');
    await id('copy-save').click();
    await page.locator('[data-testid="copy-job"]', { hasText: 'keeps 3 per task' }).waitFor();
    assert.equal(await page.locator('[data-testid="copy-job"]').count(), 1, 'edited, not added');
    assert.equal(await id('copy-form-title').textContent(), 'Add a copy job');

    await job.locator('[data-testid="copy-run-now"]').click();
    await page.locator('[data-testid="copy-job"][data-last-state="succeeded"] [data-testid="copy-run"][data-state="succeeded"][data-copied="1"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="copy-job"] [data-testid="copy-run-now"]').click();
    await page.locator('[data-testid="copy-run"][data-state="succeeded"][data-copied="0"]').waitFor({ timeout: 60_000 });

    // The S3 repository holds the point, and reading all of it back is clean.
    await clickNav(page, 'nav-repositories');
    const copied = page.locator('[data-testid="repository-row"][data-name="offsite"]');
    await copied.locator('[data-testid="repository-usage"][data-points="1"]').waitFor();
    await copied.locator('[data-testid="repository-checks-link"]').click();
    await page.waitForURL(/\/repositories\/\d+\/checks$/);
    await waitForHydration(page);
    await id('check-run-data').click();
    await page.locator('[data-testid="check-run"][data-kind="data"][data-outcome="clean"]').waitFor({ timeout: 60_000 });

    // The history names both places of the point.
    await clickNav(page, 'nav-backups');
    await task.locator('[data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    const stored = page.locator('[data-testid="history-row"][data-state="succeeded"] [data-testid="run-stored-in"]');
    await stored.locator('[data-testid="point-location"][data-copy="true"]').waitFor();
    assert.equal((await stored.textContent()).replace(/\s+/g, ' ').trim(), 'local-default copy: offsite');

    // The local repository is lost; the point comes back from the copy.
    await rm(join(server.dataDir, 'repositories', 'local-default'), { recursive: true, force: true });
    await clickNav(page, 'nav-backups');
    await task.locator('[data-testid="view-history"]').click();
    await page.waitForURL(/\/backups\/\d+\/history/);
    await stored.locator('[data-testid="point-location"]', { hasText: 'copy: offsite' }).waitFor();
    assert.equal(await stored.locator('[data-testid="point-location"]').count(), 1);
    await page.locator('[data-testid="history-row"] [data-testid="restore-run"]').first().click();
    await page.waitForURL(/\/restores\/new\?task=\d+&point=/);
    await page.locator('[data-testid="restore-form"][data-hydrated="true"]').waitFor();
    await page.locator('[data-testid="point-row"] [data-testid="point-choose"]:checked').waitFor({ state: 'attached' });
    assert.match(await id('points-unreadable').textContent(), /local-default/);
    assert.equal(
      (await page.locator('[data-testid="point-row"] [data-testid="point-location"]').textContent()).trim(),
      'copy: offsite',
    );
    const restored = join(server.dataDir, 'restores', 'from the "offsite" copy.db');
    await id('restore-name').fill('back from offsite');
    await id('target-path').fill(restored);
    await id('verify-restore').click();
    await page.locator('[data-testid="restore-checks"][data-outcome="pass"]').waitFor({ timeout: 60_000 });
    await id('create-restore').click();
    await page.waitForURL(/\/restores\/\d+$/);
    await waitForHydration(page);
    assert.equal(await id('restore-read-from').textContent(), 'offsite (copy)');
    await id('start-restore').click();
    await page.locator('[data-testid="restore-progress"][data-state="finished"]').waitFor({ timeout: 120_000 });
    const dump = (db) => execFileSync('sqlite3', [db, '.dump'], { encoding: 'utf8', maxBuffer: 1 << 30 });
    assert.equal(dump(restored), dump(join(server.dataDir, 'demo', 'metrics.db')));
    assert.deepEqual(problems, []);
    await page.close();
  });
});
