//! The server side of the repository functions. Passphrases are checked
//! against the engine, stored sealed in the catalog, and never logged;
//! only [`export`] answers with one.

use tidemark_engine::{EngineError, RepoLocation, Repository, S3Credentials};

use super::{Encryption, ExportedPassphrase, RepositoryForm, Usage, VerifyProblem, VerifySummary};
use crate::api::auth::server::verify_password;
use crate::auth::Actor;
use crate::catalog::RepositoryRecord;
use crate::error::{blocking, AppError};
use crate::model::FieldError;
use crate::repo_access::{generate_passphrase, passphrase_problem};
use crate::state::AppState;

impl From<RepositoryRecord> for super::RepositorySummary {
    fn from(r: RepositoryRecord) -> Self {
        super::RepositorySummary {
            encrypted: r.passphrase.is_some(),
            id: r.id,
            name: r.name,
            kind: r.kind,
            location: r.location,
            is_default: r.is_default,
            created_at: r.created_at,
            passphrase_exported_at: r.passphrase_exported_at,
            passphrase_exported_by: r.passphrase_exported_by,
            limit_upload_mib: r.limit_upload_mib.and_then(|l| u32::try_from(l).ok()),
            s3_access_key_id: r.s3_access_key_id,
        }
    }
}

async fn record(state: &AppState, id: i64) -> Result<RepositoryRecord, AppError> {
    state
        .catalog
        .repository(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("repository {id}")))
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// What is at a location before it is registered.
enum Found {
    Nothing,
    Plain,
    Encrypted,
}

