//! Download one file of a backup point, streamed from the repository (a
//! few chunks in memory at a time, never the whole file), each chunk
//! checked as it is decoded and the whole against the point's BLAKE3: a
//! damaged repository ends the download with an error, never with altered
//! bytes. Operators and admins may download; viewers only when an
//! administrator allows it (Users page).

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::error::AppError;
use crate::model::Role;
use crate::state::AppState;

pub const PATH: &str = "/api/points/download";

/// Blocks in flight between the repository and the network.
const IN_FLIGHT: usize = 4;

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    pub task: i64,
    pub point: String,
    pub name: String,
}

/// Whether `role` may download, given the administrator's setting.
pub fn may_download(role: Role, viewers_allowed: bool) -> Result<(), AppError> {
    if role.allows(Role::Operator) || viewers_allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "viewers may download files only when an administrator allows it (Users page)".into(),
        ))
    }
}

fn refused(err: &AppError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, format!("{err}\n")).into_response()
}

/// `attachment; filename*=UTF-8''…` of the file's last path part.
fn disposition(name: &str) -> HeaderValue {
    let leaf = name.rsplit('/').next().unwrap_or(name);
    let encoded = crate::model::percent_encode(leaf);
    HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

pub async fn download(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<DownloadQuery>,
) -> Response {
    match start(&state, &session, &headers, query).await {
        Ok(response) => response,
        Err(err) => refused(&err),
    }
}

async fn start(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    query: DownloadQuery,
) -> Result<Response, AppError> {
    let max = state.auth.limits.max_secs;
    let actor = crate::auth::resolve(&state.catalog, max, Some(session), headers, None)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if actor.must_change_password {
        return Err(AppError::Forbidden("change your password first".into()));
    }
    may_download(actor.role, state.catalog.viewer_downloads().await?)?;
    let task = super::tasks::server::load_task(state, query.task).await?;
    let repository = state
        .catalog
        .repository(task.settings.repository_id)
        .await?
        .ok_or_else(|| AppError::Conflict("the task's repository was deleted".into()))?
        .access();
    let target = format!("{} in {}", query.name, query.point);
    let opened = crate::auth::audited(state, &actor, "download file", &target, async {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<u64, AppError>>();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(IN_FLIGHT);
        let (task_name, point, name) =
            (task.settings.name.clone(), query.point, query.name.clone());
        tokio::task::spawn_blocking(move || {
            let opened = (|| -> Result<_, AppError> {
                let repo = repository.open_for_request()?;
                let manifest = repo.point(&point)?;
                if manifest.task != task_name {
                    return Err(AppError::NotFound(format!(
                        "point {point} of task {task_name}"
                    )));
                }
                let size = manifest
                    .objects
                    .iter()
                    .find(|o| o.name == name)
                    .map_or(0, |o| o.size);
                Ok((repo, manifest, size))
            })();
            let (repo, manifest, size) = match opened {
                Ok(opened) => opened,
                Err(err) => {
                    let _ = ready_tx.send(Err(err));
                    return;
                }
            };
            let chunks = match tidemark_engine::restore::read_file(&repo, &manifest, &name) {
                Ok(chunks) => chunks,
                Err(err) => {
                    let _ = ready_tx.send(Err(err.into()));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(size));
            for block in chunks {
                let item = block
                    .map(Bytes::from)
                    .map_err(|e| std::io::Error::other(e.to_string()));
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        let size = ready_rx
            .await
            .map_err(|_| AppError::Engine("the download stopped before it began".into()))??;
        Ok((size, rx))
    })
    .await?;
    let (size, rx) = opened;
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(header::CONTENT_DISPOSITION, disposition(&query.name));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_download_only_when_allowed() {
        assert!(may_download(Role::Operator, false).is_ok());
        assert!(may_download(Role::Admin, false).is_ok());
        let refused = may_download(Role::Viewer, false).unwrap_err();
        assert_eq!(refused.status(), 403);
        assert!(may_download(Role::Viewer, true).is_ok());
    }

    #[test]
    fn the_file_name_is_sent_encoded() {
        let value = disposition("logs/it's \"温度\" 1.csv");
        assert_eq!(
            value.to_str().unwrap(),
            "attachment; filename*=UTF-8''it%27s%20%22%E6%B8%A9%E5%BA%A6%22%201.csv"
        );
    }
}
