//! Data source records.

use chrono::{DateTime, Utc};

use super::{Catalog, CatalogWriteError};
use crate::model::SourceKind;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SourceRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub description: String,
    pub is_demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SourceRecord {
    pub fn kind(&self) -> Option<SourceKind> {
        SourceKind::parse(&self.kind)
    }

    /// The engine URL of this source.
    pub fn url(&self) -> Option<String> {
        self.kind().map(|k| k.url_of(&self.location))
    }
}

/// The values of a source to insert or update.
#[derive(Debug, Clone)]
pub struct NewSource<'a> {
    pub name: &'a str,
    pub kind: SourceKind,
    pub location: &'a str,
    pub description: &'a str,
    pub is_demo: bool,
}

impl Catalog {
    pub async fn list_sources(&self) -> Result<Vec<SourceRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM sources ORDER BY name")
            .fetch_all(self.pool())
            .await
    }

    pub async fn source(&self, id: i64) -> Result<Option<SourceRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM sources WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn count_sources(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM sources")
            .fetch_one(self.pool())
            .await
    }

    pub async fn insert_source(
        &self,
        new: &NewSource<'_>,
    ) -> Result<SourceRecord, CatalogWriteError> {
        let now = Utc::now();
        sqlx::query_as(
            "INSERT INTO sources (name, kind, location, description, is_demo, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(new.name)
        .bind(new.kind.as_str())
        .bind(new.location)
        .bind(new.description)
        .bind(new.is_demo)
        .bind(now)
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))
    }

    pub async fn update_source(
        &self,
        id: i64,
        new: &NewSource<'_>,
    ) -> Result<Option<SourceRecord>, CatalogWriteError> {
        sqlx::query_as(
            "UPDATE sources SET name = ?, kind = ?, location = ?, description = ?, updated_at = ? \
             WHERE id = ? RETURNING *",
        )
        .bind(new.name)
        .bind(new.kind.as_str())
        .bind(new.location)
        .bind(new.description)
        .bind(Utc::now())
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))
    }

    /// Deletes a source no task uses; returns the names of the tasks that
    /// still use it otherwise (and deletes nothing).
    pub async fn delete_source(&self, id: i64) -> Result<Result<bool, Vec<String>>, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let users: Vec<String> =
            sqlx::query_scalar("SELECT name FROM tasks WHERE source_id = ? ORDER BY name")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        if !users.is_empty() {
            return Ok(Err(users));
        }
        let deleted = sqlx::query("DELETE FROM sources WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(Ok(deleted > 0))
    }
}
