//! SQLite time-range restores verify their content (issue 17): the digest
//! of the backup's rows in the range, read from the stored stream, equals
//! the restored table's, for times stored as TEXT of every shape, INTEGER,
//! REAL, BLOB and NULL, in range exactly when SQLite's own condition says
//! so (checked with the `sqlite3` tool on the source).

use std::path::Path;
use std::process::Command;

use rusqlite::Connection;
use tidemark_engine::backup::{plan_backup, run_backup, BackupOptions};
use tidemark_engine::restore::{
    plan_restore, run_restore, CheckOutcome, ConflictPolicy, RestoreOptions, RestoreStats,
};
use tidemark_engine::{
    CancelToken, DuplicatePolicy, NoProgress, RepoLocation, Repository, SqliteSource, SqliteTarget,
    TimeRange,
};

const SINCE: &str = "2026-11-01 02:00:00";
const UNTIL: &str = "2026-11-01 03:30:00";

const EV: &str = "CREATE TABLE ev (id INTEGER PRIMARY KEY, \"at time\" TIMESTAMP, note TEXT)";

/// Times of every storage class and of shapes that sit on either side of
/// the bounds only by SQLite's byte order.
fn make_db(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "{EV};
         INSERT INTO ev (\"at time\") VALUES
           ('2026-11-01 01:59:59'), ('2026-11-01 02:00:00'), ('2026-11-01 02:00:00.0'),
           ('2026-11-01 02:00:00Z'), ('2026-11-01 02'), ('2026-11-01'),
           ('2026-11-01T02:30:00'), ('2026-11-01t02:30:00'), ('2026-11-01 03:29:59.999'),
           ('2026-11-01 03:30:00'), ('2026-11-01 03:30'), ('2026-11-01 03:30:00.000'),
           ('2026-11-01 03:3é'), (CAST(X'323032362D31312D30312030323AFF' AS TEXT)),
           (' 2026-11-01 02:30:00'), ('soon'), (1793500000), (2461345.5),
           (X'323032362D31312D30312030323A33303A3030'), (NULL);
         UPDATE ev SET note = 'row ' || id;
         CREATE TABLE log (k TEXT PRIMARY KEY, d DATE) WITHOUT ROWID;
         INSERT INTO log VALUES ('a', '2026-11-01 02:10:00'), ('b', 20261101),
           ('c', '2026-11-01 05:00:00');"
    ))
    .unwrap();
}

fn sqlite3(db: &Path, sql: &str) -> Vec<u8> {
    let out = Command::new("sqlite3")
        .arg("-batch")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3 is installed by scripts/setup.sh");
    assert!(out.status.success(), "{sql}");
    out.stdout
}

/// The rows of `table` in the range as sqlite3 prints them, and how many.
fn in_range(db: &Path, table: &str, column: &str, range: &TimeRange) -> (Vec<u8>, u64) {
    let condition = range.sql_condition(&format!("\"{column}\""));
    let rows = sqlite3(
        db,
        &format!("SELECT *, quote(\"{column}\") FROM {table} WHERE {condition} ORDER BY 1"),
    );
    let count = rows
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    (rows, count as u64)
}

