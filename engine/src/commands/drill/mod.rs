//! Restore drills: restore a point into a throwaway sandbox, prove its
//! content, run the administrator's checks, measure how long it took (the
//! RTO), and throw the sandbox away.
//!
//! A drill reads the repository under a lease and never writes to it, and
//! never connects to the point's source. Sandboxes are recorded under the
//! scratch directory before anything is created, so [`sweep_sandboxes`]
//! can remove what a killed process left behind.

mod mariadb_server;
mod pg_server;
mod processes;
mod sandbox;
mod sql_check;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::precheck::{Outcome, PreCheck};
use super::restore::{self, RestoreOptions, VerifyMode};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::lease::while_leased;
use crate::repo::manifest::Manifest;
use crate::repo::Repository;

pub use sandbox::sweep_sandboxes;
pub use sql_check::SqlCheck;

use sandbox::{Sandbox, SandboxKind};

/// Which point a drill restores.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "id")]
pub enum PointChoice {
    /// The task's newest point.
    #[default]
    Latest,
    /// Any of the task's retained points, to catch old damage.
    Random,
    /// This point.
    Id(String),
}

impl std::str::FromStr for PointChoice {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim() {
            "" => Err(EngineError::invalid(
                "point",
                "give latest, random or a point id",
            )),
            "latest" => Ok(PointChoice::Latest),
            "random" => Ok(PointChoice::Random),
            id => Ok(PointChoice::Id(id.to_owned())),
        }
    }
}

/// Where a drill restores to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SandboxChoice {
    /// Files and SQLite: a scratch directory. PostgreSQL: a throwaway
    /// server started from the installed binaries.
    #[default]
    Auto,
    /// A server kept for drills (`postgres://…`, `mysql://…`,
    /// `influxdb://…`): a uniquely named scratch database is created on it
    /// and dropped afterwards. The URL's database part is not used.
    Server(String),
}

impl std::str::FromStr for SandboxChoice {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim() {
            "" | "auto" => Ok(SandboxChoice::Auto),
            url => Ok(SandboxChoice::Server(url.to_owned())),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DrillOptions {
    /// The task whose points `latest` and `random` choose from; any task
    /// when unset.
    pub task: Option<String>,
    pub point: PointChoice,
    pub sandbox: SandboxChoice,
    /// The administrator's assertions, run read-only in the sandbox.
    pub checks: Vec<SqlCheck>,
    /// The drill fails (and is cleaned up) when it takes longer.
    pub time_limit: Option<Duration>,
    /// Where sandboxes are recorded and scratch files live (the console
    /// uses `<data dir>/drills`).
    pub scratch_dir: PathBuf,
}

/// The drill as it will happen.
#[derive(Debug, Clone, Serialize)]
pub struct DrillPlan {
    pub point: String,
    pub task: String,
    pub point_finished_at: DateTime<Utc>,
    pub source_kind: String,
    /// The sandbox, in words.
    pub sandbox: String,
    pub objects: usize,
    pub bytes: u64,
    pub rows: u64,
    pub checks: Vec<SqlCheck>,
    pub time_limit_seconds: Option<u64>,
    /// Whether the drill can run here: sandbox available, checks usable.
    pub prechecks: Vec<PreCheck>,
    /// The failed pre-checks, if any: the drill cannot run.
    pub blocked: Option<String>,
    #[serde(skip)]
    kind: SandboxKind,
    #[serde(skip)]
    scratch_dir: PathBuf,
    #[serde(skip)]
    manifest: Manifest,
}

/// One step of a drill, with its timing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DrillPhase {
    /// `sandbox`, `restore`, `checks` or `cleanup`.
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub error: Option<String>,
}

/// One proof a drill ran, and what it found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DrillCheck {
    /// `content of <object>`, `rows of <object>`, or the SQL of an
    /// administrator's check.
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// What a drill found. A drill that could start always returns stats; a
/// failure is `passed: false` with the error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillStats {
    pub point: String,
    pub sandbox: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub passed: bool,
    /// The measured RTO: restoring the point and proving its content.
    pub rto_seconds: f64,
    /// The whole drill, sandbox start and cleanup included.
    pub seconds: f64,
    pub bytes: u64,
    pub rows: u64,
    pub objects: u64,
    pub phases: Vec<DrillPhase>,
    pub checks: Vec<DrillCheck>,
    pub error: Option<String>,
}

