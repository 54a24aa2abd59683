//! Drills of file trees and SQLite databases (PostgreSQL's are in
//! `engine/tests/drills.rs`, against a real server).

use super::sandbox::{Sandbox, SandboxKind};
use super::*;
use crate::backup::{plan_backup, run_backup, BackupOptions};
use crate::progress::NoProgress;
use crate::source::{FileTreeSource, SqliteSource};
use crate::storage::RepoLocation;

fn setup() -> (tempfile::TempDir, Repository) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
    (dir, repo)
}

fn sqlite_point(dir: &Path, repo: &Repository) -> String {
    let db = dir.join("shop.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE \"order lines\" (id INTEGER PRIMARY KEY, item TEXT, price REAL);
         INSERT INTO \"order lines\" (item, price) VALUES ('tea', 2.5), ('café', 3.25), ('''quoted''', -0.0);",
    )
    .unwrap();
    drop(conn);
    let source = SqliteSource::new(db, &[], &[]).unwrap();
    let options = BackupOptions {
        task: "shop".into(),
        ..Default::default()
    };
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

use std::path::Path;

fn options(dir: &Path, checks: &[&str]) -> DrillOptions {
    DrillOptions {
        task: Some("shop".into()),
        checks: checks.iter().map(|c| c.parse().unwrap()).collect(),
        scratch_dir: dir.join("drills"),
        ..Default::default()
    }
}

#[test]
fn a_sqlite_drill_proves_every_table_runs_the_checks_and_leaves_nothing() {
    let (dir, repo) = setup();
    let point = sqlite_point(dir.path(), &repo);
    let options = options(
        dir.path(),
        &[
            "SELECT count(*) FROM \"order lines\"=3",
            "SELECT item FROM \"order lines\" WHERE id = 2=café",
        ],
    );
    let plan = plan_drill(&repo, &options).unwrap();
    assert_eq!(plan.point, point);
    assert!(plan.blocked.is_none(), "{:?}", plan.blocked);
    let stats = run_drill(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert!(stats.passed, "{:?} {:?}", stats.error, stats.checks);
    assert_eq!(stats.rows, 3);
    let names: Vec<&str> = stats.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["sandbox", "restore", "checks", "cleanup"]);
    assert!(stats.rto_seconds > 0.0 && stats.rto_seconds <= stats.seconds);
    assert!(
        stats
            .checks
            .iter()
            .any(|c| c.name == "content of order lines" && c.passed),
        "{:?}",
        stats.checks
    );
    assert_eq!(
        stats
            .checks
            .iter()
            .filter(|c| c.name.starts_with("SELECT"))
            .count(),
        2
    );
    // The sandbox is gone, and so is the lease.
    assert_eq!(
        std::fs::read_dir(dir.path().join("drills"))
            .unwrap()
            .count(),
        0
    );
    assert!(repo.backend().list("leases").unwrap().is_empty());
}

#[test]
fn a_failing_check_fails_the_drill_with_the_query_and_the_value() {
    let (dir, repo) = setup();
    sqlite_point(dir.path(), &repo);
    let plan = plan_drill(
        &repo,
        &options(dir.path(), &["SELECT count(*) FROM \"order lines\"=4"]),
    )
    .unwrap();
    let stats = run_drill(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert!(!stats.passed);
    let error = stats.error.unwrap();
    assert!(
        error.contains("SELECT count(*) FROM \"order lines\""),
        "{error}"
    );
    assert!(error.contains("returned \"3\", expected \"4\""), "{error}");
    // A write is refused: checks run read-only.
    let plan = plan_drill(
        &repo,
        &options(dir.path(), &["DELETE FROM \"order lines\" RETURNING 1=1"]),
    )
    .unwrap();
    let stats = run_drill(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert!(!stats.passed);
    assert!(stats.error.unwrap().contains("readonly"));
}

#[test]
fn a_damaged_pack_fails_the_drill_and_names_the_object() {
    let (dir, repo) = setup();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let content: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    std::fs::write(src.join("readings.bin"), &content).unwrap();
    let source = FileTreeSource::new(src, &[], &[]).unwrap();
    let backup = BackupOptions {
        task: "shop".into(),
        ..Default::default()
    };
    let plan = plan_backup(&repo, &source, &backup).unwrap();
    let point = run_backup(
        &repo,
        &source,
        plan,
        &backup,
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap()
    .point;
    let packs: Vec<String> = repo
        .backend()
        .list(&format!("runs/{point}/packs"))
        .unwrap()
        .into_iter()
        .filter(|p| p.ends_with(".pack"))
        .collect();
    let pack = dir.path().join("repo").join(&packs[0]);
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&pack, bytes).unwrap();

    let plan = plan_drill(&repo, &options(dir.path(), &[])).unwrap();
    assert!(plan.sandbox.contains("scratch directory"));
    let stats = run_drill(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert!(!stats.passed);
    let error = stats.error.unwrap();
    assert!(error.contains("readings.bin"), "{error}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("drills"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_sandbox_left_by_a_dead_process_is_swept() {
    let (dir, repo) = setup();
    sqlite_point(dir.path(), &repo);
    let scratch = dir.path().join("drills");
    let sandbox = Sandbox::create(&SandboxKind::SqliteFile, &scratch, &CancelToken::new()).unwrap();
    // Made to look like a drill of a process that was killed.
    let mut record = sandbox.record.clone();
    record.owner_pid = u32::MAX - 1;
    std::fs::write(&sandbox.record_path, serde_json::to_vec(&record).unwrap()).unwrap();
    std::mem::forget(sandbox);
    let running = Sandbox::create(&SandboxKind::Tree, &scratch, &CancelToken::new()).unwrap();
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 4);

    let swept = sweep_sandboxes(&scratch).unwrap();
    assert_eq!(swept.len(), 1, "{swept:?}");
    // This process's own drill is running: it stays.
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 2);
    running.remove().unwrap();
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
}

#[test]
fn plans_refuse_what_cannot_be_drilled() {
    let (dir, repo) = setup();
    let err = plan_drill(&repo, &options(dir.path(), &[])).unwrap_err();
    assert!(err.to_string().contains("no backup point yet"), "{err}");
    sqlite_point(dir.path(), &repo);
    let mut other = options(dir.path(), &[]);
    other.sandbox = SandboxChoice::Server("postgres://u@127.0.0.1/x".into());
    assert!(plan_drill(&repo, &other).is_err());
    other.sandbox = SandboxChoice::Auto;
    other.point = PointChoice::Random;
    assert!(plan_drill(&repo, &other).unwrap().blocked.is_none());
}

/// Every file of the repository with its content, to show a drill left it
/// exactly as it was.
fn repository_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path.strip_prefix(root).unwrap().display().to_string();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn a_drill_over_its_time_limit_fails_cleans_up_and_changes_no_repository_file() {
    let (dir, repo) = setup();
    sqlite_point(dir.path(), &repo);
    let before = repository_files(&dir.path().join("repo"));
    let mut limited = options(dir.path(), &[]);
    limited.time_limit = Some(std::time::Duration::ZERO);
    let plan = plan_drill(&repo, &limited).unwrap();
    assert_eq!(plan.time_limit_seconds, Some(0));
    let stats = run_drill(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert!(!stats.passed);
    let error = stats.error.unwrap();
    assert!(
        error.contains("longer than its time limit of 0 s"),
        "{error}"
    );
    let left = std::fs::read_dir(dir.path().join("drills")).map_or(0, |d| d.count());
    assert_eq!(left, 0);

    // A drill that passes changes nothing either (its lease came and went).
    let plan = plan_drill(&repo, &options(dir.path(), &[])).unwrap();
    assert!(
        run_drill(&repo, &plan, &NoProgress, &CancelToken::new())
            .unwrap()
            .passed
    );
    let after: Vec<_> = repository_files(&dir.path().join("repo"));
    assert_eq!(before, after);
}
