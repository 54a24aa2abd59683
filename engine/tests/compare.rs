//! `verify --against`: a live target compared with a point, read-only,
//! object by object and value for value.

mod support;

use std::fs;

use support::{make_tree, Fixture};
use tidemark_engine::backup::BackupOptions;
use tidemark_engine::compare::{plan_compare, run_compare, CompareOptions, CompareReport};
use tidemark_engine::restore::{CheckOutcome, RestoreOptions};
use tidemark_engine::{CancelToken, FileTreeTarget, NoProgress, ObjectKind, Repository};

fn compare(repo: &Repository, point: &str, dir: &std::path::Path) -> CompareReport {
    let manifest = repo.point(point).unwrap();
    let mut target = FileTreeTarget::new(dir.to_path_buf());
    let plan = plan_compare(&manifest, &target, &CompareOptions::default()).unwrap();
    run_compare(repo, &plan, &mut target, &NoProgress, &CancelToken::new()).unwrap()
}

fn differences(report: &CompareReport) -> Vec<(String, String)> {
    report
        .checks
        .iter()
        .filter_map(|c| {
            c.outcome
                .difference()
                .map(|d| (c.name.clone(), d.to_owned()))
        })
        .collect()
}

#[test]
fn a_restored_tree_is_exact_and_each_change_is_named() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let stats = fx.backup(&repo, &BackupOptions::default());
    let restored = fx
        .restore(&repo, &stats.point, "out", &RestoreOptions::default())
        .unwrap();
    assert!(restored.failed.is_empty(), "{:?}", restored.failed);
    // The restore itself read every file back and proved its content.
    let manifest = repo.point(&stats.point).unwrap();
    let files = manifest
        .objects
        .iter()
        .filter(|o| o.kind == ObjectKind::File);
    for file in files.clone() {
        let check = restored
            .checks
            .iter()
            .find(|c| c.name == file.name)
            .unwrap();
        assert_eq!(
            check.outcome,
            CheckOutcome::Content { rows: None },
            "{}",
            file.name
        );
    }

    let report = compare(&repo, &stats.point, &fx.path("out"));
    assert!(report.is_equal(), "{:?}", differences(&report));
    assert_eq!(report.equal, files.clone().count() as u64);

    // One byte changed in place (same size, same time), one file gone.
    let (changed, gone) = {
        let mut sized = files.filter(|f| f.size > 0);
        (
            sized.next().unwrap().name.clone(),
            sized.next().unwrap().name.clone(),
        )
    };
    let path = fx.path("out").join(&changed);
    let mut bytes = fs::read(&path).unwrap();
    bytes[0] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    fs::remove_file(fx.path("out").join(&gone)).unwrap();

    let report = compare(&repo, &stats.point, &fx.path("out"));
    let found = differences(&report);
    assert_eq!(report.different, 2, "{found:?}");
    let named = |name: &str| {
        found
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
    };
    assert!(named(&changed).unwrap().contains("BLAKE3"), "{found:?}");
    assert!(
        named(&gone).unwrap().contains("does not exist"),
        "{found:?}"
    );
}

#[test]
fn a_restored_database_is_exact_and_one_changed_row_is_reported() {
    let fx = Fixture::new();
    let (src, copy) = (fx.path("plant.db"), fx.path("copy.db"));
    let conn = rusqlite::Connection::open(&src).unwrap();
    conn.execute_batch(
        "CREATE TABLE readings (id INTEGER PRIMARY KEY, ts TEXT, value REAL, note TEXT);
         CREATE TABLE devices (name TEXT PRIMARY KEY, site TEXT) WITHOUT ROWID;
         INSERT INTO devices VALUES ('pump 1', 'north'), ('pump \"2\"', 'south');",
    )
    .unwrap();
    for i in 0..2_000i64 {
        conn.execute(
            "INSERT INTO readings (ts, value, note) VALUES (?1, ?2, ?3)",
            (
                format!("2026-11-01 {:02}:{:02}:00", i / 60 % 24, i % 60),
                (i as f64) / 7.0,
                "ok",
            ),
        )
        .unwrap();
    }
    drop(conn);
    let repo = fx.repo(None);
    let point = support::backup_url(&repo, &format!("sqlite://{}", src.display()), "plant")
        .unwrap()
        .point;
    let url = format!("sqlite://{}", copy.display());
    let restored = support::restore_url(&repo, &point, &url, &RestoreOptions::default()).unwrap();
    assert!(restored.failed.is_empty(), "{:?}", restored.failed);

    let against = |repo: &Repository| {
        let manifest = repo.point(&point).unwrap();
        let mut target = tidemark_engine::SqliteTarget::open(copy.clone()).unwrap();
        let plan = plan_compare(&manifest, &target, &CompareOptions::default()).unwrap();
        run_compare(repo, &plan, &mut target, &NoProgress, &CancelToken::new()).unwrap()
    };
    let report = against(&repo);
    assert!(report.is_equal(), "{:?}", differences(&report));
    assert_eq!(report.equal, 2, "{:?}", report.checks);

    // One value changed in the last place: same row count, same time span.
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute(
        "UPDATE readings SET value = value + 1e-12 WHERE id = 1000",
        [],
    )
    .unwrap();
    drop(conn);
    let report = against(&repo);
    let found = differences(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "readings");
    assert!(found[0].1.contains("content differs"), "{found:?}");
}
