//! Kill `tidemark restore` with SIGKILL while it loads a PostgreSQL table
//! over an existing one: the server rolls the load back, so the table keeps
//! exactly its rows from before, and the next restore succeeds. Stop or
//! kill `tidemark drill` while its throwaway server runs: nothing is left
//! behind, at once (SIGTERM) or after the next drill's sweep (SIGKILL).
//! Kill `tidemark serve` during a drill of a PostgreSQL task: the next
//! start stops and deletes the drill's throwaway server and marks the
//! drill failed.

#[path = "../../engine/tests/support/postgres.rs"]
#[allow(dead_code)]
mod postgres;
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use postgres::PgServer;

const BIN: &str = env!("CARGO_BIN_EXE_tidemark");

fn tidemark(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN)
        .args(args)
        .env("TIDEMARK_LOG", "error")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tidemark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_restore_killed_while_loading_leaves_the_existing_table_intact() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    server.psql("postgres", "CREATE DATABASE plant");
    server.psql(
        "plant",
        "CREATE TABLE readings (id bigint PRIMARY KEY, ts timestamptz NOT NULL, note text); \
         INSERT INTO readings SELECT i, '2026-01-01'::timestamptz + i * interval '1 second', md5(i::text) \
         FROM generate_series(1, 400000) i",
    );
    tidemark(&["repo", "init", repo]);
    tidemark(&["backup", "--repo", repo, "--source", &server.url("plant")]);
    server.psql("plant", "DELETE FROM readings WHERE id > 1000");
    let before = server.checksum("plant", "readings");

    let target = server.url("plant");
    let overwrite = [
        "restore",
        "--repo",
        repo,
        "--point",
        "latest",
        "--target",
        &target,
        "--object",
        "public.readings",
        "--on-conflict",
        "overwrite",
    ];
    let mut restore = Command::new(BIN)
        .args(overwrite)
        .env("TIDEMARK_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the server is copying rows in.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let copying = server.psql(
            "plant",
            "SELECT count(*) FROM pg_stat_progress_copy WHERE tuples_processed > 10000",
        );
        if copying != "0" {
            break;
        }
        assert!(
            restore.try_wait().unwrap().is_none(),
            "the restore ended before it was killed"
        );
        assert!(Instant::now() < deadline, "no COPY seen");
        std::thread::sleep(Duration::from_millis(20));
    }
    restore.kill().unwrap();
    restore.wait().unwrap();

    // The server notices the closed connection and rolls the load back.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.psql(
        "plant",
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tidemark'",
    ) != "0"
    {
        assert!(
            Instant::now() < deadline,
            "the killed restore's session stayed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.checksum("plant", "readings"), before);

    tidemark(&overwrite);
    assert_eq!(
        server.psql("plant", "SELECT count(*) FROM readings"),
        "400000"
    );
}

/// Throwaway servers' directories under `tmp` (the drills' own TMPDIR, so
/// other tests' drills do not count) and live postmasters running from
/// them (not `initdb` or its bootstrap backend).
fn leftovers(tmp: &std::path::Path) -> (usize, usize) {
    let dirs = std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("tidemark-drill-")
        })
        .count();
    let mark = tmp.join("tidemark-drill-").display().to_string();
    let processes = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let pid = path.file_name()?.to_str()?.parse::<u32>().ok()?;
            let cmdline = std::fs::read(path.join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            let postmaster = cmdline.contains("/bin/postgres ")
                && !cmdline.contains("--boot")
                && !cmdline.contains("--single");
            (process_runs(pid) && postmaster && cmdline.contains(&mark)).then_some(())
        })
        .count();
    (dirs, processes)
}

#[test]
fn a_drill_stopped_or_killed_leaves_no_throwaway_server_behind() {
    let server = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    let scratch = dir.path().join("drills");
    // The drills' TMPDIR, where their throwaway servers' directories go;
    // open to the `postgres` user the servers run as under root.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    server.psql("postgres", "CREATE DATABASE plant");
    server.psql(
        "plant",
        "CREATE TABLE readings (id bigint PRIMARY KEY, note text); \
         INSERT INTO readings SELECT i, md5(i::text) FROM generate_series(1, 300000) i",
    );
    tidemark(&["repo", "init", repo]);
    tidemark(&[
        "backup",
        "--repo",
        repo,
        "--source",
        &server.url("plant"),
        "--task",
        "plant",
    ]);
    let drill = || {
        Command::new(BIN)
            .args(["drill", "--repo", repo, "--task", "plant", "--scratch-dir"])
            .arg(&scratch)
            .env("TIDEMARK_LOG", "error")
            .env("TMPDIR", &tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The drill's throwaway server is up once its record names it and a
    // postgres process runs from its directory.
    let wait_for_server = |child: &mut std::process::Child| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while leftovers(&tmp).1 == 0 {
            assert!(child.try_wait().unwrap().is_none(), "the drill ended first");
            assert!(Instant::now() < deadline, "no throwaway server seen");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let before = leftovers(&tmp);
    assert_eq!(before.1, 0, "no drill server runs before the test");

    let mut stopped = drill();
    wait_for_server(&mut stopped);
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(stopped.id() as i32, libc::SIGTERM) };
    let out = stopped.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cancelled"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        leftovers(&tmp),
        before,
        "SIGTERM: the drill removed its server"
    );
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);

    let mut killed = drill();
    wait_for_server(&mut killed);
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(leftovers(&tmp).1 >= 1, "SIGKILL leaves the server running");
    let out = Command::new(BIN)
        .args(["drill", "--repo", repo, "--task", "plant", "--scratch-dir"])
        .arg(&scratch)
        .env("TIDEMARK_LOG", "error")
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("removed the sandbox of a drill"), "{said}");
    assert!(said.contains("PROVEN"), "{said}");
    assert_eq!(
        leftovers(&tmp),
        before,
        "the next drill swept the killed one's server"
    );
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
}

