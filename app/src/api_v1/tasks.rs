//! Backup tasks: list and read them, start a backup and follow its run,
//! cancel it, list a task's runs, points and drills.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;

use super::dto::{CancelResult, DrillReport, Point, Run, RunDetail, RunPage, RunsQuery, Task};
use super::{located, ApiResult, Caller, Id, PREFIX};
use crate::error::AppError;
use crate::model::Role;
use crate::state::AppState;

/// Every backup task with its last run and recovery position.
#[utoipa::path(get, path = "/api/v1/tasks", operation_id = "list_tasks", tag = "tasks",
    responses(
        (status = 200, description = "Every backup task", body = [Task]),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Task>>> {
    caller.allowed(Role::Viewer)?;
    let rows = crate::api::tasks::server::list_tasks(&state).await?;
    Ok(Json(rows.into_iter().map(Task::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", operation_id = "get_task", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The task", body = Task),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 404, description = "No such task", body = super::dto::ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<Json<Task>> {
    caller.allowed(Role::Viewer)?;
    let row = crate::api::tasks::server::list_tasks(&state)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| AppError::NotFound(format!("task {id}")))?;
    Ok(Json(row.into()))
}

/// Back Up Now: the run starts at once; follow it at its `Location`.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/runs", operation_id = "start_backup", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    responses(
        (status = 202, description = "The run, started", body = Run,
            headers(("Location" = String, description = "The run's address"))),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 403, description = "The token's role is below operator", body = super::dto::ErrorBody),
        (status = 404, description = "No such task", body = super::dto::ErrorBody),
        (status = 409, description = "The task is running already, or cannot run now (its source or repository unusable)", body = super::dto::ErrorBody),
    ))]
pub async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<Response> {
    let actor = caller.allowed(Role::Operator)?;
    let work = async {
        let run = state
            .jobs
            .start(id, crate::catalog::Trigger::Manual, false, 1)
            .await?;
        Ok(run)
    };
    let target = format!("task {id}");
    let run = crate::auth::audited(&state, actor, "back up now", &target, work).await?;
    let progress = live(&state, run.id);
    let run = Run::new(run.into(), progress);
    let location = format!("{PREFIX}/runs/{}", run.id);
    Ok(located(StatusCode::ACCEPTED, location, run))
}

/// Asks the task's running backup to stop; it ends as cancelled.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", operation_id = "cancel_backup", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    responses(
        (status = 200, description = "Whether a run was asked to stop", body = CancelResult),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 403, description = "The token's role is below operator", body = super::dto::ErrorBody),
        (status = 404, description = "No such task", body = super::dto::ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<Json<CancelResult>> {
    let actor = caller.allowed(Role::Operator)?;
    let work = async {
        crate::api::tasks::server::load_task(&state, id).await?;
        Ok(state.jobs.cancel(id))
    };
    let target = format!("task {id}");
    let run_id = crate::auth::audited(&state, actor, "cancel backup", &target, work).await?;
    Ok(Json(CancelResult {
        cancelled: run_id.is_some(),
        run_id,
    }))
}

/// A page of the task's runs, newest first.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/runs", operation_id = "list_runs", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id"), RunsQuery),
    responses(
        (status = 200, description = "A page of runs", body = RunPage),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 404, description = "No such task", body = super::dto::ErrorBody),
        (status = 422, description = "Not a run state", body = super::dto::ErrorBody),
    ))]
pub async fn runs(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    query: Result<Query<RunsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RunPage>> {
    caller.allowed(Role::Viewer)?;
    let Query(query) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let page =
        crate::api::runs::history(&state, id, query.state.as_deref(), query.page.unwrap_or(1))
            .await?;
    Ok(Json(page.into()))
}

/// A run with its log and, while it runs, its progress.
#[utoipa::path(get, path = "/api/v1/runs/{id}", operation_id = "get_run", tag = "tasks",
    params(("id" = i64, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run", body = RunDetail),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 404, description = "No such run", body = super::dto::ErrorBody),
    ))]
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<Json<RunDetail>> {
    caller.allowed(Role::Viewer)?;
    let detail = crate::api::runs::detail(&state, id).await?;
    Ok(Json(RunDetail {
        run: Run::new(detail.run, live(&state, id)),
        task_name: detail.task_name,
        log: detail.logs.into_iter().map(Into::into).collect(),
    }))
}

/// The live figures of a backup run still going.
fn live(state: &AppState, run_id: i64) -> Option<crate::model::JobProgress> {
    state
        .jobs
        .snapshots()
        .into_iter()
        .find(|p| p.run_id == run_id && !p.drill)
}

/// The task's backup points, newest first, read from its repository.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/points", operation_id = "list_points", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The points, newest first", body = [Point]),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 404, description = "No such task", body = super::dto::ErrorBody),
        (status = 422, description = "The repository cannot be read", body = super::dto::ErrorBody),
    ))]
pub async fn points(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<Json<Vec<Point>>> {
    caller.allowed(Role::Viewer)?;
    let points = crate::api::restores::server::points(&state, id).await?;
    Ok(Json(points.points.into_iter().map(Point::from).collect()))
}

/// The task's restore drills, and its RPO and RTO position.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/drills", operation_id = "get_drills", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    responses(
        (status = 200, description = "Drills and recovery objectives", body = DrillReport),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 404, description = "No such task", body = super::dto::ErrorBody),
    ))]
pub async fn drills(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<Json<DrillReport>> {
    caller.allowed(Role::Viewer)?;
    let page = crate::api::drills::server::task_drills(&state, id).await?;
    Ok(Json(page.into()))
}
