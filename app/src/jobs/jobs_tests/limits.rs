//! A repository's upload limit: every backup writing to it, whatever its
//! task, and every copy into it stay below it (achieved time at least what
//! the limit allows), and the live progress and the run log say so.

use super::*;
use crate::jobs::repo_checks::CheckTrigger;
use crate::model::CopyJobSettings;

const MIB: f64 = 1_048_576.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repositorys_upload_limit_holds_for_backups_and_copies_into_it() {
    let fx = Fixture::new().await;
    let tree = fx.path("three MiB");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("readings.bin"), pseudo_random(11, 3 << 20)).unwrap();
    let src = fx.source("data", &tree).await;
    assert!(fx.catalog.set_repository_limit(1, Some(1)).await.unwrap());

    let task = fx.task(&settings("unlimited task", src)).await;
    let started = std::time::Instant::now();
    let (run, seen) = fx.run(task.id, Trigger::Manual).await;
    assert_eq!(run.state, "succeeded", "{run:?}");
    // The tenth of a second's burst passes at once; the rest at 1 MiB/s.
    let least = run.bytes_stored as f64 / MIB - 0.1;
    assert!(
        started.elapsed().as_secs_f64() >= least,
        "{} bytes stored in {:?} under the repository's 1 MiB/s",
        run.bytes_stored,
        started.elapsed()
    );
    assert!(
        seen.iter()
            .any(|p| p.step == "backing up (the repository's writes at most 1 MiB/s)"),
        "{:?}",
        seen.iter().map(|p| &p.step).collect::<Vec<_>>()
    );
    assert!(fx
        .log_text(run.id)
        .await
        .contains("bandwidth limits: the repository's writes at most 1 MiB/s"));

    // A copy into a limited repository keeps to its limit.
    assert!(fx.catalog.set_repository_limit(1, None).await.unwrap());
    let offsite_path = fx.path("offsite");
    engine(|| Repository::init(&RepoLocation::Local(offsite_path.clone()), None)).unwrap();
    let offsite = fx
        .catalog
        .insert_repository("offsite", "local", offsite_path.to_str().unwrap(), None)
        .await
        .unwrap();
    fx.catalog
        .set_repository_limit(offsite.id, Some(1))
        .await
        .unwrap();
    let job = fx
        .catalog
        .insert_copy_job(&CopyJobSettings {
            name: "limited copy".into(),
            from_repository_id: 1,
            to_repository_id: offsite.id,
            task: None,
            schedule: Schedule::Manual,
            keep_last: None,
            enabled: true,
        })
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let copied = fx
        .jobs
        .run_copy_job(job.id, CheckTrigger::Manual)
        .await
        .unwrap();
    assert_eq!(copied.state, "succeeded", "{copied:?}");
    let least = copied.bytes_written as f64 / MIB - 0.1;
    assert!(least > 2.5, "{copied:?}");
    assert!(
        started.elapsed().as_secs_f64() >= least,
        "{} bytes copied in {:?} under the destination's 1 MiB/s",
        copied.bytes_written,
        started.elapsed()
    );
}
