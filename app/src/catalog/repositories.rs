//! Repository records in the catalog.

use chrono::{DateTime, Utc};

use super::Catalog;

/// A repository as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RepositoryRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
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
        Ok(record)
    }

    /// All repositories, the default first, then by name.
    pub async fn list_repositories(&self) -> Result<Vec<RepositoryRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM repositories ORDER BY is_default DESC, name")
            .fetch_all(self.pool())
            .await
    }

    pub async fn repository(&self, id: i64) -> Result<Option<RepositoryRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM repositories WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// Registers a repository that the engine has already initialised.
    pub async fn insert_repository(
        &self,
        name: &str,
        kind: &str,
        location: &str,
    ) -> Result<RepositoryRecord, super::CatalogWriteError> {
        sqlx::query_as(
            "INSERT INTO repositories (name, kind, location, is_default, created_at) \
             VALUES (?, ?, ?, FALSE, ?) RETURNING *",
        )
        .bind(name)
        .bind(kind)
        .bind(location)
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await
        .map_err(|e| super::CatalogWriteError::classify(e, "name"))
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
