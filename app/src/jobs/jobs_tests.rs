//! The job registry and the scheduler against a real catalog, a real
//! on-disk repository and real files: Back Up Now, one run per task,
//! cancelling, the scheduler's slots, retries and retention.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tidemark_engine::verify::{verify, VerifyOptions};
use tidemark_engine::{CancelToken, Manifest, NoProgress, RepoLocation, Repository};
use tokio::sync::broadcast;

use super::*;
use crate::catalog::{NewSource, RunRecord, TaskRecord, Trigger};
use crate::model::{
    Content, JobPhase, JobProgress, Period, PeriodUnit, Policy, Schedule, SourceKind, TaskSettings,
};

/// Long enough for any run of these tests; a bug must not hang the suite.
const WAIT: Duration = Duration::from_secs(60);

/// A catalog, a repository registered as repository 1, and a job registry.
struct Fixture {
    dir: tempfile::TempDir,
    catalog: Catalog,
    jobs: Jobs,
    repo_path: PathBuf,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let catalog = Catalog::open(&url).await.unwrap();
        let repo_path = dir.path().join("repo");
        engine(|| Repository::init(&RepoLocation::Local(repo_path.clone()), None)).unwrap();
        let record = catalog
            .ensure_default_repository(repo_path.to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(record.id, 1);
        let jobs = Jobs::new(catalog.clone());
        Fixture {
            dir,
            catalog,
            jobs,
            repo_path,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A small tree: two files at the top, one in a subdirectory.
    fn small_tree(&self, name: &str) -> PathBuf {
        let root = self.path(name);
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(
            root.join("readings.csv"),
            "ts,value\n1,2\n2,3\n".repeat(500),
        )
        .unwrap();
        std::fs::write(root.join("notes.txt"), b"station 7 moved\n").unwrap();
        std::fs::write(root.join("sub/more.bin"), pseudo_random(7, 300_000)).unwrap();
        root
    }

    /// A tree of incompressible data, big enough that a run lasts seconds.
    fn big_tree(&self, name: &str) -> PathBuf {
        let root = self.path(name);
        std::fs::create_dir_all(&root).unwrap();
        for i in 0..4u64 {
            let mut file = std::fs::File::create(root.join(format!("part-{i}.bin"))).unwrap();
            for block in 0..12u64 {
                file.write_all(&pseudo_random(i * 100 + block + 1, 4 << 20))
                    .unwrap();
            }
        }
        root
    }

    async fn source(&self, name: &str, root: &Path) -> i64 {
        self.catalog
            .insert_source(&NewSource {
                name,
                kind: SourceKind::FileTree,
                location: root.to_str().unwrap(),
                description: "",
                is_demo: false,
                secret: None,
            })
            .await
            .unwrap()
            .id
    }

    async fn task(&self, settings: &TaskSettings) -> TaskRecord {
        self.catalog.insert_task(settings).await.unwrap()
    }

    async fn task_now(&self, id: i64) -> TaskRecord {
        self.catalog.task(id).await.unwrap().unwrap()
    }

    fn repo(&self) -> Repository {
        engine(|| Repository::open(&RepoLocation::Local(self.repo_path.clone()), None)).unwrap()
    }

    /// The repository's points, oldest first.
    fn points(&self) -> Vec<Manifest> {
        let (points, damaged) = engine(|| self.repo().points()).unwrap();
        assert!(damaged.is_empty(), "{damaged:?}");
        points
    }

    fn points_of(&self, task: &str) -> Vec<String> {
        self.points()
            .into_iter()
            .filter(|p| p.task == task)
            .map(|p| p.id)
            .collect()
    }

    /// Starts a run and waits for its end; returns its catalog record and
    /// every progress event the run broadcast.
    async fn run(&self, task_id: i64, trigger: Trigger) -> (RunRecord, Vec<JobProgress>) {
        let mut events = self.jobs.subscribe();
        let run = self.jobs.start(task_id, trigger, false, 1).await.unwrap();
        let seen = wait_end(&mut events, |p| p.run_id == run.id).await;
        (self.catalog.run(run.id).await.unwrap().unwrap(), seen)
    }

    async fn run_ok(&self, task_id: i64) -> RunRecord {
        let (run, _) = self.run(task_id, Trigger::Manual).await;
        assert_eq!(run.state, "succeeded", "{run:?}");
        run
    }

    async fn log_text(&self, run_id: i64) -> String {
        self.catalog
            .run_logs(run_id)
            .await
            .unwrap()
            .iter()
            .map(|l| format!("{} {}\n", l.level, l.message))
            .collect()
    }
}

/// Runs blocking engine work from a test's async body (the engine's
/// storage layer must not block a runtime thread).
fn engine<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

/// Deterministic incompressible bytes (xorshift64*).
fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The bytes of the regular files under `root`.
fn tree_bytes(root: &Path) -> i64 {
    let mut total = 0;
    for entry in std::fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            tree_bytes(&entry.path())
        } else {
            meta.len() as i64
        };
    }
    total
}

fn settings(name: &str, source_id: i64) -> TaskSettings {
    TaskSettings {
        name: name.into(),
        source_id,
        repository_id: 1,
        content: Content::All,
        schedule: Schedule::Manual,
        policy: Policy::FullThenIncremental,
        keep_last: None,
        compression: "fastest".into(),
        pack_size_mib: 4,
        retry_count: 0,
        retry_interval_min: 5,
        enabled: true,
    }
}

fn hourly(first_start: DateTime<Utc>) -> Schedule {
    Schedule::Periodic {
        first_start,
        every: Period {
            value: 1,
            unit: PeriodUnit::Hours,
        },
    }
}

/// Receives progress until an event matching `which` is finished; returns
/// every matching event, the finished one last.
async fn wait_end(
    events: &mut broadcast::Receiver<JobProgress>,
    which: impl Fn(&JobProgress) -> bool,
) -> Vec<JobProgress> {
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(p) if which(&p) => {
                    let end = p.is_finished();
                    seen.push(p);
                    if end {
                        return;
                    }
                }
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the event channel closed"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no end of the run within {WAIT:?}; seen {seen:?}"));
    seen
}

async fn wait_task_end(events: &mut broadcast::Receiver<JobProgress>, task_id: i64) -> JobProgress {
    wait_end(events, |p| p.task_id == task_id)
        .await
        .pop()
        .unwrap()
}

fn assert_close(actual: Option<DateTime<Utc>>, expected: DateTime<Utc>, slack_secs: i64) {
    let actual = actual.expect("a time was set");
    let off = (actual - expected).num_seconds().abs();
    assert!(
        off <= slack_secs,
        "{actual} is {off} s from {expected} (at most {slack_secs} s allowed)"
    );
}

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
