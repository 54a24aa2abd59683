//! Restore policies on real SQLite databases and directories: loading into
//! existing tables (stop, skip, rewrite), time ranges, all-or-nothing
//! restores that leave the target as it was, and the phases reported.

mod support;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::Connection;
use tidemark_engine::restore::{
    plan_restore, run_restore, Action, CheckOutcome, ConflictPolicy, Outcome, RestoreOptions,
};
use tidemark_engine::{
    CancelToken, DuplicatePolicy, EngineError, NoProgress, Phase, Progress, RepoLocation,
    Repository, SqliteTarget, Target, TimeRange,
};

use support::backup_url;

/// `readings` (600 rows, one per minute from 2026-11-01 00:00) and `devices`.
fn make_db(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE readings (id INTEGER PRIMARY KEY, ts DATETIME NOT NULL, value REAL);
         CREATE INDEX readings_ts ON readings(ts);
         CREATE TABLE devices (name TEXT PRIMARY KEY, site TEXT);
         INSERT INTO devices VALUES ('d1', 'north'), ('d2', 'south');",
    )
    .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for i in 0..600i64 {
        tx.execute(
            "INSERT INTO readings (id, ts, value) VALUES (?1, ?2, ?3)",
            (
                i + 1,
                format!("2026-11-01 {:02}:{:02}:00", i / 60, i % 60),
                i as f64 / 4.0,
            ),
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

fn sqlite_dump(db: &Path) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .arg(".dump")
        .output()
        .expect("sqlite3 is installed by scripts/setup.sh");
    String::from_utf8(out.stdout).unwrap()
}

struct Setup {
    dir: tempfile::TempDir,
    repo: Repository,
    point: String,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("plant.db");
        make_db(&db);
        let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
        let point = backup_url(&repo, &format!("sqlite://{}", db.display()), "plant")
            .unwrap()
            .point;
        Setup { dir, repo, point }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn restore(
        &self,
        db: &Path,
        options: &RestoreOptions,
        progress: &dyn Progress,
        cancel: &CancelToken,
    ) -> tidemark_engine::Result<tidemark_engine::restore::RestoreStats> {
        let manifest = self.repo.point(&self.point)?;
        let mut target = SqliteTarget::open(db.to_owned())?;
        let plan = plan_restore(&manifest, &target, options)?;
        run_restore(&self.repo, &plan, &mut target, progress, cancel)
    }
}

fn merge(duplicates: DuplicatePolicy) -> RestoreOptions {
    RestoreOptions {
        objects: vec![("readings".into(), None)],
        on_conflict: ConflictPolicy::Merge,
        on_duplicate: duplicates,
        stop_on_failure: true,
        ..RestoreOptions::default()
    }
}

#[test]
fn loading_into_an_existing_table_follows_the_duplicate_policy() {
    let s = Setup::new();
    let db = s.path("plant.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "DELETE FROM readings WHERE id > 500; UPDATE readings SET value = -1 WHERE id = 1;
         INSERT INTO readings VALUES (10001, '2026-11-02 00:00:00', 7);",
    )
    .unwrap();
    drop(conn);
    let before = sqlite_dump(&db);

    // Stop: the first clashing row fails the table; nothing changes.
    let err = s
        .restore(
            &db,
            &merge(DuplicatePolicy::Stop),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("clashes with an existing row"),
        "{err}"
    );
    assert_eq!(sqlite_dump(&db), before, "a failed merge changes nothing");

    // Skip: missing rows come back, existing rows (and the new one) stay.
    // Row 1 was left out as a duplicate but differs from the backup's, so
    // the content check says the backup's row is not there (issue 17).
    let stats = s
        .restore(
            &db,
            &merge(DuplicatePolicy::Skip),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(stats.failed.len(), 1, "{:?}", stats.failed);
    assert_eq!(stats.failed[0].0, "readings");
    assert!(
        stats.failed[0]
            .1
            .starts_with("1 of the backup's 600 rows are not in readings"),
        "{:?}",
        stats.failed
    );
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 601);
    assert_eq!(
        count(
            &db,
            "SELECT CAST(value AS INTEGER) FROM readings WHERE id = 1"
        ),
        -1
    );

    // Rewrite: the table's rows are exactly the backup's; its structure stays.
    let stats = s
        .restore(
            &db,
            &merge(DuplicatePolicy::Rewrite),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(count(&db, "SELECT count(*) FROM readings"), 600);
    assert_eq!(
        count(&db, "SELECT count(*) FROM readings WHERE id = 10001"),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM sqlite_master WHERE name = 'readings_ts'"
        ),
        1
    );
}

#[test]
fn the_plan_names_what_is_merged_and_warns_what_is_lost() {
    let s = Setup::new();
    let target = SqliteTarget::open(s.path("plant.db")).unwrap();
    let manifest = s.repo.point(&s.point).unwrap();
    let plan = plan_restore(&manifest, &target, &merge(DuplicatePolicy::Rewrite)).unwrap();
    assert_eq!(plan.objects[0].action, Action::Merge);
    assert_eq!(plan.rows, 600);
    let existing = plan
        .checks
        .iter()
        .find(|c| c.name == "existing objects")
        .unwrap();
    assert_eq!(existing.outcome, Outcome::Warn);
    assert!(
        existing.detail.contains("after the backup point is lost"),
        "{existing:?}"
    );
    assert!(plan.blocked.is_none());
}

#[test]
fn a_time_range_restores_only_its_rows() {
    let s = Setup::new();
    let db = s.path("ranged.db");
    let range = TimeRange {
        since: Some("2026-11-01 02:00:00".into()),
        until: Some("2026-11-01 03:30:00".into()),
    };
    let options = RestoreOptions {
        objects: vec![("readings".into(), Some("readings_window".into()))],
        ranges: vec![("readings".into(), range)],
        stop_on_failure: true,
        ..RestoreOptions::default()
    };
    let stats = s
        .restore(&db, &options, &NoProgress, &CancelToken::new())
        .unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(count(&db, "SELECT count(*) FROM readings_window"), 90);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM readings_window WHERE ts < '2026-11-01 02:00:00' OR ts >= '2026-11-01 03:30:00'"
        ),
        0
    );
    // Its content is the backup's rows of the range (issue 17), as the
    // sqlite3 tool prints them too.
    let outcome = |stats: &tidemark_engine::restore::RestoreStats| {
        let check = stats.checks.iter().find(|c| c.name == "readings").unwrap();
        check.outcome.clone()
    };
    assert_eq!(outcome(&stats), CheckOutcome::Content { rows: Some(90) });
    let window = "WHERE ts >= '2026-11-01 02:00:00' AND ts < '2026-11-01 03:30:00' ORDER BY id";
    let rows = |db: &Path, table: &str| {
        let out = std::process::Command::new("sqlite3")
            .arg(db)
            .arg(format!("SELECT * FROM {table} {window}"))
            .output()
            .expect("sqlite3 is installed by scripts/setup.sh");
        String::from_utf8(out.stdout).unwrap()
    };
    let original = s.path("plant.db");
    let expected = rows(&original, "readings");
    assert_eq!(expected.lines().count(), 90);
    assert_eq!(rows(&db, "readings_window"), expected);

    // Rewritten into the original: the range's rows, verified the same.
    let into_original = |duplicates| RestoreOptions {
        ranges: vec![("readings".into(), options.ranges[0].1.clone())],
        ..merge(duplicates)
    };
    let stats = s
        .restore(
            &original,
            &into_original(DuplicatePolicy::Rewrite),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(outcome(&stats), CheckOutcome::Content { rows: Some(90) });
    assert_eq!(count(&original, "SELECT count(*) FROM readings"), 90);
    assert_eq!(rows(&original, "readings"), expected);
    // Merged again, skipping duplicates: each row of the range is there.
    let stats = s
        .restore(
            &original,
            &into_original(DuplicatePolicy::Skip),
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(outcome(&stats), CheckOutcome::RowsPresent { rows: 90 });

    // A range on something that is not a table of the point is refused.
    let manifest = s.repo.point(&s.point).unwrap();
    let target = SqliteTarget::open(s.path("other.db")).unwrap();
    let wrong = RestoreOptions {
        ranges: vec![("nope".into(), TimeRange::default())],
        ..RestoreOptions::default()
    };
    let err = plan_restore(&manifest, &target, &wrong).unwrap_err();
    assert!(err.to_string().contains("\"nope\""), "{err}");
}

/// Records phases; cancels the restore once one object is restored.
#[derive(Default)]
struct Recorder {
    phases: Mutex<Vec<(Phase, bool)>>,
    /// Cancel once this many objects are done.
    cancel_after: Option<(CancelToken, u64)>,
    items: std::sync::atomic::AtomicU64,
    fetched: std::sync::atomic::AtomicU64,
    rows: std::sync::atomic::AtomicU64,
}

impl Progress for Recorder {
    fn set_title(&self, _: &str) {}
    fn set_length(&self, _: u64, _: u64) {}
    fn inc(&self, _: u64, items: u64) {
        let done = self
            .items
            .fetch_add(items, std::sync::atomic::Ordering::Relaxed)
            + items;
        if let Some((cancel, after)) = &self.cancel_after {
            if done >= *after {
                cancel.cancel();
            }
        }
    }
    fn finish(&self) {}
    fn phase(&self, phase: Phase, done: bool) {
        self.phases.lock().unwrap().push((phase, done));
    }
    fn fetched(&self, bytes: u64) {
        self.fetched
            .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
    }
    fn rows(&self, rows: u64) {
        self.rows
            .fetch_add(rows, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn phases_are_reported_in_order_with_bytes_and_rows() {
    let s = Setup::new();
    let recorder = Recorder::default();
    let options = RestoreOptions {
        stop_on_failure: true,
        ..RestoreOptions::default()
    };
    let stats = s
        .restore(
            &s.path("fresh.db"),
            &options,
            &recorder,
            &CancelToken::new(),
        )
        .unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(stats.rows, 602);
    assert_eq!(
        recorder.rows.load(std::sync::atomic::Ordering::Relaxed),
        602
    );
    assert_eq!(
        recorder.fetched.load(std::sync::atomic::Ordering::Relaxed),
        stats.bytes
    );
    let phases = recorder.phases.lock().unwrap().clone();
    let started: Vec<Phase> = phases.iter().filter(|p| !p.1).map(|p| p.0).collect();
    assert_eq!(started, Phase::ALL);
    assert!(
        phases.iter().filter(|p| p.1).count() == 5,
        "every phase ends: {phases:?}"
    );
}

#[test]
fn a_cancelled_or_failed_restore_leaves_the_target_as_it_was() {
    let s = Setup::new();
    // A new file: cancelled midway, it is not left behind.
    let fresh = s.path("fresh.db");
    let cancel = CancelToken::new();
    let recorder = Recorder {
        cancel_after: Some((cancel.clone(), 1)),
        ..Recorder::default()
    };
    let options = RestoreOptions {
        stop_on_failure: true,
        ..RestoreOptions::default()
    };
    let err = s.restore(&fresh, &options, &recorder, &cancel).unwrap_err();
    assert!(matches!(err, EngineError::Cancelled), "{err}");
    assert!(!fresh.exists(), "the new database file is removed again");

    // An existing database: one table restored, the next one fails; the
    // first is rolled back with it.
    let existing = s.path("existing.db");
    Connection::open(&existing)
        .unwrap()
        .execute_batch("CREATE TABLE keep (n INTEGER); INSERT INTO keep VALUES (1); CREATE TABLE readings (id INTEGER PRIMARY KEY, ts DATETIME, value REAL); INSERT INTO readings VALUES (1, '2026-11-01 00:00:00', 99);")
        .unwrap();
    let before = sqlite_dump(&existing);
    let err = s
        .restore(
            &existing,
            &RestoreOptions {
                on_conflict: ConflictPolicy::Merge,
                stop_on_failure: true,
                ..RestoreOptions::default()
            },
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap_err();
    assert!(
        matches!(err, EngineError::RestoreFailed { ref object, .. } if object == "readings"),
        "{err}"
    );
    assert_eq!(sqlite_dump(&existing), before);
}

#[test]
fn a_read_only_target_fails_the_pre_check() {
    let s = Setup::new();
    let dir = s.path("locked");
    std::fs::create_dir(&dir).unwrap();
    // Root ignores permission bits; the immutable attribute binds it too.
    let immutable = std::process::Command::new("chattr")
        .arg("+i")
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !immutable {
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o555))
            .unwrap();
    }
    let target = SqliteTarget::open(dir.join("restored.db")).unwrap();
    let manifest = s.repo.point(&s.point).unwrap();
    let plan = plan_restore(&manifest, &target, &RestoreOptions::default()).unwrap();
    if immutable {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&dir)
            .status();
    }
    let writable = plan
        .checks
        .iter()
        .find(|c| c.name == "target writable")
        .unwrap();
    assert_eq!(writable.outcome, Outcome::Fail, "{writable:?}");
    assert!(writable.detail.contains("not writable"), "{writable:?}");
    assert!(plan.blocked.is_some());
    assert!(target.existing(&["readings"]).unwrap().is_empty());
}

/// Every file and directory below `root`, with sizes.
fn listing(root: &Path) -> Vec<(String, u64)> {
    let mut all = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            let name = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            if meta.is_dir() {
                stack.push(entry.path());
            }
            all.push((name, meta.len()));
        }
    }
    all.sort();
    all
}

