// Sign-in and roles in the browser: an admin creates a viewer, the viewer
// must change the generated password first, sees no Back Up Now, a crafted
// call is refused by the server, and Sign out ends the session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { byTestId, clickNav, launchBrowser, openSignedIn, signIn, startServer, waitForHydration } from '../support/harness.mjs';

// A call made from inside the page, as a crafted script in it would.
async function apiPost(page, path, form = {}) {
  return page.evaluate(async ({ path, form }) => {
    const response = await fetch(path, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: response.status, text: await response.text() };
  }, { path, form });
}

describe('security', () => {
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

  test('sign in, forced password change, viewer without Start, crafted call refused, sign out', async () => {
    // The admin creates a backup task (through the API, as a script would)
    // and a viewer (through the Users page).
    const admin = await browser.newPage();
    await openSignedIn(admin, `${server.url}/users`);
    const saved = await apiPost(admin, '/api/tasks/save', {
      'form[name]': 'demo-nightly', 'form[source_id]': '1', 'form[repository_id]': '1',
      'form[content_mode]': 'all', 'form[schedule_mode]': 'manual', 'form[enabled]': 'on',
    });
    assert.equal(saved.status, 200, saved.text);
    await byTestId(admin, 'user-name').fill('vic');
    await byTestId(admin, 'user-role').selectOption('viewer');
    await byTestId(admin, 'user-password').fill('temporary password 1');
    await byTestId(admin, 'create-user').click();
    await admin.locator('[data-testid="user-row"][data-name="vic"]').waitFor();

    // The viewer signs in and must change the password before anything else.
    const viewer = await browser.newPage();
    const problems = [];
    viewer.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await viewer.goto(`${server.url}/backups`);
    assert.equal(new URL(viewer.url()).pathname, '/login');
    await waitForHydration(viewer);
    await byTestId(viewer, 'login-username').fill('vic');
    await byTestId(viewer, 'login-password').fill('wrong password entirely');
    await byTestId(viewer, 'login-submit').click();
    await viewer.locator('[data-testid="login-error"] [data-testid="form-error"]').waitFor();
    assert.match(await byTestId(viewer, 'login-error').textContent(), /user name or the password is wrong/);
    await signIn(viewer, 'vic', 'temporary password 1');
    assert.equal(new URL(viewer.url()).pathname, '/account/password');
    // Typing another address does not get past it.
    await viewer.goto(`${server.url}/backups`);
    assert.equal(new URL(viewer.url()).pathname, '/account/password', 'nothing else until it is changed');
    await waitForHydration(viewer);
    await byTestId(viewer, 'password-current').fill('temporary password 1');
    await byTestId(viewer, 'password-new').fill('the viewer own password');
    await byTestId(viewer, 'password-repeat').fill('the viewer own password');
    await Promise.all([
      viewer.waitForURL((u) => u.pathname === '/'),
      byTestId(viewer, 'password-submit').click(),
    ]);

    // The viewer sees the task but no Back Up Now; the server refuses it anyway.
    await clickNav(viewer, 'nav-backups');
    await viewer.locator('[data-testid="task-row"][data-name="demo-nightly"]').waitFor();
    assert.equal(await byTestId(viewer, 'current-user').getAttribute('data-role'), 'viewer');
    assert.equal(await byTestId(viewer, 'view-history').count(), 1);
    assert.equal(await byTestId(viewer, 'backup-now').count(), 0);
    assert.equal(await byTestId(viewer, 'delete-task').count(), 0);
    const crafted = await apiPost(viewer, '/api/tasks/run', { id: '1' });
    assert.equal(crafted.status, 403);
    assert.match(crafted.text, /needs the operator role/);
    // The admin, signed in through the form and moving by clicks only,
    // sees who they are and every action the role allows.
    await clickNav(admin, 'nav-backups');
    const row = admin.locator('[data-testid="task-row"][data-name="demo-nightly"]');
    await row.waitFor();
    assert.equal(await byTestId(admin, 'current-user').textContent(), 'admin (admin)');
    assert.equal(await byTestId(admin, 'sign-out').count(), 1);
    for (const action of ['backup-now', 'view-history', 'edit-task', 'copy-task', 'delete-task']) {
      assert.equal(await row.locator(`[data-testid="${action}"]`).count(), 1, `${action} is offered`);
    }

    // Sign out ends the session: pages ask to sign in again.
    await Promise.all([
      viewer.waitForURL((u) => u.pathname === '/login'),
      byTestId(viewer, 'sign-out').click(),
    ]);
    // The console forgot the viewer at once: no name, no Sign out.
    await byTestId(viewer, 'current-user').waitFor({ state: 'detached' });
    assert.equal(await byTestId(viewer, 'sign-out').count(), 0);
    await viewer.goto(`${server.url}/backups`);
    assert.equal(new URL(viewer.url()).pathname, '/login');
    const after = await apiPost(viewer, '/api/tasks');
    assert.equal(after.status, 401);
    assert.deepEqual(problems, []);
    await admin.close();
    await viewer.close();
  });
});