struct Setup {
    dir: tempfile::TempDir,
    repo: Repository,
    point: String,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("source.db");
        make_db(&db);
        let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
        let source = SqliteSource::new(db, &[], &[]).unwrap();
        let options = BackupOptions::default();
        let plan = plan_backup(&repo, &source, &options).unwrap();
        let point = run_backup(
            &repo,
            &source,
            plan,
            &options,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap()
        .point;
        Setup { dir, repo, point }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn restore(&self, db: &Path, options: &RestoreOptions) -> RestoreStats {
        let manifest = self.repo.point(&self.point).unwrap();
        let mut target = SqliteTarget::open(db.to_owned()).unwrap();
        let plan = plan_restore(&manifest, &target, options).unwrap();
        run_restore(
            &self.repo,
            &plan,
            &mut target,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap()
    }
}

fn outcome(stats: &RestoreStats, name: &str) -> CheckOutcome {
    let check = stats.checks.iter().find(|c| c.name == name).unwrap();
    check.outcome.clone()
}

fn ranged(range: &TimeRange) -> RestoreOptions {
    RestoreOptions {
        ranges: vec![("ev".into(), range.clone()), ("log".into(), range.clone())],
        ..RestoreOptions::default()
    }
}

#[test]
fn ranges_keep_the_rows_sqlite_keeps_and_verify_them() {
    let s = Setup::new();
    let source = s.path("source.db");
    let bound = |t: &str| Some(t.to_owned());
    let ranges = [
        (bound(SINCE), bound(UNTIL)),
        (bound(SINCE), None),
        (None, bound(UNTIL)),
    ];
    for (i, (since, until)) in ranges.into_iter().enumerate() {
        let range = TimeRange { since, until };
        let db = s.path(&format!("ranged-{i}.db"));
        let stats = s.restore(&db, &ranged(&range));
        assert!(stats.failed.is_empty(), "{range:?}: {:?}", stats.failed);
        for (table, column) in [("ev", "at time"), ("log", "d")] {
            let (expected, rows) = in_range(&source, table, column, &range);
            assert_eq!(
                outcome(&stats, table),
                CheckOutcome::Content { rows: Some(rows) },
                "{table} in {range:?}"
            );
            let whole = sqlite3(
                &db,
                &format!("SELECT *, quote(\"{column}\") FROM {table} ORDER BY 1"),
            );
            assert_eq!(whole, expected, "{table} in {range:?}");
        }
        if i == 0 {
            // 02:00:00, 02:00:00.0, 02:00:00Z, 03:29:59.999, 03:30 and
            // the text that is not UTF-8.
            assert_eq!(
                outcome(&stats, "ev"),
                CheckOutcome::Content { rows: Some(6) }
            );
        }
    }
}

/// A target table whose trigger changes a row of the range as it arrives.
fn target_with_trigger(path: &Path, id: i64) {
    Connection::open(path)
        .unwrap()
        .execute_batch(&format!(
            "{EV};
             CREATE TRIGGER tamper AFTER INSERT ON ev WHEN new.id = {id}
             BEGIN UPDATE ev SET note = 'changed' WHERE id = {id}; END;"
        ))
        .unwrap();
}

#[test]
fn a_row_of_the_range_changed_at_the_target_is_reported() {
    let s = Setup::new();
    let range = TimeRange {
        since: Some(SINCE.into()),
        until: Some(UNTIL.into()),
    };
    let merge = |duplicates| RestoreOptions {
        objects: vec![("ev".into(), None)],
        ranges: vec![("ev".into(), range.clone())],
        on_conflict: ConflictPolicy::Merge,
        on_duplicate: duplicates,
        ..RestoreOptions::default()
    };
    for duplicates in [DuplicatePolicy::Rewrite, DuplicatePolicy::Stop] {
        // Row 2 ('2026-11-01 02:00:00') is in the range.
        let db = s.path(&format!("tampered-{}.db", duplicates.as_str()));
        target_with_trigger(&db, 2);
        let stats = s.restore(&db, &merge(duplicates));
        assert_eq!(stats.failed.len(), 1, "{:?}", stats.failed);
        let expected = match duplicates {
            DuplicatePolicy::Rewrite => "ev has the backup's 6 rows, but their content differs",
            _ => "1 of the backup's 6 rows are not in ev",
        };
        assert!(
            stats.failed[0].1.starts_with(expected),
            "{:?}",
            stats.failed
        );
        assert!(matches!(outcome(&stats, "ev"), CheckOutcome::Differs(_)));
    }
    // A trigger on a row outside the range never fires: verified.
    let db = s.path("untouched.db");
    target_with_trigger(&db, 1);
    let stats = s.restore(&db, &merge(DuplicatePolicy::Rewrite));
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(
        outcome(&stats, "ev"),
        CheckOutcome::Content { rows: Some(6) }
    );
}

#[test]
fn a_utf16le_database_compares_text_otherwise_so_the_range_is_counted() {
    let s = Setup::new();
    let db = s.path("utf16.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA encoding = 'UTF-16le'; CREATE TABLE other (x);")
        .unwrap();
    let range = TimeRange {
        since: Some(SINCE.into()),
        until: None,
    };
    let stats = s.restore(&db, &ranged(&range));
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert!(
        matches!(outcome(&stats, "log"), CheckOutcome::Counts { .. }),
        "{:?}",
        outcome(&stats, "log")
    );
}
