//! The scheduler, retries and retention.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_starts_due_tasks_marks_late_ones_and_moves_the_slot() {
    let fx = Fixture::new().await;
    let tree = fx.small_tree("data");
    let src = fx.source("data", &tree).await;
    let start = Utc::now() - chrono::Duration::days(3);
    let mut due = settings("due", src);
    due.schedule = hourly(start);
    let due = fx.task(&due).await;
    let mut not_due = settings("not-due", src);
    not_due.schedule = hourly(start);
    let not_due = fx.task(&not_due).await;
    let mut disabled = settings("disabled", src);
    disabled.schedule = hourly(start);
    disabled.enabled = false;
    let disabled = fx.task(&disabled).await;
    let manual = fx.task(&settings("manual", src)).await;
    assert_eq!(disabled.next_run_at, None);
    assert_eq!(manual.next_run_at, None);

    let now = Utc::now();
    fx.catalog
        .set_next_run(due.id, Some(now - chrono::Duration::seconds(300)))
        .await
        .unwrap();
    let later = now + chrono::Duration::minutes(30);
    fx.catalog
        .set_next_run(not_due.id, Some(later))
        .await
        .unwrap();
    // Even with a past slot, a disabled task does not run.
    fx.catalog
        .set_next_run(disabled.id, Some(now - chrono::Duration::seconds(300)))
        .await
        .unwrap();

    let mut events = fx.jobs.subscribe();
    let report = fx.jobs.tick(now).await.unwrap();
    assert_eq!(report.started, [(due.id, Trigger::Schedule, true)]);
    assert!(report.skipped.is_empty());
    let end = wait_task_end(&mut events, due.id).await;
    assert_eq!(end.phase, JobPhase::Succeeded, "{end:?}");
    let run = fx.catalog.run(end.run_id).await.unwrap().unwrap();
    assert_eq!(
        (
            run.trigger.as_str(),
            run.late,
            run.attempt,
            run.state.as_str()
        ),
        ("schedule", true, 1, "succeeded")
    );
    assert!(fx.log_text(run.id).await.contains("(late"));
    let filter = crate::catalog::AuditFilter {
        username: Some("scheduler".into()),
        ..Default::default()
    };
    let (audit, _) = fx.catalog.audit_page(&filter, 10, 0).await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        (audit[0].action.as_str(), audit[0].outcome.as_str()),
        ("scheduled backup", "success")
    );
    let next = hourly(start).next_after(now).unwrap();
    assert!(next > now && next - now <= chrono::Duration::hours(1));
    assert_eq!(fx.task_now(due.id).await.next_run_at, Some(next));
    assert_eq!(fx.task_now(not_due.id).await.next_run_at, Some(later));
    assert_eq!(
        fx.task_now(disabled.id).await.next_run_at,
        Some(now - chrono::Duration::seconds(300))
    );
    for id in [not_due.id, disabled.id, manual.id] {
        assert_eq!(fx.catalog.task_runs(id, None, 0, 5).await.unwrap().1, 0);
    }

    // A tick in between starts nothing.
    let report = fx
        .jobs
        .tick(now + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(report, super::scheduler::TickReport::default());

    // Thirty seconds after its slot is on time.
    let now = Utc::now();
    fx.catalog
        .set_next_run(due.id, Some(now - chrono::Duration::seconds(30)))
        .await
        .unwrap();
    let report = fx.jobs.tick(now).await.unwrap();
    assert_eq!(report.started, [(due.id, Trigger::Schedule, false)]);
    let end = wait_task_end(&mut events, due.id).await;
    let run = fx.catalog.run(end.run_id).await.unwrap().unwrap();
    assert_eq!((run.late, run.state.as_str()), (false, "succeeded"));
    assert_eq!(
        fx.task_now(due.id).await.next_run_at,
        hourly(start).next_after(now)
    );

    // The not-due task's time comes: it starts, and the next slot follows.
    let report = fx.jobs.tick(later).await.unwrap();
    assert_eq!(report.started, [(not_due.id, Trigger::Schedule, false)]);
    wait_task_end(&mut events, not_due.id).await;
    assert_eq!(
        fx.task_now(not_due.id).await.next_run_at,
        hourly(start).next_after(later)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_while_the_task_runs_is_skipped_and_the_next_one_set() {
    let fx = Fixture::new().await;
    let big = fx.big_tree("big");
    let src = fx.source("big", &big).await;
    let start = Utc::now() - chrono::Duration::days(1);
    let mut s = settings("busy", src);
    s.schedule = hourly(start);
    let task = fx.task(&s).await;

    let mut events = fx.jobs.subscribe();
    let run = fx
        .jobs
        .start(task.id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    let now = Utc::now();
    fx.catalog
        .set_next_run(task.id, Some(now - chrono::Duration::seconds(5)))
        .await
        .unwrap();
    let report = fx.jobs.tick(now).await.unwrap();
    assert!(report.started.is_empty(), "{report:?}");
    assert_eq!(report.skipped, [task.id]);
    assert_eq!(
        fx.task_now(task.id).await.next_run_at,
        hourly(start).next_after(now)
    );
    let (runs, total) = fx.catalog.task_runs(task.id, None, 0, 10).await.unwrap();
    assert_eq!((total, runs[0].id), (1, run.id));
    fx.jobs.cancel(task.id);
    let seen = wait_end(&mut events, |p| p.run_id == run.id).await;
    assert_eq!(seen.last().unwrap().phase, JobPhase::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_retried_until_the_attempts_are_used_up() {
    let fx = Fixture::new().await;
    let missing = fx.path("not-there");
    let src = fx.source("gone", &missing).await;
    let mut s = settings("flaky", src);
    s.retry_count = 2;
    s.retry_interval_min = 10;
    let task = fx.task(&s).await;

    let t0 = Utc::now();
    let (first, events) = fx.run(task.id, Trigger::Manual).await;
    assert_eq!(first.state, "failed", "{first:?}");
    let error = first.error.clone().unwrap();
    assert!(error.contains("not-there"), "{error}");
    let last = events.last().unwrap();
    assert_eq!(last.phase, JobPhase::Failed);
    assert_eq!(last.error.as_deref(), Some(error.as_str()));
    let record = fx.task_now(task.id).await;
    assert_close(record.retry_at, t0 + chrono::Duration::minutes(10), 30);
    assert_eq!(record.retry_attempt, 2);
    let log = fx.log_text(first.id).await;
    assert!(log.contains("attempt 2 of 3 scheduled"), "{log}");
    assert!(first.error_kind.is_some(), "{first:?}");
    let retry = fx.log_sentences(first.id).await.pop().unwrap();
    assert_eq!(
        (retry.key.as_str(), retry.get("next"), retry.get("total")),
        ("retry_scheduled", "2", "3")
    );
    assert!(fx.points().is_empty());

    // Not yet due.
    let report = fx.jobs.tick(Utc::now()).await.unwrap();
    assert!(report.started.is_empty(), "{report:?}");

    let mut events = fx.jobs.subscribe();
    let mut retry_at = record.retry_at.unwrap();
    for attempt in [2, 3] {
        let report = fx
            .jobs
            .tick(retry_at + chrono::Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(report.started, [(task.id, Trigger::Retry, false)]);
        let end = wait_task_end(&mut events, task.id).await;
        let run = fx.catalog.run(end.run_id).await.unwrap().unwrap();
        assert_eq!(
            (run.trigger.as_str(), run.attempt, run.state.as_str()),
            ("retry", attempt, "failed"),
            "{run:?}"
        );
        let record = fx.task_now(task.id).await;
        if attempt == 2 {
            assert_eq!(record.retry_attempt, 3);
            assert_close(
                record.retry_at,
                Utc::now() + chrono::Duration::minutes(10),
                30,
            );
            retry_at = record.retry_at.unwrap();
        } else {
            // The last attempt failed: nothing more is scheduled.
            assert_eq!((record.retry_at, record.retry_attempt), (None, 0));
        }
    }
    let report = fx
        .jobs
        .tick(retry_at + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert!(report.started.is_empty(), "{report:?}");
    assert_eq!(
        fx.catalog.task_runs(task.id, None, 0, 10).await.unwrap().1,
        3
    );

    // Without retries a failure schedules nothing.
    let mut once = settings("once", src);
    once.retry_count = 0;
    let once = fx.task(&once).await;
    let (run, _) = fx.run(once.id, Trigger::Manual).await;
    assert_eq!(run.state, "failed");
    let record = fx.task_now(once.id).await;
    assert_eq!((record.retry_at, record.retry_attempt), (None, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_clears_a_pending_retry() {
    let fx = Fixture::new().await;
    let tree = fx.path("later");
    let src = fx.source("later", &tree).await;
    let mut s = settings("recovers", src);
    s.retry_count = 3;
    let task = fx.task(&s).await;
    let (run, _) = fx.run(task.id, Trigger::Manual).await;
    assert_eq!(run.state, "failed");
    let retry_at = fx.task_now(task.id).await.retry_at.unwrap();
    // The source appears; the retry succeeds and nothing more is scheduled.
    fx.small_tree("later");
    let mut events = fx.jobs.subscribe();
    let report = fx
        .jobs
        .tick(retry_at + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(report.started, [(task.id, Trigger::Retry, false)]);
    let end = wait_task_end(&mut events, task.id).await;
    assert_eq!(end.phase, JobPhase::Succeeded, "{end:?}");
    let run = fx.catalog.run(end.run_id).await.unwrap().unwrap();
    assert_eq!((run.attempt, run.mode.as_deref()), (2, Some("full")));
    let record = fx.task_now(task.id).await;
    assert_eq!((record.retry_at, record.retry_attempt), (None, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_newest_points_of_the_task_only() {
    let fx = Fixture::new().await;
    let tree = fx.small_tree("data");
    let src = fx.source("data", &tree).await;
    // The other task backs up the same files: its points share the chunks.
    let other = fx.task(&settings("other", src)).await;
    let mut keep = settings("keep-two", src);
    keep.policy = Policy::FullAlways;
    keep.keep_last = Some(2);
    let keep = fx.task(&keep).await;

    let other_first = fx.run_ok(other.id).await.point.unwrap();
    let mut made = Vec::new();
    for i in 0..4 {
        std::fs::write(
            tree.join(format!("new-{i}.txt")),
            pseudo_random(50 + i, 20_000),
        )
        .unwrap();
        let run = fx.run_ok(keep.id).await;
        made.push(run.point.clone().unwrap());
        let log = fx.log_text(run.id).await;
        assert_eq!(
            log.contains("retention kept the newest 2"),
            i >= 2,
            "run {i}: {log}"
        );
    }
    let other_second = fx.run_ok(other.id).await.point.unwrap();

    assert_eq!(fx.points_of("keep-two"), made[2..]);
    assert_eq!(fx.points_of("other"), [other_first, other_second]);
    // What is left is whole: every kept point verifies, data read back.
    let report = engine(|| {
        verify(
            &fx.repo(),
            &VerifyOptions {
                point: None,
                read_data: true,
                read_subset: None,
            },
            &NoProgress,
            &CancelToken::new(),
        )
    })
    .unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.points, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_incremental_chains_by_restarting_them() {
    let fx = Fixture::new().await;
    let tree = fx.small_tree("chain");
    let src = fx.source("chain", &tree).await;
    let mut chained = settings("chained", src);
    chained.policy = Policy::FullThenIncremental;
    chained.keep_last = Some(2);
    let task = fx.task(&chained).await;
    let mut modes = Vec::new();
    let mut made = Vec::new();
    for i in 0..5 {
        std::fs::write(
            tree.join(format!("more-{i}.txt")),
            pseudo_random(90 + i, 10_000),
        )
        .unwrap();
        let run = fx.run_ok(task.id).await;
        modes.push(run.mode.clone().unwrap());
        made.push(run.point.clone().unwrap());
    }
    // F I F I F: a chain restarts every two runs, so older chains can go.
    assert_eq!(
        modes,
        ["full", "incremental", "full", "incremental", "full"]
    );
    // The newest two are F(5) and I(4); I(4) needs F(3). The rest are gone.
    assert_eq!(fx.points_of("chained"), made[2..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_task_runs_at_its_slot_and_moves_to_the_next_in_its_zone() {
    let fx = Fixture::new().await;
    let tree = fx.small_tree("data");
    let src = fx.source("data", &tree).await;
    let mut nightly = settings("nightly", src);
    // 03:00 in Shanghai (UTC+8, no daylight saving) is 19:00 UTC.
    nightly.schedule = Schedule::Cron {
        expression: "0 3 * * *".into(),
        timezone: "Asia/Shanghai".into(),
    };
    let nightly = fx.task(&nightly).await;
    let first = nightly.next_run_at.expect("a cron task has a first slot");
    assert_eq!(first.format("%H:%M:%S").to_string(), "19:00:00");
    let now = Utc::now();
    assert!(first > now && first - now <= chrono::Duration::days(1));

    // At its slot the scheduler starts it, and the slot moves a day on.
    let mut events = fx.jobs.subscribe();
    let report = fx.jobs.tick(first).await.unwrap();
    assert_eq!(report.started, [(nightly.id, Trigger::Schedule, false)]);
    let end = wait_task_end(&mut events, nightly.id).await;
    assert_eq!(end.phase, JobPhase::Succeeded, "{end:?}");
    assert_eq!(
        fx.task_now(nightly.id).await.next_run_at,
        Some(first + chrono::Duration::days(1))
    );
}
