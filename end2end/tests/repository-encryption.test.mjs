// Encrypted repositories in the browser: an administrator signs in through
// the form, adds an encrypted repository (a plain one needs an explicit,
// warned choice), backs up into it, sees the run succeed and the data
// sealed on disk, exports the passphrase with their password again, and
// changes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_PASSWORD, byTestId, launchBrowser, signIn, startServer, waitForHydration } from '../support/harness.mjs';

const MARKER = 'readable-marker-text-42';

function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('repository encryption', () => {
  let server;
  let browser;
  let work;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'tidemark-e2e-enc-'));
    await mkdir(join(work, 'tree'));
    await writeFile(join(work, 'tree', 'notes.txt'), `${MARKER}\n`.repeat(2000));
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await server?.stop();
    assert.equal(exit?.code, 0, `server exit: ${JSON.stringify(exit)}`);
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('add an encrypted repository, back up into it, export and change its passphrase', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    const id = (testid) => byTestId(page, testid);

    await page.goto(`${server.url}/`);
    await page.waitForURL((u) => u.pathname === '/login');
    await waitForHydration(page);
    await signIn(page);
    await waitForHydration(page);

    // Repositories: the default one is encrypted; a new one is by default.
    await id('nav-repositories').click();
    await page.locator('[data-testid="repository-row"][data-name="local-default"][data-encryption="encrypted"]').waitFor();
    await id('new-repository').click();
    assert.equal(await id('repository-encryption').inputValue(), 'generate');
    assert.equal(await id('repository-plain-warning').isVisible(), false);
    await id('repository-encryption').selectOption('none');
    await id('repository-plain-warning').waitFor();
    assert.match(await id('repository-plain-warning').textContent(), /anyone who can read this storage/);

    // An entered passphrase: too short, then the two differ, then right.
    await id('repository-encryption').selectOption('passphrase');
    await id('repository-name-input').fill('vault');
    await id('repository-location-input').fill(join(work, 'vault'));
    await id('repository-passphrase').fill('short');
    await id('repository-passphrase-repeat').fill('short');
    await id('save-repository').click();
    await page.locator('[data-testid="repository-form"] [data-testid="error-passphrase"]').waitFor();
    const passphrase = 'a browser-given passphrase';
    await id('repository-passphrase').fill(passphrase);
    await id('repository-passphrase-repeat').fill(`${passphrase}!`);
    await id('save-repository').click();
    await page.locator('[data-testid="repository-form"] [data-testid="error-repeat"]').waitFor();
    await id('repository-passphrase-repeat').fill(passphrase);
    await id('save-repository').click();
    const vault = page.locator('[data-testid="repository-row"][data-name="vault"]');
    await vault.waitFor();
    assert.equal(await vault.getAttribute('data-encryption'), 'encrypted');
    await vault.locator('[data-testid="repository-usage"][data-encrypted="true"]').waitFor();
    assert.ok(!(await page.content()).includes(passphrase), 'the page holds the passphrase');

    // A file-tree source and a task into the encrypted repository.
    await id('nav-sources').click();
    await id('new-source').click();
    await id('source-name-input').fill('notes');
    await id('source-kind').selectOption('file-tree');
    await id('source-location').fill(join(work, 'tree'));
    await id('save-source').click();
    await page.locator('[data-testid="source-row"][data-name="notes"]').waitFor();

    await id('nav-backups').click();
    await id('new-task').click();
    await id('task-name').waitFor();
    await waitForHydration(page);
    await id('task-name').fill('notes-nightly');
    await id('task-source_id').locator('option', { hasText: 'notes' }).waitFor({ state: 'attached' });
    await id('task-source_id').selectOption(await id('task-source_id').locator('option', { hasText: 'notes' }).getAttribute('value'));
    await id('task-repository_id').locator('option', { hasText: 'vault' }).waitFor({ state: 'attached' });
    await id('task-repository_id').selectOption(await id('task-repository_id').locator('option', { hasText: 'vault' }).getAttribute('value'));
    await id('verify-task').click();
    await page.locator('[data-testid="verify-result"][data-passed="true"]').waitFor();
    await id('save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    const row = page.locator('[data-testid="task-row"][data-name="notes-nightly"]');
    await row.waitFor();

    // Back Up Now succeeds; what it wrote is sealed.
    await row.locator('[data-testid="backup-now"]').click();
    await page.locator('[data-testid="job-progress"][data-phase="succeeded"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="task-row"][data-name="notes-nightly"] [data-testid="task-last-state"]', { hasText: 'succeeded' }).waitFor();
    const stored = filesUnder(join(work, 'vault')).map((f) => readFileSync(f).toString('latin1')).join('');
    assert.ok(stored.length > 0);
    assert.ok(!stored.includes(MARKER), 'the backup is stored readable');

    // Export, once the admin gives the password again; the row records it.
    await id('nav-repositories').click();
    await vault.waitFor();
    assert.match(await vault.locator('[data-testid="passphrase-export-status"]').textContent(), /never exported/);
    await vault.locator('[data-testid="export-passphrase"]').click();
    await vault.locator('[data-testid="export-password"]').fill('not my password');
    await vault.locator('[data-testid="confirm-export"]').click();
    await vault.locator('[data-testid="error-password"]').waitFor();
    await vault.locator('[data-testid="export-password"]').fill(ADMIN_PASSWORD);
    await vault.locator('[data-testid="confirm-export"]').click();
    await vault.locator('[data-testid="exported-passphrase"]').waitFor();
    assert.equal(await vault.locator('[data-testid="exported-passphrase"]').textContent(), passphrase);
    assert.match(await vault.locator('[data-testid="passphrase-export-status"]').textContent(), /exported .* by you/);
    assert.match(await vault.locator('[data-testid="export-passphrase"]').textContent(), /Export again/);

    // Change it: the engine re-wraps the key, the old export is void, and
    // Verify data opens the repository with the new passphrase.
    await vault.locator('[data-testid="change-passphrase"]').click();
    await vault.locator('[data-testid="save-passphrase"]').click();
    await page.locator('[data-testid="repository-row"][data-name="vault"] [data-testid="passphrase-export-status"]', { hasText: 'never exported' }).waitFor();
    await vault.locator('[data-testid="verify-repository-data"]').click();
    await vault.locator('[data-testid="verify-report"][data-clean="true"]').waitFor();
    assert.match(await vault.locator('[data-testid="verify-report"]').textContent(), /1 points/);

    assert.deepEqual(problems, []);
  });
});
