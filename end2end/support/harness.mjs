// Starts a real `tidemark serve` on a free loopback port with a temporary
// data directory, and Debian's Chromium with Playwright (no downloaded browser).
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = process.env.TIDEMARK_BIN ?? join(ROOT, 'target', 'debug', 'tidemark');
const SITE = process.env.TIDEMARK_SITE_DIR ?? join(ROOT, 'target', 'site');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// The first admin's password, given to the server through its environment.
export const ADMIN_PASSWORD = 'end-to-end admin password';

// `restoreRoots`: directories restores may write new paths below (the
// server's default is `restores/` in its data directory).
export async function startServer({ restoreRoots = [] } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'tidemark-e2e-'));
  const roots = restoreRoots.flatMap((root) => ['--restore-root', root]);
  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--site-dir', SITE, ...roots], {
    cwd: ROOT,
    env: {
      ...process.env,
      TIDEMARK_LOG: process.env.TIDEMARK_LOG ?? 'warn',
      TIDEMARK_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TIDEMARK_LOGIN_ATTEMPTS: '1000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not print its URL within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`server exited early with code ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
  });
  return {
    url,
    dataDir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
        child.kill('SIGTERM');
        const result = await exited;
        await rm(dataDir, { recursive: true, force: true });
        return result;
      }
      await rm(dataDir, { recursive: true, force: true });
      return { code: child.exitCode, signal: null };
    },
  };
}

// Playwright gives every launch a fresh, temporary profile directory.
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // The tests read the console's English unless a test asks for another
      // language (a context's locale), whatever the machine's own is.
      '--lang=en-US',
    ],
  });
}

// A page that records console errors and uncaught exceptions, so a test can
// assert that hydration produced none.
export async function openPage(browser, url) {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  await openSignedIn(page, url);
  return { page, problems };
}

// Signs in on the sign-in page with the given account, through the
// hydrated form (as a person's browser does once the page has loaded).
export async function signIn(page, username = 'admin', password = ADMIN_PASSWORD) {
  await waitForHydration(page);
  await page.locator('[data-testid="login-username"]').fill(username);
  await page.locator('[data-testid="login-password"]').fill(password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login')),
    page.locator('[data-testid="login-submit"]').click(),
  ]);
}

// A person's first visit: `url` typed into the address bar, then the
// sign-in form when the console asks for it, which lands on `url` itself.
// After this, tests move by clicking (`clickNav` and the page's own links),
// never by another `goto` or a reload.
export async function openSignedIn(page, url, username = 'admin', password = ADMIN_PASSWORD) {
  const response = await page.goto(url);
  if (new URL(page.url()).pathname === '/login') {
    await signIn(page, username, password);
    const wanted = new URL(url);
    await page.waitForURL((u) => u.pathname === wanted.pathname && u.search === wanted.search);
  }
  await waitForHydration(page);
  return response;
}

// Clicks an area in the navigation and waits until it is the current page.
export async function clickNav(page, testid) {
  await page.locator(`[data-testid="${testid}"]`).click();
  await page.locator(`[data-testid="${testid}"][aria-current="page"]`).waitFor();
  await waitForHydration(page);
}

export const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

// By clicking, from the Sources page: a file-tree data source `source` at
// `tree`, a task `task` on it, and one Back Up Now that succeeds. Returns
// the task's row on the Backup Management page.
export async function backUpTree(page, server, { source, task, tree }) {
  const id = (testid) => byTestId(page, testid);
  await openSignedIn(page, `${server.url}/sources`);
  await id('new-source').click();
  await id('source-name-input').fill(source);
  await id('source-kind').selectOption('file-tree');
  await id('source-location').fill(tree);
  await id('save-source').click();
  await page.locator(`[data-testid="source-row"][data-name="${source}"]`).waitFor();
  await clickNav(page, 'nav-backups');
  await id('new-task').click();
  await page.waitForURL(`${server.url}/backups/new`);
  await waitForHydration(page);
  await id('task-name').fill(task);
  const option = id('task-source_id').locator('option', { hasText: source });
  await option.waitFor({ state: 'attached' });
  await id('task-source_id').selectOption(await option.getAttribute('value'));
  await id('save-task').click();
  await page.waitForURL(`${server.url}/backups`);
  const row = page.locator(`[data-testid="task-row"][data-name="${task}"]`);
  await row.locator('[data-testid="backup-now"]').click();
  await row.locator('[data-testid="task-last-state"]', { hasText: 'succeeded' }).waitFor({ timeout: 60_000 });
  return row;
}

export async function waitForHydration(page) {
  await page.locator('[data-testid="console"][data-hydrated="true"]').waitFor({ timeout: 30_000 });
  // Parts under a Suspense (forms) can hydrate later than the page.
  await page.waitForFunction(() => !document.querySelector('[data-hydrated="false"]'), null, { timeout: 30_000 });
}

// A real MariaDB server for the point-in-time tests: Debian's binaries, a
// fresh data directory in a temporary directory, binary logging in ROW
// format, a free loopback port, and a user with a password. `stop()` ends
// it and removes its files.
export const MARIADB_USER = 'tidemark';
export const MARIADB_PASSWORD = 'tidemark-e2e-pw';

