//! Running backup jobs: at most one per task, each on a blocking thread,
//! its progress broadcast to every browser watching. The scheduler starts
//! jobs the same way Back Up Now does.

pub mod archivers;
mod backup_run;
pub mod copy_jobs;
pub mod drills;
pub mod events;
#[cfg(test)]
mod jobs_tests;
pub mod repo_checks;
pub mod restore;
pub mod scheduler;
mod tracker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, Notify};
use tokio::task::JoinHandle;

use tidemark_engine::{CancelToken, EngineError};

pub use backup_run::RunSpec;
pub use tracker::Tracker;

use crate::catalog::{Catalog, RunOutcome, RunRecord, Trigger};
use crate::model::{EventKind, JobPhase, JobProgress, JobText, RunState};
use crate::notify::Event;

/// Why a job did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("task {0} was not found")]
    NoTask(i64),
    #[error("task {0:?} is already running; wait for it to finish or stop it first")]
    AlreadyRunning(String),
    #[error("task {task:?}: {message}")]
    Unusable { task: String, message: String },
    #[error("the server is stopping; no new backup starts")]
    ShuttingDown,
    #[error(transparent)]
    Catalog(#[from] sqlx::Error),
}

struct Running {
    run_id: i64,
    cancel: CancelToken,
    tracker: Arc<Tracker>,
    done: Arc<Notify>,
}

struct Inner {
    catalog: Catalog,
    running: Mutex<HashMap<i64, Running>>,
    events: broadcast::Sender<JobProgress>,
    /// Wakes the scheduler when tasks change.
    pub(crate) wake: Notify,
    /// Turns true when the server begins to stop.
    closing: tokio::sync::watch::Sender<bool>,
    /// One writing run per repository (by location): the engine's writer
    /// lock refuses a second writer, so runs of other tasks into the same
    /// repository wait for their turn here instead of failing.
    repositories: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    restores: restore::RestoreJobs,
    drills: drills::DrillJobs,
    archivers: archivers::Archivers,
    notifier: crate::notify::Notifier,
}

/// The server's job registry; cheap to clone.
#[derive(Clone)]
pub struct Jobs(Arc<Inner>);

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").finish_non_exhaustive()
    }
}

/// How often a running job's progress is sent.
const TICK: Duration = Duration::from_millis(500);

impl Jobs {
    pub fn new(catalog: Catalog) -> Self {
        let (events, _) = broadcast::channel(256);
        let notifier = crate::notify::Notifier::new(catalog.clone());
        Jobs(Arc::new(Inner {
            catalog: catalog.clone(),
            running: Mutex::new(HashMap::new()),
            events,
            wake: Notify::new(),
            closing: tokio::sync::watch::Sender::new(false),
            repositories: Mutex::new(HashMap::new()),
            restores: restore::RestoreJobs::new(catalog.clone(), notifier.clone()),
            drills: drills::DrillJobs::default(),
            archivers: archivers::Archivers::default(),
            notifier,
        }))
    }

    /// Where jobs report what administrators are told.
    pub fn notifier(&self) -> &crate::notify::Notifier {
        &self.0.notifier
    }

