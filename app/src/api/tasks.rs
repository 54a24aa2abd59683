//! Backup tasks: list, save (with server-side validation), Verify, Copy,
//! Delete (optionally with its backup files), Back Up Now, enable, stop.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::TaskForm;

/// A row of the task list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub id: i64,
    pub name: String,
    pub source: String,
    pub repository: String,
    /// "Manual" or "every 6 hours".
    pub schedule: String,
    pub policy: String,
    pub enabled: bool,
    pub last_state: Option<String>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub retry_at: Option<DateTime<Utc>>,
    pub running: bool,
    /// The newest good point and the last proven one, against the targets.
    pub recovery: crate::model::RecoveryStatus,
    /// The server's time when the row was read (recovery ages count from here).
    pub checked_at: DateTime<Utc>,
}

/// A task opened for editing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEdit {
    pub id: i64,
    pub form: TaskForm,
    pub running: bool,
}

/// One line of Verify's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteReport {
    pub task: String,
    pub points_removed: u64,
    pub packs_deleted: u64,
    pub bytes_freed: u64,
    /// Packs kept because points of other tasks still use their chunks.
    pub packs_shared: u64,
}

#[cfg(feature = "ssr")]
#[path = "tasks_server.rs"]
pub mod server;

#[server(endpoint = "tasks")]
pub async fn list_tasks() -> Result<Vec<TaskRow>, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::list_tasks(&state).await
}

/// The next five runs of a cron schedule, as the task form shows them
/// while it is typed: in the schedule's zone, with the time in UTC.
#[server(endpoint = "tasks/cron")]
pub async fn cron_preview(expression: String, timezone: String) -> Result<Vec<String>, AppError> {
    use chrono::Utc;
    crate::state::allowed(crate::model::Role::Viewer).await?;
    let zone = match timezone.trim() {
        "" => "UTC",
        zone => zone,
    };
    let runs = crate::model::cron::next_runs(&expression, zone, Utc::now(), 5).map_err(|why| {
        AppError::Invalid {
            field: if why.contains("time zone") {
                "cron_timezone".into()
            } else {
                "cron_expression".into()
            },
            message: why,
        }
    })?;
    Ok(runs
        .iter()
        .map(|t| {
            format!(
                "{} ({} UTC)",
                t.format("%a %Y-%m-%d %H:%M:%S %Z"),
                t.with_timezone(&Utc).format("%Y-%m-%d %H:%M:%S")
            )
        })
        .collect())
}

#[server(endpoint = "tasks/get")]
pub async fn get_task(id: i64) -> Result<TaskEdit, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    let task = server::load_task(&state, id).await?;
    Ok(TaskEdit {
        id,
        form: task.settings.to_form(),
        running: state.jobs.is_running(id),
    })
}

/// A new task's form with the settings of task `id`, and no source or content.
#[server(endpoint = "tasks/copy")]
pub async fn copy_task(id: i64) -> Result<TaskForm, AppError> {
    let state = crate::state::allowed(crate::model::Role::Admin).await?;
    server::copy_form(&state, id).await
}

/// Creates (no `id`) or updates a task. Updating a running task needs
/// `stop_running` ("on"): the run is stopped first.
#[server(endpoint = "tasks/save")]
pub async fn save_task(
    id: Option<i64>,
    form: TaskForm,
    stop_running: Option<String>,
) -> Result<i64, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Admin).await?;
    let audit_target = form.name.clone();
    let work = async move {
        let id = server::save(&state, id, form, stop_running.is_some()).await?;
        // A form posted without JavaScript lands on the task list too.
        leptos_axum::redirect("/backups");
        Ok(id)
    };
    crate::auth::audited(
        &guard_state,
        &actor,
        "save backup task",
        &audit_target,
        work,
    )
    .await
}

/// Checks a task's settings before saving: every check with pass or fail.
#[server(endpoint = "tasks/verify")]
pub async fn verify_task(id: Option<i64>, form: TaskForm) -> Result<Vec<Check>, AppError> {
    let state = crate::state::allowed(crate::model::Role::Admin).await?;
    server::verify(&state, id, form).await
}

#[server(endpoint = "tasks/delete")]
pub async fn delete_task(id: i64, delete_files: bool) -> Result<DeleteReport, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Admin).await?;
    let audit_target = format!("task {id}, files: {delete_files}");
    let work = async move { server::delete(&state, id, delete_files).await };
    crate::auth::audited(
        &guard_state,
        &actor,
        "delete backup task",
        &audit_target,
        work,
    )
    .await
}

/// Starts a run now; refused while the task runs. Returns the run's id.
#[server(endpoint = "tasks/run")]
pub async fn backup_now(id: i64) -> Result<i64, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("task {id}");
    let work = async move {
        let run = state
            .jobs
            .start(id, crate::catalog::Trigger::Manual, false, 1)
            .await?;
        Ok(run.id)
    };
    crate::auth::audited(&guard_state, &actor, "back up now", &audit_target, work).await
}

#[server(endpoint = "tasks/enable")]
pub async fn set_task_enabled(id: i64, enabled: bool) -> Result<(), AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Admin).await?;
    let audit_target = format!("task {id}: {enabled}");
    let work = async move {
        state
            .catalog
            .set_task_enabled(id, enabled)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("task {id}")))?;
        state.jobs.wake_scheduler();
        Ok(())
    };
    crate::auth::audited(
        &guard_state,
        &actor,
        "enable or disable task",
        &audit_target,
        work,
    )
    .await
}

/// Asks a running task to stop; it ends at its next chunk, as cancelled.
#[server(endpoint = "tasks/stop")]
pub async fn stop_task(id: i64) -> Result<bool, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("task {id}");
    let work = async move { Ok(state.jobs.cancel(id).is_some()) };
    crate::auth::audited(&guard_state, &actor, "cancel backup", &audit_target, work).await
}
