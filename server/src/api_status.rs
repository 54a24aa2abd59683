//! Server functions answer with the HTTP status their error means.
//!
//! `server_fn` answers every error with 500, whatever it is, so monitoring
//! and scripts could not tell a caller's mistake from an outage. Every
//! error a server function answers is an `AppError` encoded as JSON; this
//! layer reads it back and sets the status it names (`AppError::status`),
//! leaving the body as it is: the browser decodes the same error from it
//! whatever the status.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::error::AppError;

/// The largest request body a route accepts; a form or a script's call is
/// a few kilobytes, so this only stops the absurd.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// An error's body is a short JSON message; anything longer is not one.
const ERROR_BODY_LIMIT: usize = 256 * 1024;

/// The paths of every registered server function.
#[derive(Clone)]
pub struct ServerFnPaths(Arc<HashSet<String>>);

impl ServerFnPaths {
    pub fn registered() -> Self {
        let paths = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.to_owned())
            .collect();
        ServerFnPaths(Arc::new(paths))
    }
}

pub async fn status_from_error(
    State(paths): State<ServerFnPaths>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if response.status().as_u16() < 400 || !is_json || !paths.0.contains(&path) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, ERROR_BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(err) => {
            let error = AppError::internal("could not read a server function's error", &err);
            return (StatusCode::INTERNAL_SERVER_ERROR, error_json(&error)).into_response();
        }
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        let status = StatusCode::from_u16(error.status()).unwrap_or(parts.status);
        if status.is_client_error() {
            // The caller's mistake (the request span names the path).
            tracing::info!(status = status.as_u16(), %error, "server function refused the request");
        }
        if let AppError::TooManyAttempts(wait) = &error {
            parts
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(*wait));
        }
        parts.status = status;
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn error_json(error: &AppError) -> ([(header::HeaderName, &'static str); 1], String) {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string(error).unwrap_or_default(),
    )
}
