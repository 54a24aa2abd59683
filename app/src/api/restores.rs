//! Restore tasks: recovery points read from the repository, the data
//! configuration, Verify (the engine's pre-check) and Preview (its plan),
//! create, Start, Retry, Cancel, Delete, and each task's detail.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{PhaseTimes, PitrPreview, PitrResult, RestoreForm, RestoreProgress};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreRow {
    pub id: i64,
    pub name: String,
    pub task_id: Option<i64>,
    pub task_name: String,
    pub point_id: String,
    pub target: String,
    pub state: String,
    pub phase: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// What kind of failure `error` is, for the page to head it with.
    #[serde(default)]
    pub error_kind: Option<String>,
    /// Bytes the last attempt had to load and loaded.
    pub bytes_total: u64,
    pub bytes_loaded: u64,
}

/// A backup point of a task, as the repository holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRow {
    pub id: String,
    pub mode: String,
    pub finished_at: DateTime<Utc>,
    /// The full point the chain of this point starts from.
    pub chain_start: String,
    /// Points in the chain from `chain_start` up to this one.
    pub chain_length: usize,
    pub objects: u64,
    pub bytes: u64,
    /// The binary log coordinates of its snapshot (MariaDB sources with
    /// log_bin on): "binlog.000003:1210, GTID 0-1-41".
    #[serde(default)]
    pub log_position: Option<String>,
    /// The repositories holding it: the task's own first, then copy jobs'
    /// destinations.
    #[serde(default)]
    pub locations: Vec<PointLocation>,
}

/// A repository a point is stored in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointLocation {
    pub repository_id: i64,
    pub repository_name: String,
    /// A copy job's destination, not the task's own repository.
    pub copy: bool,
}

/// A task's points, and the repositories that could not be read for them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PointList {
    pub points: Vec<PointRow>,
    /// "name: why" of each repository that could not be read.
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointObject {
    pub name: String,
    pub kind: String,
    pub size: u64,
    pub rows: Option<u64>,
    pub time_min: Option<String>,
    pub time_max: Option<String>,
}

/// Where a backup of this task can go back to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetChoices {
    /// The backup's source kind, e.g. `sqlite`.
    pub kind: String,
    /// Whether a new path is possible (file trees and SQLite).
    pub path_allowed: bool,
    /// Data sources of the same kind: id, name, location.
    pub sources: Vec<(i64, String, String)>,
    /// A cluster: the PostgreSQL data sources a database of the recovered
    /// cluster can be extracted into.
    pub extract_sources: Vec<(i64, String, String)>,
    pub original_source_id: i64,
    /// Directories a new path must lie below.
    pub restore_roots: Vec<String>,
    /// Whether admins may also restore elsewhere.
    pub admin_anywhere: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckItem {
    pub name: String,
    /// `pass`, `warn` or `fail`.
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRow {
    pub name: String,
    pub target_name: String,
    pub kind: String,
    /// create, overwrite, load into existing, skip.
    pub action: String,
    pub bytes: u64,
    pub rows: Option<u64>,
    pub range: Option<String>,
}

/// Verify's items and Preview's plan, from one engine planning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestorePreview {
    pub checks: Vec<CheckItem>,
    /// `pass`, `warn` or `fail`: the worst item.
    pub outcome: String,
    pub target: String,
    pub objects: Vec<PlannedRow>,
    pub bytes: u64,
    pub rows: u64,
    pub estimated_secs: f64,
    /// A restore to a second: the engine's plan of base point and replay.
    #[serde(default)]
    pub pitr: Option<PitrPreview>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreObjectState {
    pub name: String,
    pub target_name: String,
    pub action: String,
    pub bytes: u64,
    pub rows: Option<u64>,
    pub state: String,
    pub error: Option<String>,
    /// How it compared with the point when read back (`content`,
    /// `rows_present`, `counts`, `not_checked`, `differs`), and what the
    /// check said; none before it was checked.
    pub check_result: Option<String>,
    pub check_detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreDetail {
    pub row: RestoreRow,
    pub form: RestoreForm,
    pub attempt: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub timeout_min: u32,
    pub checks: Vec<CheckItem>,
    pub verify_outcome: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    /// The last Verify checked exactly the current settings.
    pub verified_current: bool,
    pub phases: Vec<PhaseTimes>,
    pub objects: Vec<RestoreObjectState>,
    pub bytes_total: u64,
    pub bytes_loaded: u64,
    pub rows_total: u64,
    pub rows_loaded: u64,
    /// Live figures while it runs.
    pub live: Option<RestoreProgress>,
    /// A restore to a second that ran: the replay's figures.
    #[serde(default)]
    pub pitr_result: Option<PitrResult>,
    /// A PostgreSQL cluster recovered by the server from its WAL.
    #[serde(default)]
    pub cluster: bool,
    /// The repository the point is read from; empty when the task is gone.
    #[serde(default)]
    pub read_from: String,
    /// Whether that repository is a copy job's destination.
    #[serde(default)]
    pub read_from_copy: bool,
}

#[cfg(feature = "ssr")]
#[path = "restores_server.rs"]
pub mod server;

#[server(endpoint = "restores")]
pub async fn list_restores() -> Result<Vec<RestoreRow>, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::list(&state).await
}

/// The task's points, read from its repository and from the destinations of
/// copy jobs from it (points written by the CLI or another console are
/// listed too), newest first.
#[server(endpoint = "restores/points")]
pub async fn recovery_points(task_id: i64) -> Result<PointList, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::points(&state, task_id).await
}

