//! Restore drills as jobs: at most one per task, planned on the spot (so a
//! task with no point yet is refused at once), run on a blocking thread,
//! their progress broadcast on the job feed (marked as drills), and their
//! figures recorded. Scheduled drills and drills after n backups start
//! here too; a failed drill and RPO/RTO breaches are logged as warnings.

mod schedule;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

use tidemark_engine::drill::{
    plan_drill, run_drill, sweep_sandboxes, DrillOptions, DrillPlan, DrillStats, PointChoice,
    SandboxChoice, SqlCheck,
};
use tidemark_engine::{CancelToken, EngineError, Repository};

use super::{Jobs, Tracker, TICK};
use crate::catalog::{Catalog, DrillOutcome, DrillRunRecord, DrillTrigger, TaskRecord};
use crate::model::{DrillPoint, JobPhase, JobProgress};

/// Why a drill did not start.
#[derive(Debug, thiserror::Error)]
pub enum DrillStartError {
    #[error("task {0} was not found")]
    NoTask(i64),
    #[error("a drill of task {0:?} is already running; wait for it to finish or stop it first")]
    AlreadyRunning(String),
    #[error("task {task:?}: {message}")]
    Unusable { task: String, message: String },
    #[error("task {task:?} cannot be drilled: {source}")]
    Refused {
        task: String,
        #[source]
        source: EngineError,
    },
    #[error("drills are not set up on this server (no scratch directory)")]
    NotSetUp,
    #[error("the server is stopping; no new drill starts")]
    ShuttingDown,
    #[error(transparent)]
    Catalog(#[from] sqlx::Error),
}

struct RunningDrill {
    run_id: i64,
    cancel: CancelToken,
    tracker: Arc<Tracker>,
    done: Arc<Notify>,
}

/// The drills part of the job registry.
#[derive(Default)]
pub(super) struct DrillJobs {
    running: Mutex<HashMap<i64, RunningDrill>>,
    scratch_dir: OnceLock<PathBuf>,
    /// Tasks whose RPO breach was logged (logged again once it recovered).
    rpo_breached: Mutex<HashSet<i64>>,
}

/// A drill whose plan was made, ready to run.
struct Planned {
    task_id: i64,
    task_name: String,
    rto_target_secs: Option<u64>,
    repo: Repository,
    plan: DrillPlan,
}

impl Jobs {
    fn drills(&self) -> &DrillJobs {
        &self.0.drills
    }

    fn running_drills(&self) -> std::sync::MutexGuard<'_, HashMap<i64, RunningDrill>> {
        self.drills()
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Where drills keep their sandbox records and scratch files
    /// (`<data dir>/drills`); set once at start-up.
    pub fn set_drill_dir(&self, dir: PathBuf) {
        let _ = self.drills().scratch_dir.set(dir);
    }

    pub fn drill_dir(&self) -> Option<&Path> {
        self.drills().scratch_dir.get().map(PathBuf::as_path)
    }

    pub fn drill_snapshots(&self) -> Vec<JobProgress> {
        self.running_drills()
            .values()
            .map(|r| r.tracker.snapshot(JobPhase::Running, None))
            .collect()
    }

    /// The live progress of the task's running drill.
    pub fn drill_live(&self, task_id: i64) -> Option<JobProgress> {
        self.running_drills()
            .get(&task_id)
            .map(|r| r.tracker.snapshot(JobPhase::Running, None))
    }

    pub fn drill_is_running(&self, task_id: i64) -> bool {
        self.running_drills().contains_key(&task_id)
    }

