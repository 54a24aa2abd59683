//! Repository records in the catalog.

use chrono::{DateTime, Utc};

use super::Catalog;

/// A repository as the catalog stores it, its passphrases opened.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RepositoryRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    /// An encrypted repository's passphrase; never logged or sent, except
    /// by an administrator's export.
    pub passphrase: Option<String>,
    /// The passphrase before a change that has not finished (see migration 0007).
    pub passphrase_previous: Option<String>,
    pub passphrase_exported_at: Option<DateTime<Utc>>,
    pub passphrase_exported_by: Option<String>,
    /// An S3 repository's own access key id, when it has one.
    pub s3_access_key_id: Option<String>,
    /// Its secret (opened); never logged or sent.
    pub s3_secret: Option<String>,
    /// Every job writing to it stays below this many MiB per second.
    pub limit_upload_mib: Option<i64>,
}

impl std::fmt::Debug for RepositoryRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepositoryRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("location", &self.location)
            .field("is_default", &self.is_default)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl RepositoryRecord {
    /// Its upload limit in bytes per second, when it has one.
    pub fn upload_limit(&self) -> Option<u64> {
        self.limit_upload_mib
            .and_then(|mib| u64::try_from(mib).ok())
            .filter(|mib| *mib > 0)
            .map(|mib| mib << 20)
    }

    /// What the engine needs to open this repository.
    pub fn access(&self) -> crate::repo_access::RepoAccess {
        crate::repo_access::RepoAccess::new(
            &self.location,
            self.passphrase.clone(),
            self.passphrase_previous.clone(),
        )
        .with_s3_credentials(self.s3_credentials())
    }

    /// The repository's own S3 key, when it has one.
    pub fn s3_credentials(&self) -> Option<tidemark_engine::S3Credentials> {
        match (&self.s3_access_key_id, &self.s3_secret) {
            (Some(id), Some(secret)) => Some(tidemark_engine::S3Credentials {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
            }),
            _ => None,
        }
    }
}

/// The default repository's name, created at first start.
pub const DEFAULT_REPOSITORY_NAME: &str = "local-default";

impl Catalog {
    /// Makes sure the default local repository is registered at `location`.
    /// At first start it is inserted; later starts keep the existing record
    /// (an administrator may have renamed or moved it) and return it.
    pub async fn ensure_default_repository(
        &self,
        location: &str,
    ) -> Result<RepositoryRecord, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let existing: Option<RepositoryRecord> =
            sqlx::query_as("SELECT * FROM repositories WHERE is_default ORDER BY id LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let record = match existing {
            Some(record) => record,
            None => {
                sqlx::query_as(
                    "INSERT INTO repositories (name, kind, location, is_default, created_at) \
                     VALUES (?, 'local', ?, TRUE, ?) RETURNING *",
                )
                .bind(DEFAULT_REPOSITORY_NAME)
                .bind(location)
                .bind(Utc::now())
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        self.opened_repository(record)
    }

    /// The record with its passphrases opened for use by the engine.
    fn opened_repository(
        &self,
        mut record: RepositoryRecord,
    ) -> Result<RepositoryRecord, sqlx::Error> {
        record.passphrase = self.open_secret(record.passphrase.take())?;
        record.passphrase_previous = self.open_secret(record.passphrase_previous.take())?;
        record.s3_secret = self.open_secret(record.s3_secret.take())?;
        Ok(record)
    }

    /// All repositories, the default first, then by name.
    pub async fn list_repositories(&self) -> Result<Vec<RepositoryRecord>, sqlx::Error> {
        let rows: Vec<RepositoryRecord> =
            sqlx::query_as("SELECT * FROM repositories ORDER BY is_default DESC, name")
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|r| self.opened_repository(r))
            .collect()
    }

