//! The catalog: Tidemark's own database (SQLite by default).
//!
//! All SQL lives here, behind typed methods; server functions never build
//! queries. Migrations are embedded in the binary and run at start-up.

#[cfg(test)]
mod catalog_tests;
mod copy_jobs;
mod drills;
mod notifications;
mod repo_checks;
mod repositories;
mod restores;
mod runs;
mod sources;
mod tasks;
mod users;

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

pub use copy_jobs::{CopyJobRecord, CopyOutcome, CopyRunRecord};
pub use drills::{DrillOutcome, DrillRunRecord, DrillTrigger};
pub use notifications::{ChannelRecord, DeliveryRecord, FailingChannel};
pub use repo_checks::{CheckFindings, CheckPlanRecord, CheckRunRecord};
pub use repositories::RepositoryRecord;
pub use restores::{PhaseRow, RestoreObjectRow, RestoreRecord, RestoreRow};
pub use runs::{RunLogLine, RunOutcome, RunRecord, Trigger};
pub use sources::{NewSource, SourceRecord};
pub use tasks::TaskRecord;
pub use users::{AuditEntry, AuditFilter, AuditRecord, TokenRecord, UserRecord};

/// Why the catalog could not be opened. Start-up turns these into a
/// message naming the catalog URL and stops the server.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog URL {url:?} is not usable (--catalog-url / TIDEMARK_CATALOG_URL): {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot open the catalog at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("catalog migration failed for {url}: {source}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogWriteError {
    /// A unique column (named as its form field) already holds the value.
    #[error("{field} is already used")]
    Duplicate { field: &'static str },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl CatalogWriteError {
    fn classify(err: sqlx::Error, field: &'static str) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                CatalogWriteError::Duplicate { field }
            }
            _ => CatalogWriteError::Db(err),
        }
    }
}

/// A count as SQLite stores it (an INTEGER is signed 64-bit); beyond that
/// it saturates instead of wrapping.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A handle to the catalog; cheap to clone (it wraps a connection pool).
#[derive(Clone, Debug)]
pub struct Catalog {
    pool: SqlitePool,
    backend: &'static str,
    /// Seals data-source passwords at rest (see [`Catalog::with_secrets`]).
    secrets: Option<std::sync::Arc<crate::auth::secrets::Secrets>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

impl Catalog {
    /// Opens (creating if needed) the catalog at `url` and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self, CatalogError> {
        // sqlx would take any other string as a file name; say so instead.
        if !url.starts_with("sqlite:") {
            return Err(CatalogError::BadUrl {
                url: url.to_owned(),
                reason: "only SQLite catalogs (sqlite://PATH) are supported".into(),
            });
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| CatalogError::BadUrl {
                url: url.to_owned(),
                reason: source.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| CatalogError::Connect {
                url: url.to_owned(),
                source,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| CatalogError::Migrate {
                url: url.to_owned(),
                source,
            })?;
        Ok(Catalog {
            pool,
            backend: "sqlite",
            secrets: None,
        })
    }

    /// Passwords written from now on are sealed with `secrets`, and read
    /// ones opened with it. The server always sets this; some tests do not.
    pub fn with_secrets(mut self, secrets: std::sync::Arc<crate::auth::secrets::Secrets>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    pub(crate) fn secrets(&self) -> Option<&crate::auth::secrets::Secrets> {
        self.secrets.as_deref()
    }

    /// A secret (source password, repository passphrase) as stored: sealed
    /// when the catalog has a key.
    pub(crate) fn seal_secret(&self, secret: Option<&str>) -> Option<String> {
        secret.map(|plain| match self.secrets() {
            Some(secrets) => secrets.seal(plain),
            None => plain.to_owned(),
        })
    }

    /// A stored secret opened for use (see [`Catalog::seal_secret`]).
    pub(crate) fn open_secret(
        &self,
        stored: Option<String>,
    ) -> Result<Option<String>, sqlx::Error> {
        match (self.secrets(), stored) {
            (Some(secrets), Some(stored)) => secrets
                .open(&stored)
                .map(Some)
                .map_err(|e| sqlx::Error::Decode(Box::new(e))),
            (_, stored) => Ok(stored),
        }
    }

    /// The database kind behind the catalog, for display.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Answers when the catalog can run a query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(drop)
    }

    /// The newest applied migration's version.
    pub async fn schema_version(&self) -> Result<i64, sqlx::Error> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_in(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}", dir.path().join("catalog.db").display())
    }

    #[tokio::test]
    async fn open_creates_the_database_and_applies_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&url_in(&dir)).await.unwrap();
        catalog.ping().await.unwrap();
        assert_eq!(catalog.schema_version().await.unwrap(), 18);
        catalog.close().await;
        // Reopening applies nothing new and keeps the version.
        let again = Catalog::open(&url_in(&dir)).await.unwrap();
        assert_eq!(again.schema_version().await.unwrap(), 18);
    }

    #[tokio::test]
    async fn a_modified_applied_migration_stops_with_a_migrate_error() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&url_in(&dir)).await.unwrap();
        sqlx::query("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1")
            .execute(catalog.pool())
            .await
            .unwrap();
        catalog.close().await;
        let err = Catalog::open(&url_in(&dir)).await.unwrap_err();
        assert!(matches!(err, CatalogError::Migrate { .. }), "{err}");
        assert!(
            err.to_string().contains("catalog migration failed"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_non_sqlite_url_is_rejected_with_the_url_named() {
        let err = Catalog::open("mysql://x@127.0.0.1/db").await.unwrap_err();
        assert!(matches!(err, CatalogError::BadUrl { .. }), "{err}");
        assert!(err.to_string().contains("mysql://x@127.0.0.1/db"), "{err}");
    }
}