    /// Starts a drill of the task: of `point` when given (a Retry), else
    /// of the point its plan chooses. A drill that cannot run here (no
    /// sandbox, unusable checks) is recorded as failed with the reason.
    pub async fn start_drill(
        &self,
        task_id: i64,
        trigger: DrillTrigger,
        point: Option<String>,
    ) -> Result<DrillRunRecord, DrillStartError> {
        if *self.0.closing.borrow() {
            return Err(DrillStartError::ShuttingDown);
        }
        let scratch_dir = self
            .drill_dir()
            .ok_or(DrillStartError::NotSetUp)?
            .to_owned();
        let catalog = self.catalog();
        let task = catalog
            .task(task_id)
            .await?
            .ok_or(DrillStartError::NoTask(task_id))?;
        let name = task.settings.name.clone();
        if self.drill_is_running(task_id) {
            return Err(DrillStartError::AlreadyRunning(name));
        }
        let options = drill_options(catalog, &task, point, scratch_dir).await?;
        let repository = catalog
            .repository(task.settings.repository_id)
            .await?
            .ok_or_else(|| DrillStartError::Unusable {
                task: name.clone(),
                message: "its repository was deleted".into(),
            })?;
        let planned = tokio::task::spawn_blocking(move || {
            let repo = repository.access().open()?;
            let plan = plan_drill(&repo, &options)?;
            Ok::<_, EngineError>((repo, plan))
        })
        .await
        .unwrap_or_else(|panic| Err(stopped_unexpectedly(&panic)))
        .map_err(|source| DrillStartError::Refused {
            task: name.clone(),
            source,
        })?;
        let (repo, plan) = planned;
        let run = catalog
            .start_drill_run(task_id, trigger)
            .await?
            .ok_or_else(|| DrillStartError::AlreadyRunning(name.clone()))?;
        catalog
            .set_drill_plan(run.id, &plan.point, plan.point_finished_at, &plan.sandbox)
            .await?;
        tracing::info!(task = %name, point = %plan.point, trigger = trigger.as_str(), "restore drill started");
        if let Some(reason) = &plan.blocked {
            let outcome = blocked_outcome(&plan, reason);
            catalog.finish_drill_run(run.id, &outcome).await?;
            tracing::warn!(task = %name, error = %reason, "restore drill failed: it cannot run here");
        } else {
            let planned = Planned {
                task_id,
                task_name: name.clone(),
                rto_target_secs: task.settings.recovery.rto_target_secs,
                repo,
                plan,
            };
            let tracker = Arc::new(Tracker::for_drill(run.id, task_id, name));
            let cancel = CancelToken::new();
            let done = Arc::new(Notify::new());
            self.running_drills().insert(
                task_id,
                RunningDrill {
                    run_id: run.id,
                    cancel: cancel.clone(),
                    tracker: Arc::clone(&tracker),
                    done: Arc::clone(&done),
                },
            );
            let _ = self
                .0
                .events
                .send(tracker.snapshot(JobPhase::Running, None));
            let jobs = self.clone();
            tokio::spawn(async move {
                jobs.drive_drill(run.id, planned, tracker, cancel, done)
                    .await
            });
        }
        Ok(catalog.drill_run(run.id).await?.unwrap_or(run))
    }

    /// Asks the task's running drill to stop; its sandbox is removed.
    pub fn cancel_drill(&self, task_id: i64) -> bool {
        self.running_drills()
            .get(&task_id)
            .map(|r| r.cancel.cancel())
            .is_some()
    }

    /// Stops the task's drill (if any) and waits until it has ended.
    pub async fn stop_drill_and_wait(&self, task_id: i64) {
        let done = self.running_drills().get(&task_id).map(|r| {
            r.cancel.cancel();
            Arc::clone(&r.done)
        });
        if let Some(done) = done {
            let notified = done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.drill_is_running(task_id) {
                notified.await;
            }
        }
    }

    /// Stops every drill (server shutdown): each removes its sandbox.
    pub(super) async fn shutdown_drills(&self) {
        let ids: Vec<i64> = self.running_drills().keys().copied().collect();
        for id in ids {
            self.stop_drill_and_wait(id).await;
        }
    }

