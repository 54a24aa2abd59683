//! Kill `tidemark restore` with SIGKILL while it loads a PostgreSQL table
//! over an existing one: the server rolls the load back, so the table keeps
//! exactly its rows from before, and the next restore succeeds. Stop or
//! kill `tidemark drill` while its throwaway server runs: nothing is left
//! behind, at once (SIGTERM) or after the next drill's sweep (SIGKILL).

#[path = "../../engine/tests/support/postgres.rs"]
#[allow(dead_code)]
mod postgres;

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

/// Throwaway servers' directories and processes whose paths hold `mark`.
fn leftovers(mark: &str) -> (usize, usize) {
    let dirs = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(mark))
        .count();
    let processes = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(mark))
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
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The drill's throwaway server is up once its record names it and a
    // postgres process runs from its directory.
    let wait_for_server = |child: &mut std::process::Child| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while leftovers("tidemark-drill-").1 == 0 {
            assert!(child.try_wait().unwrap().is_none(), "the drill ended first");
            assert!(Instant::now() < deadline, "no throwaway server seen");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let before = leftovers("tidemark-drill-");
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
        leftovers("tidemark-drill-"),
        before,
        "SIGTERM: the drill removed its server"
    );
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);

    let mut killed = drill();
    wait_for_server(&mut killed);
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(
        leftovers("tidemark-drill-").1 >= 1,
        "SIGKILL leaves the server running"
    );
    let out = Command::new(BIN)
        .args(["drill", "--repo", repo, "--task", "plant", "--scratch-dir"])
        .arg(&scratch)
        .env("TIDEMARK_LOG", "error")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("removed the sandbox of a drill"), "{said}");
    assert!(said.contains("PROVEN"), "{said}");
    assert_eq!(
        leftovers("tidemark-drill-"),
        before,
        "the next drill swept the killed one's server"
    );
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
}
