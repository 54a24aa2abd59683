// Dark mode: the console follows the operating system's preference, the
// header's switch changes it and the choice is remembered with the user.
// Every page is visited by clicking, in dark and in light, screenshotted
// (end2end/screenshots/, for a person to look at) and checked without
// console errors: every visible text, and every state colour the console
// uses (progress bars, pass/warn/fail, badges, levels), must reach WCAG AA
// contrast (4.5:1) against what it is drawn on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { byTestId, clickNav, launchBrowser, openSignedIn, startServer, waitForHydration } from '../support/harness.mjs';

const SHOTS = resolve(import.meta.dirname, '..', 'screenshots');
const PAGES = [
  'nav-dashboard', 'nav-backups', 'nav-restores', 'nav-sources', 'nav-repositories',
  'nav-copies', 'nav-notifications', 'nav-audit', 'nav-users', 'nav-account',
];
// Each state class the stylesheet colours, as the console renders them.
const STATES = [
  'state state--succeeded', 'state state--failed', 'state state--running', 'state state--cancelled',
  'badge', 'badge badge--warn', 'badge badge--proven', 'badge badge--copy',
  'level level--green', 'level level--amber', 'level level--red', 'level level--unset',
  'alert alert--error', 'alert alert--ok', 'alert alert--warn',
  'badge diff--added', 'badge diff--removed', 'badge diff--changed',
  'field-error', 'error-text', 'muted', 'hint', 'button', 'button button--primary', 'button button--danger',
];

// In the page: every element with its own text whose contrast against the
// background it is drawn on is below 4.5:1, and the console's background
// luminance.
function auditContrast(states) {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor) ?? { r: 255, g: 255, b: 255 };
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const console_ = document.querySelector('[data-testid="console"]');
  const probe = document.createElement('div');
  probe.className = 'panel';
  for (const cls of states) {
    const span = document.createElement('span');
    span.className = cls;
    span.dataset.probe = cls;
    span.textContent = 'Sample 42';
    probe.append(span);
  }
  console_.querySelector('main').append(probe);
  const low = [];
  for (const el of console_.querySelectorAll('*')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || Number(style.opacity) < 0.5 || el.closest('[disabled], .hidden')) continue;
    const fg = parse(style.color);
    const bg = background(el);
    const r = ratio(fg, bg);
    if (r < 4.5) low.push(`${el.dataset.probe ?? el.tagName.toLowerCase() + '.' + el.className}: "${el.textContent.trim().slice(0, 30)}" ${r.toFixed(2)}:1`);
  }
  probe.remove();
  return {
    low,
    backgroundLuminance: lum(background(console_.querySelector('main'))),
    // The page around the console, which a wide table scrolls over.
    rootLuminance: lum(parse(getComputedStyle(document.documentElement).backgroundColor)),
  };
}

describe('theme', () => {
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

  async function visitAll(page, theme, problems) {
    await mkdir(join(SHOTS, theme), { recursive: true });
    for (const nav of PAGES) {
      await clickNav(page, nav);
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: join(SHOTS, theme, `${nav.replace('nav-', '')}.png`), fullPage: true });
      const audit = await page.evaluate(auditContrast, STATES);
      assert.deepEqual(audit.low, [], `${theme} ${nav}: text below 4.5:1`);
      for (const [what, l] of [['console', audit.backgroundLuminance], ['page', audit.rootLuminance]]) {
        if (theme === 'dark') assert.ok(l < 0.05, `${nav}: the ${what} is dark (${l})`);
        else assert.ok(l > 0.8, `${nav}: the ${what} is light (${l})`);
      }
    }
    assert.deepEqual(problems, [], `${theme}: console errors`);
  }

  function watch(page) {
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    return problems;
  }

  test('dark follows the system, the switch is remembered, every page readable in both', async () => {
    // A system in dark mode: the console follows it.
    const dark = await browser.newContext({ colorScheme: 'dark' });
    const page = await dark.newPage();
    const problems = watch(page);
    await openSignedIn(page, `${server.url}/backups`);
    // Something in every state colour's place: a task with a run.
    await byTestId(page, 'new-task').click();
    await page.waitForURL(`${server.url}/backups/new`);
    await waitForHydration(page);
    await byTestId(page, 'task-name').fill('themed');
    const demo = byTestId(page, 'task-source_id').locator('option', { hasText: 'demo-metrics' });
    await demo.waitFor({ state: 'attached' });
    await byTestId(page, 'task-source_id').selectOption(await demo.getAttribute('value'));
    await byTestId(page, 'save-task').click();
    await page.waitForURL(`${server.url}/backups`);
    const row = page.locator('[data-testid="task-row"][data-name="themed"]');
    await row.locator('[data-testid="backup-now"]').click();
    await row.locator('[data-testid="task-last-state"]', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });

    assert.equal(await byTestId(page, 'theme-switch').getAttribute('data-theme'), 'auto');
    await visitAll(page, 'dark', problems);

    // The switch: Light, stored with the user; a light system then opens
    // light, and after Dark, even a light system opens dark.
    await byTestId(page, 'theme-switch').click();
    await page.locator('[data-testid="console"][data-theme="light"]').waitFor();
    await visitAll(page, 'light', problems);
    await byTestId(page, 'theme-switch').click();
    await page.locator('[data-testid="console"][data-theme="dark"]').waitFor();
    await page.waitForLoadState('networkidle');
    await dark.close();

    const light = await browser.newContext({ colorScheme: 'light' });
    const again = await light.newPage();
    const problemsAgain = watch(again);
    await openSignedIn(again, `${server.url}/`);
    await again.locator('[data-testid="console"][data-theme="dark"]').waitFor();
    assert.equal(await byTestId(again, 'theme-switch').getAttribute('data-theme'), 'dark');
    const audit = await again.evaluate(auditContrast, STATES);
    assert.ok(audit.backgroundLuminance < 0.05, 'the stored choice beats the light system');
    assert.deepEqual(problemsAgain, []);
    await light.close();
  });
});
