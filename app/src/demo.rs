//! The embedded demo: at first start with no data source, a small SQLite
//! time-series database of device metrics is created in the data directory
//! and registered, so a new administrator can back something up at once.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::catalog::{Catalog, NewSource, SourceRecord};
use crate::model::SourceKind;

pub const DEMO_SOURCE_NAME: &str = "demo-metrics";
/// 50 devices × 4 metrics × 1 500 minutes = 300 000 rows.
const DEVICES: i64 = 50;
const SAMPLES_PER_SERIES: i64 = 1_500;

/// Creates and registers the demo source when the catalog has no source
/// and the demo file does not exist yet (an administrator who deleted the
/// demo does not get it back).
pub async fn ensure_demo_source(
    catalog: &Catalog,
    data_dir: &Path,
) -> Result<Option<SourceRecord>, DemoError> {
    let path = data_dir.join("demo").join("metrics.db");
    if catalog.count_sources().await? > 0 || path.exists() {
        return Ok(None);
    }
    let dir = data_dir.join("demo");
    std::fs::create_dir_all(&dir).map_err(|source| DemoError::Io { path: dir, source })?;
    create_database(&path).await?;
    let location = path.display().to_string();
    let record = catalog
        .insert_source(&NewSource {
            name: DEMO_SOURCE_NAME,
            kind: SourceKind::Sqlite,
            location: &location,
            description: "Demo: device metrics (SQLite), created at first start",
            is_demo: true,
            secret: None,
        })
        .await
        .map_err(|e| match e {
            crate::catalog::CatalogWriteError::Db(db) => DemoError::Catalog(db),
            other => DemoError::Catalog(sqlx::Error::Protocol(other.to_string())),
        })?;
    Ok(Some(record))
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot create {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the demo database: {0}")]
    Database(#[source] sqlx::Error),
    #[error("cannot register the demo source: {0}")]
    Catalog(#[from] sqlx::Error),
}

async fn create_database(path: &Path) -> Result<(), DemoError> {
    let temp = path.with_extension("db.partial");
    let _ = std::fs::remove_file(&temp);
    let url = format!("sqlite://{}", temp.display());
    let mut conn = SqliteConnectOptions::from_str(&url)
        .map_err(DemoError::Database)?
        .create_if_missing(true)
        .connect()
        .await
        .map_err(DemoError::Database)?;
    let statements = [
        "CREATE TABLE devices (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, site TEXT NOT NULL)"
            .to_owned(),
        "CREATE TABLE metrics (ts TEXT NOT NULL, device_id INTEGER NOT NULL REFERENCES devices(id), \
         metric TEXT NOT NULL, value REAL NOT NULL)"
            .to_owned(),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {DEVICES}) \
             INSERT INTO devices SELECT i, printf('device-%03d', i), \
             CASE i % 3 WHEN 0 THEN 'north' WHEN 1 THEN 'south' ELSE 'east' END FROM n"
        ),
        // Four metrics per device, one sample every minute, deterministic values.
        format!(
            "WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < {}), \
             m(name, base) AS (VALUES ('temperature', 21.0), ('humidity', 45.0), ('pressure', 1013.0), ('power', 230.0)) \
             INSERT INTO metrics SELECT \
               strftime('%Y-%m-%dT%H:%M:%SZ', '2026-11-01 00:00:00', '+' || s.k || ' minutes'), \
               d.id, m.name, \
               round(m.base + ((s.k * 7 + d.id * 13) % 100) / 10.0 - 5.0, 2) \
             FROM s CROSS JOIN devices d CROSS JOIN m",
            SAMPLES_PER_SERIES - 1
        ),
        "CREATE INDEX metrics_by_time ON metrics (ts)".to_owned(),
    ];
    let mut tx = conn.begin().await.map_err(DemoError::Database)?;
    for sql in &statements {
        sqlx::query(sql)
            .execute(&mut *tx)
            .await
            .map_err(DemoError::Database)?;
    }
    tx.commit().await.map_err(DemoError::Database)?;
    conn.close().await.map_err(DemoError::Database)?;
    std::fs::rename(&temp, path).map_err(|source| DemoError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_demo_is_created_once_with_a_few_hundred_thousand_rows() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let catalog = Catalog::open(&url).await.unwrap();
        let source = ensure_demo_source(&catalog, dir.path())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(source.name, DEMO_SOURCE_NAME);
        assert!(source.is_demo);
        let db = format!("sqlite://{}", source.location);
        let mut conn = SqliteConnectOptions::from_str(&db)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM metrics")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(rows, DEVICES * 4 * SAMPLES_PER_SERIES);
        assert!(ensure_demo_source(&catalog, dir.path())
            .await
            .unwrap()
            .is_none());
        // Deleted by the administrator: not created again.
        assert_eq!(catalog.delete_source(source.id).await.unwrap(), Ok(true));
        assert!(ensure_demo_source(&catalog, dir.path())
            .await
            .unwrap()
            .is_none());
    }
}