/// Registers the repository of `form`: an existing one as it is (an
/// encrypted one only with its passphrase), a new one initialised as the
/// form chose. A new encrypted repository's passphrase is stored (sealed)
/// before the engine creates it, so no repository exists that the console
/// cannot open; if the engine fails, the record is removed again.
pub async fn create(state: &AppState, form: RepositoryForm) -> Result<RepositoryRecord, AppError> {
    let name = form.name.trim().to_owned();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 64 {
        errors.push(FieldError::new("name", crate::tr!(validation.name_1_64)));
    }
    let parsed = RepoLocation::parse(form.location.trim());
    match &parsed {
        Ok(RepoLocation::Local(path)) if !form.location.trim().starts_with('/') => {
            errors.push(FieldError::new(
                "location",
                crate::tr!(validation.absolute_path_not, path = path.display()),
            ));
        }
        Err(err) => errors.push(FieldError::new("location", err.to_string())),
        Ok(_) => {}
    }
    let credentials = own_credentials(&form, parsed.as_ref().ok(), &mut errors);
    let encryption = Encryption::parse(&form.encryption);
    match encryption {
        None => errors.push(FieldError::new(
            "encryption",
            crate::tr!(validation.choose_how_the_repository_is_encrypted),
        )),
        // The length rule is for new repositories (below): an existing one
        // made by the CLI may have any passphrase.
        Some(Encryption::Passphrase) if form.passphrase.is_empty() => {
            errors.push(FieldError::new(
                "passphrase",
                crate::tr!(validation.give_the_passphrase),
            ));
        }
        Some(_) => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (location, encryption) = (parsed?, encryption.unwrap_or(Encryption::Generate));
    let location = location.with_credentials(credentials.clone());
    let kind = match location {
        RepoLocation::Local(_) => "local",
        RepoLocation::S3 { .. } => "s3",
    };
    let shown = location.display();
    // What the engine opens later: an S3 URL keeps its endpoint and region
    // (it never holds credentials: they come from the environment).
    let stored = match &location {
        RepoLocation::Local(_) => shown.clone(),
        RepoLocation::S3 { .. } => form.location.trim().to_owned(),
    };
    let probe = location.clone();
    // Only looks: a location is created (by the engine's init) once the
    // whole form is accepted.
    let found = blocking(move || match Repository::open(&probe, None) {
        Ok(_) => Ok(Found::Plain),
        Err(EngineError::PassphraseRequired { .. }) => Ok(Found::Encrypted),
        Err(EngineError::RepositoryNotFound { .. }) => Ok(Found::Nothing),
        Err(err) => Err(err.into()),
    })
    .await?;
    let catalog = &state.catalog;
    let record = match (found, encryption) {
        (Found::Plain, Encryption::None) => {
            catalog.insert_repository(&name, kind, &stored, None).await?
        }
        (Found::Plain, _) => {
            return Err(invalid(
                "encryption",
                format!("{shown} holds an unencrypted repository, which cannot be encrypted afterwards: choose \"Not encrypted\" to add it as it is, or give an empty location"),
            ))
        }
        (Found::Encrypted, Encryption::Passphrase) => {
            let passphrase = form.passphrase.clone();
            let check = location.clone();
            blocking(move || match Repository::open(&check, Some(&passphrase)) {
                Ok(_) => Ok(()),
                Err(EngineError::WrongPassphrase { .. }) => Err(invalid(
                    "passphrase",
                    "this is not the passphrase of the encrypted repository at this location",
                )),
                Err(err) => Err(err.into()),
            })
            .await?;
            catalog
                .insert_repository(&name, kind, &stored, Some(&form.passphrase))
                .await?
        }
        (Found::Encrypted, _) => {
            return Err(invalid(
                "encryption",
                format!("{shown} holds an encrypted repository: choose \"Encrypted, with a passphrase I enter\" and give its passphrase"),
            ))
        }
        (Found::Nothing, encryption) => {
            let passphrase = match encryption {
                Encryption::None => None,
                Encryption::Generate => Some(generate_passphrase()),
                Encryption::Passphrase => {
                    if let Some(problem) = passphrase_problem(&form.passphrase) {
                        return Err(invalid("passphrase", problem));
                    }
                    if form.repeat != form.passphrase {
                        return Err(invalid("repeat", "the two passphrases differ"));
                    }
                    Some(form.passphrase.clone())
                }
            };
            let record = catalog
                .insert_repository(&name, kind, &stored, passphrase.as_deref())
                .await?;
            let initialised =
                blocking(move || Ok(Repository::init(&location, passphrase.as_deref())?)).await;
            if let Err(err) = initialised {
                catalog.remove_repository(record.id).await?;
                return Err(err);
            }
            record
        }
    };
    let record = match &credentials {
        Some(own) => catalog
            .set_repository_credentials(record.id, Some(own))
            .await?
            .ok_or_else(|| AppError::NotFound(format!("repository {}", record.id)))?,
        None => record,
    };
    tracing::info!(name = %record.name, location = %record.location, encrypted = record.passphrase.is_some(), own_s3_key = record.s3_access_key_id.is_some(), "repository registered");
    Ok(record)
}

/// The form's own S3 key: both fields or neither, and only for S3.
#[path = "repositories_settings.rs"]
mod settings;
pub use settings::{update_settings, SettingsChange};

fn own_credentials(
    form: &RepositoryForm,
    location: Option<&RepoLocation>,
    errors: &mut Vec<FieldError>,
) -> Option<S3Credentials> {
    let (id, secret) = (form.access_key_id.trim(), form.secret_access_key.trim());
    match (id.is_empty(), secret.is_empty()) {
        (true, true) => None,
        (false, true) => {
            errors.push(FieldError::new(
                "secret_access_key",
                crate::tr!(validation.give_the_secret_of_this_access),
            ));
            None
        }
        (true, false) => {
            errors.push(FieldError::new(
                "access_key_id",
                crate::tr!(validation.give_the_access_key_id),
            ));
            None
        }
        (false, false) if matches!(location, Some(RepoLocation::Local(_))) => {
            errors.push(FieldError::new(
                "access_key_id",
                crate::tr!(validation.only_an_s3_repository_has_an),
            ));
            None
        }
        (false, false) => Some(S3Credentials {
            access_key_id: id.to_owned(),
            secret_access_key: secret.to_owned(),
        }),
    }
}

pub async fn usage(state: &AppState, id: i64) -> Result<Usage, AppError> {
    let access = record(state, id).await?.access();
    blocking(move || {
        let repo = access.open_for_request()?;
        let usage = repo.usage()?;
        Ok(Usage {
            points: usage.points,
            logical_bytes: usage.logical_bytes,
            stored_bytes: usage.stored_bytes,
            packs: usage.packs,
            dedup_ratio: usage.dedup_ratio(),
            compression_ratio: usage.compression_ratio(),
            damaged: usage.damaged_manifests + usage.damaged_index_files,
            encrypted: repo.is_encrypted(),
        })
    })
    .await
}

/// Verify on the Repositories page: the structure check, or with
/// `read_data` the data check reading every pack; recorded in the
/// repository's check history like a scheduled one.
pub async fn verify(state: &AppState, id: i64, read_data: bool) -> Result<VerifySummary, AppError> {
    use crate::jobs::repo_checks::CheckTrigger;
    use crate::model::CheckKind;
    let kind = if read_data {
        CheckKind::Data
    } else {
        CheckKind::Structure
    };
    let done = state
        .jobs
        .check_repository(id, kind, 100, 0, CheckTrigger::Manual)
        .await?;
    let report = done.report?;
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
        seconds: done.seconds,
    })
}