    async fn drive_drill(
        self,
        run_id: i64,
        planned: Planned,
        tracker: Arc<Tracker>,
        cancel: CancelToken,
        done: Arc<Notify>,
    ) {
        let Planned {
            task_id,
            task_name,
            rto_target_secs,
            repo,
            plan,
        } = planned;
        let mut work = {
            let (tracker, cancel) = (Arc::clone(&tracker), cancel.clone());
            tokio::task::spawn_blocking(move || run_drill(&repo, &plan, tracker.as_ref(), &cancel))
        };
        let mut ticks = tokio::time::interval(TICK);
        let result = loop {
            tokio::select! {
                joined = &mut work => break joined.unwrap_or_else(|panic| Err(stopped_unexpectedly(&panic))),
                _ = ticks.tick() => {
                    let _ = self.0.events.send(tracker.snapshot(JobPhase::Running, None));
                }
            }
        };
        let mut outcome = match result {
            Ok(stats) => stats_outcome(&stats),
            Err(err) => DrillOutcome {
                error: Some(err.to_string()),
                phases_json: "[]".into(),
                checks_json: "[]".into(),
                ..DrillOutcome::default()
            },
        };
        if cancel.is_cancelled() && !outcome.passed {
            outcome.error = Some(format!(
                "the drill was stopped before it finished ({})",
                outcome.error.as_deref().unwrap_or("cancelled")
            ));
        }
        if let Err(err) = self.catalog().finish_drill_run(run_id, &outcome).await {
            tracing::error!(run_id, error = %err, "could not record the end of a drill");
        }
        log_outcome(&task_name, &outcome, rto_target_secs);
        if !outcome.passed {
            let event = crate::notify::Event::new(
                crate::model::EventKind::DrillFailed,
                format!("Restore drill of {task_name:?} failed"),
            )
            .task(task_id)
            .detail(
                outcome
                    .error
                    .clone()
                    .unwrap_or_else(|| "a check failed".into()),
            )
            .link(format!("/backups/{task_id}/history"));
            self.notifier().emit(event).await;
        }
        let phase = if outcome.passed {
            JobPhase::Succeeded
        } else {
            JobPhase::Failed
        };
        let last = tracker.snapshot(phase, outcome.error.clone());
        {
            let mut running = self.running_drills();
            if running.get(&task_id).is_some_and(|r| r.run_id == run_id) {
                running.remove(&task_id);
            }
        }
        let _ = self.0.events.send(last);
        done.notify_waiters();
    }

