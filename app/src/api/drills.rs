//! Restore drills of a task: its runs with phases and checks, its RPO/RTO
//! figures, Run drill now, Retry and Stop (operator role or above).

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{JobProgress, RecoveryStatus};

/// One step of a drill (the engine's record of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillPhaseView {
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub error: Option<String>,
}

/// One proof a drill ran, and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillCheckView {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillRunView {
    pub id: i64,
    pub task_id: i64,
    pub trigger: String,
    /// `running`, `passed` or `failed`.
    pub status: String,
    pub point: Option<String>,
    pub point_finished_at: Option<DateTime<Utc>>,
    pub sandbox: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub rto_seconds: Option<f64>,
    pub seconds: Option<f64>,
    pub bytes: i64,
    pub rows: i64,
    pub objects: i64,
    pub phases: Vec<DrillPhaseView>,
    pub checks: Vec<DrillCheckView>,
    pub error: Option<String>,
}

/// What the task page shows about drills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillsPage {
    pub task_id: i64,
    pub task_name: String,
    /// The drill plan in words ("after every 3 backups").
    pub plan: String,
    pub recovery: RecoveryStatus,
    /// The server's time when this was read (the page's clock starts here).
    pub checked_at: DateTime<Utc>,
    /// Newest first, at most [`DRILLS_SHOWN`].
    pub runs: Vec<DrillRunView>,
    pub running: Option<JobProgress>,
}

pub const DRILLS_SHOWN: u32 = 20;

#[cfg(feature = "ssr")]
#[path = "drills_server.rs"]
pub mod server;

#[server(endpoint = "drills")]
pub async fn task_drills(task_id: i64) -> Result<DrillsPage, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::task_drills(&state, task_id).await
}

/// Starts a drill of the task now; returns the drill run's id.
#[server(endpoint = "drills/run")]
pub async fn run_drill_now(task_id: i64) -> Result<i64, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("task {task_id}");
    let work = async move {
        let run = state
            .jobs
            .start_drill(task_id, crate::catalog::DrillTrigger::Manual, None)
            .await?;
        Ok(run.id)
    };
    crate::auth::audited(&guard_state, &actor, "run drill", &audit_target, work).await
}

/// Drills the point of a failed drill run again; returns the new run's id.
#[server(endpoint = "drills/retry")]
pub async fn retry_drill(run_id: i64) -> Result<i64, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("drill run {run_id}");
    let work = async move { server::retry(&state, run_id).await };
    crate::auth::audited(&guard_state, &actor, "retry drill", &audit_target, work).await
}

/// Asks the task's running drill to stop; its sandbox is removed.
#[server(endpoint = "drills/stop")]
pub async fn stop_drill(task_id: i64) -> Result<bool, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("task {task_id}");
    let work = async move { Ok(state.jobs.cancel_drill(task_id)) };
    crate::auth::audited(&guard_state, &actor, "stop drill", &audit_target, work).await
}