#[server(endpoint = "restores/objects")]
pub async fn point_objects(
    task_id: i64,
    point_id: String,
    repository_id: Option<i64>,
) -> Result<Vec<PointObject>, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::objects(&state, task_id, point_id, repository_id).await
}

#[server(endpoint = "restores/targets")]
pub async fn restore_targets(task_id: i64) -> Result<TargetChoices, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::targets(&state, task_id).await
}

/// A new restore task's form, from a history record when given; with
/// `select` (names, a line each, from Browse), only those objects and what
/// lies below the folders among them are selected.
#[server(endpoint = "restores/new")]
pub async fn new_restore_form(
    task_id: Option<i64>,
    point_id: Option<String>,
    select: Option<String>,
) -> Result<RestoreForm, AppError> {
    let state = crate::state::allowed(crate::model::Role::Operator).await?;
    let mut form = server::new_form(&state, task_id, point_id).await?;
    if let Some(select) = select.filter(|s| !s.trim().is_empty()) {
        let names: Vec<&str> = select.lines().filter(|l| !l.is_empty()).collect();
        form.select_only(&names);
    }
    Ok(form)
}

/// Verify and Preview of a form not yet saved.
#[server(endpoint = "restores/check")]
pub async fn check_restore(form: RestoreForm) -> Result<RestorePreview, AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Operator).await?;
    let settings = server::validate(&state, &form, true, actor.role).await?;
    server::check(&state, &settings, actor.role).await
}

/// Saves the restore task and records a Verify of it; returns its id.
#[server(endpoint = "restores/create")]
pub async fn create_restore(form: RestoreForm) -> Result<i64, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = form.name.clone();
    let role = actor.role;
    let work = async move { server::create(&state, form, role).await };
    crate::auth::audited(
        &guard_state,
        &actor,
        "create restore task",
        &audit_target,
        work,
    )
    .await
}

/// Runs the pre-check of a saved task again and records it.
#[server(endpoint = "restores/verify")]
pub async fn verify_restore(id: i64) -> Result<RestorePreview, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("restore {id}");
    let role = actor.role;
    let work = async move { server::verify_saved(&state, id, role).await };
    crate::auth::audited(
        &guard_state,
        &actor,
        "verify restore task",
        &audit_target,
        work,
    )
    .await
}

#[server(endpoint = "restores/get")]
pub async fn get_restore(id: i64) -> Result<RestoreDetail, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::detail(&state, id).await
}

/// Starts a restore task never run. Warnings of its Verify must be acknowledged.
#[server(endpoint = "restores/start")]
pub async fn start_restore(id: i64, acknowledge_warnings: bool) -> Result<(), AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("restore {id}");
    let role = actor.role;
    let work = async move { server::start(&state, id, false, acknowledge_warnings, role).await };
    crate::auth::audited(&guard_state, &actor, "start restore", &audit_target, work).await
}

/// Runs a failed or cancelled restore again; a finished one is refused.
#[server(endpoint = "restores/retry")]
pub async fn retry_restore(id: i64, acknowledge_warnings: bool) -> Result<(), AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("restore {id}");
    let role = actor.role;
    let work = async move { server::start(&state, id, true, acknowledge_warnings, role).await };
    crate::auth::audited(&guard_state, &actor, "retry restore", &audit_target, work).await
}

/// Stops a running restore; the target is left as it was before it began.
#[server(endpoint = "restores/cancel")]
pub async fn cancel_restore(id: i64) -> Result<bool, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("restore {id}");
    let work = async move { Ok(state.jobs.restores().cancel(id)) };
    crate::auth::audited(&guard_state, &actor, "cancel restore", &audit_target, work).await
}

#[server(endpoint = "restores/delete")]
pub async fn delete_restore(id: i64) -> Result<(), AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = format!("restore {id}");
    let work = async move { server::delete(&state, id).await };
    crate::auth::audited(
        &guard_state,
        &actor,
        "delete restore task",
        &audit_target,
        work,
    )
    .await
}
