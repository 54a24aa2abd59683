//! Restore drills as jobs against real points: Run drill now with its
//! figures recorded, drills after n backups and on their schedule, SQL
//! checks that fail with the query and the value, and start-up recovery.

use super::*;
use crate::catalog::{DrillRunRecord, DrillTrigger};
use crate::jobs::drills::DrillStartError;
use crate::model::{DrillMode, RecoverySettings, SqlAssertion};

impl Fixture {
    /// Starts a drill and waits for its end; returns its record and every
    /// progress event it broadcast.
    async fn drill(&self, task_id: i64) -> (DrillRunRecord, Vec<JobProgress>) {
        let mut events = self.jobs.subscribe();
        let run = self
            .jobs
            .start_drill(task_id, DrillTrigger::Manual, None)
            .await
            .unwrap();
        let seen = wait_end(&mut events, |p| p.drill && p.run_id == run.id).await;
        (self.catalog.drill_run(run.id).await.unwrap().unwrap(), seen)
    }

    /// A SQLite database with one table of `rows` rows.
    fn sqlite(&self, name: &str, rows: u32) -> PathBuf {
        let path = self.path(name);
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
            .unwrap();
        for i in 0..rows {
            db.execute("INSERT INTO orders (total) VALUES (?1)", [f64::from(i)])
                .unwrap();
        }
        path
    }

    async fn sqlite_source(&self, name: &str, path: &Path) -> i64 {
        self.catalog
            .insert_source(&NewSource {
                name,
                kind: SourceKind::Sqlite,
                location: path.to_str().unwrap(),
                description: "",
                is_demo: false,
                secret: None,
            })
            .await
            .unwrap()
            .id
    }
}