/// Chooses the point and the sandbox, and checks the drill can run.
pub fn plan_drill(repo: &Repository, options: &DrillOptions) -> Result<DrillPlan> {
    let manifest = choose_point(repo, options)?;
    let kind = SandboxKind::for_point(&manifest, &options.sandbox)?;
    let mut prechecks = kind.prechecks(&manifest);
    if !options.checks.is_empty() && !kind.runs_sql() {
        prechecks.push(PreCheck::new(
            "checks",
            Outcome::Fail,
            format!(
                "SQL checks need a database; point {} holds {} data",
                manifest.id, manifest.source.kind
            ),
        ));
    }
    for check in &options.checks {
        if let Err(err) = check.validate() {
            prechecks.push(PreCheck::new("checks", Outcome::Fail, err.to_string()));
        }
    }
    let failed: Vec<&str> = prechecks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.detail.as_str())
        .collect();
    Ok(DrillPlan {
        point: manifest.id.clone(),
        task: manifest.task.clone(),
        point_finished_at: manifest.finished_at,
        source_kind: manifest.source.kind.clone(),
        sandbox: kind.describe(),
        objects: manifest.objects.len(),
        bytes: manifest.totals.bytes,
        rows: manifest.objects.iter().filter_map(|o| o.rows).sum(),
        checks: options.checks.clone(),
        time_limit_seconds: options.time_limit.map(|d| d.as_secs()),
        blocked: (!failed.is_empty()).then(|| failed.join("; ")),
        prechecks,
        kind,
        scratch_dir: options.scratch_dir.clone(),
        manifest,
    })
}

fn choose_point(repo: &Repository, options: &DrillOptions) -> Result<Manifest> {
    let in_task = |m: &Manifest| options.task.as_deref().is_none_or(|t| m.task == t);
    let none = || {
        EngineError::invalid(
            "drill",
            match &options.task {
                Some(task) => format!("task {task:?} has no backup point yet"),
                None => "the repository has no backup point yet".into(),
            },
        )
    };
    match &options.point {
        PointChoice::Id(id) => {
            let point = repo.point(id)?;
            if !in_task(&point) {
                return Err(EngineError::invalid(
                    "drill",
                    format!("point {id} belongs to task {:?}", point.task),
                ));
            }
            Ok(point)
        }
        choice => {
            let (points, _) = repo.points()?;
            let mut points: Vec<Manifest> = points.into_iter().filter(in_task).collect();
            points.sort_by_key(|p| p.finished_at);
            if points.is_empty() {
                return Err(none());
            }
            let at = match choice {
                PointChoice::Random => {
                    rand::Rng::gen_range(&mut rand::thread_rng(), 0..points.len())
                }
                _ => points.len() - 1,
            };
            Ok(points.swap_remove(at))
        }
    }
}

/// Runs the drill: sandbox, restore with content verification, checks,
/// cleanup (always, whatever failed).
pub fn run_drill(
    repo: &Repository,
    plan: &DrillPlan,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<DrillStats> {
    if let Some(reason) = &plan.blocked {
        return Err(EngineError::invalid("drill", reason.clone()));
    }
    let started_at = Utc::now();
    let clock = Instant::now();
    let limit = plan.time_limit_seconds.map(Duration::from_secs);
    let mut run = DrillRun {
        deadline: limit.map(|l| clock + l),
        ..Default::default()
    };
    // The drill's own token: the caller's cancel or the time limit.
    let stop = CancelToken::new();
    let finished = CancelToken::new();
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| watch(cancel, &stop, &finished, limit));
        let outcome = while_leased(repo, &plan.point, "drill", || {
            drill_in_sandbox(repo, plan, progress, &stop, &mut run)
        });
        finished.cancel();
        outcome
    });
    let timed_out = limit.is_some_and(|l| clock.elapsed() >= l) && !cancel.is_cancelled();
    let mut error = outcome.err().map(|e| {
        if timed_out {
            format!(
                "the drill took longer than its time limit of {} s",
                limit.map_or(0, |l| l.as_secs())
            )
        } else {
            e.to_string()
        }
    });
    if error.is_none() {
        if let Some(failed) = run.checks.iter().find(|c| !c.passed) {
            error = Some(format!("{}: {}", failed.name, failed.detail));
        }
    }
    Ok(DrillStats {
        point: plan.point.clone(),
        sandbox: plan.sandbox.clone(),
        started_at,
        finished_at: Utc::now(),
        passed: error.is_none(),
        rto_seconds: run.rto_seconds,
        seconds: clock.elapsed().as_secs_f64(),
        bytes: run.bytes,
        rows: run.rows,
        objects: run.objects,
        phases: run.phases,
        checks: run.checks,
        error,
    })
}

