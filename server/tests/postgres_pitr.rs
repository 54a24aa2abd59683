//! Point-in-time recovery of a PostgreSQL cluster through the real
//! `tidemark` binary and real servers: a workload commits continuously
//! (inserts, updates, deletes, awkward values and names) while the WAL is
//! archived through a slot, the archiver is killed with SIGKILL and
//! started again, a base backup is taken under load; then the cluster is
//! recovered to a chosen second while the source keeps writing. The
//! recovered database must equal, by `pg_dump`, the same workload replayed
//! exactly as far as the transactions committed at or before that second
//! (their commit times read back from the source with
//! `track_commit_timestamp`).

#[path = "../../engine/tests/support/postgres.rs"]
#[allow(dead_code)]
mod postgres;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use postgres::{PgServer, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_tidemark");

fn tidemark(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("TIDEMARK_PASSPHRASE")
        .env("TIDEMARK_PASSPHRASE", "pitr pass phrase")
        .env("TIDEMARK_LOG", "warn")
        .output()
        .expect("run tidemark")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const SCHEMA: &str = r#"
CREATE TABLE "order items" (
    id int PRIMARY KEY,
    "note ""quoted""" text NOT NULL,
    amount numeric(20, 6),
    payload bytea,
    at timestamptz,
    tags text[],
    doc jsonb
);
CREATE INDEX "order items by amount" ON "order items" (amount);
CREATE TABLE readings (step int, n int, value double precision, PRIMARY KEY (step, n));
CREATE TABLE steps (i int PRIMARY KEY);
CREATE PROCEDURE step(i int) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "order items" VALUES (
        i,
        'ünïcødé 日本語 ' || i || E' \'q\' "dq" \\ \n line',
        i * 1.000001 - 500,
        decode(md5(i::text), 'hex'),
        timestamptz '2000-01-01 00:00:00+00' + i * interval '1 second',
        ARRAY['a b', i::text, NULL],
        jsonb_build_object('i', i, 'k', 'v w'));
    IF i % 3 = 0 THEN
        UPDATE "order items" SET amount = amount + 0.5, "note ""quoted""" = "note ""quoted""" || ' upd'
        WHERE id = i - 2;
    END IF;
    IF i % 7 = 0 THEN
        DELETE FROM "order items" WHERE id = i - 5;
    END IF;
    INSERT INTO readings SELECT i, n, (i * 1000 + n) / 7.0 FROM generate_series(1, 50) n;
    INSERT INTO steps VALUES (i);
END $$;
CREATE PROCEDURE work(n int, pause float8) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        CALL step(i);
        COMMIT;
        PERFORM pg_sleep(pause);
    END LOOP;
END $$;
"#;

fn env(port: u16, db: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PGHOST", "127.0.0.1".into()),
        ("PGPORT", port.to_string()),
        ("PGUSER", "postgres".into()),
        ("PGPASSWORD", PASSWORD.into()),
        ("PGDATABASE", db.into()),
    ]
}

/// `pg_dump` of a database's data (or structure), the header lines that
/// name the server's version left out.
fn dump(port: u16, db: &str, what: &str) -> String {
    let out = Command::new("pg_dump")
        .args([
            what,
            "--no-owner",
            "--no-privileges",
            "--restrict-key=tidemark",
        ])
        .envs(env(port, db))
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_dump: {}", text(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-- Dumped"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn psql_at(port: u16, db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .envs(env(port, db))
        .output()
        .unwrap();
    assert!(out.status.success(), "psql {sql}: {}", text(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

struct Archiver(Child);

impl Archiver {
    fn start(repo: &str, source: &str, spool: &Path) -> Archiver {
        Archiver(
            Command::new(BIN)
                .args([
                    "archive", "--repo", repo, "--source", source, "--task", "cluster",
                ])
                .arg("--spool-dir")
                .arg(spool)
                .args(["--upload-every", "0.5"])
                .env("TIDEMARK_PASSPHRASE", "pitr pass phrase")
                .env("TIDEMARK_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(spool.with_extension("log"))
                        .unwrap(),
                )
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Archiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A recovered cluster left running: stopped at the end of the test.
struct Recovered(PathBuf);

impl Drop for Recovered {
    fn drop(&mut self) {
        let pg_ctl = Path::new("/usr/lib/postgresql")
            .read_dir()
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin/pg_ctl"))
            .find(|p| p.exists())
            .unwrap();
        let mut cmd = if unsafe { libc::geteuid() } == 0 {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            Command::new(pg_ctl)
        };
        let _ = cmd
            .arg("-D")
            .arg(&self.0)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// `tidemark restore` of the cluster task to `moment` into `target`.
fn restore_to(repo: &str, moment: &str, target: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "restore",
        "--repo",
        repo,
        "--task",
        "cluster",
        "--to-time",
        moment,
        "--target",
        target,
    ];
    args.extend_from_slice(extra);
    tidemark(&args)
}

fn utc_now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The archive holds everything up to `moment` (the timeline says so).
fn wait_archived(repo: &str, moment: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = tidemark(&["timeline", "--repo", repo, "--task", "cluster", "--json"]);
        let timeline: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let to = timeline["ranges"]
            .as_array()
            .and_then(|r| r.last())
            .and_then(|r| r["to"].as_str())
            .unwrap_or("");
        if !to.is_empty() && to.replace('T', " ")[..19] > *moment {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the archive never reached {moment}: {}",
            text(&out)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_cluster_recovers_to_a_chosen_second_while_the_source_keeps_writing() {
    let pg = PgServer::start_with("-c track_commit_timestamp=on");
    let dir = tempfile::tempdir().unwrap();
    // The recovered server runs as postgres when the tests run as root.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    let spool = dir.path().join("spool");
    let source = format!(
        "postgres-cluster://postgres:{PASSWORD}@127.0.0.1:{}",
        pg.port
    );
    pg.psql("postgres", "CREATE DATABASE shop");
    pg.psql("shop", SCHEMA);

    let out = tidemark(&["repo", "init", repo, "--encrypt"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = tidemark(&[
        "archive",
        "--repo",
        repo,
        "--source",
        &source,
        "--task",
        "cluster",
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("pass replication connection"),
        "{}",
        text(&out)
    );

    let mut archiver = Archiver::start(repo, &source, &spool);
    std::thread::sleep(Duration::from_secs(2));
    // Runs until the server stops at the end of the test: the source keeps
    // writing through the recovery.
    let workload = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CALL work(1000000, 0.03)",
        ])
        .envs(env(pg.port, "shop"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    // A base backup while the workload writes.
    let out = tidemark(&[
        "backup", "--repo", repo, "--source", &source, "--task", "cluster", "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let before_base = "2000-01-01 00:00:00";

    // The switch check: the segment a forced switch closes arrives.
    let out = tidemark(&[
        "archive",
        "--repo",
        repo,
        "--source",
        &source,
        "--task",
        "cluster",
        "--check-switch",
    ]);
    assert!(
        out.status.success(),
        "{}\narchiver: {}",
        text(&out),
        std::fs::read_to_string(spool.with_extension("log")).unwrap_or_default()
    );
    assert!(
        text(&out).contains("was in the repository after"),
        "{}",
        text(&out)
    );

    // The archiver dies without a word and comes back: nothing is lost.
    std::thread::sleep(Duration::from_secs(3));
    let _ = archiver.0.kill();
    let _ = archiver.0.wait();
    std::thread::sleep(Duration::from_secs(2));
    archiver = Archiver::start(repo, &source, &spool);
    std::thread::sleep(Duration::from_secs(3));
    let moment = utc_now();
    std::thread::sleep(Duration::from_secs(2));
    wait_archived(repo, &moment);

    let data = dir.path().join("recovered");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let port_text = port.to_string();
    let target = format!("file://{}", data.display());
    let out = restore_to(repo, &moment, &target, &["--port", &port_text]);
    let _recovered = Recovered(data.clone());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("recovery stopping before WAL location"),
        "{}",
        text(&out)
    );

    // What the source committed at or before the moment, by its own clock.
    let committed = psql_at(
        pg.port,
        "shop",
        &format!(
            "SELECT count(*), coalesce(max(i), 0) FROM steps \
             WHERE pg_xact_commit_timestamp(xmin) < timestamptz '{moment}+00' + interval '1 second'"
        ),
    );
    let (count, max) = committed.split_once('|').unwrap();
    assert_eq!(count, max, "steps commit in order");
    let k: u64 = count.parse().unwrap();
    assert!(k > 50, "the moment falls inside the workload ({k} steps)");
    // The same workload replayed exactly that far, in another database.
    pg.psql("postgres", "CREATE DATABASE expected");
    pg.psql("expected", SCHEMA);
    pg.psql(
        "expected",
        &format!("DO $$ BEGIN FOR i IN 1..{k} LOOP CALL step(i); END LOOP; END $$"),
    );
    // Row by row in key order (pg_dump writes them in storage order, which
    // updates made in one transaction change).
    let rows = |port: u16, db: &str| {
        [
            r#"COPY (SELECT * FROM "order items" ORDER BY id) TO STDOUT"#,
            "COPY (SELECT * FROM readings ORDER BY step, n) TO STDOUT",
            "COPY (SELECT * FROM steps ORDER BY i) TO STDOUT",
        ]
        .map(|sql| psql_at(port, db, sql))
        .join("\n")
    };
    let want = rows(pg.port, "expected");
    let got = rows(port, "shop");
    if want != got {
        let first = want
            .lines()
            .zip(got.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("expected {a:?}\n     got {b:?}"))
            .unwrap_or_else(|| {
                format!(
                    "{} lines against {}",
                    want.lines().count(),
                    got.lines().count()
                )
            });
        panic!("the recovered data differs from the state at {moment} ({k} steps): {first}");
    }
    assert_eq!(
        dump(port, "shop", "--schema-only"),
        dump(pg.port, "shop", "--schema-only")
    );
    assert_eq!(
        psql_at(port, "shop", "SELECT count(*) FROM readings"),
        (k * 50).to_string()
    );

    // Extraction: the classic accident's repair, one table as it was at
    // the moment, restored beside the live one in the source database.
    let into_shop = format!("postgres://postgres:{PASSWORD}@127.0.0.1:{}/shop", pg.port);
    let renamed = "public.order items=public.order items at T";
    let extract = |name: &str, extra: &[&str]| {
        let data = dir.path().join(name);
        let out = restore_to(repo, &moment, &format!("file://{}", data.display()), extra);
        (data, out)
    };
    let (first, out) = extract(
        "extract-one",
        &[
            "--extract",
            "shop",
            "--extract-into",
            &into_shop,
            "--object",
            renamed,
        ],
    );
    let _first = Recovered(first.clone());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("database shop extracted into"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("content verified"), "{}", text(&out));
    let order_items = |port: u16, db: &str, table: &str| {
        psql_at(
            port,
            db,
            &format!(r#"COPY (SELECT * FROM "{table}" ORDER BY id) TO STDOUT"#),
        )
    };
    assert_eq!(
        order_items(pg.port, "shop", "order items at T"),
        order_items(pg.port, "expected", "order items")
    );
    assert!(
        first.join("PG_VERSION").exists(),
        "kept without --remove-recovered"
    );
    // Under its own name it clashes with the live table: refused before
    // anything is recovered.
    let (refused, out) = extract(
        "extract-refused",
        &[
            "--extract",
            "shop",
            "--extract-into",
            &into_shop,
            "--object",
            "public.order items",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("already holds public.order items"),
        "{}",
        text(&out)
    );
    assert!(!refused.exists());
    // The whole database into a new one, the recovered cluster removed.
    let into_new = format!(
        "postgres://postgres:{PASSWORD}@127.0.0.1:{}/shop at T",
        pg.port
    );
    let (whole, out) = extract(
        "extract-whole",
        &[
            "--extract",
            "shop",
            "--extract-into",
            &into_new,
            "--remove-recovered",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!whole.exists(), "removed after the extraction");
    assert_eq!(rows(pg.port, "shop at T"), want);
    assert_eq!(
        dump(pg.port, "shop at T", "--schema-only"),
        dump(pg.port, "expected", "--schema-only")
    );

    // Refusals name the reason and create nothing.
    let early = dir.path().join("early");
    let out = restore_to(
        repo,
        before_base,
        &format!("file://{}", early.display()),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("was taken later"), "{}", text(&out));
    assert!(!early.exists());
    let out = restore_to(
        repo,
        "2999-01-01 00:00:00",
        &format!("file://{}", early.display()),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the archive holds the WAL up to"),
        "{}",
        text(&out)
    );
    assert!(!early.exists());
    let out = restore_to(repo, &moment, &target, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("is not empty"), "{}", text(&out));

    // The base point alone: its copy made consistent, nothing after.
    let at_base = dir.path().join("at-base");
    let out = tidemark(&[
        "restore",
        "--repo",
        repo,
        "--point",
        "latest",
        "--target",
        &format!("file://{}", at_base.display()),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("recovery stopping after reaching consistency"),
        "{}",
        text(&out)
    );

    // Prune keeps the WAL from the kept base on: the same second recovers.
    let out = tidemark(&["prune", "--repo", repo, "--keep-last", "1", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let again = dir.path().join("again");
    let out = restore_to(repo, &moment, &format!("file://{}", again.display()), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("recovery stopping before WAL location"),
        "{}",
        text(&out)
    );

    drop(archiver);
    pg.psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL work%'",
    );
    let mut workload = workload;
    let _ = workload.kill();
    let _ = workload.wait();
}
