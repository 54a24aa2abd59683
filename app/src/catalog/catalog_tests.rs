//! Catalog behaviour the console relies on: unique names, one run per
//! task, history pages, and what the scheduler asks.

use chrono::{Duration, Utc};

use super::*;
use crate::model::{Content, JobText, Policy, RunState, Schedule, SourceKind, TaskSettings};

async fn catalog() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let catalog = Catalog::open(&url).await.unwrap();
    catalog
        .ensure_default_repository("/tmp/repo")
        .await
        .unwrap();
    (dir, catalog)
}

async fn source(catalog: &Catalog, name: &str) -> SourceRecord {
    catalog
        .insert_source(&NewSource {
            name,
            kind: SourceKind::FileTree,
            location: "/srv/data",
            description: "",
            is_demo: false,
            secret: None,
        })
        .await
        .unwrap()
}

fn settings(name: &str, source_id: i64) -> TaskSettings {
    TaskSettings {
        name: name.into(),
        source_id,
        repository_id: 1,
        content: Content::All,
        schedule: Schedule::Manual,
        policy: Policy::FullThenIncremental,
        keep_last: Some(3),
        compression: "balanced".into(),
        pack_size_mib: 16,
        retry_count: 0,
        retry_interval_min: 5,
        enabled: true,
        watermark: false,
        recovery: Default::default(),
        continuous: false,
        limits: Default::default(),
        notify: Default::default(),
    }
}

#[tokio::test]
async fn names_are_unique_and_a_used_source_cannot_be_deleted() {
    let (_dir, catalog) = catalog().await;
    let src = source(&catalog, "tree").await;
    let dup = catalog
        .insert_source(&NewSource {
            name: "tree",
            kind: SourceKind::Sqlite,
            location: "/x.db",
            description: "",
            is_demo: false,
            secret: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(dup, CatalogWriteError::Duplicate { field: "name" }),
        "{dup}"
    );

    let task = catalog
        .insert_task(&settings("nightly", src.id))
        .await
        .unwrap();
    assert_eq!(task.settings, settings("nightly", src.id));
    let err = catalog
        .insert_task(&settings("nightly", src.id))
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogWriteError::Duplicate { .. }), "{err}");
    assert!(catalog.task_name_taken("nightly", None).await.unwrap());
    assert!(!catalog
        .task_name_taken("nightly", Some(task.id))
        .await
        .unwrap());

    assert_eq!(
        catalog.delete_source(src.id).await.unwrap(),
        Err(vec!["nightly".to_owned()])
    );
    assert!(catalog.delete_task(task.id).await.unwrap());
    assert_eq!(catalog.delete_source(src.id).await.unwrap(), Ok(true));
}

#[tokio::test]
async fn one_run_per_task_and_interrupted_runs_fail_at_start_up() {
    let (_dir, catalog) = catalog().await;
    let src = source(&catalog, "tree").await;
    let a = catalog.insert_task(&settings("a", src.id)).await.unwrap();
    let b = catalog.insert_task(&settings("b", src.id)).await.unwrap();
    let run = catalog
        .start_run(a.id, Trigger::Manual, false, 1)
        .await
        .unwrap()
        .unwrap();
    assert!(catalog
        .start_run(a.id, Trigger::Manual, false, 1)
        .await
        .unwrap()
        .is_none());
    // Another task is not blocked.
    assert!(catalog
        .start_run(b.id, Trigger::Manual, false, 1)
        .await
        .unwrap()
        .is_some());
    catalog
        .finish_run(run.id, RunState::Succeeded, &RunOutcome::default(), None)
        .await
        .unwrap();
    assert!(catalog
        .start_run(a.id, Trigger::Manual, false, 1)
        .await
        .unwrap()
        .is_some());
    assert_eq!(catalog.fail_interrupted_runs().await.unwrap(), 2);
    let (rows, total) = catalog
        .task_runs(a.id, Some(RunState::Failed), 0, 10)
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert!(rows[0].error.as_deref().unwrap().contains("server stopped"));
}

