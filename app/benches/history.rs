//! How fast a history page answers with 10 000 runs in the catalog (the
//! target: under 50 ms per page). Prints figures; asserts nothing.
//!
//! cargo bench -p app --features ssr --bench history

use std::time::{Duration, Instant};

use app::catalog::{Catalog, NewSource, RunOutcome, Trigger};
use app::model::{Content, Policy, RunState, Schedule, SourceKind, TaskSettings};

const RUNS: usize = 10_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
    let catalog = Catalog::open(&url).await.expect("catalog");
    catalog
        .ensure_default_repository("/tmp/bench-repo")
        .await
        .expect("repository");
    let source = catalog
        .insert_source(&NewSource {
            name: "bench",
            kind: SourceKind::FileTree,
            location: "/srv/bench",
            description: "",
            is_demo: false,
            secret: None,
        })
        .await
        .expect("source");
    let task = catalog
        .insert_task(&TaskSettings {
            name: "bench".into(),
            source_id: source.id,
            repository_id: 1,
            content: Content::All,
            schedule: Schedule::Manual,
            policy: Policy::FullThenIncremental,
            keep_last: None,
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
        })
        .await
        .expect("task");

    let filling = Instant::now();
    for i in 0..RUNS {
        let run = catalog
            .start_run(task.id, Trigger::Schedule, false, 1)
            .await
            .expect("start")
            .expect("no run in progress");
        let point = format!("bench_bench_{i:06}");
        catalog
            .set_run_plan(
                run.id,
                if i % 7 == 0 { "full" } else { "incremental" },
                &point,
                &format!("/tmp/bench-repo/runs/{point}"),
            )
            .await
            .expect("plan");
        let state = if i % 10 == 3 {
            RunState::Failed
        } else {
            RunState::Succeeded
        };
        let outcome = RunOutcome {
            objects: 12,
            bytes: 1 << 30,
            bytes_stored: 1 << 24,
            chunks: 1000,
            new_chunks: 17,
        };
        catalog
            .finish_run(
                run.id,
                state,
                &outcome,
                (state == RunState::Failed).then_some(("database", "source unreachable")),
            )
            .await
            .expect("finish");
    }
    println!(
        "filled {RUNS} runs in {:.1} s",
        filling.elapsed().as_secs_f64()
    );

    for (label, filter, page) in [
        ("first page, all states", None, 0u32),
        ("page 250 (last), all states", None, 249),
        ("first page, failed only", Some(RunState::Failed), 0),
        ("page 50 (last), failed only", Some(RunState::Failed), 49),
    ] {
        let mut times = Vec::new();
        for _ in 0..50 {
            let started = Instant::now();
            let (rows, total) = catalog
                .task_runs(task.id, filter, page * 20, 20)
                .await
                .expect("page");
            times.push(started.elapsed());
            assert!(!rows.is_empty() && total > 0);
        }
        times.sort();
        let median = times[times.len() / 2];
        let worst = times.last().copied().unwrap_or(Duration::ZERO);
        println!(
            "{label:32} median {:6.2} ms  worst {:6.2} ms  (target < 50 ms)",
            median.as_secs_f64() * 1000.0,
            worst.as_secs_f64() * 1000.0
        );
    }
}