    /// After a successful backup: starts the task's drill when its plan
    /// says "after every n backups" and n have succeeded since the last.
    pub(super) async fn drill_after_backup(&self, task_id: i64) {
        let catalog = self.catalog();
        let due = match catalog.task(task_id).await {
            Ok(Some(task)) => match task.settings.recovery.drill {
                crate::model::DrillMode::AfterBackups(n) => catalog
                    .backups_since_last_drill(task_id)
                    .await
                    .map(|since| since >= u64::from(n)),
                _ => Ok(false),
            },
            Ok(None) => Ok(false),
            Err(err) => Err(err),
        };
        match due {
            Ok(true) => {
                self.start_drill_logged(task_id, DrillTrigger::AfterBackups)
                    .await;
            }
            Ok(false) => {}
            Err(err) => {
                tracing::error!(task_id, error = %err, "could not read a task's drill plan")
            }
        }
    }
}

/// The engine's options for a drill of `task`.
async fn drill_options(
    catalog: &Catalog,
    task: &TaskRecord,
    point: Option<String>,
    scratch_dir: PathBuf,
) -> Result<DrillOptions, DrillStartError> {
    let recovery = &task.settings.recovery;
    let sandbox = match recovery.drill_server_id {
        None => SandboxChoice::Auto,
        Some(id) => {
            let unusable = |message: String| DrillStartError::Unusable {
                task: task.settings.name.clone(),
                message,
            };
            let server = catalog
                .source(id)
                .await?
                .filter(|s| s.drill_server)
                .ok_or_else(|| {
                    unusable(format!(
                        "its drill server (data source {id}) was deleted or is no longer marked drill server; edit the task"
                    ))
                })?;
            let url = server
                .url()
                .ok_or_else(|| unusable("its drill server has an unknown kind".into()))?;
            SandboxChoice::Server(url)
        }
    };
    Ok(DrillOptions {
        task: Some(task.settings.name.clone()),
        point: match (point, recovery.point) {
            (Some(id), _) => PointChoice::Id(id),
            (None, DrillPoint::Latest) => PointChoice::Latest,
            (None, DrillPoint::Random) => PointChoice::Random,
        },
        sandbox,
        checks: recovery
            .checks
            .iter()
            .map(|c| SqlCheck {
                sql: c.sql.clone(),
                expected: c.expected.clone(),
            })
            .collect(),
        time_limit: recovery.time_limit_secs.map(Duration::from_secs),
        scratch_dir,
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

fn stats_outcome(stats: &DrillStats) -> DrillOutcome {
    DrillOutcome {
        passed: stats.passed,
        rto_seconds: Some(stats.rto_seconds),
        seconds: Some(stats.seconds),
        bytes: stats.bytes,
        rows: stats.rows,
        objects: stats.objects,
        phases_json: json(&stats.phases),
        checks_json: json(&stats.checks),
        error: stats.error.clone(),
    }
}

/// A drill whose pre-checks failed: the failed items become its checks.
fn blocked_outcome(plan: &DrillPlan, reason: &str) -> DrillOutcome {
    let checks: Vec<tidemark_engine::drill::DrillCheck> = plan
        .prechecks
        .iter()
        .map(|c| tidemark_engine::drill::DrillCheck {
            name: format!("pre-check: {}", c.name),
            passed: c.outcome != tidemark_engine::restore::Outcome::Fail,
            detail: c.detail.clone(),
        })
        .collect();
    DrillOutcome {
        error: Some(format!("the drill cannot run here: {reason}")),
        phases_json: "[]".into(),
        checks_json: json(&checks),
        ..DrillOutcome::default()
    }
}

/// Failures and RTO breaches go to the log (and the dashboard shows them).
fn log_outcome(task: &str, outcome: &DrillOutcome, rto_target_secs: Option<u64>) {
    match (&outcome.error, outcome.passed) {
        (Some(error), false) => tracing::warn!(task, %error, "restore drill failed"),
        _ => tracing::info!(
            task,
            rto_seconds = outcome.rto_seconds.unwrap_or_default(),
            "restore drill passed"
        ),
    }
    if let (true, Some(rto), Some(target)) = (outcome.passed, outcome.rto_seconds, rto_target_secs)
    {
        if rto > target as f64 {
            tracing::warn!(
                task,
                rto_seconds = rto,
                target_seconds = target,
                "RTO target exceeded: the drill's restore took longer than the target"
            );
        }
    }
}

fn stopped_unexpectedly(panic: &tokio::task::JoinError) -> EngineError {
    EngineError::InvalidInput {
        what: "drill".into(),
        message: format!("the drill stopped unexpectedly: {panic}"),
    }
}

/// At console start: drills the last process left `running` are failed,
/// then the sandboxes of dead drills (scratch files, throwaway servers,
/// scratch databases) are removed. Returns how many runs were failed and
/// what the sweep removed.
pub async fn recover_at_start(
    catalog: &Catalog,
    scratch_dir: &Path,
) -> Result<(u64, Vec<String>), String> {
    let failed = catalog
        .fail_interrupted_drills()
        .await
        .map_err(|e| format!("cannot read the drill runs: {e}"))?;
    let dir = scratch_dir.to_owned();
    let removed = tokio::task::spawn_blocking(move || sweep_sandboxes(&dir))
        .await
        .map_err(|e| format!("the drill sandbox sweep stopped: {e}"))?
        .map_err(|e| format!("cannot remove the sandboxes of interrupted drills: {e}"))?;
    Ok((failed, removed))
}
