//! Repositories: list, register (initialising a new one), usage, verify.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A repository row of the Repositories page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositorySummary {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
}

/// How much a repository holds and saves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub points: u64,
    pub logical_bytes: u64,
    pub stored_bytes: u64,
    pub packs: u64,
    pub dedup_ratio: f64,
    pub compression_ratio: f64,
    pub damaged: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyProblem {
    pub what: String,
    pub detail: String,
    pub affects: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifySummary {
    pub read_data: bool,
    pub points: u64,
    pub objects: u64,
    pub chunks: u64,
    pub packs_read: u64,
    pub bytes_read: u64,
    pub problems: Vec<VerifyProblem>,
    pub seconds: f64,
}

#[cfg(feature = "ssr")]
impl From<crate::catalog::RepositoryRecord> for RepositorySummary {
    fn from(r: crate::catalog::RepositoryRecord) -> Self {
        RepositorySummary {
            id: r.id,
            name: r.name,
            kind: r.kind,
            location: r.location,
            is_default: r.is_default,
            created_at: r.created_at,
        }
    }
}

#[cfg(feature = "ssr")]
async fn open_repository(
    state: &crate::state::AppState,
    id: i64,
) -> Result<tidemark_engine::Repository, AppError> {
    let record = state
        .catalog
        .repository(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("repository {id}")))?;
    crate::error::blocking(move || {
        let location = tidemark_engine::RepoLocation::parse(&record.location)?;
        Ok(tidemark_engine::Repository::open(&location, None)?)
    })
    .await
}

#[server(endpoint = "repositories")]
pub async fn list_repositories() -> Result<Vec<RepositorySummary>, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    let records = state.catalog.list_repositories().await?;
    Ok(records.into_iter().map(Into::into).collect())
}

/// Registers a repository at `location` (a local path or an S3 URL),
/// initialising it when it holds no repository yet.
#[server(endpoint = "repositories/create")]
pub async fn create_repository(
    name: String,
    location: String,
) -> Result<RepositorySummary, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Admin).await?;
    let audit_target = name.clone();
    let work = async move {
        use tidemark_engine::{EngineError, RepoLocation, Repository};
        let name = name.trim().to_owned();
        let mut errors = Vec::new();
        if name.is_empty() || name.chars().count() > 64 {
            errors.push(crate::model::FieldError::new(
                "name",
                "give a name of 1 to 64 characters",
            ));
        }
        let parsed = RepoLocation::parse(location.trim());
        match &parsed {
            Ok(RepoLocation::Local(path)) if !location.trim().starts_with('/') => {
                errors.push(crate::model::FieldError::new(
                    "location",
                    format!("give an absolute path (not {})", path.display()),
                ));
            }
            Err(err) => errors.push(crate::model::FieldError::new("location", err.to_string())),
            Ok(_) => {}
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let location = parsed?;
        let kind = match location {
            RepoLocation::Local(_) => "local",
            RepoLocation::S3 { .. } => "s3",
        };
        let shown = location.display();
        crate::error::blocking(move || {
            if let RepoLocation::Local(dir) = &location {
                tidemark_engine::prepare_local_dir(dir)?;
            }
            match Repository::open(&location, None) {
                Ok(_) | Err(EngineError::PassphraseRequired { .. }) => Ok(()),
                Err(EngineError::RepositoryNotFound { .. }) => Repository::init(&location, None)
                    .map(drop)
                    .map_err(Into::into),
                Err(err) => Err(err.into()),
            }
        })
        .await?;
        let record = state.catalog.insert_repository(&name, kind, &shown).await?;
        tracing::info!(name = %record.name, location = %record.location, "repository registered");
        Ok(record.into())
    };
    crate::auth::audited(
        &guard_state,
        &actor,
        "create repository",
        &audit_target,
        work,
    )
    .await
}

#[server(endpoint = "repositories/usage")]
pub async fn repository_usage(id: i64) -> Result<Usage, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    let repo = open_repository(&state, id).await?;
    crate::error::blocking(move || {
        let usage = repo.usage()?;
        Ok(Usage {
            points: usage.points,
            logical_bytes: usage.logical_bytes,
            stored_bytes: usage.stored_bytes,
            packs: usage.packs,
            dedup_ratio: usage.dedup_ratio(),
            compression_ratio: usage.compression_ratio(),
            damaged: usage.damaged_manifests + usage.damaged_index_files,
        })
    })
    .await
}

/// Runs the engine's verify over every point; `read_data` re-reads and
/// re-hashes every chunk.
#[server(endpoint = "repositories/verify")]
pub async fn verify_repository(id: i64, read_data: bool) -> Result<VerifySummary, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Operator).await?;
    let audit_target = id.to_string();
    let work = async move {
        use tidemark_engine::verify::{verify, VerifyOptions};
        use tidemark_engine::{CancelToken, NoProgress};
        let repo = open_repository(&state, id).await?;
        crate::error::blocking(move || {
            let started = std::time::Instant::now();
            let options = VerifyOptions {
                point: None,
                read_data,
            };
            let report = verify(&repo, &options, &NoProgress, &CancelToken::new())?;
            Ok(VerifySummary {
                read_data,
                points: report.points,
                objects: report.objects,
                chunks: report.chunks,
                packs_read: report.packs_read,
                bytes_read: report.bytes_read,
                problems: report
                    .problems
                    .into_iter()
                    .map(|p| VerifyProblem {
                        what: p.what,
                        detail: p.detail,
                        affects: p.affects,
                    })
                    .collect(),
                seconds: started.elapsed().as_secs_f64(),
            })
        })
        .await
    };
    crate::auth::audited(
        &guard_state,
        &actor,
        "verify repository",
        &audit_target,
        work,
    )
    .await
}
