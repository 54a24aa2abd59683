//! Scheduled repository checks against a real catalog and repository: a
//! slot runs once, the data check reads a rotating share of the packs and
//! the rounds cover them all, damage is recorded with the points it breaks
//! and queued for the channels, and a second check of the same repository
//! is refused while one runs.

use super::*;
use crate::catalog::CheckRunRecord;
use crate::jobs::repo_checks::CheckTrigger;
use crate::model::{ChannelSettings, CheckKind, CheckPlan, EventKind};

/// Several points of incompressible data in small packs.
async fn backed_up(fx: &Fixture) {
    let root = fx.small_tree("tree");
    let source = fx.source("tree", &root).await;
    let mut s = settings("tree", source);
    s.pack_size_mib = 1;
    let task = fx.task(&s).await;
    for round in 0..3u64 {
        std::fs::write(
            root.join(format!("round-{round}.bin")),
            pseudo_random(round + 40, 1_500_000),
        )
        .unwrap();
        fx.run_ok(task.id).await;
    }
}

async fn tick(fx: &Fixture, now: DateTime<Utc>) -> usize {
    let handles = fx.jobs.tick_repository_checks(now).await.unwrap();
    let started = handles.len();
    for handle in handles {
        handle.await.unwrap();
    }
    started
}

async fn newest(fx: &Fixture) -> CheckRunRecord {
    fx.catalog.check_runs(1, 1).await.unwrap().remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_data_check_reads_a_rotating_share_and_names_damage() {
    let fx = Fixture::new().await;
    backed_up(&fx).await;
    let hook = ChannelSettings::Webhook {
        url: "http://127.0.0.1:9/hook".into(),
    };
    let channel = fx
        .catalog
        .insert_channel("ops", &hook, None, &[EventKind::VerifyDamage])
        .await
        .unwrap();

    let start = Utc::now() - chrono::Duration::minutes(5);
    let plan = CheckPlan {
        kind: CheckKind::Data,
        schedule: hourly(start),
        read_percent: 50,
    };
    fx.catalog
        .save_check_plan(1, &plan, Some(start))
        .await
        .unwrap();
    let structure = CheckPlan {
        kind: CheckKind::Structure,
        schedule: hourly(start + chrono::Duration::minutes(30)),
        read_percent: 100,
    };
    let later = start + chrono::Duration::minutes(30);
    fx.catalog
        .save_check_plan(1, &structure, Some(later))
        .await
        .unwrap();

    // The data check's slot has come, the structure check's not yet.
    let now = Utc::now();
    assert_eq!(tick(&fx, now).await, 1);
    assert_eq!(tick(&fx, now).await, 0, "a slot is used once");
    let first = newest(&fx).await;
    assert_eq!(
        (
            first.kind.as_str(),
            first.trigger.as_str(),
            first.outcome.as_str()
        ),
        ("data", "schedule", "clean"),
        "{first:?}"
    );
    assert!(first.packs_total >= 2, "{first:?}");
    assert_eq!(first.packs_read, (first.packs_total + 1) / 2, "{first:?}");
    assert_eq!(first.points, 3);
    let plans = fx.catalog.check_plans(1).await.unwrap();
    let data = plans
        .iter()
        .find(|p| p.plan.kind == CheckKind::Data)
        .unwrap();
    assert_eq!(data.round, 1);
    assert_close(data.next_at, start + chrono::Duration::hours(1), 1);

    // Damage every pack: the next round reads its share, and names each.
    let packs: Vec<PathBuf> = walk(&fx.repo_path)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pack"))
        .collect();
    assert_eq!(packs.len() as i64, first.packs_total);
    for pack in &packs {
        let mut bytes = std::fs::read(pack).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x5a;
        std::fs::write(pack, bytes).unwrap();
    }
    let next = start + chrono::Duration::hours(1) + chrono::Duration::seconds(1);
    assert_eq!(
        tick(&fx, next).await,
        1,
        "both checks are due now, run in turn"
    );
    let runs = fx.catalog.check_runs(1, 10).await.unwrap();
    let data_run = runs.iter().find(|r| r.kind == "data").unwrap();
    assert_eq!(data_run.outcome, "damaged", "{data_run:?}");
    // The next window of the rotation: the same share, starting where the
    // first ended (the engine's tests show the rounds cover every pack).
    assert_eq!(data_run.packs_read, first.packs_read);
    assert_eq!(data_run.packs_total, first.packs_total);
    let problems: Vec<serde_json::Value> = serde_json::from_str(&data_run.problems).unwrap();
    assert_eq!(problems.len() as i64, data_run.packs_read, "{problems:?}");
    assert!(problems
        .iter()
        .all(|p| p["what"].as_str().unwrap().starts_with("pack ")));
    assert!(
        problems
            .iter()
            .all(|p| !p["affects"].as_array().unwrap().is_empty()),
        "each damaged pack names what it breaks: {problems:?}"
    );
    let structure_run = runs.iter().find(|r| r.kind == "structure").unwrap();
    assert_eq!(
        (structure_run.outcome.as_str(), structure_run.packs_read),
        ("clean", 0),
        "the structure check reads no pack"
    );

    // One damage event for the channel, pointing at the checks page.
    let due = fx
        .catalog
        .due_deliveries(Utc::now() + chrono::Duration::seconds(1), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(
        (due[0].channel_id, due[0].event.as_str()),
        (channel, "repository.damaged")
    );
    assert!(
        due[0].body.contains("/repositories/1/checks"),
        "{}",
        due[0].body
    );

    // The audit log names the scheduler.
    let (audit, _) = fx
        .catalog
        .audit_page(
            &crate::catalog::AuditFilter {
                username: Some("scheduler".into()),
                ..Default::default()
            },
            10,
            0,
        )
        .await
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "scheduled repository check")
            .count(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_check_per_repository_at_a_time_and_interrupted_ones_fail_at_start() {
    let fx = Fixture::new().await;
    backed_up(&fx).await;
    let running = fx
        .catalog
        .start_check_run(1, CheckKind::Data, "manual", 100)
        .await
        .unwrap()
        .expect("the first check starts");
    let refused = fx
        .jobs
        .check_repository(1, CheckKind::Structure, 100, 0, CheckTrigger::Manual)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 409, "{refused}");
    assert_eq!(fx.catalog.fail_interrupted_checks().await.unwrap(), 1);
    let failed = newest(&fx).await;
    assert_eq!((failed.id, failed.outcome.as_str()), (running.id, "failed"));
    assert!(failed.error.unwrap().contains("stopped"));

    let done = fx
        .jobs
        .check_repository(1, CheckKind::Structure, 100, 0, CheckTrigger::Manual)
        .await
        .unwrap();
    assert_eq!(done.run.outcome, "clean");
    let missing = fx
        .jobs
        .check_repository(9, CheckKind::Data, 10, 0, CheckTrigger::Manual)
        .await
        .unwrap_err();
    assert_eq!(missing.status(), 404);
}

/// A repository the console cannot open is a failed check, named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_repository_is_a_failed_check_with_its_reason() {
    let fx = Fixture::new().await;
    std::fs::remove_file(fx.repo_path.join("config.json")).unwrap();
    let done = fx
        .jobs
        .check_repository(1, CheckKind::Data, 100, 0, CheckTrigger::Manual)
        .await
        .unwrap();
    assert_eq!(done.run.outcome, "failed");
    assert!(done.report.is_err());
    assert!(done.run.error.is_some_and(|e| !e.is_empty()));
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}