    pub async fn repository(&self, id: i64) -> Result<Option<RepositoryRecord>, sqlx::Error> {
        let row: Option<RepositoryRecord> =
            sqlx::query_as("SELECT * FROM repositories WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| self.opened_repository(r)).transpose()
    }

    /// Registers a repository that the engine has already initialised (or,
    /// with a passphrase, is about to: see the repository server functions).
    pub async fn insert_repository(
        &self,
        name: &str,
        kind: &str,
        location: &str,
        passphrase: Option<&str>,
    ) -> Result<RepositoryRecord, super::CatalogWriteError> {
        let record = sqlx::query_as(
            "INSERT INTO repositories (name, kind, location, is_default, created_at, passphrase) \
             VALUES (?, ?, ?, FALSE, ?, ?) RETURNING *",
        )
        .bind(name)
        .bind(kind)
        .bind(location)
        .bind(Utc::now())
        .bind(self.seal_secret(passphrase))
        .fetch_one(self.pool())
        .await
        .map_err(|e| super::CatalogWriteError::classify(e, "name"))?;
        Ok(self.opened_repository(record)?)
    }

    /// Gives an S3 repository its own access key (the secret sealed), or
    /// with None makes it use the server's environment again.
    pub async fn set_repository_credentials(
        &self,
        id: i64,
        credentials: Option<&tidemark_engine::S3Credentials>,
    ) -> Result<Option<RepositoryRecord>, sqlx::Error> {
        let row: Option<RepositoryRecord> = sqlx::query_as(
            "UPDATE repositories SET s3_access_key_id = ?, s3_secret = ? WHERE id = ? RETURNING *",
        )
        .bind(credentials.map(|c| c.access_key_id.as_str()))
        .bind(self.seal_secret(credentials.map(|c| c.secret_access_key.as_str())))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| self.opened_repository(r)).transpose()
    }

    /// Sets (or with None clears) the repository's upload limit.
    pub async fn set_repository_limit(
        &self,
        id: i64,
        limit_upload_mib: Option<u32>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE repositories SET limit_upload_mib = ? WHERE id = ?")
            .bind(limit_upload_mib)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets a repository record (the files stay); used when the engine
    /// could not initialise the repository just registered.
    pub async fn remove_repository(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM repositories WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await
            .map(drop)
    }

    /// Stores the passphrase that opens the repository now (unlocking one
    /// added without it, or a first start's generated one).
    pub async fn set_repository_passphrase(
        &self,
        id: i64,
        passphrase: &str,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE repositories SET passphrase = ?, passphrase_previous = NULL, \
             passphrase_exported_at = NULL, passphrase_exported_by = NULL WHERE id = ?",
        )
        .bind(self.seal_secret(Some(passphrase)))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// First step of a change: `new` becomes the passphrase, the current
    /// one is kept as the previous until [`Catalog::finish_passphrase_change`].
    pub async fn begin_passphrase_change(&self, id: i64, new: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE repositories SET passphrase_previous = passphrase, passphrase = ? \
             WHERE id = ? AND passphrase IS NOT NULL",
        )
        .bind(self.seal_secret(Some(new)))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The engine has re-wrapped the key: the previous passphrase and the
    /// record of its export are gone.
    pub async fn finish_passphrase_change(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE repositories SET passphrase_previous = NULL, \
             passphrase_exported_at = NULL, passphrase_exported_by = NULL WHERE id = ?",
        )
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// The engine refused the change: the previous passphrase is the one again.
    pub async fn abort_passphrase_change(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE repositories SET passphrase = passphrase_previous, passphrase_previous = NULL \
             WHERE id = ? AND passphrase_previous IS NOT NULL",
        )
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// Records that `by` exported the passphrase now.
    pub async fn mark_passphrase_exported(&self, id: i64, by: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE repositories SET passphrase_exported_at = ?, passphrase_exported_by = ? \
             WHERE id = ?",
        )
        .bind(Utc::now())
        .bind(by)
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    pub async fn count_repositories(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM repositories")
            .fetch_one(self.pool())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn default_repository_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let catalog = Catalog::open(&url).await.unwrap();
        let first = catalog
            .ensure_default_repository("/data/repo")
            .await
            .unwrap();
        assert_eq!(first.name, DEFAULT_REPOSITORY_NAME);
        assert!(first.is_default);
        let second = catalog
            .ensure_default_repository("/elsewhere")
            .await
            .unwrap();
        assert_eq!(second, first, "a later start keeps the registered default");
        assert_eq!(catalog.count_repositories().await.unwrap(), 1);
        assert_eq!(catalog.list_repositories().await.unwrap(), vec![first]);
    }
}
