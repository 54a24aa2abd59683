//! Kill `tidemark restore` with SIGKILL while it loads a PostgreSQL table
//! over an existing one: the server rolls the load back, so the table keeps
//! exactly its rows from before, and the next restore succeeds.

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
