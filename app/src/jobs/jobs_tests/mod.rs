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
        jobs.set_drill_dir(dir.path().join("drills"));
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
        let seen = wait_end(&mut events, |p| !p.drill && p.run_id == run.id).await;
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

    /// The sentences of a run's log the console translates, in order.
    async fn log_sentences(&self, run_id: i64) -> Vec<crate::model::JobText> {
        self.catalog
            .run_logs(run_id)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|l| crate::model::JobText::from_stored(l.message_key, l.message_args))
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
        watermark: false,
        recovery: Default::default(),
        continuous: false,
        limits: Default::default(),
        notify: Default::default(),
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

mod browse_points;
mod copy_jobs;
mod drills;
mod limits;
mod repo_checks;
mod runs;
mod schedule;