/// Stores `passphrase` for an encrypted repository once the engine has
/// opened it with it.
pub async fn unlock(state: &AppState, id: i64, passphrase: &str) -> Result<(), AppError> {
    let record = record(state, id).await?;
    if passphrase.is_empty() {
        return Err(invalid("passphrase", "give the repository's passphrase"));
    }
    let given = passphrase.to_owned();
    blocking(move || {
        let location = RepoLocation::parse(&record.location)?;
        match Repository::open(&location, Some(&given)) {
            Ok(repo) if repo.is_encrypted() => Ok(()),
            Ok(_) => Err(invalid(
                "passphrase",
                "this repository is not encrypted; it needs no passphrase",
            )),
            Err(EngineError::WrongPassphrase { .. }) => Err(invalid(
                "passphrase",
                "this is not the repository's passphrase",
            )),
            Err(err) => Err(err.into()),
        }
    })
    .await?;
    if !state
        .catalog
        .set_repository_passphrase(id, passphrase)
        .await?
    {
        return Err(AppError::NotFound(format!("repository {id}")));
    }
    tracing::info!(repository = id, "repository unlocked");
    Ok(())
}

/// Changes the passphrase: the catalog takes the new one (keeping the
/// current as the previous), the engine re-wraps the key, then the previous
/// is forgotten. Opening tries both meanwhile, so a stop at any point
/// leaves the repository openable; an engine failure restores the current.
pub async fn change_passphrase(
    state: &AppState,
    id: i64,
    encryption: &str,
    passphrase: &str,
    repeat: &str,
) -> Result<(), AppError> {
    let record = record(state, id).await?;
    if record.passphrase.is_none() {
        return Err(AppError::Conflict(format!(
            "the console holds no passphrase for repository {}: it is not encrypted, or must be unlocked first",
            record.name
        )));
    }
    let new = match Encryption::parse(encryption) {
        Some(Encryption::Generate) => generate_passphrase(),
        Some(Encryption::Passphrase) => {
            if let Some(problem) = passphrase_problem(passphrase) {
                return Err(invalid("passphrase", problem));
            }
            if repeat != passphrase {
                return Err(invalid("repeat", "the two passphrases differ"));
            }
            passphrase.to_owned()
        }
        _ => {
            return Err(invalid(
                "encryption",
                "choose a generated passphrase or enter one",
            ))
        }
    };
    let access = record.access();
    let mut repo = blocking(move || access.open_for_request()).await?;
    if !state.catalog.begin_passphrase_change(id, &new).await? {
        return Err(AppError::Conflict(
            "the repository changed meanwhile; reload and try again".into(),
        ));
    }
    let changed = blocking(move || Ok(repo.change_passphrase(&new)?)).await;
    if let Err(err) = changed {
        state.catalog.abort_passphrase_change(id).await?;
        return Err(err);
    }
    state.catalog.finish_passphrase_change(id).await?;
    tracing::info!(repository = %record.name, "repository passphrase changed");
    Ok(())
}

/// The passphrase, for an administrator who proves again who they are;
/// the export is recorded (the repository page shows when and by whom).
pub async fn export(
    state: &AppState,
    actor: &Actor,
    id: i64,
    password: &str,
) -> Result<ExportedPassphrase, AppError> {
    let user = state
        .catalog
        .user(actor.id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if !verify_password(password.to_owned(), user.password_hash).await? {
        return Err(invalid("password", "this is not your password"));
    }
    let record = record(state, id).await?;
    let Some(passphrase) = record.passphrase else {
        return Err(AppError::Conflict(format!(
            "the console holds no passphrase for repository {}",
            record.name
        )));
    };
    state
        .catalog
        .mark_passphrase_exported(id, &actor.username)
        .await?;
    tracing::warn!(repository = %record.name, user = %actor.username, "repository passphrase exported");
    Ok(ExportedPassphrase {
        repository: record.name,
        passphrase,
        exported_at: chrono::Utc::now(),
    })
}

#[cfg(test)]
#[path = "repositories_server_tests.rs"]
mod tests;