#[test]
fn a_cancelled_directory_restore_leaves_no_file_or_directory_behind() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for (name, size) in [
        ("a/b/one.bin", 300_000),
        ("a/two.bin", 10),
        ("c/three.bin", 5),
    ] {
        let path = src.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![7u8; size]).unwrap();
    }
    let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
    let point = backup_url(&repo, &format!("file://{}", src.display()), "files")
        .unwrap()
        .point;
    let out = dir.path().join("out");
    std::fs::create_dir_all(out.join("a")).unwrap();
    std::fs::write(out.join("a/mine.txt"), "keep").unwrap();
    let before = listing(&out);

    let cancel = CancelToken::new();
    // After a/, a/b/ (new) and a/b/one.bin (written, waiting to move).
    let recorder = Recorder {
        cancel_after: Some((cancel.clone(), 3)),
        ..Recorder::default()
    };
    let manifest = repo.point(&point).unwrap();
    let mut target = tidemark_engine::FileTreeTarget::new(out.clone());
    let options = RestoreOptions {
        on_conflict: ConflictPolicy::Merge,
        stop_on_failure: true,
        ..RestoreOptions::default()
    };
    let plan = plan_restore(&manifest, &target, &options).unwrap();
    let err = run_restore(&repo, &plan, &mut target, &recorder, &cancel).unwrap_err();
    assert!(matches!(err, EngineError::Cancelled), "{err}");
    drop(target);
    assert_eq!(listing(&out), before);

    // The same restore, not cancelled, brings everything.
    let mut target = tidemark_engine::FileTreeTarget::new(out.clone());
    let stats = run_restore(&repo, &plan, &mut target, &NoProgress, &CancelToken::new()).unwrap();
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(
        std::fs::read(out.join("a/b/one.bin")).unwrap().len(),
        300_000
    );
    assert_eq!(
        std::fs::read_to_string(out.join("a/mine.txt")).unwrap(),
        "keep"
    );
}
