//! The state every route and server function shares (server side only).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;
use chrono::{DateTime, Utc};
use leptos::config::LeptosOptions;
use leptos::prelude::use_context;

use crate::catalog::Catalog;
use crate::error::AppError;
use crate::jobs::Jobs;

/// Facts about this server process, fixed at start-up.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    pub version: &'static str,
    pub data_dir: PathBuf,
    pub started_at: DateTime<Utc>,
    /// Where restores may create new paths.
    pub restore_roots: crate::jobs::restore::RestoreRoots,
    /// Repositories' figures for `/metrics`, read at most once a minute.
    pub repository_cache: Arc<crate::metrics::RepositoryCache>,
}

impl ServerInfo {
    /// Facts of a server starting now, restoring new paths under `restore_roots`.
    pub fn starting_now(
        version: &'static str,
        data_dir: PathBuf,
        restore_roots: crate::jobs::restore::RestoreRoots,
    ) -> Self {
        ServerInfo {
            version,
            data_dir,
            started_at: Utc::now(),
            restore_roots,
            repository_cache: Arc::default(),
        }
    }
}

/// Given to the router and provided to server functions as context.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub catalog: Catalog,
    pub jobs: Jobs,
    pub info: Arc<ServerInfo>,
    pub auth: Arc<crate::auth::AuthState>,
}

#[cfg(test)]
impl AppState {
    /// The state server-side tests run against: `catalog`, with `dir` as
    /// the data directory and the only restore root.
    pub fn for_tests(catalog: Catalog, dir: &std::path::Path) -> Self {
        let jobs = Jobs::new(catalog.clone());
        jobs.set_drill_dir(dir.join("drills"));
        jobs.set_archive_spool_dir(dir.join("archive-spool"));
        jobs.restores().set_work_dir(dir.join("restores-work"));
        AppState {
            leptos_options: LeptosOptions::builder().output_name("t").build(),
            jobs,
            catalog,
            info: Arc::new(ServerInfo::starting_now(
                "test",
                dir.to_owned(),
                crate::jobs::restore::RestoreRoots::new(&[dir.to_owned()], false)
                    .expect("the test directory exists"),
            )),
            auth: crate::auth::AuthState::new(5),
        }
    }
}

/// The state, from inside a server function.
#[track_caller]
pub fn app_state() -> Result<AppState, AppError> {
    let caller = std::panic::Location::caller();
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!(%caller, "AppState missing from the server function context");
        AppError::Internal {
            reference: "no-state".into(),
        }
    })
}

/// The state, once the signed-in user is found allowed `needed`: what a
/// server function that only reads starts with. The state is taken before
/// the first `.await`: when the server renders a part of a page twice, the
/// discarded render's server functions go on running, and after an await
/// they no longer find the request's context.
pub async fn allowed(needed: crate::model::Role) -> Result<AppState, AppError> {
    let state = app_state()?;
    crate::auth::require(&state, needed).await?;
    Ok(state)
}
