//! A repository's settings after it was added: its upload limit, and an S3
//! repository's access key (replaced, or back to the server's environment).
//! A new key is tried against the storage before it is stored, so a wrong
//! one leaves the repository as it was.

use tidemark_engine::{RepoLocation, S3Credentials};

use super::{invalid, own_credentials, record, RepositoryForm};
use crate::catalog::RepositoryRecord;
use crate::error::{blocking, AppError};
use crate::model::FieldError;
use crate::state::AppState;

/// The most a limit may be, in MiB per second (as for tasks).
const MAX_LIMIT_MIB: u32 = 100_000;

/// What the settings form sends. `Debug` never shows the secret.
#[derive(Clone, Default)]
pub struct SettingsChange {
    /// MiB per second; empty: no limit.
    pub limit_upload_mib: String,
    /// `keep`, `own` or `environment`.
    pub s3_key: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for SettingsChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettingsChange")
            .field("limit_upload_mib", &self.limit_upload_mib)
            .field("s3_key", &self.s3_key)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The key the repository will use: unchanged (outer None), the
/// environment (Some(None)) or its own.
type KeyChange = Option<Option<S3Credentials>>;

fn parse(
    change: &SettingsChange,
    location: &RepoLocation,
) -> Result<(Option<u32>, KeyChange), AppError> {
    let mut errors = Vec::new();
    let limit = match change.limit_upload_mib.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(mib) if (1..=MAX_LIMIT_MIB).contains(&mib) => Some(mib),
            _ => {
                errors.push(FieldError::new(
                    "limit_upload_mib",
                    crate::tr!(validation.a_whole_number_of_mib_per, max = MAX_LIMIT_MIB),
                ));
                None
            }
        },
    };
    let s3 = matches!(location, RepoLocation::S3 { .. });
    let key = match change.s3_key.as_str() {
        "" | "keep" => None,
        "environment" | "own" if !s3 => {
            errors.push(FieldError::new(
                "s3_key",
                crate::tr!(validation.only_an_s3_repository_has_an),
            ));
            None
        }
        "environment" => Some(None),
        "own" => {
            let form = RepositoryForm {
                access_key_id: change.access_key_id.clone(),
                secret_access_key: change.secret_access_key.clone(),
                ..RepositoryForm::default()
            };
            let given = own_credentials(&form, Some(location), &mut errors);
            if given.is_none() && errors.is_empty() {
                errors.push(FieldError::new(
                    "access_key_id",
                    crate::tr!(validation.give_the_access_key_id),
                ));
            }
            Some(given)
        }
        _ => {
            errors.push(FieldError::new(
                "s3_key",
                crate::tr!(validation.keep_the_key_give_a_new),
            ));
            None
        }
    };
    if errors.is_empty() {
        Ok((limit, key))
    } else {
        Err(AppError::Validation(errors))
    }
}

pub async fn update_settings(
    state: &AppState,
    id: i64,
    change: SettingsChange,
) -> Result<RepositoryRecord, AppError> {
    let current = record(state, id).await?;
    let location = RepoLocation::parse(&current.location)?;
    let (limit, key) = parse(&change, &location)?;
    if let Some(credentials) = &key {
        // Opened with the new key (or the environment) before anything is stored.
        let access = current.access().with_s3_credentials(credentials.clone());
        let field = if credentials.is_some() {
            "access_key_id"
        } else {
            "s3_key"
        };
        blocking(move || {
            access.open().map(drop).map_err(|err| {
                invalid(
                    field,
                    format!(
                        "the repository cannot be opened with this key, nothing was changed: {err}"
                    ),
                )
            })
        })
        .await?;
    }
    let catalog = &state.catalog;
    if let Some(credentials) = &key {
        catalog
            .set_repository_credentials(id, credentials.as_ref())
            .await?;
    }
    catalog.set_repository_limit(id, limit).await?;
    record(state, id).await
}
