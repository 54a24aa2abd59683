// Notifications in the browser: an admin adds a webhook channel with a
// generated signing key, sends a test that a local receiver gets and whose
// HMAC-SHA256 signature checks out under that key (node's own crypto), then
// adds a channel to a closed port whose test fails; the page says why and
// the dashboard names the failing channel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { byTestId, clickNav, launchBrowser, openSignedIn, startServer } from '../support/harness.mjs';

function startReceiver() {
  const received = [];
  const http = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve({ http, received, url: `http://127.0.0.1:${http.address().port}/hook` })));
}

// A loopback port nothing listens on.
async function closedPort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function addWebhook(page, name, url) {
  await byTestId(page, 'channel-name').fill(name);
  await byTestId(page, 'channel-kind').selectOption('webhook');
  await byTestId(page, 'channel-url').fill(url);
  await byTestId(page, 'create-channel').click();
  await page.locator(`[data-testid="channel-row"][data-name="${name}"]`).waitFor();
}

describe('notifications', () => {
  let server;
  let browser;
  let receiver;

  before(async () => {
    receiver = await startReceiver();
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    receiver?.http.close();
    const exit = await server?.stop();
    assert.equal(exit?.code, 0, `server exit: ${JSON.stringify(exit)}`);
  });

  test('a webhook channel with a generated key, Send test, a failing channel on the dashboard', async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await openSignedIn(page, `${server.url}/`);
    await clickNav(page, 'nav-notifications');

    // A URL that is not http(s) is refused beside the field.
    await byTestId(page, 'channel-name').fill('ops hook');
    await byTestId(page, 'channel-url').fill('ftp://example.com/hook');
    await byTestId(page, 'create-channel').click();
    await byTestId(page, 'error-url').waitFor();

    // Successes too, beside the failures ticked by default.
    await byTestId(page, 'channel-event-backup.succeeded').check();
    await addWebhook(page, 'ops hook', receiver.url);
    const key = (await byTestId(page, 'generated-secret').textContent()).trim();
    assert.match(key, /^[0-9a-f]{48}$/);
    const row = page.locator('[data-testid="channel-row"][data-name="ops hook"]');
    assert.match(await row.textContent(), /backup succeeded/);
    assert.match(await row.textContent(), /backup failed/);

    await row.locator('[data-testid="test-channel"]').click();
    await page.locator('[data-testid="test-result"][data-state="delivered"]').waitFor();
    assert.equal(receiver.received.length, 1);
    const [hook] = receiver.received;
    assert.equal(hook.headers['x-tidemark-event'], 'test');
    const expected = `sha256=${createHmac('sha256', key).update(hook.body).digest('hex')}`;
    assert.equal(hook.headers['x-tidemark-signature'], expected);
    assert.equal(JSON.parse(hook.body).event, 'test');
    await page.locator('[data-testid="delivery-row"][data-channel="ops hook"][data-state="delivered"]').waitFor();

    // A channel nobody answers: its test fails and says why.
    await addWebhook(page, 'closed hook', `http://127.0.0.1:${await closedPort()}/hook`);
    const closed = page.locator('[data-testid="channel-row"][data-name="closed hook"]');
    await closed.locator('[data-testid="test-channel"]').click();
    await page.locator('[data-testid="test-result"][data-state="failed"]').waitFor();
    assert.match(await byTestId(page, 'test-result').textContent(), /cannot connect/);
    await page.locator('[data-testid="channel-row"][data-name="closed hook"][data-failing="true"]').waitFor();

    await clickNav(page, 'nav-dashboard');
    await page.locator('[data-testid="failing-channel"][data-name="closed hook"]').waitFor();
    assert.equal(await byTestId(page, 'failing-channel').count(), 1);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
