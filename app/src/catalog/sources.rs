//! Data source records.

use chrono::{DateTime, Utc};

use super::{Catalog, CatalogWriteError};
use crate::model::SourceKind;

#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SourceRecord {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub description: String,
    pub is_demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The password of a database server source; never logged or sent.
    pub secret: Option<String>,
    /// Kept for restore drills (scratch databases are made on it).
    pub drill_server: bool,
}

impl std::fmt::Debug for SourceRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("location", &self.location)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

impl SourceRecord {
    pub fn kind(&self) -> Option<SourceKind> {
        SourceKind::parse(&self.kind)
    }

    /// The engine URL of this source.
    pub fn url(&self) -> Option<String> {
        self.kind()
            .map(|k| k.url_of(&self.location, self.secret.as_deref()))
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
    /// A new password; `None` keeps the stored one on update.
    pub secret: Option<&'a str>,
}

impl Catalog {
    /// The record with its password opened for use by the engine.
    fn opened(&self, mut record: SourceRecord) -> Result<SourceRecord, sqlx::Error> {
        record.secret = self.open_secret(record.secret.take())?;
        Ok(record)
    }

    pub async fn list_sources(&self) -> Result<Vec<SourceRecord>, sqlx::Error> {
        let rows: Vec<SourceRecord> = sqlx::query_as("SELECT * FROM sources ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(|r| self.opened(r)).collect()
    }

    pub async fn source(&self, id: i64) -> Result<Option<SourceRecord>, sqlx::Error> {
        let row: Option<SourceRecord> = sqlx::query_as("SELECT * FROM sources WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| self.opened(r)).transpose()
    }

    /// Seals passwords stored before the catalog had a key; returns how many.
    pub async fn seal_stored_secrets(&self) -> Result<u64, sqlx::Error> {
        let Some(secrets) = self.secrets() else {
            return Ok(0);
        };
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, secret FROM sources WHERE secret IS NOT NULL")
                .fetch_all(self.pool())
                .await?;
        let mut sealed = 0;
        for (id, secret) in rows {
            if crate::auth::secrets::Secrets::is_sealed(&secret) {
                continue;
            }
            sqlx::query("UPDATE sources SET secret = ? WHERE id = ?")
                .bind(secrets.seal(&secret))
                .bind(id)
                .execute(self.pool())
                .await?;
            sealed += 1;
        }
        Ok(sealed)
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
            "INSERT INTO sources (name, kind, location, description, is_demo, secret, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(new.name)
        .bind(new.kind.as_str())
        .bind(new.location)
        .bind(new.description)
        .bind(new.is_demo)
        .bind(self.seal_secret(new.secret))
        .bind(now)
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))
        .and_then(|r| self.opened(r).map_err(CatalogWriteError::Db))
    }

    pub async fn update_source(
        &self,
        id: i64,
        new: &NewSource<'_>,
    ) -> Result<Option<SourceRecord>, CatalogWriteError> {
        sqlx::query_as(
            "UPDATE sources SET name = ?, kind = ?, location = ?, description = ?, \
             secret = COALESCE(?, secret), updated_at = ? WHERE id = ? RETURNING *",
        )
        .bind(new.name)
        .bind(new.kind.as_str())
        .bind(new.location)
        .bind(new.description)
        .bind(self.seal_secret(new.secret))
        .bind(Utc::now())
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))?
        .map(|r| self.opened(r).map_err(CatalogWriteError::Db))
        .transpose()
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
