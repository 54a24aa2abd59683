//! Copy jobs against a real catalog and two real repositories (the second
//! encrypted under its own passphrase): Run now copies what the second
//! lacks and nothing twice, a scheduled slot runs once, the destination's
//! retention applies to it alone, and the copy verifies clean.

use super::*;
use crate::jobs::repo_checks::CheckTrigger;
use crate::model::{ChannelSettings, CopyJobSettings, EventKind, Policy};

const OFFSITE_PASSPHRASE: &str = "offsite passphrase for the copy test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_job_keeps_a_verified_second_copy_with_its_own_retention() {
    let fx = Fixture::new().await;
    let offsite_path = fx.path("offsite");
    engine(|| {
        Repository::init(
            &RepoLocation::Local(offsite_path.clone()),
            Some(OFFSITE_PASSPHRASE),
        )
    })
    .unwrap();
    let offsite = fx
        .catalog
        .insert_repository(
            "offsite",
            "local",
            offsite_path.to_str().unwrap(),
            Some(OFFSITE_PASSPHRASE),
        )
        .await
        .unwrap();

    let root = fx.small_tree("tree");
    let source = fx.source("tree", &root).await;
    let mut s = settings("plant \"north\"", source);
    s.policy = Policy::FullAlways;
    let task = fx.task(&s).await;
    fx.run_ok(task.id).await;
    std::fs::write(root.join("second.bin"), pseudo_random(5, 200_000)).unwrap();
    fx.run_ok(task.id).await;

    let job = fx
        .catalog
        .insert_copy_job(&CopyJobSettings {
            name: "to offsite".into(),
            from_repository_id: 1,
            to_repository_id: offsite.id,
            task: Some("plant \"north\"".into()),
            schedule: hourly(Utc::now() - chrono::Duration::minutes(10)),
            keep_last: Some(1),
            enabled: true,
        })
        .await
        .unwrap();
    assert!(job.next_at.is_some_and(|at| at > Utc::now()));

    // Run now: the destination keeps one point, so only the newest moves.
    let run = fx
        .jobs
        .run_copy_job(job.id, CheckTrigger::Manual)
        .await
        .unwrap();
    assert_eq!(run.state, "succeeded", "{run:?}");
    let copied: Vec<String> = serde_json::from_str(&run.copied).unwrap();
    assert_eq!(copied, fx.points_of("plant \"north\"")[1..]);
    assert_eq!(run.points_pruned, 0);
    assert!(run.chunks_written > 0);

    let open_offsite = || {
        engine(|| {
            Repository::open(
                &RepoLocation::Local(offsite_path.clone()),
                Some(OFFSITE_PASSPHRASE),
            )
        })
        .unwrap()
    };
    let held = |repo: &Repository| -> Vec<String> {
        let (points, damaged) = engine(|| repo.points()).unwrap();
        assert!(damaged.is_empty());
        points.into_iter().map(|p| p.id).collect()
    };
    let newest = fx.points_of("plant \"north\"").pop().unwrap();
    assert_eq!(held(&open_offsite()), std::slice::from_ref(&newest));
    assert_eq!(
        fx.points_of("plant \"north\"").len(),
        2,
        "the source keeps both"
    );

    // Again: nothing to copy, nothing written.
    let again = fx
        .jobs
        .run_copy_job(job.id, CheckTrigger::Manual)
        .await
        .unwrap();
    assert_eq!(
        (again.state.as_str(), again.chunks_written),
        ("succeeded", 0)
    );
    assert_eq!(again.copied, "[]");
    assert_eq!(held(&open_offsite()), [newest]);

    // A third backup; its scheduled slot copies it, once.
    std::fs::write(root.join("third.bin"), pseudo_random(6, 200_000)).unwrap();
    fx.run_ok(task.id).await;
    let later = Utc::now() + chrono::Duration::hours(2);
    let started = fx.jobs.tick_copy_jobs(later).await.unwrap();
    assert_eq!(started.len(), 1);
    for handle in started {
        handle.await.unwrap();
    }
    assert!(fx.jobs.tick_copy_jobs(later).await.unwrap().is_empty());
    let runs = fx.catalog.copy_runs(job.id, 10).await.unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].points_pruned, 1, "the older copy goes");
    assert_eq!(
        (runs[0].trigger.as_str(), runs[0].state.as_str()),
        ("schedule", "succeeded")
    );
    let third = fx.points_of("plant \"north\"").pop().unwrap();
    let offsite_repo = open_offsite();
    assert_eq!(held(&offsite_repo), [third]);
    let report = engine(|| {
        verify(
            &offsite_repo,
            &VerifyOptions {
                read_data: true,
                ..VerifyOptions::default()
            },
            &NoProgress,
            &CancelToken::new(),
        )
    })
    .unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);

    // A destination the console cannot open is a failed run with its
    // reason, and one `copy.failed` event for the channel that wants it.
    let hook = ChannelSettings::Webhook {
        url: "http://127.0.0.1:9/hook".into(),
    };
    let channel = fx
        .catalog
        .insert_channel("ops", &hook, None, &[EventKind::CopyFailed])
        .await
        .unwrap();
    std::fs::remove_file(offsite_path.join("config.json")).unwrap();
    let failed = fx
        .jobs
        .run_copy_job(job.id, CheckTrigger::Manual)
        .await
        .unwrap();
    assert_eq!(failed.state, "failed");
    assert!(failed.error.is_some_and(|e| !e.is_empty()));
    let due = fx
        .catalog
        .due_deliveries(Utc::now() + chrono::Duration::seconds(1), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(
        (due[0].channel_id, due[0].event.as_str()),
        (channel, "copy.failed")
    );
    assert!(
        due[0].body.contains("to offsite") && due[0].body.contains("/copies"),
        "{}",
        due[0].body
    );
    assert_eq!(
        fx.jobs
            .run_copy_job(999, CheckTrigger::Manual)
            .await
            .unwrap_err()
            .status(),
        404
    );
}
