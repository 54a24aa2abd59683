//! Running restore jobs: Start (a task never run) or Retry (one that
//! failed or was cancelled), each on a blocking thread through the engine's
//! phases; progress broadcast to every browser watching; Cancel at any phase.

pub mod cluster;
mod resolve;
mod roots;
mod run;
mod sinks;
pub mod to_time;
mod tracker;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, Notify};

use tidemark_engine::restore::{CheckOutcome, ObjectCheck, RestoreStats};
use tidemark_engine::{CancelToken, EngineError};

pub use resolve::{read_from, resolve, ResolvedTarget};
pub use roots::{confine_target, create_missing, Confined, RestoreRoots};
pub use run::{options, plan, rolls_back_as_a_whole, RestoreSpec};
pub use tracker::RestoreTracker;

pub use sinks::action_name;
use sinks::{CatalogPhases, CatalogPlan};

use crate::catalog::{Catalog, RestoreRecord};
use crate::model::{RestoreProgress, RestoreState, SourceKind};

/// Why a restore did not start.
#[derive(Debug, thiserror::Error)]
pub enum RestoreStartError {
    #[error("restore task {0} was not found")]
    NotFound(i64),
    #[error("restore task {name:?} is {state}: {why}")]
    WrongState {
        name: String,
        state: &'static str,
        why: &'static str,
    },
    #[error("restore task {0:?}: {1}")]
    NotVerified(String, &'static str),
    #[error("restore task {0:?}: {1}")]
    Unusable(String, String),
    #[error("another restore is writing to {0}; wait for it to finish")]
    TargetBusy(String),
    #[error("the server is stopping; no new restore starts")]
    ShuttingDown,
    #[error(transparent)]
    Catalog(#[from] sqlx::Error),
}

struct Running {
    cancel: CancelToken,
    tracker: Arc<RestoreTracker>,
    done: Arc<Notify>,
    target: String,
}

struct Inner {
    catalog: Catalog,
    notifier: crate::notify::Notifier,
    running: Mutex<HashMap<i64, Running>>,
    events: broadcast::Sender<RestoreProgress>,
    closing: AtomicBool,
    /// `<data dir>/restores-work`: restores to a second decrypt logs there.
    work_dir: std::sync::OnceLock<std::path::PathBuf>,
}

/// The server's restore jobs; cheap to clone.
#[derive(Clone)]
pub struct RestoreJobs(Arc<Inner>);

const TICK: Duration = Duration::from_millis(500);

impl RestoreJobs {
    pub fn new(catalog: Catalog, notifier: crate::notify::Notifier) -> Self {
        let (events, _) = broadcast::channel(256);
        RestoreJobs(Arc::new(Inner {
            catalog,
            notifier,
            running: Mutex::new(HashMap::new()),
            events,
            closing: AtomicBool::new(false),
            work_dir: std::sync::OnceLock::new(),
        }))
    }

    /// Where restores to a second decrypt binary logs (set once at start-up).
    pub fn set_work_dir(&self, dir: std::path::PathBuf) {
        let _ = self.0.work_dir.set(dir);
    }

    fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Running>> {
        self.0.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<RestoreProgress> {
        self.0.events.subscribe()
    }

    pub fn close(&self) {
        self.0.closing.store(true, Ordering::SeqCst);
    }

    pub fn snapshots(&self) -> Vec<RestoreProgress> {
        self.running()
            .values()
            .map(|r| r.tracker.snapshot(RestoreState::Running, None))
            .collect()
    }

    /// The live figures of a running restore.
    pub fn live(&self, id: i64) -> Option<RestoreProgress> {
        self.running()
            .get(&id)
            .map(|r| r.tracker.snapshot(RestoreState::Running, None))
    }

    pub fn is_running(&self, id: i64) -> bool {
        self.running().contains_key(&id)
    }

    /// Start (`retry == false`, a task never run) or Retry (one that failed
    /// or was cancelled). Needs a Verify of the current settings with no
    /// failing item, and warnings acknowledged.
    pub async fn start(
        &self,
        id: i64,
        retry: bool,
        acknowledge_warnings: bool,
    ) -> Result<(), RestoreStartError> {
        if self.0.closing.load(Ordering::SeqCst) {
            return Err(RestoreStartError::ShuttingDown);
        }
        let catalog = self.catalog();
        let record = catalog
            .restore(id)
            .await?
            .ok_or(RestoreStartError::NotFound(id))?;
        let name = record.settings.name.clone();
        check_transition(&record, retry)?;
        check_verified(&record, acknowledge_warnings)?;
        let target = resolve(catalog, &record.settings)
            .await
            .map_err(|why| RestoreStartError::Unusable(name.clone(), why))?;
        if self.running().values().any(|r| r.target == target.display) {
            return Err(RestoreStartError::TargetBusy(target.display));
        }
        let from: &[RestoreState] = if retry {
            &[RestoreState::Failed, RestoreState::Cancelled]
        } else {
            &[RestoreState::New]
        };
        if !catalog.begin_restore_attempt(id, from).await? {
            return Err(RestoreStartError::WrongState {
                name,
                state: "no longer startable",
                why: "another request changed it first; reload the page",
            });
        }
        let done = if retry && !rolls_back_as_a_whole(&target.url) {
            catalog
                .restore_objects(id)
                .await?
                .into_iter()
                .filter(|o| o.state == "done")
                .map(|o| o.name)
                .collect()
        } else {
            Vec::new()
        };
        let attempt = record.row.attempt + 1;
        catalog.restore_phase(id, attempt, "pending", false).await?;
        let spec = RestoreSpec {
            cluster: target.kind == SourceKind::PgCluster,
            restore_id: id,
            attempt,
            settings: record.settings,
            repository: target.repository,
            target_url: target.url,
            extract_url: target.extract.map(|(url, _)| url),
            done,
            task_name: target.task_name,
            work_dir: self
                .0
                .work_dir
                .get()
                .cloned()
                .unwrap_or_else(|| std::env::temp_dir().join("tidemark-restores-work")),
        };
        let sink = CatalogPhases {
            catalog: catalog.clone(),
            restore_id: id,
            attempt,
            handle: tokio::runtime::Handle::current(),
        };
        let tracker = Arc::new(RestoreTracker::new(id, Box::new(sink)));
        tracker.record_start("pending");
        let cancel = CancelToken::new();
        let finished = Arc::new(Notify::new());
        self.running().insert(
            id,
            Running {
                cancel: cancel.clone(),
                tracker: Arc::clone(&tracker),
                done: Arc::clone(&finished),
                target: target.display,
            },
        );
        let jobs = self.clone();
        tokio::spawn(async move { jobs.drive(spec, tracker, cancel, finished).await });
        Ok(())
    }

    /// Asks a running restore to stop; the target is left as it was.
    pub fn cancel(&self, id: i64) -> bool {
        self.running().get(&id).map(|r| r.cancel.cancel()).is_some()
    }

    pub async fn stop_and_wait(&self, id: i64) {
        let done = self.running().get(&id).map(|r| {
            r.cancel.cancel();
            Arc::clone(&r.done)
        });
        if let Some(done) = done {
            let notified = done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_running(id) {
                notified.await;
            }
        }
    }

    pub async fn shutdown(&self) {
        self.close();
        let ids: Vec<i64> = self.running().keys().copied().collect();
        for id in ids {
            self.stop_and_wait(id).await;
        }
    }

    async fn drive(
        self,
        spec: RestoreSpec,
        tracker: Arc<RestoreTracker>,
        cancel: CancelToken,
        finished: Arc<Notify>,
    ) {
        let id = spec.restore_id;
        let timeout = Duration::from_secs(u64::from(spec.settings.timeout_min) * 60);
        let mut work = {
            let (spec, tracker, cancel) = (spec.clone(), Arc::clone(&tracker), cancel.clone());
            let log = CatalogPlan {
                catalog: self.catalog().clone(),
                restore_id: id,
                handle: tokio::runtime::Handle::current(),
            };
            tokio::task::spawn_blocking(move || run::execute(&spec, &tracker, &cancel, &log))
        };
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticks = tokio::time::interval(TICK);
        let mut timed_out = false;
        let result: Result<RestoreStats, EngineError> = loop {
            tokio::select! {
                joined = &mut work => break joined.unwrap_or_else(|panic| Err(EngineError::InvalidInput {
                    what: "restore".into(),
                    message: format!("the restore stopped unexpectedly: {panic}"),
                })),
                _ = &mut deadline, if !timed_out => {
                    timed_out = true;
                    cancel.cancel();
                }
                _ = ticks.tick() => {
                    let _ = self.0.events.send(tracker.snapshot(RestoreState::Running, None));
                }
            }
        };
        let checks = result
            .as_ref()
            .map(|s| s.checks.clone())
            .unwrap_or_default();
        let (state, error, error_kind) = match result {
            Ok(stats) if stats.failed.is_empty() => (RestoreState::Finished, None, ""),
            Ok(stats) => {
                let differences: Vec<String> = stats
                    .failed
                    .iter()
                    .map(|(object, why)| format!("{object}: {why}"))
                    .collect();
                (
                    RestoreState::Failed,
                    Some(format!(
                        "the restored data differs from the backup: {}",
                        differences.join("; ")
                    )),
                    "differs",
                )
            }
            Err(EngineError::Cancelled) if timed_out => (
                RestoreState::Failed,
                Some(format!(
                    "the restore timed out after {} minute(s) and was stopped; the target was left as it was where the target allows",
                    spec.settings.timeout_min
                )),
                "timed_out",
            ),
            Err(EngineError::Cancelled) => (RestoreState::Cancelled, None, ""),
            Err(err) => (RestoreState::Failed, Some(err.to_string()), err.kind()),
        };
        let recorded_error = error.as_deref().map(|e| (error_kind, e));
        self.record_end(&spec, &tracker, state, recorded_error, &checks)
            .await;
        self.notify_end(&spec, state, error.as_deref()).await;
        let last = tracker.snapshot(state, error);
        self.running().remove(&id);
        let _ = self.0.events.send(last);
        finished.notify_waiters();
    }

    /// Tells the channels how the restore ended (not when cancelled).
    async fn notify_end(&self, spec: &RestoreSpec, state: RestoreState, error: Option<&str>) {
        use crate::model::EventKind;
        let name = &spec.settings.name;
        let event = match state {
            RestoreState::Finished => crate::notify::Event::new(
                EventKind::RestoreFinished,
                format!("Restore {name:?} finished"),
            )
            .detail("the restored content was read back from the target and matched"),
            RestoreState::Failed => crate::notify::Event::new(
                EventKind::RestoreFailed,
                format!("Restore {name:?} failed"),
            )
            .detail(error.unwrap_or("the restore failed")),
            _ => return,
        };
        let event = event
            .task(spec.settings.task_id)
            .link(format!("/restores/{}", spec.restore_id));
        self.0.notifier.emit(event).await;
    }

    async fn record_end(
        &self,
        spec: &RestoreSpec,
        tracker: &RestoreTracker,
        state: RestoreState,
        error: Option<(&str, &str)>,
        checks: &[ObjectCheck],
    ) {
        let catalog = self.catalog();
        let id = spec.restore_id;
        let mut result = Ok(());
        for check in checks {
            if result.is_ok() {
                let (kind, detail) = (check_kind(&check.outcome), check.outcome.describe());
                result = catalog
                    .set_restore_object_check(id, &check.name, kind, &detail)
                    .await;
            }
        }
        for (object, failure) in tracker.outcomes() {
            let object_state = if failure.is_some() { "failed" } else { "done" };
            if result.is_ok() {
                result = catalog
                    .set_restore_object_state(id, &object, object_state, failure.as_deref())
                    .await;
            }
        }
        if state != RestoreState::Finished && rolls_back_as_a_whole(&spec.target_url) {
            // Everything this attempt loaded was rolled back with it.
            if result.is_ok() {
                result = catalog.reset_restore_objects(id).await;
            }
        }
        let (bytes, rows) = tracker.loaded();
        if result.is_ok() {
            result = catalog.finish_restore(id, state, error, bytes, rows).await;
        }
        if let Err(err) = result {
            tracing::error!(restore_id = id, error = %err, "could not record the end of a restore");
        }
    }
}

/// The catalog's name for how an object was checked.
fn check_kind(outcome: &CheckOutcome) -> &'static str {
    match outcome {
        CheckOutcome::Content { .. } => "content",
        CheckOutcome::RowsPresent { .. } => "rows_present",
        CheckOutcome::Counts { .. } => "counts",
        CheckOutcome::NotChecked => "not_checked",
        CheckOutcome::Differs(_) => "differs",
    }
}

/// Whether the task may be started (or retried) from its current state.
fn check_transition(record: &RestoreRecord, retry: bool) -> Result<(), RestoreStartError> {
    let name = record.settings.name.clone();
    let state = record.state;
    let refuse = |why| RestoreStartError::WrongState {
        name: name.clone(),
        state: state.as_str(),
        why,
    };
    match (retry, state) {
        (_, RestoreState::Finished) => Err(refuse(
            "a finished restore is not run again; create a new restore task",
        )),
        (_, RestoreState::Pending | RestoreState::Running) => Err(refuse("it is already running")),
        (false, s) if !s.can_start() => Err(refuse("use Retry to run it again")),
        (true, s) if !s.can_retry() => Err(refuse(
            "only a failed or cancelled restore is retried; use Start",
        )),
        _ => Ok(()),
    }
}

fn check_verified(record: &RestoreRecord, acknowledged: bool) -> Result<(), RestoreStartError> {
    let name = record.settings.name.clone();
    if record.row.verified_fingerprint.as_deref() != Some(&record.settings.fingerprint()) {
        return Err(RestoreStartError::NotVerified(
            name,
            "run Verify first: Start needs a pre-check of these settings",
        ));
    }
    match record.row.verify_outcome.as_deref() {
        Some("pass") => Ok(()),
        Some("warn") if acknowledged => Ok(()),
        Some("warn") => Err(RestoreStartError::NotVerified(
            name,
            "the pre-check has warnings: acknowledge them to start",
        )),
        _ => Err(RestoreStartError::NotVerified(
            name,
            "the pre-check has failing items: fix them and Verify again",
        )),
    }
}
