//! `/api/v1`: the versioned JSON API for scripts. Reads are GETs, actions
//! POSTs; every call needs an API token (`Authorization: Bearer …`) and
//! acts with its user's role; errors are a JSON body with the status their
//! cause means. Handlers are adapters like the server functions: they call
//! the same reads, checks and jobs, and audit the same actions.
//!
//! The OpenAPI document (`/api/v1/openapi.json`) is generated from the
//! handlers' annotations and the types of `dto` and `restore_dto`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use crate::auth::Actor;
use crate::error::AppError;
use crate::model::Role;
use crate::state::AppState;

pub mod dto;
mod openapi;
pub mod restore_dto;
mod restores;
mod tasks;

pub use openapi::ApiDoc;

/// Where the API is mounted.
pub const PREFIX: &str = "/api/v1";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/tasks", get(tasks::list))
        .route("/tasks/{id}", get(tasks::get))
        .route("/tasks/{id}/runs", get(tasks::runs).post(tasks::start_run))
        .route("/tasks/{id}/cancel", post(tasks::cancel))
        .route("/tasks/{id}/points", get(tasks::points))
        .route("/tasks/{id}/drills", get(tasks::drills))
        .route("/runs/{id}", get(tasks::run))
        .route("/restores", get(restores::list).post(restores::create))
        .route("/restores/{id}", get(restores::get))
        .route("/restores/{id}/start", post(restores::start))
        .route("/restores/{id}/retry", post(restores::retry))
        .route("/restores/{id}/cancel", post(restores::cancel))
        .fallback(unknown_route)
}

async fn unknown_route() -> ApiError {
    ApiError(AppError::NotFound(
        "this API route (see /api/v1/openapi.json)".into(),
    ))
}

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError(error)
    }
}

impl ApiError {
    fn code(&self) -> &'static str {
        match &self.0 {
            AppError::BadRequest(_) | AppError::Transport(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Validation(_) if self.0.status() == 409 => "conflict",
            AppError::Invalid { .. } | AppError::Validation(_) | AppError::Engine(_) => "invalid",
            AppError::TooLarge => "too_large",
            AppError::TooManyAttempts(_) => "too_many_attempts",
            AppError::CatalogUnavailable { .. } => "unavailable",
            AppError::Internal { .. } => "internal",
        }
    }

    pub fn body(&self) -> dto::ErrorBody {
        let fields = match &self.0 {
            AppError::Validation(errors) => errors
                .iter()
                .map(|e| dto::FieldProblem {
                    field: e.field.clone(),
                    message: e.message.clone(),
                })
                .collect(),
            AppError::Invalid { field, message } => vec![dto::FieldProblem {
                field: field.clone(),
                message: message.clone(),
            }],
            _ => Vec::new(),
        };
        dto::ErrorBody {
            error: dto::ErrorDetail {
                status: self.0.status(),
                code: self.code().into(),
                message: self.0.to_string(),
                fields,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_client_error() {
            tracing::info!(status = status.as_u16(), error = %self.0, "API request refused");
        }
        let mut response = (status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self.0 {
            AppError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::TooManyAttempts(wait) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*wait));
            }
            _ => {}
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The token's user. Only a bearer token is accepted: a script has no
/// session, and a browser's cookie must not drive this API.
pub struct Caller(Actor);

impl Caller {
    /// The user, if their role allows `needed`; refused as the console refuses.
    pub fn allowed(&self, needed: Role) -> ApiResult<&Actor> {
        let actor = &self.0;
        if actor.must_change_password {
            return Err(AppError::Forbidden(
                "change your password first (Account → Change password)".into(),
            )
            .into());
        }
        if !actor.role.allows(needed) {
            return Err(AppError::Forbidden(format!(
                "this needs the {needed} role; {} is {}",
                actor.username, actor.role
            ))
            .into());
        }
        Ok(actor)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let has_bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer "));
        if !has_bearer {
            return Err(AppError::Unauthorized.into());
        }
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let max = state.auth.limits.max_secs;
        match crate::auth::resolve(&state.catalog, max, None, &parts.headers, address).await? {
            Some(actor) if actor.via_token => Ok(Caller(actor)),
            _ => Err(AppError::Unauthorized.into()),
        }
    }
}

/// An id in the path; anything else is the caller's mistake.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(text)) => text.parse().map(Id).map_err(|_| {
                AppError::BadRequest(format!("{text:?} in the path is not an id")).into()
            }),
            Err(rejection) => Err(AppError::BadRequest(rejection.body_text()).into()),
        }
    }
}

/// A JSON body: malformed JSON is a 400, well-formed JSON of the wrong
/// shape (a missing or unknown field, a wrong type) a 422 naming it. An
/// empty body reads as the type's default where it has one.
pub struct Body<T>(pub T);

/// A type a POST may leave out the body of.
pub trait EmptyBody: Sized {
    fn empty() -> Option<Self> {
        None
    }
}

impl<T: DeserializeOwned + EmptyBody, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<Self> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge,
                    _ => AppError::BadRequest(rejection.body_text()),
                })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            if let Some(value) = T::empty() {
                return Ok(Body(value));
            }
            return Err(AppError::BadRequest("a JSON body is needed".into()).into());
        }
        if !is_json {
            return Err(AppError::BadRequest(
                "send the body as Content-Type: application/json".into(),
            )
            .into());
        }
        parse_json(&bytes).map(Body)
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer);
    match value {
        Ok(value) => {
            deserializer
                .end()
                .map_err(|e| AppError::BadRequest(format!("after the JSON value: {e}")))?;
            Ok(value)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_data() {
                Err(AppError::Invalid {
                    field: if path == "." { "body".into() } else { path },
                    message: inner.to_string(),
                }
                .into())
            } else {
                Err(AppError::BadRequest(format!("not valid JSON: {inner}")).into())
            }
        }
    }
}

/// A created or started resource: its status, where it lives, and it.
fn located<T: serde::Serialize>(status: StatusCode, location: String, body: T) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

#[cfg(test)]
mod tests;