/// Cancels `stop` when the caller cancels or the time limit passes.
fn watch(
    cancel: &CancelToken,
    stop: &CancelToken,
    finished: &CancelToken,
    limit: Option<Duration>,
) {
    let start = Instant::now();
    while !finished.is_cancelled() {
        if cancel.is_cancelled() || limit.is_some_and(|l| start.elapsed() > l) {
            stop.cancel();
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[derive(Default)]
struct DrillRun {
    /// No phase starts after this (the watcher stops one under way).
    deadline: Option<Instant>,
    phases: Vec<DrillPhase>,
    checks: Vec<DrillCheck>,
    rto_seconds: f64,
    bytes: u64,
    rows: u64,
    objects: u64,
}

impl DrillRun {
    /// Runs one phase, recording its timing and error.
    fn phase<T>(&mut self, name: &str, body: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let started_at = Utc::now();
        // Cleanup always runs; any other phase only within the time limit.
        let late = name != "cleanup" && self.deadline.is_some_and(|d| Instant::now() >= d);
        let result = if late {
            Err(EngineError::Cancelled)
        } else {
            body(self)
        };
        self.phases.push(DrillPhase {
            name: name.into(),
            started_at,
            finished_at: Utc::now(),
            error: result.as_ref().err().map(|e| e.to_string()),
        });
        result
    }
}

fn drill_in_sandbox(
    repo: &Repository,
    plan: &DrillPlan,
    progress: &dyn Progress,
    cancel: &CancelToken,
    run: &mut DrillRun,
) -> Result<()> {
    let sandbox = run.phase("sandbox", |_| {
        Sandbox::create(&plan.kind, &plan.scratch_dir, cancel)
    })?;
    let result = restore_and_check(repo, plan, &sandbox, progress, cancel, run);
    let cleaned = run.phase("cleanup", |_| sandbox.remove());
    result.and(cleaned)
}

fn restore_and_check(
    repo: &Repository,
    plan: &DrillPlan,
    sandbox: &Sandbox,
    progress: &dyn Progress,
    cancel: &CancelToken,
    run: &mut DrillRun,
) -> Result<()> {
    let clock = Instant::now();
    let stats = run.phase("restore", |_| {
        let mut target = sandbox.target()?;
        let options = RestoreOptions {
            verify: VerifyMode::Content,
            ..Default::default()
        };
        let restore_plan = restore::plan_restore(&plan.manifest, target.as_ref(), &options)?;
        if let Some(reason) = &restore_plan.blocked {
            return Err(EngineError::Conflict(reason.clone()));
        }
        // The lease is the drill's own (held around the whole drill).
        restore::restore_leased(repo, &restore_plan, target.as_mut(), progress, cancel)
    })?;
    run.rto_seconds = clock.elapsed().as_secs_f64();
    run.bytes = stats.bytes;
    run.rows = stats.rows;
    run.objects = stats.restored;
    run.phase("checks", |run| {
        for check in &stats.checks {
            if let Some(proof) = content_proof(&check.outcome) {
                run.checks.push(DrillCheck {
                    name: format!("content of {}", check.name),
                    passed: proof.is_ok(),
                    detail: proof.unwrap_or_else(|e| e),
                });
            }
        }
        for (object, reason) in &stats.failed {
            run.checks.push(DrillCheck {
                name: format!("restore of {object}"),
                passed: false,
                detail: reason.clone(),
            });
        }
        for check in &plan.checks {
            cancel.check()?;
            let (passed, detail) = match sandbox.query(&check.sql) {
                Ok(value) if value == check.expected.trim() => {
                    (true, format!("returned {value:?}"))
                }
                Ok(value) => (
                    false,
                    format!("returned {value:?}, expected {:?}", check.expected.trim()),
                ),
                Err(err) => (false, err.to_string()),
            };
            run.checks.push(DrillCheck {
                name: check.sql.clone(),
                passed,
                detail,
            });
        }
        Ok(())
    })
}

/// What a restore's read-back proved about one object: `Ok(how)` or
/// `Err(what differs)`; `None` for objects not read back (directories,
/// structure).
fn content_proof(outcome: &restore::CheckOutcome) -> Option<std::result::Result<String, String>> {
    use restore::CheckOutcome::*;
    match outcome {
        Content { rows: Some(rows) } => Some(Ok(format!(
            "every value of {rows} rows read back and equal"
        ))),
        Content { rows: None } => Some(Ok("read back and equal, byte for byte".into())),
        RowsPresent { rows } => Some(Ok(format!("all {rows} rows present"))),
        Counts { why } => Some(Ok(format!("row counts and time spans equal ({why})"))),
        Differs(how) => Some(Err(how.clone())),
        NotChecked => None,
    }
}

#[cfg(test)]
mod tests;
