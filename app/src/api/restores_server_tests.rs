//! The restore server functions against a real catalog, a real repository
//! and real SQLite databases: state transitions, Verify gating Start,
//! Retry only after a failure, no rerun after success, Cancel at each phase.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use tidemark_engine::{RepoLocation, Repository};
use tokio::sync::broadcast;

use super::*;
use crate::catalog::{Catalog, NewSource, Trigger};
use crate::jobs::restore::RestoreRoots;
use crate::model::{RestoreProgress, RestoreState, Role, SourceKind, TaskForm};
use crate::state::{AppState, ServerInfo};

const WAIT: Duration = Duration::from_secs(120);

struct Fixture {
    dir: tempfile::TempDir,
    state: AppState,
    task_id: i64,
    point: String,
}

/// `readings` with `rows` rows (one a second from 2026-11-01) and `devices`.
fn make_db(path: &Path, rows: u64) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE readings (id INTEGER PRIMARY KEY, ts DATETIME NOT NULL, device TEXT, value REAL);
         CREATE TABLE devices (name TEXT PRIMARY KEY, site TEXT);
         INSERT INTO devices VALUES ('d1', 'north'), ('d2', 'south');
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
         INSERT INTO readings SELECT i, datetime('2026-11-01', '+' || i || ' seconds'),
             'device-' || (i % 50), i * 0.25 FROM n;"
    ))
    .unwrap();
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

impl Fixture {
    /// A SQLite source of `rows` readings, a task, and one backup of it.
    async fn new(rows: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let catalog = Catalog::open(&url).await.unwrap();
        let repo_path = dir.path().join("repo");
        tokio::task::block_in_place(|| {
            Repository::init(&RepoLocation::Local(repo_path.clone()), None)
        })
        .unwrap();
        catalog
            .ensure_default_repository(repo_path.to_str().unwrap())
            .await
            .unwrap();
        let db = dir.path().join("plant.db");
        make_db(&db, rows);
        let source = catalog
            .insert_source(&NewSource {
                name: "plant",
                kind: SourceKind::Sqlite,
                location: db.to_str().unwrap(),
                description: "",
                is_demo: false,
                secret: None,
            })
            .await
            .unwrap();
        let state = AppState::for_tests(catalog, dir.path());
        let task = TaskForm {
            name: "plant-nightly".into(),
            source_id: source.id.to_string(),
            repository_id: "1".into(),
            content_mode: "all".into(),
            schedule_mode: "manual".into(),
            policy: "full-always".into(),
            compression: "fastest".into(),
            pack_size_mib: "16".into(),
            retry_count: "0".into(),
            retry_interval_min: "5".into(),
            ..TaskForm::default()
        };
        let task_id = crate::api::tasks::server::save(&state, None, task, false)
            .await
            .unwrap();
        let mut events = state.jobs.subscribe();
        let run = state
            .jobs
            .start(task_id, Trigger::Manual, false, 1)
            .await
            .unwrap();
        tokio::time::timeout(WAIT, async {
            while !matches!(events.recv().await, Ok(p) if p.run_id == run.id && p.is_finished()) {}
        })
        .await
        .unwrap();
        let run = state.catalog.run(run.id).await.unwrap().unwrap();
        assert_eq!(run.state, "succeeded", "{run:?}");
        Fixture {
            dir,
            state,
            task_id,
            point: run.point.unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The form the page starts from, into `target` with readings renamed.
    async fn form(&self, name: &str, target: &Path) -> RestoreForm {
        let mut form = super::new_form(&self.state, Some(self.task_id), Some(self.point.clone()))
            .await
            .unwrap();
        form.name = name.into();
        form.target_path = target.display().to_string();
        for object in &mut form.objects {
            if object.name == "readings" {
                object.target_name = "readings_restored".into();
            }
        }
        form
    }

    async fn create(&self, form: RestoreForm) -> i64 {
        super::create(&self.state, form, Role::Operator)
            .await
            .unwrap()
    }

    async fn state_of(&self, id: i64) -> RestoreDetail {
        super::detail(&self.state, id).await.unwrap()
    }

    /// Starts (or retries) and waits for the end.
    async fn run(&self, id: i64, retry: bool) -> RestoreProgress {
        let mut events = self.state.jobs.restores().subscribe();
        self.state
            .jobs
            .restores()
            .start(id, retry, true)
            .await
            .unwrap();
        wait_end(&mut events, id).await
    }
}

async fn wait_end(events: &mut broadcast::Receiver<RestoreProgress>, id: i64) -> RestoreProgress {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(p) if p.restore_id == id && !p.state.is_active() => return p,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the event channel closed"),
            }
        }
    })
    .await
    .expect("the restore ended in time")
}