/// Whether `pid` is a live process (an exited one not yet reaped by its
/// parent, a zombie, is not).
fn process_runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(!matches!(state, 'Z' | 'X'))
        })
        .unwrap_or(false)
}

/// The drill's sandbox record once its throwaway server runs: the record,
/// the server's directory and its postmaster's pid.
fn running_sandbox(
    drills: &std::path::Path,
) -> Option<(std::path::PathBuf, std::path::PathBuf, u32)> {
    for entry in std::fs::read_dir(drills).ok()?.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        let dir = std::path::PathBuf::from(record["server"]["dir"].as_str()?);
        let pid_file = std::fs::read_to_string(dir.join("data/postmaster.pid")).ok()?;
        let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
        if process_runs(pid) {
            return Some((path, dir, pid));
        }
    }
    None
}

#[test]
fn a_console_killed_during_a_drill_leaves_no_sandbox_after_its_restart() {
    let source = PgServer::start();
    source.psql("postgres", "CREATE DATABASE plant");
    source.psql(
        "plant",
        "CREATE TABLE readings (id bigint PRIMARY KEY, ts timestamptz NOT NULL, note text); \
         INSERT INTO readings SELECT i, '2026-01-01'::timestamptz + i * interval '1 second', md5(i::text) \
         FROM generate_series(1, 300000) i",
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = support::Server::start(&data);
    server.sign_in_admin();
    let location = format!("postgres://postgres@127.0.0.1:{}/plant", source.port);
    let saved = server.post_api(
        "/api/sources/save",
        &[
            ("form[name]", "plant"),
            ("form[kind]", "postgres"),
            ("form[location]", &location),
            ("form[password]", postgres::PASSWORD),
        ],
    );
    assert_eq!(saved.status, 200, "{}", saved.body);
    // The demo source is 1, this one 2.
    let task = server.post_api(
        "/api/tasks/save",
        &[
            ("form[name]", "plant-drilled"),
            ("form[source_id]", "2"),
            ("form[repository_id]", "1"),
            ("form[enabled]", "on"),
        ],
    );
    assert!(task.status < 400, "{}", task.body);
    let run = server.post_api("/api/tasks/run", &[("id", "1")]);
    assert_eq!(run.status, 200, "{}", run.body);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let runs = server.post_api("/api/runs", &[("task_id", "1"), ("page", "1")]);
        if runs.body.contains("\"state\":\"succeeded\"") {
            break;
        }
        assert!(!runs.body.contains("\"state\":\"failed\""), "{}", runs.body);
        assert!(
            Instant::now() < deadline,
            "the backup did not finish: {}",
            runs.body
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let drill = server.post_api("/api/drills/run", &[("task_id", "1")]);
    assert_eq!(drill.status, 200, "{}", drill.body);
    let drills = data.join("drills");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (record, sandbox, postmaster) = loop {
        if let Some(found) = running_sandbox(&drills) {
            break found;
        }
        assert!(Instant::now() < deadline, "no throwaway server was seen");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(sandbox.starts_with(std::env::temp_dir()));
    assert!(sandbox
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("tidemark-drill-"));
    drop(server); // SIGKILL
    assert!(
        process_runs(postmaster),
        "the throwaway server outlives the killed console until the next start"
    );

    // The next start sweeps before it listens.
    let server = support::Server::start(&data);
    assert!(
        !process_runs(postmaster),
        "the throwaway server (pid {postmaster}) still runs: {:?}",
        std::fs::read_to_string(format!("/proc/{postmaster}/stat"))
    );
    assert!(!sandbox.exists(), "{} is left", sandbox.display());
    assert!(!record.exists(), "{} is left", record.display());
    let left: Vec<_> = std::fs::read_dir(&drills)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left under {}: {left:?}", drills.display());
    server.sign_in_admin();
    let page = server.post_api("/api/drills", &[("task_id", "1")]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("\"status\":\"failed\""), "{}", page.body);
    assert!(
        page.body.contains("the console stopped during the drill"),
        "{}",
        page.body
    );

    // Run again on the restarted console, the same PostgreSQL drill passes
    // in a fresh throwaway server, with its measured RTO recorded.
    let again = server.post_api("/api/drills/run", &[("task_id", "1")]);
    assert_eq!(again.status, 200, "{}", again.body);
    let deadline = Instant::now() + Duration::from_secs(120);
    let passed = loop {
        let page = server.post_api("/api/drills", &[("task_id", "1")]);
        let page: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        // Newest first: the new run, then the interrupted one.
        let newest = page["runs"][0].clone();
        if newest["status"] == "passed" {
            break newest;
        }
        assert!(
            newest["status"] != "failed"
                || newest["error"] == "the console stopped during the drill",
            "{newest}"
        );
        assert!(Instant::now() < deadline, "the drill did not pass: {page}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        passed["rto_seconds"].as_f64().is_some_and(|s| s > 0.0),
        "{passed}"
    );
}