fn with_recovery(mut s: TaskSettings, recovery: RecoverySettings) -> TaskSettings {
    s.recovery = recovery;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_restores_the_newest_point_in_a_scratch_directory_and_records_its_figures() {
    let fx = Fixture::new().await;
    let root = fx.small_tree("tree");
    let source = fx.source("tree", &root).await;
    let task = fx.task(&settings("files", source)).await;
    let backup = fx.run_ok(task.id).await;

    let (drill, seen) = fx.drill(task.id).await;
    assert_eq!(drill.status, "passed", "{drill:?}");
    assert_eq!(drill.trigger, "manual");
    assert_eq!(drill.point, backup.point);
    assert_eq!(drill.bytes, tree_bytes(&root));
    assert!(drill.rto_seconds.is_some_and(|s| s > 0.0), "{drill:?}");
    assert!(drill.seconds >= drill.rto_seconds, "{drill:?}");
    assert!(drill.error.is_none());
    let phases: Vec<serde_json::Value> = serde_json::from_str(&drill.phases).unwrap();
    let names: Vec<&str> = phases.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["sandbox", "restore", "checks", "cleanup"]);
    let checks: Vec<serde_json::Value> = serde_json::from_str(&drill.checks).unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["name"] == "content of readings.csv" && c["passed"] == true),
        "{checks:?}"
    );
    // Live progress went out on the job feed, marked as a drill.
    assert!(seen.iter().all(|p| p.drill && p.task_id == task.id));
    assert_eq!(seen.last().unwrap().phase, JobPhase::Succeeded);
    assert!(!fx.jobs.drill_is_running(task.id));
    // The sandbox is gone: nothing but the (empty) scratch directory stays.
    let left: Vec<_> = std::fs::read_dir(fx.path("drills")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // The point is proven.
    let proven = fx.catalog.proven_points(task.id).await.unwrap();
    assert_eq!(proven.len(), 1);
    assert_eq!(Some(&proven[0].0), backup.point.as_ref());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_without_a_point_is_refused_and_records_no_drill() {
    let fx = Fixture::new().await;
    let root = fx.small_tree("tree");
    let source = fx.source("tree", &root).await;
    let task = fx.task(&settings("files", source)).await;
    let err = fx
        .jobs
        .start_drill(task.id, DrillTrigger::Manual, None)
        .await
        .unwrap_err();
    assert!(matches!(err, DrillStartError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("has no backup point yet"), "{err}");
    assert!(fx.catalog.drill_runs(task.id, 10).await.unwrap().is_empty());
    let err = fx
        .jobs
        .start_drill(999, DrillTrigger::Manual, None)
        .await
        .unwrap_err();
    assert!(matches!(err, DrillStartError::NoTask(999)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sql_check_fails_the_drill_with_the_query_and_the_value() {
    let fx = Fixture::new().await;
    let db = fx.sqlite("shop.db", 12);
    let source = fx.sqlite_source("shop", &db).await;
    let recovery = RecoverySettings {
        checks: vec![
            SqlAssertion {
                sql: "SELECT count(*) FROM orders".into(),
                expected: "12".into(),
            },
            SqlAssertion {
                sql: "SELECT max(id) FROM orders".into(),
                expected: "99".into(),
            },
        ],
        ..RecoverySettings::default()
    };
    let task = fx
        .task(&with_recovery(settings("shop", source), recovery))
        .await;
    fx.run_ok(task.id).await;
    let (drill, _) = fx.drill(task.id).await;
    assert_eq!(drill.status, "failed", "{drill:?}");
    let error = drill.error.clone().unwrap();
    assert!(error.contains("SELECT max(id) FROM orders"), "{error}");
    assert!(
        error.contains("\"12\"") && error.contains("\"99\""),
        "{error}"
    );
    let checks: Vec<serde_json::Value> = serde_json::from_str(&drill.checks).unwrap();
    let count = checks
        .iter()
        .find(|c| c["name"] == "SELECT count(*) FROM orders")
        .unwrap();
    assert_eq!(count["passed"], true, "{checks:?}");
    // A Retry drills the same point again.
    let again = fx
        .jobs
        .start_drill(task.id, DrillTrigger::Retry, drill.point.clone())
        .await
        .unwrap();
    assert_eq!(again.point, drill.point);
    fx.jobs.stop_drill_and_wait(task.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_checks_on_a_file_tree_fail_the_drill_before_it_starts() {
    let fx = Fixture::new().await;
    let root = fx.small_tree("tree");
    let source = fx.source("tree", &root).await;
    let recovery = RecoverySettings {
        checks: vec![SqlAssertion {
            sql: "SELECT 1".into(),
            expected: "1".into(),
        }],
        ..RecoverySettings::default()
    };
    let task = fx
        .task(&with_recovery(settings("files", source), recovery))
        .await;
    fx.run_ok(task.id).await;
    let run = fx
        .jobs
        .start_drill(task.id, DrillTrigger::Manual, None)
        .await
        .unwrap();
    assert_eq!(run.status, "failed");
    let error = run.error.unwrap();
    assert!(error.starts_with("the drill cannot run here"), "{error}");
    assert!(error.contains("SQL checks need a database"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drills_start_after_every_n_backups_and_on_their_schedule() {
    let fx = Fixture::new().await;
    let root = fx.small_tree("tree");
    let source = fx.source("tree", &root).await;
    let recovery = RecoverySettings {
        drill: DrillMode::AfterBackups(2),
        ..RecoverySettings::default()
    };
    let task = fx
        .task(&with_recovery(settings("files", source), recovery))
        .await;
    let mut events = fx.jobs.subscribe();
    fx.run_ok(task.id).await;
    assert!(fx.catalog.drill_runs(task.id, 10).await.unwrap().is_empty());
    fx.run_ok(task.id).await;
    wait_end(&mut events, |p| p.drill && p.task_id == task.id).await;
    let drills = fx.catalog.drill_runs(task.id, 10).await.unwrap();
    assert_eq!(drills.len(), 1, "{drills:?}");
    assert_eq!(
        (drills[0].trigger.as_str(), drills[0].status.as_str()),
        ("after_backups", "passed")
    );
    // The count starts again from this drill.
    assert_eq!(
        fx.catalog.backups_since_last_drill(task.id).await.unwrap(),
        0
    );

    // A drill schedule: due at its first start, then moved on by a period.
    let first = Utc::now() - chrono::Duration::minutes(5);
    let scheduled = RecoverySettings {
        drill: DrillMode::Scheduled {
            first_start: first,
            every: Period {
                value: 1,
                unit: PeriodUnit::Hours,
            },
        },
        ..RecoverySettings::default()
    };
    let updated = fx
        .catalog
        .update_task(
            task.id,
            &with_recovery(settings("files", source), scheduled),
        )
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now();
    assert!(updated
        .drill_next_at
        .is_some_and(|at| at <= now + chrono::Duration::hours(1)));
    fx.catalog
        .set_drill_next(task.id, Some(first))
        .await
        .unwrap();
    assert!(fx
        .catalog
        .next_due_at()
        .await
        .unwrap()
        .is_some_and(|at| at <= first));
    let started = fx.jobs.tick_drills(now).await.unwrap();
    assert_eq!(started, [task.id]);
    wait_end(&mut events, |p| p.drill && p.task_id == task.id).await;
    assert_close(
        fx.task_now(task.id).await.drill_next_at,
        first + chrono::Duration::hours(1),
        1,
    );
    let newest = &fx.catalog.drill_runs(task.id, 1).await.unwrap()[0];
    assert_eq!(newest.trigger, "schedule");
    assert!(fx.jobs.tick_drills(now).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_fails_interrupted_drills_and_sweeps_dead_sandboxes() {
    let fx = Fixture::new().await;
    let root = fx.small_tree("tree");
    let source = fx.source("tree", &root).await;
    let task = fx.task(&settings("files", source)).await;
    let running = fx
        .catalog
        .start_drill_run(task.id, DrillTrigger::Schedule)
        .await
        .unwrap()
        .unwrap();
    // One drill per task at a time.
    assert!(fx
        .catalog
        .start_drill_run(task.id, DrillTrigger::Manual)
        .await
        .unwrap()
        .is_none());
    // The sandbox record of a drill whose process is gone.
    let scratch = fx.path("drills");
    let sandbox = scratch.join("drill-20261201T000000-dead");
    std::fs::create_dir_all(sandbox.join("tree")).unwrap();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let record = serde_json::json!({
        "owner_host": hostname.trim(),
        "owner_pid": 999_999_999u32,
        "created_at": Utc::now(),
        "dir": sandbox,
        "server": null,
        "scratch_database": null,
    });
    std::fs::write(
        scratch.join("drill-20261201T000000-dead.json"),
        record.to_string(),
    )
    .unwrap();

    let (failed, removed) = crate::jobs::drills::recover_at_start(&fx.catalog, &scratch)
        .await
        .unwrap();
    assert_eq!(failed, 1);
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(!sandbox.exists());
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);
    let run = fx.catalog.drill_run(running.id).await.unwrap().unwrap();
    assert_eq!(run.status, "failed");
    assert_eq!(
        run.error.as_deref(),
        Some("the console stopped during the drill")
    );
    assert!(run.finished_at.is_some());
}