    pub fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    /// The restore jobs, which stop with the backup jobs.
    pub fn restores(&self) -> &restore::RestoreJobs {
        &self.0.restores
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobProgress> {
        self.0.events.subscribe()
    }

    /// The server is stopping: event streams end and no job starts.
    pub fn close(&self) {
        self.0.closing.send_replace(true);
        self.0.restores.close();
    }

    /// Resolves once [`Jobs::close`] was called.
    pub async fn closed(&self) {
        let mut closing = self.0.closing.subscribe();
        let _ = closing.wait_for(|c| *c).await;
    }

    /// Asks the scheduler to look at the tasks again (one was saved).
    pub fn wake_scheduler(&self) {
        self.0.wake.notify_one();
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Running>> {
        self.0.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The progress of every running job: backups, then drills.
    pub fn snapshots(&self) -> Vec<JobProgress> {
        let mut all: Vec<JobProgress> = self
            .running()
            .values()
            .map(|r| r.tracker.snapshot(JobPhase::Running, None))
            .collect();
        all.extend(self.drill_snapshots());
        all
    }

    pub fn is_running(&self, task_id: i64) -> bool {
        self.running().contains_key(&task_id)
    }

    /// Starts a backup of the task now. Refused while the task already runs.
    pub async fn start(
        &self,
        task_id: i64,
        trigger: Trigger,
        late: bool,
        attempt: u32,
    ) -> Result<RunRecord, StartError> {
        if *self.0.closing.borrow() {
            return Err(StartError::ShuttingDown);
        }
        let catalog = self.catalog();
        let task = catalog
            .task(task_id)
            .await?
            .ok_or(StartError::NoTask(task_id))?;
        let name = task.settings.name.clone();
        let unusable = |message: &str| StartError::Unusable {
            task: name.clone(),
            message: message.to_owned(),
        };
        let source = catalog
            .source(task.settings.source_id)
            .await?
            .ok_or_else(|| unusable("its data source was deleted"))?;
        let source_url = source
            .url()
            .ok_or_else(|| unusable("its data source has a kind this server cannot read"))?;
        let repository = catalog
            .repository(task.settings.repository_id)
            .await?
            .ok_or_else(|| unusable("its repository was deleted"))?;
        let full = task
            .settings
            .next_run_is_full(catalog.incrementals_since_full(task_id).await?);
        let run = catalog
            .start_run(task_id, trigger, late, attempt)
            .await?
            .ok_or_else(|| StartError::AlreadyRunning(name.clone()))?;
        let spec = RunSpec {
            settings: task.settings,
            source_url,
            repository: repository.access(),
            full,
            repository_upload: repository.upload_limit(),
        };
        let tracker = Arc::new(Tracker::new(run.id, task_id, name.clone()));
        let cancel = CancelToken::new();
        let done = Arc::new(Notify::new());
        self.running().insert(
            task_id,
            Running {
                run_id: run.id,
                cancel: cancel.clone(),
                tracker: Arc::clone(&tracker),
                done: Arc::clone(&done),
            },
        );
        let late_note = if late {
            " (late: missed while the server was down)"
        } else {
            ""
        };
        if late {
            let event = Event::new(EventKind::BackupLate, format!("Backup of {name:?} ran late"))
                .task(task_id)
                .detail("a scheduled run was missed (the server was not running at its time) and ran at start-up")
                .link(format!("/runs/{}", run.id));
            self.notifier().emit(event).await;
        }
        let started = JobText::new(if late {
            "run_started_late"
        } else {
            "run_started"
        })
        .arg("trigger", trigger.as_str())
        .arg("attempt", attempt);
        self.log(
            run.id,
            "info",
            &format!(
                "run started by {}{late_note}, attempt {attempt}",
                trigger.as_str()
            ),
            Some(started),
        )
        .await;
        let jobs = self.clone();
        tokio::spawn(async move {
            jobs.drive(task_id, run.id, spec, tracker, cancel, done)
                .await
        });
        Ok(run)
    }

    /// Asks a task's running job to stop; returns its run id if one ran.
    pub fn cancel(&self, task_id: i64) -> Option<i64> {
        self.running().get(&task_id).map(|r| {
            r.cancel.cancel();
            r.run_id
        })
    }

    /// Stops a task's job (if any) and waits until it has ended.
    pub async fn stop_and_wait(&self, task_id: i64) {
        let done = self.running().get(&task_id).map(|r| {
            r.cancel.cancel();
            Arc::clone(&r.done)
        });
        if let Some(done) = done {
            let notified = done.notified();
            tokio::pin!(notified);
            // Registered before the check, so an end in between is not missed.
            notified.as_mut().enable();
            if self.is_running(task_id) {
                notified.await;
            }
        }
    }

    /// Cancels every job and waits for them (server shutdown).
    pub async fn shutdown(&self) {
        let ids: Vec<i64> = self.running().keys().copied().collect();
        for id in ids {
            self.stop_and_wait(id).await;
        }
        self.shutdown_drills().await;
        self.shutdown_archivers().await;
        self.0.restores.shutdown().await;
    }

    /// The turn-taking lock of the repository at `location`.
    fn repository_gate(&self, location: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self
            .0
            .repositories
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Arc::clone(gates.entry(location.to_owned()).or_default())
    }

    /// Waits until no other run of this server writes to the repository;
    /// a cancel ends the wait.
    async fn wait_for_repository(
        &self,
        run_id: i64,
        gate: Arc<tokio::sync::Mutex<()>>,
        tracker: &Tracker,
        cancel: &CancelToken,
    ) -> Result<tokio::sync::OwnedMutexGuard<()>, EngineError> {
        if let Ok(turn) = Arc::clone(&gate).try_lock_owned() {
            return Ok(turn);
        }
        tidemark_engine::Progress::set_title(tracker, "waiting for the repository");
        self.log(
            run_id,
            "info",
            "waiting for another run to finish writing to the repository",
            Some(JobText::new("waiting_for_repository")),
        )
        .await;
        let turn = gate.lock_owned();
        tokio::pin!(turn);
        let mut poll = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                turn = &mut turn => return Ok(turn),
                _ = poll.tick() => cancel.check()?,
            }
        }
    }

    async fn log(&self, run_id: i64, level: &str, message: &str, text: Option<JobText>) {
        let added = self
            .catalog()
            .add_run_log(run_id, level, message, text.as_ref())
            .await;
        if let Err(err) = added {
            tracing::warn!(run_id, error = %err, "could not record a run log line");
        }
    }

    async fn drive(
        self,
        task_id: i64,
        run_id: i64,
        spec: RunSpec,
        tracker: Arc<Tracker>,
        cancel: CancelToken,
        done: Arc<Notify>,
    ) {
        let handle = tokio::runtime::Handle::current();
        let work = {
            let tracker = Arc::clone(&tracker);
            let spec = spec.clone();
            let log = CatalogLog {
                catalog: self.catalog().clone(),
                run_id,
                handle,
            };
            let jobs = self.clone();
            let gate = self.repository_gate(spec.repository.location());
            tokio::spawn(async move {
                // Held until the backup and its retention are done.
                let _turn = jobs
                    .wait_for_repository(run_id, gate, &tracker, &cancel)
                    .await?;
                tokio::task::spawn_blocking(move || {
                    backup_run::execute(&spec, &tracker, &cancel, &log)
                })
                .await
                .unwrap_or_else(|panic| Err(stopped_unexpectedly(&panic)))
            })
        };
        let result = self.tick_until_done(&tracker, work).await;
        let (state, outcome, error, error_kind) = match result {
            Ok(stats) => (
                RunState::Succeeded,
                RunOutcome {
                    objects: stats.objects,
                    bytes: stats.bytes,
                    bytes_stored: stats.totals.new_bytes_stored,
                    chunks: stats.totals.chunks,
                    new_chunks: stats.totals.new_chunks,
                },
                None,
                None,
            ),
            Err(EngineError::Cancelled) => (RunState::Cancelled, RunOutcome::default(), None, None),
            Err(err) => (
                RunState::Failed,
                RunOutcome::default(),
                Some(err.to_string()),
                Some(err.kind()),
            ),
        };
        match &error {
            Some(message) => self.log(run_id, "error", message, None).await,
            None => {
                let finished = JobText::new("run_finished").arg("state", state.as_str());
                self.log(
                    run_id,
                    "info",
                    &format!("run {}", state.as_str()),
                    Some(finished),
                )
                .await
            }
        }
        let recorded_error = error.as_deref().map(|e| (error_kind.unwrap_or("other"), e));
        if let Err(err) = self
            .catalog()
            .finish_run(run_id, state, &outcome, recorded_error)
            .await
        {
            tracing::error!(run_id, error = %err, "could not record the end of a run");
        }
        self.after_run(task_id, run_id, &spec, state).await;
        self.notify_end(
            task_id,
            run_id,
            &spec.settings.name,
            state,
            &outcome,
            error.as_deref(),
        )
        .await;
        let phase = match state {
            RunState::Succeeded => JobPhase::Succeeded,
            RunState::Cancelled => JobPhase::Cancelled,
            _ => JobPhase::Failed,
        };
        let last = tracker.snapshot(phase, error);
        {
            // The catalog let a new run of the task start as soon as this
            // one was recorded as finished; that run stays registered.
            let mut running = self.running();
            if running.get(&task_id).is_some_and(|r| r.run_id == run_id) {
                running.remove(&task_id);
            }
        }
        let _ = self.0.events.send(last);
        done.notify_waiters();
        self.wake_scheduler();
        if state == RunState::Succeeded {
            self.drill_after_backup(task_id).await;
        }
    }

    async fn tick_until_done(
        &self,
        tracker: &Tracker,
        mut work: JoinHandle<Result<tidemark_engine::backup::BackupStats, EngineError>>,
    ) -> Result<tidemark_engine::backup::BackupStats, EngineError> {
        let mut ticks = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                joined = &mut work => {
                    return joined.unwrap_or_else(|panic| Err(stopped_unexpectedly(&panic)));
                }
                _ = ticks.tick() => {
                    // No receivers is fine: nobody is watching.
                    let _ = self.0.events.send(tracker.snapshot(JobPhase::Running, None));
                }
            }
        }
    }

    /// Tells the channels how a run ended (a cancel is the user's own doing).
    async fn notify_end(
        &self,
        task_id: i64,
        run_id: i64,
        task: &str,
        state: RunState,
        outcome: &RunOutcome,
        error: Option<&str>,
    ) {
        let event = match state {
            RunState::Succeeded => Event::new(
                EventKind::BackupSucceeded,
                format!("Backup of {task:?} succeeded"),
            )
            .detail(format!(
                "{} objects, {} read, {} newly stored",
                outcome.objects,
                crate::model::human_bytes(outcome.bytes),
                crate::model::human_bytes(outcome.bytes_stored)
            )),
            RunState::Failed => Event::new(
                EventKind::BackupFailed,
                format!("Backup of {task:?} failed"),
            )
            .detail(error.unwrap_or("the run failed")),
            _ => return,
        };
        self.notifier()
            .emit(event.task(task_id).link(format!("/runs/{run_id}")))
            .await;
    }

    /// Retries a failed run per the task's settings, or clears a retry.
    async fn after_run(&self, task_id: i64, run_id: i64, spec: &RunSpec, state: RunState) {
        let catalog = self.catalog();
        let attempt = match catalog.run(run_id).await {
            Ok(Some(run)) => u32::try_from(run.attempt).unwrap_or(1),
            _ => 1,
        };
        let retry =
            (state == RunState::Failed && attempt <= spec.settings.retry_count).then(|| {
                let at = Utc::now()
                    + chrono::Duration::minutes(i64::from(spec.settings.retry_interval_min));
                (at, attempt + 1)
            });
        if let Some((at, next)) = retry {
            let (total, at) = (
                spec.settings.retry_count + 1,
                at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            );
            let text = JobText::new("retry_scheduled")
                .arg("next", next)
                .arg("total", total)
                .arg("at", &at);
            self.log(
                run_id,
                "info",
                &format!("attempt {next} of {total} scheduled at {at}"),
                Some(text),
            )
            .await;
        }
        if let Err(err) = catalog.set_retry(task_id, retry).await {
            tracing::error!(task_id, error = %err, "could not record the retry of a failed run");
        }
    }
}

fn stopped_unexpectedly(panic: &tokio::task::JoinError) -> EngineError {
    EngineError::InvalidInput {
        what: "backup".into(),
        message: format!("the backup stopped unexpectedly: {panic}"),
    }
}

/// Writes run log lines and the plan to the catalog from the blocking thread.
struct CatalogLog {
    catalog: Catalog,
    run_id: i64,
    handle: tokio::runtime::Handle,
}

impl backup_run::RunLog for CatalogLog {
    fn line(&self, level: &str, message: &str, text: Option<JobText>) {
        let added = self.handle.block_on(self.catalog.add_run_log(
            self.run_id,
            level,
            message,
            text.as_ref(),
        ));
        if let Err(err) = added {
            tracing::warn!(run_id = self.run_id, error = %err, "could not record a run log line");
        }
    }

    fn planned(&self, mode: &str, point: &str, backup_path: &str) {
        let recorded =
            self.handle.block_on(
                self.catalog
                    .set_run_plan(self.run_id, mode, point, backup_path),
            );
        if let Err(err) = recorded {
            tracing::warn!(run_id = self.run_id, error = %err, "could not record a run's plan");
        }
    }
}
