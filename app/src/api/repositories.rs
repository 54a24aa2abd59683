//! Repositories: list, register (initialising a new one, encrypted unless
//! an administrator explicitly chooses otherwise), usage, verify, and the
//! passphrase: unlock, change, export.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A repository row of the Repositories page. It never carries the
/// passphrase, only whether the console holds one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositorySummary {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    /// Encrypted, and the console holds its passphrase.
    pub encrypted: bool,
    pub passphrase_exported_at: Option<DateTime<Utc>>,
    pub passphrase_exported_by: Option<String>,
    /// An S3 repository's own access key id (its secret is never sent).
    pub s3_access_key_id: Option<String>,
    /// Every job writing to it stays below this many MiB per second.
    #[serde(default)]
    pub limit_upload_mib: Option<u32>,
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
    pub encrypted: bool,
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

/// How a repository's passphrase is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encryption {
    /// Encrypted under a passphrase the server generates (export it later).
    Generate,
    /// Encrypted under the passphrase the administrator gives (for an
    /// existing encrypted repository: its passphrase).
    Passphrase,
    /// Not encrypted: anyone who can read the storage can read the backups.
    None,
}

impl Encryption {
    pub const ALL: [Encryption; 3] = [
        Encryption::Generate,
        Encryption::Passphrase,
        Encryption::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Encryption::Generate => "generate",
            Encryption::Passphrase => "passphrase",
            Encryption::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Encryption::Generate => "Encrypted, with a generated passphrase",
            Encryption::Passphrase => "Encrypted, with a passphrase I enter",
            Encryption::None => "Not encrypted",
        }
    }
}

/// The Add repository form. `Debug` never shows the passphrases.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RepositoryForm {
    pub name: String,
    pub location: String,
    /// One of [`Encryption::as_str`].
    pub encryption: String,
    pub passphrase: String,
    pub repeat: String,
    /// S3 only: the repository's own access key, instead of the server's
    /// AWS environment (both or neither).
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for RepositoryForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepositoryForm")
            .field("name", &self.name)
            .field("location", &self.location)
            .field("encryption", &self.encryption)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// An exported passphrase: the one answer that carries it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedPassphrase {
    pub repository: String,
    pub passphrase: String,
    pub exported_at: DateTime<Utc>,
}

impl std::fmt::Debug for ExportedPassphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportedPassphrase")
            .field("repository", &self.repository)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "ssr")]
#[path = "repositories_server.rs"]
pub mod server;

#[server(endpoint = "repositories")]
pub async fn list_repositories() -> Result<Vec<RepositorySummary>, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    let records = state.catalog.list_repositories().await?;
    Ok(records.into_iter().map(Into::into).collect())
}

/// Registers a repository at a local path or an S3 URL, initialising it
/// when it holds no repository yet.
#[server(endpoint = "repositories/create")]
pub async fn create_repository(form: RepositoryForm) -> Result<RepositorySummary, AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Admin).await?;
    let target = form.name.trim().to_owned();
    let work = server::create(&state, form);
    let record = crate::auth::audited(&state, &actor, "create repository", &target, work).await?;
    Ok(record.into())
}

#[server(endpoint = "repositories/usage")]
pub async fn repository_usage(id: i64) -> Result<Usage, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::usage(&state, id).await
}

/// Runs the engine's verify over every point; `read_data` re-reads and
/// re-hashes every chunk.
#[server(endpoint = "repositories/verify")]
pub async fn verify_repository(id: i64, read_data: bool) -> Result<VerifySummary, AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Operator).await?;
    let work = server::verify(&state, id, read_data);
    crate::auth::audited(&state, &actor, "verify repository", &id.to_string(), work).await
}

/// Gives the console the passphrase of an encrypted repository it cannot
/// open (added before the console kept passphrases, or changed elsewhere).
#[server(endpoint = "repositories/unlock")]
pub async fn unlock_repository(id: i64, passphrase: String) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Admin).await?;
    let work = server::unlock(&state, id, &passphrase);
    crate::auth::audited(&state, &actor, "unlock repository", &id.to_string(), work).await
}

/// Changes an encrypted repository's passphrase (the engine re-wraps its
/// key; the data stays as it is).
#[server(endpoint = "repositories/passphrase")]
pub async fn change_repository_passphrase(
    id: i64,
    encryption: String,
    passphrase: String,
    repeat: String,
) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Admin).await?;
    let work = server::change_passphrase(&state, id, &encryption, &passphrase, &repeat);
    crate::auth::audited(
        &state,
        &actor,
        "change repository passphrase",
        &id.to_string(),
        work,
    )
    .await
}

/// An administrator changes a repository's upload limit (MiB/s, empty:
/// none) and, for S3, its access key: `s3_key` is `keep`, `own` (the key
/// given, tried against the storage before it is stored) or `environment`
/// (the server's AWS environment again).
#[server(endpoint = "repositories/settings")]
pub async fn update_repository_settings(
    id: i64,
    limit_upload_mib: String,
    s3_key: String,
    access_key_id: String,
    secret_access_key: String,
) -> Result<RepositorySummary, AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Admin).await?;
    let change = server::SettingsChange {
        limit_upload_mib,
        s3_key,
        access_key_id,
        secret_access_key,
    };
    let work = server::update_settings(&state, id, change);
    let record = crate::auth::audited(
        &state,
        &actor,
        "change repository settings",
        &id.to_string(),
        work,
    )
    .await?;
    Ok(record.into())
}

/// The recovery path: an administrator, giving their own password again,
/// reads the passphrase to keep it outside the console.
#[server(endpoint = "repositories/export")]
pub async fn export_repository_passphrase(
    id: i64,
    password: String,
) -> Result<ExportedPassphrase, AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Admin).await?;
    let work = server::export(&state, &actor, id, &password);
    crate::auth::audited(
        &state,
        &actor,
        "export repository passphrase",
        &id.to_string(),
        work,
    )
    .await
}
