//! Running jobs: Back Up Now, policies, one run per task, cancel, shutdown.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_up_now_records_the_run_its_point_logs_and_progress() {
    let fx = Fixture::new().await;
    let tree = fx.small_tree("data");
    let src = fx.source("data", &tree).await;
    let task = fx.task(&settings("nightly", src)).await;

    let (run, events) = fx.run(task.id, Trigger::Manual).await;
    assert_eq!(run.state, "succeeded", "{run:?}");
    assert_eq!(run.mode.as_deref(), Some("full"));
    assert_eq!(
        (run.trigger.as_str(), run.late, run.attempt),
        ("manual", false, 1)
    );
    assert!(run.finished_at.is_some() && run.error.is_none(), "{run:?}");
    let point = run.point.clone().expect("the run names its point");
    let backup_path = run.backup_path.clone().expect("the run names its path");
    assert!(
        backup_path.ends_with(&format!("/runs/{point}")),
        "{backup_path}"
    );
    assert!(Path::new(&backup_path).join("manifest.json").is_file());
    let expected_bytes = tree_bytes(&tree);
    assert_eq!(run.bytes, expected_bytes);
    assert!(run.objects >= 3, "{run:?}");
    assert!(run.chunks > 0 && run.new_chunks > 0 && run.bytes_stored > 0);

    // The engine published exactly that point, for this task.
    let points = fx.points();
    assert_eq!(points.len(), 1);
    assert_eq!(
        (points[0].id.as_str(), points[0].task.as_str()),
        (point.as_str(), "nightly")
    );

    let log = fx.log_text(run.id).await;
    assert!(log.contains("run started by manual"), "{log}");
    assert!(log.contains("full backup of"), "{log}");
    assert!(log.contains(&format!("published point {point}")), "{log}");
    assert!(log.contains("run succeeded"), "{log}");
    // The same lines as sentences the console shows in its reader's language.
    let sentences = fx.log_sentences(run.id).await;
    let keys: Vec<&str> = sentences.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "run_started",
            "backup_planned",
            "point_published",
            "run_finished"
        ]
    );
    assert_eq!(
        (sentences[0].get("trigger"), sentences[1].get("mode")),
        ("manual", "full")
    );
    assert_eq!(sentences[2].get("point"), point);
    assert_eq!(sentences[3].get("state"), "succeeded");

    // Progress: running snapshots, then one final succeeded snapshot.
    let (last, running) = events.split_last().unwrap();
    assert!(!running.is_empty(), "no running snapshot was broadcast");
    assert!(running
        .iter()
        .all(|p| p.phase == JobPhase::Running && p.task_id == task.id && p.task_name == "nightly"));
    assert_eq!(last.phase, JobPhase::Succeeded);
    assert_eq!(
        (last.run_id, last.task_id, last.error.as_ref()),
        (run.id, task.id, None)
    );
    assert_eq!(last.percent(), 100.0);

    // The job is gone from the registry.
    assert!(!fx.jobs.is_running(task.id));
    assert!(fx.jobs.snapshots().is_empty());
    assert_eq!(fx.jobs.cancel(task.id), None);
    let record = fx.task_now(task.id).await;
    assert_eq!((record.retry_at, record.retry_attempt), (None, 0));

    // The second run of a full-then-incremental task is incremental, on
    // the first point; a changed file is read again.
    std::fs::write(tree.join("notes.txt"), b"station 7 moved twice\n").unwrap();
    let second = fx.run_ok(task.id).await;
    assert_eq!(second.mode.as_deref(), Some("incremental"));
    let manifest = engine(|| fx.repo().point(second.point.as_deref().unwrap())).unwrap();
    assert_eq!(manifest.parent.as_deref(), Some(point.as_str()));
    assert_eq!(second.bytes, expected_bytes + 6);
    let third = fx.run_ok(task.id).await;
    assert_eq!(third.mode.as_deref(), Some("incremental"));
    assert_eq!(fx.points_of("nightly").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_choose_full_or_incremental_per_run() {
    let fx = Fixture::new().await;
    let tree = fx.small_tree("data");
    let src = fx.source("data", &tree).await;
    let mut every2 = settings("every-2", src);
    every2.policy = Policy::FullEveryN(2);
    let every2 = fx.task(&every2).await;
    let mut always = settings("always", src);
    always.policy = Policy::FullAlways;
    let always = fx.task(&always).await;

    let mut modes = Vec::new();
    for _ in 0..5 {
        modes.push(fx.run_ok(every2.id).await.mode.unwrap());
    }
    assert_eq!(
        modes,
        ["full", "incremental", "full", "incremental", "full"]
    );
    for _ in 0..3 {
        assert_eq!(fx.run_ok(always.id).await.mode.as_deref(), Some("full"));
    }
    // Every full point stands alone; every incremental names its parent.
    for point in fx.points() {
        match point.mode {
            tidemark_engine::BackupMode::Full => assert_eq!(point.parent, None),
            tidemark_engine::BackupMode::Incremental => assert!(point.parent.is_some()),
        }
    }
    assert_eq!(fx.points_of("every-2").len(), 5);
    assert_eq!(fx.points_of("always").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_per_task_and_a_cancelled_run_publishes_nothing() {
    let fx = Fixture::new().await;
    let big = fx.big_tree("big");
    let src = fx.source("big", &big).await;
    let task = fx.task(&settings("big", src)).await;
    let small = fx.small_tree("small");
    let other_src = fx.source("small", &small).await;
    let other = fx.task(&settings("other", other_src)).await;
    let before = fx.points();

    let mut events = fx.jobs.subscribe();
    let run = fx
        .jobs
        .start(task.id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    assert_eq!(run.state, "running");
    let err = fx
        .jobs
        .start(task.id, Trigger::Manual, false, 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StartError::AlreadyRunning(name) if name == "big"),
        "{err}"
    );
    // The refused start left no trace in the catalog.
    let (runs, total) = fx.catalog.task_runs(task.id, None, 0, 10).await.unwrap();
    assert_eq!((total, runs[0].id), (1, run.id));
    assert!(fx.jobs.is_running(task.id));
    let snapshots = fx.jobs.snapshots();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(
        (snapshots[0].run_id, snapshots[0].phase),
        (run.id, JobPhase::Running)
    );

    // Cancel: the run ends cancelled, without a point.
    assert_eq!(fx.jobs.cancel(task.id), Some(run.id));
    let seen = wait_end(&mut events, |p| p.run_id == run.id).await;
    let last = seen.last().unwrap();
    assert_eq!(
        (last.phase, last.error.as_ref()),
        (JobPhase::Cancelled, None)
    );
    let record = fx.catalog.run(run.id).await.unwrap().unwrap();
    assert_eq!(record.state, "cancelled", "{record:?}");
    assert!(
        record.finished_at.is_some() && record.error.is_none(),
        "{record:?}"
    );
    assert_eq!(record.bytes, 0);
    let after: Vec<String> = fx.points().into_iter().map(|p| p.id).collect();
    assert_eq!(after, before.into_iter().map(|p| p.id).collect::<Vec<_>>());
    assert!(!fx.jobs.is_running(task.id));
    // A cancelled run is not retried, and the task can run again.
    assert_eq!(fx.task_now(task.id).await.retry_at, None);
    assert!(fx.log_text(run.id).await.contains("run cancelled"));

    // Stopping a task: stop_and_wait returns once the run has ended.
    let mut events = fx.jobs.subscribe();
    let again = fx
        .jobs
        .start(task.id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    fx.jobs.stop_and_wait(task.id).await;
    assert!(!fx.jobs.is_running(task.id));
    assert_eq!(
        fx.catalog.run(again.id).await.unwrap().unwrap().state,
        "cancelled"
    );
    let last = wait_end(&mut events, |p| p.run_id == again.id).await;
    assert_eq!(last.last().unwrap().phase, JobPhase::Cancelled);
    assert_eq!(fx.points().len(), 0);
    // Another task still runs normally.
    fx.run_ok(other.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_tasks_sharing_a_repository_take_turns() {
    let fx = Fixture::new().await;
    let big = fx.big_tree("big");
    let src = fx.source("big", &big).await;
    let long = fx.task(&settings("long", src)).await;
    let small = fx.small_tree("small");
    let small_src = fx.source("small", &small).await;
    let short = fx.task(&settings("short", small_src)).await;
    let gives_up = fx.task(&settings("gives-up", small_src)).await;

    let mut events = fx.jobs.subscribe();
    let long_run = fx
        .jobs
        .start(long.id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    let short_run = fx
        .jobs
        .start(short.id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    let waiting = fx
        .jobs
        .start(gives_up.id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    // All three are running jobs; the later two wait for the repository.
    assert_eq!(fx.jobs.snapshots().len(), 3);
    // A waiting run can be stopped; it ends without waiting for the others.
    fx.jobs.stop_and_wait(gives_up.id).await;
    let stopped = fx.catalog.run(waiting.id).await.unwrap().unwrap();
    assert_eq!(stopped.state, "cancelled", "{stopped:?}");
    assert!(
        fx.jobs.is_running(long.id),
        "the long run ended before the check"
    );

    let ids = [long_run.id, short_run.id];
    let first = wait_end(&mut events, |p| ids.contains(&p.run_id)).await;
    let second = wait_end(&mut events, |p| ids.contains(&p.run_id)).await;
    assert_eq!(
        first.last().unwrap().run_id,
        long_run.id,
        "the first run ends first"
    );
    assert_eq!(second.last().unwrap().run_id, short_run.id);
    for id in ids {
        let run = fx.catalog.run(id).await.unwrap().unwrap();
        assert_eq!(run.state, "succeeded", "{run:?}");
    }
    let log = fx.log_text(short_run.id).await;
    assert!(log.contains("waiting for another run"), "{log}");
    assert_eq!(fx.points_of("long").len(), 1);
    assert_eq!(fx.points_of("short").len(), 1);
    assert!(fx.points_of("gives-up").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_started_as_the_previous_one_ends_stays_registered() {
    let fx = Fixture::new().await;
    let tree = fx.small_tree("data");
    let src = fx.source("data", &tree).await;
    let mut s = settings("again", src);
    s.policy = Policy::FullAlways;
    let task = fx.task(&s).await;
    let mut events = fx.jobs.subscribe();
    for round in 0..8 {
        let first = fx
            .jobs
            .start(task.id, Trigger::Manual, false, 1)
            .await
            .unwrap();
        // Start again and again until the catalog lets a run start: right
        // after the first run is recorded as finished.
        let second = tokio::time::timeout(WAIT, async {
            loop {
                match fx.jobs.start(task.id, Trigger::Manual, false, 1).await {
                    Ok(run) => return run,
                    Err(StartError::AlreadyRunning(_)) => tokio::task::yield_now().await,
                    Err(err) => panic!("{err}"),
                }
            }
        })
        .await
        .unwrap();
        wait_end(&mut events, |p| p.run_id == first.id).await;
        // The first run's end must not unregister the second run: while
        // the catalog says it runs, the registry knows it (and can stop it).
        let registered = fx.jobs.is_running(task.id);
        let state = fx.catalog.run(second.id).await.unwrap().unwrap().state;
        assert!(
            registered || state != "running",
            "round {round}: run {} is running but not registered",
            second.id
        );
        wait_end(&mut events, |p| p.run_id == second.id).await;
        assert!(!fx.jobs.is_running(task.id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selected_objects_back_up_only_those_whatever_their_names() {
    let fx = Fixture::new().await;
    let root = fx.path("odd");
    std::fs::create_dir_all(root.join("sub-1.d")).unwrap();
    std::fs::create_dir_all(root.join("sub-10")).unwrap();
    std::fs::write(root.join("a-b#c&d~e (1).txt"), b"odd name\n").unwrap();
    std::fs::write(root.join("sub-1.d/inner.csv"), b"1,2\n").unwrap();
    std::fs::write(root.join("sub-10/not-me.csv"), b"3,4\n").unwrap();
    std::fs::write(root.join("skipped.txt"), b"no\n").unwrap();
    let src = fx.source("odd", &root).await;
    let mut s = settings("picked", src);
    s.content = Content::Objects(vec!["a-b#c&d~e (1).txt".into(), "sub-1.d".into()]);
    let task = fx.task(&s).await;

    let run = fx.run_ok(task.id).await;
    let manifest = engine(|| fx.repo().point(run.point.as_deref().unwrap())).unwrap();
    let mut names: Vec<&str> = manifest.objects.iter().map(|o| o.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["a-b#c&d~e (1).txt", "sub-1.d", "sub-1.d/inner.csv"]);
    assert_eq!(run.bytes, 9 + 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_every_job_and_no_new_one_starts() {
    let fx = Fixture::new().await;
    let big = fx.big_tree("big");
    let src = fx.source("big", &big).await;
    let task = fx.task(&settings("big", src)).await;
    let small = fx.small_tree("small");
    let small_src = fx.source("small", &small).await;
    let waiting = fx.task(&settings("waiting", small_src)).await;

    let first = fx
        .jobs
        .start(task.id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    let second = fx
        .jobs
        .start(waiting.id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    fx.jobs.close();
    let err = fx
        .jobs
        .start(task.id, Trigger::Manual, false, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::ShuttingDown), "{err}");
    tokio::time::timeout(WAIT, fx.jobs.shutdown())
        .await
        .unwrap();
    tokio::time::timeout(WAIT, fx.jobs.closed()).await.unwrap();
    assert!(fx.jobs.snapshots().is_empty());
    for id in [first.id, second.id] {
        let run = fx.catalog.run(id).await.unwrap().unwrap();
        assert_eq!(run.state, "cancelled", "{run:?}");
    }
    assert!(fx.points().is_empty());
    // Nothing is left running in the catalog for the next start-up to fail.
    assert_eq!(fx.catalog.fail_interrupted_runs().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tasks_bandwidth_limits_apply_and_show_in_its_progress_and_log() {
    let fx = Fixture::new().await;
    let tree = fx.path("three MiB");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("readings.bin"), pseudo_random(7, 3 << 20)).unwrap();
    let bytes = tree_bytes(&tree);
    let src = fx.source("data", &tree).await;
    let mut limited = settings("limited", src);
    limited.limits = crate::model::Limits {
        read_mib: Some(1),
        upload_mib: None,
    };
    let task = fx.task(&limited).await;
    let started = std::time::Instant::now();
    let (run, seen) = fx.run(task.id, Trigger::Manual).await;
    assert_eq!(run.state, "succeeded", "{run:?}");
    // The tenth of a second's burst passes at once; the rest at 1 MiB/s.
    let least = (bytes as f64 / 1048576.0 - 0.1).max(0.0);
    assert!(
        started.elapsed().as_secs_f64() >= least,
        "{bytes} bytes read in {:?} under a 1 MiB/s limit",
        started.elapsed()
    );
    assert!(
        seen.iter()
            .any(|p| p.step == "backing up (reading at most 1 MiB/s)"),
        "{:?}",
        seen.iter().map(|p| &p.step).collect::<Vec<_>>()
    );
    assert!(fx
        .log_text(run.id)
        .await
        .contains("bandwidth limits: reading at most 1 MiB/s"));
}
