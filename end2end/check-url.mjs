// Checks that a running console hydrates: node end2end/check-url.mjs http://127.0.0.1:3000
// (used to check README command 1 and release builds by hand).
import { launchBrowser, openPage, waitForHydration, byTestId } from './support/harness.mjs';

const url = process.argv[2] ?? 'http://127.0.0.1:3000';
const browser = await launchBrowser();
try {
  const { page, problems } = await openPage(browser, url);
  await waitForHydration(page);
  await byTestId(page, 'nav-toggle').click();
  const expanded = await byTestId(page, 'nav-toggle').getAttribute('aria-expanded');
  const backend = await byTestId(page, 'catalog-backend').textContent();
  if (expanded !== 'false' || backend !== 'sqlite' || problems.length > 0) {
    console.error(`not working: expanded=${expanded} backend=${backend} problems=${JSON.stringify(problems)}`);
    process.exitCode = 1;
  } else {
    console.log(`${url} hydrated: navigation toggles, catalog ${backend}`);
  }
} finally {
  await browser.close();
}
