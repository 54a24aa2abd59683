//! SQLite round trips, checked with `sqlite3 .dump` of source and restored
//! database.

use std::path::Path;
use std::process::Command;

use rusqlite::Connection;
use tidemark_engine::backup::{plan_backup, run_backup, BackupOptions};
use tidemark_engine::restore::{plan_restore, run_restore, ConflictPolicy, RestoreOptions};
use tidemark_engine::{
    CancelToken, EngineError, NoProgress, ObjectKind, RepoLocation, Repository, SqliteSource,
    SqliteTarget,
};

/// `sqlite3 .dump`, its statements sorted: creation order is not data,
/// but every statement (each row's full content) must match.
fn sorted_dump(db: &Path) -> Vec<String> {
    let mut lines: Vec<String> = dump(db, None).lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn dump(db: &Path, table: Option<&str>) -> String {
    let mut cmd = Command::new("sqlite3");
    cmd.arg(db).arg(match table {
        Some(t) => format!(".dump {t}"),
        None => ".dump".into(),
    });
    let out = cmd
        .output()
        .expect("sqlite3 is installed by scripts/setup.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn make_db(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        r#"
        CREATE TABLE metrics (id INTEGER PRIMARY KEY, ts TIMESTAMP NOT NULL, device TEXT, value REAL, raw BLOB);
        CREATE INDEX metrics_ts ON metrics(ts);
        CREATE TABLE "odd ""name"" table" (k TEXT PRIMARY KEY, v ANY) WITHOUT ROWID;
        CREATE TABLE audit (at TEXT, what TEXT);
        CREATE TRIGGER metrics_audit AFTER DELETE ON metrics BEGIN INSERT INTO audit VALUES (datetime('now'), 'delete'); END;
        CREATE VIEW hot AS SELECT * FROM metrics WHERE value > 90;
        INSERT INTO "odd ""name"" table" VALUES ('a''b', 1), ('big', 12345678901234), ('real', 1.0), ('null', NULL), ('text', 'x'), ('blob', X'00FF');
        "#,
    )
    .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for i in 0..20_000i64 {
        tx.execute(
            "INSERT INTO metrics (ts, device, value, raw) VALUES (?1, ?2, ?3, ?4)",
            (
                format!("2026-11-{:02}T{:02}:00:00Z", 1 + i % 28, i % 24),
                format!("dev-{}", i % 37),
                (i % 1000) as f64 / 10.0 + 0.25,
                vec![(i % 256) as u8; (i % 5) as usize],
            ),
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn backup(repo: &Repository, db: &Path, include: &[String]) -> String {
    let source = SqliteSource::new(db.to_owned(), include, &[]).unwrap();
    let options = BackupOptions::default();
    let plan = plan_backup(repo, &source, &options).unwrap();
    run_backup(
        repo,
        &source,
        plan,
        &options,
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap()
    .point
}

fn restore(
    repo: &Repository,
    point: &str,
    db: &Path,
    options: &RestoreOptions,
) -> tidemark_engine::Result<tidemark_engine::restore::RestoreStats> {
    let manifest = repo.point(point)?;
    let mut target = SqliteTarget::open(db.to_owned())?;
    let plan = plan_restore(&manifest, &target, options)?;
    run_restore(repo, &plan, &mut target, &NoProgress, &CancelToken::new())
}

#[test]
fn whole_database_round_trip_matches_sqlite3_dump() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    make_db(&db);
    let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
    let point = backup(&repo, &db, &[]);

    let manifest = repo.point(&point).unwrap();
    assert_eq!(manifest.source.kind, "sqlite");
    assert!(manifest
        .source
        .server_version
        .as_deref()
        .unwrap()
        .starts_with("SQLite 3."));
    let metrics = manifest
        .objects
        .iter()
        .find(|o| o.name == "metrics")
        .unwrap();
    assert_eq!(
        (metrics.kind, metrics.rows),
        (ObjectKind::Table, Some(20_000))
    );
    assert_eq!(metrics.time_min.as_deref(), Some("2026-11-01T00:00:00Z"));
    assert_eq!(metrics.time_max.as_deref(), Some("2026-11-28T23:00:00Z"));

    let restored = dir.path().join("restored.db");
    let stats = restore(&repo, &point, &restored, &RestoreOptions::default()).unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    let (expected, actual) = (sorted_dump(&db), sorted_dump(&restored));
    assert_eq!(expected.len(), actual.len());
    let first_difference = expected.iter().zip(&actual).find(|(a, b)| a != b);
    assert!(
        first_difference.is_none(),
        "dumps differ at {first_difference:?}"
    );
}

#[test]
fn a_new_database_gets_the_directories_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    make_db(&db);
    let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
    let point = backup(&repo, &db, &[]);
    let restored = dir.path().join("new/deeper/restored.db");
    let stats = restore(&repo, &point, &restored, &RestoreOptions::default()).unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(sorted_dump(&db), sorted_dump(&restored));
    // Where the nearest existing ancestor is a file, the plan says so.
    std::fs::write(dir.path().join("plain-file"), b"x").unwrap();
    let err = SqliteTarget::open(dir.path().join("plain-file/sub/x.db"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("plain-file"), "{err}");
}

#[test]
fn one_table_restores_under_a_new_name_beside_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    make_db(&db);
    let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
    let point = backup(&repo, &db, &[]);
    // New rows after the backup must survive a restore under another name.
    Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM metrics WHERE id <= 100", [])
        .unwrap();
    let before = dump(&db, Some("metrics"));

    let options = RestoreOptions {
        objects: vec![("metrics".into(), Some("metrics_restored".into()))],
        on_conflict: ConflictPolicy::Skip,
        ..RestoreOptions::default()
    };
    let stats = restore(&repo, &point, &db, &options).unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    let conn = Connection::open(&db).unwrap();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM metrics_restored", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 20_000);
    let index: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'metrics_restored'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(index, 1, "the index comes along, renamed");
    drop(conn);
    assert!(
        dump(&db, Some("metrics")) == before,
        "the original table is untouched"
    );
    assert!(
        stats.notes.iter().any(|n| n.contains("metrics_audit")),
        "{:?}",
        stats.notes
    );
}

#[test]
fn an_existing_table_is_protected_unless_overwrite_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    make_db(&db);
    let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
    let point = backup(&repo, &db, &[r"^metrics$".into()]);
    Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM metrics WHERE id > 10", [])
        .unwrap();
    let damaged = dump(&db, None);

    let only_metrics = |policy| RestoreOptions {
        objects: vec![("metrics".into(), None)],
        on_conflict: policy,
        ..RestoreOptions::default()
    };
    let err = restore(&repo, &point, &db, &only_metrics(ConflictPolicy::Stop)).unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("metrics"), "{err}");
    assert!(
        dump(&db, None) == damaged,
        "a refused restore changes nothing"
    );

    let stats = restore(&repo, &point, &db, &only_metrics(ConflictPolicy::Overwrite)).unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    let count: i64 = Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM metrics", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 20_000);
}

#[test]
fn a_backup_taken_while_another_connection_writes_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("busy.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; CREATE TABLE a(n INTEGER); CREATE TABLE b(n INTEGER);",
    )
    .unwrap();
    drop(conn);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = Connection::open(&db).unwrap();
            let mut n = 0i64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                // Both tables change in one transaction: a consistent copy has equal counts.
                let tx = conn.unchecked_transaction().unwrap();
                for _ in 0..50 {
                    n += 1;
                    tx.execute("INSERT INTO a VALUES (?1)", [n]).unwrap();
                    tx.execute("INSERT INTO b VALUES (?1)", [n]).unwrap();
                }
                tx.commit().unwrap();
            }
            n
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
    let point = backup(&repo, &db, &[]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let written = writer.join().unwrap();

    let restored = dir.path().join("restored.db");
    restore(&repo, &point, &restored, &RestoreOptions::default()).unwrap();
    let conn = Connection::open(&restored).unwrap();
    let a: i64 = conn
        .query_row("SELECT count(*) FROM a", [], |r| r.get(0))
        .unwrap();
    let b: i64 = conn
        .query_row("SELECT count(*) FROM b", [], |r| r.get(0))
        .unwrap();
    assert!(
        a > 0 && a == b && a % 50 == 0,
        "a={a} b={b} (writer wrote {written})"
    );
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn an_unchanged_table_costs_nothing_in_the_next_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    make_db(&db);
    let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
    backup(&repo, &db, &[]);
    Connection::open(&db)
        .unwrap()
        .execute("INSERT INTO audit VALUES ('now', 'one more row')", [])
        .unwrap();
    let point = backup(&repo, &db, &[]);
    let manifest = repo.point(&point).unwrap();
    assert!(manifest.totals.new_chunks <= 2, "{:?}", manifest.totals);
}

#[test]
fn a_file_that_is_not_a_database_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("notes.txt");
    std::fs::write(
        &bogus,
        "this is not a database, just some text long enough to have a header",
    )
    .unwrap();
    let err = SqliteSource::new(bogus.clone(), &[], &[]).err().unwrap();
    assert!(err.to_string().contains("notes.txt"), "{err}");
    let err = SqliteSource::new(dir.path().join("missing.db"), &[], &[])
        .err()
        .unwrap();
    assert!(err.to_string().contains("missing.db"), "{err}");
}