#[tokio::test]
async fn history_pages_newest_first_with_ten_thousand_runs() {
    let (_dir, catalog) = catalog().await;
    let src = source(&catalog, "tree").await;
    let task = catalog
        .insert_task(&settings("busy", src.id))
        .await
        .unwrap();
    let mut tx = catalog.pool().begin().await.unwrap();
    for i in 0..10_000 {
        sqlx::query(
            "INSERT INTO runs (task_id, trigger, state, mode, started_at) VALUES (?, 'schedule', ?, 'full', ?)",
        )
        .bind(task.id)
        .bind(if i % 10 == 0 { "failed" } else { "succeeded" })
        .bind(Utc::now())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let (page, total) = catalog.task_runs(task.id, None, 20, 20).await.unwrap();
    assert_eq!(total, 10_000);
    assert_eq!(page.len(), 20);
    assert!(page.windows(2).all(|w| w[0].id > w[1].id));
    assert_eq!(page[0].id, 10_000 - 20);
    let (failed, total_failed) = catalog
        .task_runs(task.id, Some(RunState::Failed), 0, 50)
        .await
        .unwrap();
    assert_eq!(total_failed, 1_000);
    assert!(failed.iter().all(|r| r.state == "failed"));
}

#[tokio::test]
async fn incrementals_are_counted_since_the_last_full() {
    let (_dir, catalog) = catalog().await;
    let src = source(&catalog, "tree").await;
    let task = catalog.insert_task(&settings("t", src.id)).await.unwrap();
    assert_eq!(
        catalog.incrementals_since_full(task.id).await.unwrap(),
        None
    );
    for mode in ["full", "incremental", "incremental", "full", "incremental"] {
        let run = catalog
            .start_run(task.id, Trigger::Schedule, false, 1)
            .await
            .unwrap()
            .unwrap();
        catalog
            .set_run_plan(run.id, mode, "p", "/r/p")
            .await
            .unwrap();
        catalog
            .finish_run(run.id, RunState::Succeeded, &RunOutcome::default(), None)
            .await
            .unwrap();
    }
    // A failed incremental does not count.
    let run = catalog
        .start_run(task.id, Trigger::Schedule, false, 1)
        .await
        .unwrap()
        .unwrap();
    catalog
        .set_run_plan(run.id, "incremental", "p", "/r/p")
        .await
        .unwrap();
    catalog
        .finish_run(
            run.id,
            RunState::Failed,
            &RunOutcome::default(),
            Some(("storage", "x")),
        )
        .await
        .unwrap();
    assert_eq!(
        catalog.incrementals_since_full(task.id).await.unwrap(),
        Some(1)
    );
    let failed = catalog.run(run.id).await.unwrap().unwrap();
    assert_eq!(
        (failed.error_kind.as_deref(), failed.error.as_deref()),
        (Some("storage"), Some("x"))
    );
}

#[tokio::test]
async fn log_lines_keep_their_sentence_key_and_values_beside_the_english() {
    let (_dir, catalog) = catalog().await;
    let src = source(&catalog, "tree").await;
    let task = catalog
        .insert_task(&settings("logged", src.id))
        .await
        .unwrap();
    let run = catalog
        .start_run(task.id, Trigger::Manual, false, 1)
        .await
        .unwrap()
        .unwrap();
    let started = JobText::new("run_started")
        .arg("trigger", "manual")
        .arg("attempt", 1);
    catalog
        .add_run_log(
            run.id,
            "info",
            "run started by manual, attempt 1",
            Some(&started),
        )
        .await
        .unwrap();
    catalog
        .add_run_log(run.id, "warn", "the engine's own words", None)
        .await
        .unwrap();
    let lines = catalog.run_logs(run.id).await.unwrap();
    let texts: Vec<_> = lines
        .iter()
        .map(|l| {
            let text = JobText::from_stored(l.message_key.clone(), l.message_args.clone());
            (l.message.as_str(), text)
        })
        .collect();
    assert_eq!(
        texts,
        [
            ("run started by manual, attempt 1", Some(started)),
            ("the engine's own words", None)
        ]
    );
}

#[tokio::test]
async fn due_tasks_follow_next_run_and_retry_times() {
    let (_dir, catalog) = catalog().await;
    let src = source(&catalog, "tree").await;
    let now = Utc::now();
    let mut periodic = settings("periodic", src.id);
    periodic.schedule = Schedule::Periodic {
        first_start: now + Duration::hours(1),
        every: crate::model::Period {
            value: 1,
            unit: crate::model::PeriodUnit::Days,
        },
    };
    let p = catalog.insert_task(&periodic).await.unwrap();
    assert_eq!(p.next_run_at, Some(now + Duration::hours(1)));
    let manual = catalog
        .insert_task(&settings("manual", src.id))
        .await
        .unwrap();
    assert_eq!(manual.next_run_at, None);
    assert!(catalog.due_tasks(now).await.unwrap().is_empty());
    assert_eq!(catalog.next_due_at().await.unwrap(), p.next_run_at);

    let later = now + Duration::hours(2);
    let due: Vec<_> = catalog
        .due_tasks(later)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(due, [p.id]);
    catalog.set_retry(manual.id, Some((now, 2))).await.unwrap();
    let due = catalog.due_tasks(later).await.unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(due[1].retry_attempt, 2);
    // A disabled task is never due.
    catalog.set_task_enabled(p.id, false).await.unwrap();
    let due: Vec<_> = catalog
        .due_tasks(later)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(due, [manual.id]);
}
