//! Opening repositories for the console, with the passphrase the catalog
//! holds for each (sealed at rest, never logged or shown), and the default
//! repository of a first start, encrypted under a generated passphrase.

use rand::Rng;
use tidemark_engine::{EngineError, RepoLocation, Repository, S3Credentials};

use crate::catalog::{Catalog, RepositoryRecord};

/// Where a repository is and what opens it; the passphrases never appear
/// in `Debug` (run specs are logged).
#[derive(Clone)]
pub struct RepoAccess {
    location: String,
    passphrase: Option<String>,
    previous: Option<String>,
    /// An S3 repository's own key instead of the environment's.
    s3: Option<S3Credentials>,
}

impl std::fmt::Debug for RepoAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoAccess")
            .field("location", &self.location)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "***"))
            .field("s3", &self.s3)
            .finish_non_exhaustive()
    }
}

impl RepoAccess {
    pub fn new(location: &str, passphrase: Option<String>, previous: Option<String>) -> Self {
        RepoAccess {
            location: location.to_owned(),
            passphrase,
            previous,
            s3: None,
        }
    }

    pub fn with_s3_credentials(mut self, credentials: Option<S3Credentials>) -> Self {
        self.s3 = credentials;
        self
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// Opens the repository (blocking I/O). When a passphrase change
    /// stopped between the engine's re-wrap and the catalog's update, one
    /// of the two passphrases opens it: both are tried.
    pub fn open(&self) -> Result<Repository, EngineError> {
        let location = RepoLocation::parse(&self.location)?.with_credentials(self.s3.clone());
        match Repository::open(&location, self.passphrase.as_deref()) {
            Err(EngineError::WrongPassphrase { .. }) if self.previous.is_some() => {
                Repository::open(&location, self.previous.as_deref())
            }
            other => other,
        }
    }

    /// Opens for a server function (blocking I/O). An encrypted repository
    /// the console holds no working passphrase for answers a `passphrase`
    /// field error: an administrator unlocks it on the Repositories page.
    pub fn open_for_request(&self) -> Result<Repository, crate::error::AppError> {
        self.open().map_err(|err| match err {
            EngineError::PassphraseRequired { location } => locked(format!(
                "repository {location} is encrypted and the console holds no passphrase for it; an administrator unlocks it on the Repositories page"
            )),
            EngineError::WrongPassphrase { location } => locked(format!(
                "the passphrase the console holds does not open repository {location}; an administrator unlocks it with its current passphrase on the Repositories page"
            )),
            other => other.into(),
        })
    }
}

fn locked(message: String) -> crate::error::AppError {
    crate::error::AppError::Invalid {
        field: "passphrase".into(),
        message,
    }
}

/// The shortest passphrase the console accepts from an administrator.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Why a passphrase given in a form is refused, if it is.
pub fn passphrase_problem(passphrase: &str) -> Option<String> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        Some(format!(
            "give a passphrase of at least {MIN_PASSPHRASE_CHARS} characters"
        ))
    } else if passphrase.trim() != passphrase {
        Some("a passphrase must not start or end with spaces".into())
    } else {
        None
    }
}