fn refused(err: crate::jobs::restore::RestoreStartError) -> String {
    let err: AppError = err.into();
    assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
    err.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_goes_through_its_phases_and_is_never_run_again() {
    let fx = Fixture::new(5_000).await;
    let target = fx.path("restored.db");
    let id = fx.create(fx.form("plant-restore", &target).await).await;
    let detail = fx.state_of(id).await;
    assert_eq!(detail.row.state, "new");
    assert_eq!(
        detail.verify_outcome.as_deref(),
        Some("pass"),
        "{:?}",
        detail.checks
    );
    assert!(detail.verified_current);
    assert!(
        !target.exists(),
        "Verify and create change nothing at the target"
    );

    let end = fx.run(id, false).await;
    assert_eq!(end.state, RestoreState::Finished, "{:?}", end.error);
    assert_eq!(end.percent(), 100.0);
    assert_eq!(end.rows_loaded, 5_002);
    assert_eq!(
        count(&target, "SELECT count(*) FROM readings_restored"),
        5_000
    );
    assert_eq!(count(&target, "SELECT count(*) FROM devices"), 2);

    let detail = fx.state_of(id).await;
    assert_eq!(detail.row.state, "finished");
    let phases: Vec<&str> = detail.phases.iter().map(|p| p.phase.as_str()).collect();
    assert_eq!(phases, crate::model::PHASES);
    assert!(
        detail.phases.iter().all(|p| p.finished_at.is_some()),
        "{:?}",
        detail.phases
    );
    assert!(
        detail.objects.iter().all(|o| o.state == "done"),
        "{:?}",
        detail.objects
    );
    assert_eq!(detail.rows_loaded, 5_002);

    // Finished: neither Start nor Retry runs it again.
    let restores = fx.state.jobs.restores();
    let again = refused(restores.start(id, false, true).await.unwrap_err());
    assert!(again.contains("not run again"), "{again}");
    let retry = refused(restores.start(id, true, true).await.unwrap_err());
    assert!(retry.contains("not run again"), "{retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_needs_a_passing_verify_and_acknowledged_warnings() {
    let fx = Fixture::new(1_000).await;
    let target = fx.path("existing.db");
    make_db(&target, 10);
    Connection::open(&target)
        .unwrap()
        .execute_batch("ALTER TABLE readings RENAME TO readings_restored")
        .unwrap();

    // The renamed table exists and Force is off: a failing item blocks Start.
    let id = fx.create(fx.form("blocked", &target).await).await;
    let detail = fx.state_of(id).await;
    assert_eq!(detail.verify_outcome.as_deref(), Some("fail"));
    let failing = detail.checks.iter().find(|c| c.outcome == "fail").unwrap();
    assert!(failing.detail.contains("readings_restored"), "{failing:?}");
    let err = refused(
        fx.state
            .jobs
            .restores()
            .start(id, false, true)
            .await
            .unwrap_err(),
    );
    assert!(err.contains("failing items"), "{err}");
    assert_eq!(count(&target, "SELECT count(*) FROM readings_restored"), 10);

    // Force: a warning that data is lost; Start needs it acknowledged.
    let mut form = fx.form("forced", &target).await;
    form.force = true;
    let id = fx.create(form).await;
    assert_eq!(
        fx.state_of(id).await.verify_outcome.as_deref(),
        Some("warn")
    );
    let err = refused(
        fx.state
            .jobs
            .restores()
            .start(id, false, false)
            .await
            .unwrap_err(),
    );
    assert!(err.contains("acknowledge"), "{err}");
    let end = fx.run(id, false).await;
    assert_eq!(end.state, RestoreState::Finished, "{:?}", end.error);
    assert_eq!(
        count(&target, "SELECT count(*) FROM readings_restored"),
        1_000
    );

    // Start is refused for a task never verified under its current settings.
    let id = fx.create(fx.form("stale", &fx.path("x.db")).await).await;
    fx.state
        .catalog
        .record_restore_verify(id, "0000", "[]", "pass")
        .await
        .unwrap();
    let err = refused(
        fx.state
            .jobs
            .restores()
            .start(id, false, true)
            .await
            .unwrap_err(),
    );
    assert!(err.contains("run Verify first"), "{err}");
}

/// Makes a directory immutable (root ignores permission bits).
fn set_immutable(dir: &Path, on: bool) {
    let status = std::process::Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .arg(dir)
        .status()
        .expect("chattr (e2fsprogs) is installed");
    assert!(status.success(), "chattr needs an ext4-like filesystem");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_restore_is_retried_once_the_cause_is_fixed() {
    let fx = Fixture::new(2_000).await;
    let dir = fx.path("locked");
    std::fs::create_dir(&dir).unwrap();
    let target = dir.join("restored.db");
    let id = fx.create(fx.form("retry-me", &target).await).await;
    assert_eq!(
        fx.state_of(id).await.verify_outcome.as_deref(),
        Some("pass")
    );

    // Retry is not offered before a failure.
    let err = refused(
        fx.state
            .jobs
            .restores()
            .start(id, true, true)
            .await
            .unwrap_err(),
    );
    assert!(err.contains("use Start"), "{err}");

    set_immutable(&dir, true);
    let end = fx.run(id, false).await;
    set_immutable(&dir, false);
    assert_eq!(end.state, RestoreState::Failed);
    let error = end.error.unwrap();
    assert!(error.contains("not writable"), "{error}");
    assert!(!target.exists());
    let detail = fx.state_of(id).await;
    assert_eq!(detail.row.error.as_deref(), Some(error.as_str()));
    assert_eq!(detail.attempt, 1);

    let end = fx.run(id, true).await;
    assert_eq!(end.state, RestoreState::Finished, "{:?}", end.error);
    assert_eq!(
        count(&target, "SELECT count(*) FROM readings_restored"),
        2_000
    );
    assert_eq!(fx.state_of(id).await.attempt, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_at_any_phase_leaves_the_target_as_it_was() {
    let fx = Fixture::new(600_000).await;
    let restores = fx.state.jobs.restores();

    // Cancelled as soon as it starts: nothing is created.
    let fresh = fx.path("fresh.db");
    let id = fx.create(fx.form("cancel-early", &fresh).await).await;
    let mut events = restores.subscribe();
    restores.start(id, false, true).await.unwrap();
    assert!(restores.cancel(id));
    let end = wait_end(&mut events, id).await;
    assert_eq!(end.state, RestoreState::Cancelled);
    assert!(!fresh.exists());
    assert_eq!(fx.state_of(id).await.row.state, "cancelled");

    // Cancelled while loading into an existing database: it is unchanged.
    let existing = fx.path("existing.db");
    Connection::open(&existing)
        .unwrap()
        .execute_batch("CREATE TABLE keep (n INTEGER); INSERT INTO keep VALUES (42);")
        .unwrap();
    let before = std::fs::read(&existing).unwrap();
    let id = fx.create(fx.form("cancel-loading", &existing).await).await;
    let mut events = restores.subscribe();
    restores.start(id, false, true).await.unwrap();
    let end = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(p) if p.restore_id == id && !p.state.is_active() => return p,
                Ok(p) if p.restore_id == id && p.phase == "loading" && p.bytes_loaded > 0 => {
                    restores.cancel(id);
                }
                _ => {}
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(end.state, RestoreState::Cancelled, "{:?}", end.error);
    let phases: Vec<String> = end.phases.iter().map(|p| p.phase.clone()).collect();
    assert!(phases.contains(&"loading".to_owned()), "{phases:?}");
    assert!(!phases.contains(&"committing".to_owned()), "{phases:?}");
    assert_eq!(
        std::fs::read(&existing).unwrap(),
        before,
        "the database is unchanged"
    );
    let detail = fx.state_of(id).await;
    assert!(
        detail.objects.iter().all(|o| o.state == "pending"),
        "{:?}",
        detail.objects
    );

    // A cancelled restore can be retried, and then it completes.
    let end = fx.run(id, true).await;
    assert_eq!(end.state, RestoreState::Finished, "{:?}", end.error);
    assert_eq!(
        count(&existing, "SELECT count(*) FROM readings_restored"),
        600_000
    );
    assert_eq!(count(&existing, "SELECT n FROM keep"), 42);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_come_from_the_repository_and_forms_are_validated() {
    let fx = Fixture::new(100).await;
    // A point written outside this console (as the CLI would) is listed.
    let repo_path = fx.path("repo");
    let db = fx.path("plant.db");
    let outside = tokio::task::block_in_place(|| {
        let repo = Repository::open(&RepoLocation::Local(repo_path), None).unwrap();
        let source = tidemark_engine::SqliteSource::new(db, &[], &[]).unwrap();
        let options = tidemark_engine::backup::BackupOptions {
            task: "plant-nightly".into(),
            ..Default::default()
        };
        let plan = tidemark_engine::backup::plan_backup(&repo, &source, &options).unwrap();
        tidemark_engine::backup::run_backup(
            &repo,
            &source,
            plan,
            &options,
            &tidemark_engine::NoProgress,
            &tidemark_engine::CancelToken::new(),
        )
        .unwrap()
        .point
    });
    let points = super::points(&fx.state, fx.task_id).await.unwrap().points;
    assert_eq!(points.len(), 2);
    assert_eq!(points[0].id, outside, "newest first");
    assert_eq!(
        points[0].chain_start, fx.point,
        "an incremental names its full point"
    );
    assert_eq!(points[0].chain_length, 2);

    let objects = super::objects(&fx.state, fx.task_id, fx.point.clone(), None)
        .await
        .unwrap();
    let readings = objects.iter().find(|o| o.name == "readings").unwrap();
    assert_eq!(readings.rows, Some(100));
    assert!(readings.time_min.is_some());

    let mut form = fx.form("plant-restore", Path::new("relative/x.db")).await;
    form.objects[0].since = "yesterday".into();
    let err = super::validate(&fx.state, &form, false, Role::Operator)
        .await
        .unwrap_err();
    let AppError::Validation(errors) = err else {
        panic!("{err:?}")
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["target_path", "objects"]);

    let id = fx
        .create(fx.form("plant-restore", &fx.path("a.db")).await)
        .await;
    let err = super::create(
        &fx.state,
        fx.form("plant-restore", &fx.path("b.db")).await,
        Role::Operator,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.field("name").as_deref(),
        Some("another restore task has this name")
    );
    super::delete(&fx.state, id).await.unwrap();
    assert!(fx.state.catalog.restore(id).await.unwrap().is_none());
}

#[path = "restores_roots_tests.rs"]
mod roots;

#[path = "restores_copies_tests.rs"]
mod copies;

#[path = "point_diff_tests.rs"]
mod point_diff;