export async function startMariaDb() {
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-e2e-mariadb-'));
  const data = join(dir, 'data');
  // Its own temporary directory: servers sharing /tmp can clash while bootstrapping.
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  const root = process.getuid?.() === 0;
  if (root) run('chown', ['-R', 'mysql:mysql', dir]);
  run('mariadb-install-db', [
    '--no-defaults', `--datadir=${data}`, `--tmpdir=${tmp}`,
    '--auth-root-authentication-method=normal', '--skip-test-db',
    ...(root ? ['--user=mysql'] : []),
  ]);
  const port = await freePort();
  const socket = join(dir, 'sock');
  const child = spawn('/usr/sbin/mariadbd', [
    '--no-defaults', `--datadir=${data}`, `--socket=${socket}`, `--pid-file=${join(dir, 'pid')}`,
    `--log-error=${join(dir, 'log')}`, `--port=${port}`, `--tmpdir=${tmp}`, '--bind-address=127.0.0.1',
    `--log-bin=${join(dir, 'binlog')}`, '--server-id=1', '--binlog-format=ROW',
    '--innodb-buffer-pool-size=64M', '--innodb-flush-log-at-trx-commit=0',
    ...(root ? ['--user=mysql'] : []),
  ], { stdio: 'ignore' });
  const asRoot = (sql) => spawnSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', sql], { encoding: 'utf8' });
  // The server takes a few seconds to accept connections; nothing to wait on but trying.
  const deadline = Date.now() + 60_000;
  while (asRoot('SELECT 1').status !== 0) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`MariaDB did not start: ${await readFile(join(dir, 'log'), 'utf8').catch(() => '')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const created = asRoot(
    `CREATE USER '${MARIADB_USER}'@'127.0.0.1' IDENTIFIED BY '${MARIADB_PASSWORD}'; GRANT ALL ON *.* TO '${MARIADB_USER}'@'127.0.0.1'`,
  );
  if (created.status !== 0) throw new Error(`mariadb: ${created.stderr}`);
  return {
    port,
    // The data source location for `db` (the password goes in its own field).
    location: (db) => `mysql://${MARIADB_USER}@127.0.0.1:${port}/${db}`,
    // Runs SQL as the test user over TCP; the tab-separated rows it printed.
    sql(sql, db) {
      const args = ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', MARIADB_USER, '-N', '-B'];
      if (db) args.push('-D', db);
      const out = spawnSync('mariadb', [...args, '-e', sql], {
        encoding: 'utf8',
        env: { ...process.env, MYSQL_PWD: MARIADB_PASSWORD },
      });
      if (out.status !== 0) throw new Error(`mariadb ${sql}: ${out.stderr}`);
      return out.stdout.trim();
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function run(command, args) {
  const out = spawnSync(command, args, { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${command}: ${out.stderr || out.error}`);
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

// A real PostgreSQL server for the cluster tests: Debian's newest
// installed version, a fresh cluster in a temporary directory (run as
// `postgres` when the tests run as root), password authentication on
// loopback (initdb's pg_hba.conf also admits replication connections
// there), a free port. `stop()` ends it and removes its files.
export const POSTGRES_PASSWORD = 'tidemark-e2e-pg-pw';

export async function startPostgres() {
  const versions = (await readdir('/usr/lib/postgresql')).filter((v) => /^\d+$/.test(v)).sort((a, b) => a - b);
  const bin = join('/usr/lib/postgresql', versions.at(-1), 'bin');
  const dir = await mkdtemp(join(tmpdir(), 'tidemark-e2e-pg-'));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  await writeFile(pwfile, POSTGRES_PASSWORD);
  const root = process.getuid?.() === 0;
  if (root) run('chown', ['-R', 'postgres:postgres', dir]);
  const asServer = (program, args) => (root ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args]) : run(join(bin, program), args));
  asServer('initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  asServer('pg_ctl', [
    '-D', data, '-l', join(dir, 'log'), '-w', 'start',
    '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`,
  ]);
  const env = (p) => ({ ...process.env, PGHOST: '127.0.0.1', PGPORT: String(p), PGUSER: 'postgres', PGPASSWORD: POSTGRES_PASSWORD });
  const psqlAt = (p, sql, db = 'postgres') => {
    const out = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], { encoding: 'utf8', env: env(p) });
    if (out.status !== 0) throw new Error(`psql ${sql}: ${out.stderr}`);
    return out.stdout.trim();
  };
  return {
    port,
    // The data source location of the whole cluster (the password goes in its own field).
    clusterLocation: () => `postgres-cluster://postgres@127.0.0.1:${port}`,
    // Runs SQL with psql; its unaligned, tuples-only output.
    sql: (sql, db) => psqlAt(port, sql, db),
    // The same against another server on this machine (a recovered cluster).
    sqlAt: psqlAt,
    // The server's log, for a failing test to print.
    log: () => readFile(join(dir, 'log'), 'utf8').catch(() => ''),
    // Stops a cluster this test recovered (left running on its port).
    stopCluster: (dataDir) => asServer('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']),
    async stop() {
      try {
        asServer('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