/// A new random passphrase: 30 characters of an unambiguous alphabet
/// (about 150 bits) in groups of six, easy to copy into a password manager.
pub fn generate_passphrase() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..5)
        .map(|_| {
            (0..6)
                .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Why the default repository could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DefaultRepositoryError {
    #[error("cannot register the default repository in the catalog: {0}")]
    Catalog(#[from] sqlx::Error),
    #[error("cannot prepare the default repository: {0}")]
    Engine(#[from] EngineError),
    #[error("the default repository check stopped: {0}")]
    Stopped(String),
}

/// Registers the default repository at `dir` and makes sure a repository
/// is there. A first start creates it encrypted under a generated
/// passphrase, stored (sealed) in the catalog before the repository is
/// created, so a stop in between leaves nothing unopenable. An existing
/// repository, plain or encrypted, is opened, never re-initialised.
pub async fn ensure_default_repository(
    catalog: &Catalog,
    dir: &std::path::Path,
) -> Result<RepositoryRecord, DefaultRepositoryError> {
    let mut record = catalog
        .ensure_default_repository(&dir.display().to_string())
        .await?;
    let location = RepoLocation::Local(dir.to_owned());
    let access = record.access();
    let found = blocking(move || match access.open() {
        Ok(_) => Ok(true),
        Err(EngineError::RepositoryNotFound { .. }) => Ok(false),
        Err(err @ (EngineError::PassphraseRequired { .. } | EngineError::WrongPassphrase { .. })) => {
            // Usable once an administrator unlocks it; the rest works meanwhile.
            tracing::warn!(error = %err, "the default repository cannot be opened with the passphrase the console holds; unlock it on the Repositories page");
            Ok(true)
        }
        Err(err) => Err(err),
    })
    .await?;
    if found {
        return Ok(record);
    }
    let passphrase = match record.passphrase.clone() {
        Some(passphrase) => passphrase,
        None => {
            let generated = generate_passphrase();
            catalog
                .set_repository_passphrase(record.id, &generated)
                .await?;
            record.passphrase = Some(generated.clone());
            generated
        }
    };
    blocking(move || Repository::init(&location, Some(&passphrase)).map(drop)).await?;
    tracing::info!(location = %dir.display(), "default repository initialised (encrypted)");
    Ok(record)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, DefaultRepositoryError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DefaultRepositoryError::Stopped(e.to_string()))?
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passphrases_are_long_distinct_and_accepted() {
        let a = generate_passphrase();
        let b = generate_passphrase();
        assert_ne!(a, b);
        assert_eq!(a.len(), 34, "{a}");
        assert_eq!(passphrase_problem(&a), None);
        assert!(passphrase_problem("short").is_some());
        assert!(passphrase_problem(" leading-space-pass").is_some());
    }

    #[test]
    fn debug_never_shows_the_passphrase() {
        let access = RepoAccess::new("/r", Some("hunter2-hunter2".into()), None);
        let shown = format!("{access:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("/r"),
            "{shown}"
        );
        // Nor an S3 repository's own secret, which it carries to the engine.
        let own =
            RepoAccess::new("s3://b/p", None, None).with_s3_credentials(Some(S3Credentials {
                access_key_id: "AKIDOWN".into(),
                secret_access_key: "own-secret-value".into(),
            }));
        let shown = format!("{own:?}");
        assert!(
            shown.contains("AKIDOWN") && !shown.contains("own-secret-value"),
            "{shown}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_first_start_creates_the_default_repository_encrypted_and_a_later_one_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let catalog = Catalog::open(&url)
            .await
            .unwrap()
            .with_secrets(std::sync::Arc::new(
                crate::auth::secrets::Secrets::ephemeral(),
            ));
        let repo_dir = dir.path().join("repo");
        let first = ensure_default_repository(&catalog, &repo_dir)
            .await
            .unwrap();
        let passphrase = first.passphrase.clone().expect("a generated passphrase");
        let location = RepoLocation::Local(repo_dir.clone());
        let opened = tokio::task::block_in_place(|| Repository::open(&location, None));
        assert!(matches!(
            opened,
            Err(EngineError::PassphraseRequired { .. })
        ));
        let id = tokio::task::block_in_place(|| {
            Repository::open(&location, Some(&passphrase))
                .unwrap()
                .config()
                .id
                .clone()
        });
        let again = ensure_default_repository(&catalog, &repo_dir)
            .await
            .unwrap();
        assert_eq!(again, first);
        let still =
            tokio::task::block_in_place(|| again.access().open().unwrap().config().id.clone());
        assert_eq!(still, id, "opened, never re-initialised");
    }
}
