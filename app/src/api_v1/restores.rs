//! Restores: create one from a point with the console's validation and
//! pre-check, start it (acknowledging warnings), follow its phases, retry
//! or cancel it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;

use super::restore_dto::{request_field, Restore, RestoreRequest, RestoreSummary, StartRequest};
use super::{located, ApiResult, Body, Caller, EmptyBody, Id, PREFIX};
use crate::api::restores::server;
use crate::error::AppError;
use crate::model::{FieldError, Role};
use crate::state::AppState;

impl EmptyBody for RestoreRequest {}

impl EmptyBody for StartRequest {
    fn empty() -> Option<Self> {
        Some(StartRequest::default())
    }
}

#[utoipa::path(get, path = "/api/v1/restores", operation_id = "list_restores", tag = "restores",
    responses(
        (status = 200, description = "Every restore, newest first", body = [RestoreSummary]),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<RestoreSummary>>> {
    caller.allowed(Role::Viewer)?;
    let rows = server::list(&state).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Creates a restore and runs its pre-check, as the console's Save does;
/// nothing is written to the target until it is started.
#[utoipa::path(post, path = "/api/v1/restores", operation_id = "create_restore", tag = "restores",
    request_body = RestoreRequest,
    responses(
        (status = 201, description = "The restore, with its pre-check", body = Restore,
            headers(("Location" = String, description = "The restore's address"))),
        (status = 400, description = "The body is not JSON", body = super::dto::ErrorBody),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 403, description = "The token's role is below operator, or the target is outside what it may write", body = super::dto::ErrorBody),
        (status = 404, description = "No such backup task", body = super::dto::ErrorBody),
        (status = 409, description = "The name is taken", body = super::dto::ErrorBody),
        (status = 422, description = "Settings refused; `fields` names each", body = super::dto::ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<RestoreRequest>,
) -> ApiResult<Response> {
    let actor = caller.allowed(Role::Operator)?;
    let role = actor.role;
    let audit_target = request
        .name
        .clone()
        .unwrap_or_else(|| format!("from task {}", request.task_id));
    let work = async {
        let task_id = request.task_id;
        let base = server::new_form(&state, Some(task_id), None).await?;
        let point_id = match (&request.point_id, &request.to_time) {
            (Some(point), _) => point.clone(),
            (None, Some(_)) => String::new(),
            (None, None) => newest_point(&state, task_id, request.repository_id).await?,
        };
        let form = request.into_form(base, point_id);
        server::create(&state, form, role)
            .await
            .map_err(|err| match err {
                AppError::Validation(mut errors) => {
                    for error in &mut errors {
                        error.field = request_field(&error.field).to_owned();
                    }
                    AppError::Validation(errors)
                }
                other => other,
            })
    };
    let id =
        crate::auth::audited(&state, actor, "create restore task", &audit_target, work).await?;
    let restore: Restore = server::detail(&state, id).await?.into();
    Ok(located(
        StatusCode::CREATED,
        format!("{PREFIX}/restores/{id}"),
        restore,
    ))
}

/// The newest point of the task, in `repository` when one is named.
async fn newest_point(
    state: &AppState,
    task_id: i64,
    repository: Option<i64>,
) -> Result<String, AppError> {
    server::points(state, task_id)
        .await?
        .points
        .into_iter()
        .find(|p| repository.is_none_or(|id| p.locations.iter().any(|l| l.repository_id == id)))
        .map(|p| p.id)
        .ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                "point_id",
                "the task has no backup point yet",
            )])
        })
}

#[utoipa::path(get, path = "/api/v1/restores/{id}", operation_id = "get_restore", tag = "restores",
    params(("id" = i64, Path, description = "The restore's id")),
    responses(
        (status = 200, description = "The restore", body = Restore),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 404, description = "No such restore", body = super::dto::ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<Json<Restore>> {
    caller.allowed(Role::Viewer)?;
    Ok(Json(server::detail(&state, id).await?.into()))
}

/// Starts a restore never run. Its pre-check must have passed on the
/// current settings; warnings need `acknowledge_warnings`.
#[utoipa::path(post, path = "/api/v1/restores/{id}/start", operation_id = "start_restore", tag = "restores",
    params(("id" = i64, Path, description = "The restore's id")),
    request_body(content = Option<StartRequest>, description = "May be left out"),
    responses(
        (status = 202, description = "Started; follow it at its address", body = Restore,
            headers(("Location" = String, description = "The restore's address"))),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 403, description = "The token's role is below operator, or the target is outside what it may write", body = super::dto::ErrorBody),
        (status = 404, description = "No such restore", body = super::dto::ErrorBody),
        (status = 409, description = "Already run, running, its target busy, its pre-check failed or warned unacknowledged", body = super::dto::ErrorBody),
    ))]
pub async fn start(
    state: State<AppState>,
    caller: Caller,
    id: Id,
    body: Body<StartRequest>,
) -> ApiResult<Response> {
    start_or_retry(state, caller, id, body, false).await
}

/// Runs a failed or cancelled restore again from the start.
#[utoipa::path(post, path = "/api/v1/restores/{id}/retry", operation_id = "retry_restore", tag = "restores",
    params(("id" = i64, Path, description = "The restore's id")),
    request_body(content = Option<StartRequest>, description = "May be left out"),
    responses(
        (status = 202, description = "Started again", body = Restore,
            headers(("Location" = String, description = "The restore's address"))),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 403, description = "The token's role is below operator", body = super::dto::ErrorBody),
        (status = 404, description = "No such restore", body = super::dto::ErrorBody),
        (status = 409, description = "Finished already, or running", body = super::dto::ErrorBody),
    ))]
pub async fn retry(
    state: State<AppState>,
    caller: Caller,
    id: Id,
    body: Body<StartRequest>,
) -> ApiResult<Response> {
    start_or_retry(state, caller, id, body, true).await
}

async fn start_or_retry(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    Body(request): Body<StartRequest>,
    retry: bool,
) -> ApiResult<Response> {
    let actor = caller.allowed(Role::Operator)?;
    let role = actor.role;
    let action = if retry {
        "retry restore"
    } else {
        "start restore"
    };
    let work = server::start(&state, id, retry, request.acknowledge_warnings, role);
    crate::auth::audited(&state, actor, action, &format!("restore {id}"), work).await?;
    let restore: Restore = server::detail(&state, id).await?.into();
    Ok(located(
        StatusCode::ACCEPTED,
        format!("{PREFIX}/restores/{id}"),
        restore,
    ))
}

/// Stops a running restore; the target is left as it was before it began.
#[utoipa::path(post, path = "/api/v1/restores/{id}/cancel", operation_id = "cancel_restore", tag = "restores",
    params(("id" = i64, Path, description = "The restore's id")),
    responses(
        (status = 200, description = "Whether it was running and was asked to stop", body = super::dto::CancelResult),
        (status = 401, description = "No valid API token", body = super::dto::ErrorBody),
        (status = 403, description = "The token's role is below operator", body = super::dto::ErrorBody),
        (status = 404, description = "No such restore", body = super::dto::ErrorBody),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> ApiResult<Json<super::dto::CancelResult>> {
    let actor = caller.allowed(Role::Operator)?;
    let work = async {
        server::detail(&state, id).await?;
        Ok(state.jobs.restores().cancel(id))
    };
    let cancelled = crate::auth::audited(
        &state,
        actor,
        "cancel restore",
        &format!("restore {id}"),
        work,
    )
    .await?;
    Ok(Json(super::dto::CancelResult {
        cancelled,
        run_id: None,
    }))
}
