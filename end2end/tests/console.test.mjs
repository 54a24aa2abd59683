import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { byTestId, launchBrowser, openPage, startServer, waitForHydration } from '../support/harness.mjs';

describe('console shell', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await server?.stop();
    // Graceful shutdown on SIGTERM ends with exit code 0.
    assert.equal(exit?.code, 0, `server exit: ${JSON.stringify(exit)}`);
  });

  test('dashboard hydrates and the navigation toggle works', async () => {
    const { page, problems } = await openPage(browser, server.url);
    await waitForHydration(page);
    const toggle = byTestId(page, 'nav-toggle');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.match(await byTestId(page, 'console').getAttribute('class'), /console--nav-collapsed/);
    assert.equal(await byTestId(page, 'console-nav').isVisible(), false);
    await toggle.click();
    assert.equal(await byTestId(page, 'console-nav').isVisible(), true);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('Refresh calls a server function that reads the catalog', async () => {
    const { page, problems } = await openPage(browser, server.url);
    await waitForHydration(page);
    const before = await byTestId(page, 'checked-at').textContent();
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/overview')),
      byTestId(page, 'refresh-overview').click(),
    ]);
    assert.equal(response.status(), 200);
    const body = await response.json();
    assert.equal(body.catalog_backend, 'sqlite');
    assert.equal(body.repositories, 1);
    await page.waitForFunction(
      (old) => document.querySelector('[data-testid="checked-at"]')?.textContent !== old,
      before,
    );
    assert.equal(await byTestId(page, 'catalog-backend').textContent(), 'sqlite');
    assert.equal(await byTestId(page, 'repository-count').textContent(), '1');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('client-side navigation lists the default repository', async () => {
    const { page, problems } = await openPage(browser, server.url);
    await waitForHydration(page);
    await byTestId(page, 'nav-repositories').click();
    await byTestId(page, 'repository-row').first().waitFor();
    assert.equal(await byTestId(page, 'nav-repositories').getAttribute('aria-current'), 'page');
    assert.match(await byTestId(page, 'repository-name').first().textContent(), /local-default/);
    assert.match(await byTestId(page, 'repository-location').first().textContent(), /repositories\/local-default$/);
    assert.ok(page.url().endsWith('/repositories'));
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('an unknown address shows the console 404 page', async () => {
    // A mistyped address is typed, so this one is a goto after signing in.
    const { page } = await openPage(browser, server.url);
    const response = await page.goto(`${server.url}/no/such/page`);
    assert.equal(response.status(), 404);
    await byTestId(page, 'not-found').waitFor();
    await waitForHydration(page);
    await byTestId(page, 'back-to-dashboard').click();
    await byTestId(page, 'dashboard').waitFor();
    await page.close();
  });
});
