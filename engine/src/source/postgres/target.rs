//! Restoring into a PostgreSQL database: structure first (psql replays
//! pg_dump's pre-data), then each table in its own transaction (an
//! existing table is emptied and reloaded in that transaction, so a failed
//! or cancelled load leaves it as it was), then indexes, constraints and
//! sequence values once every table is loaded.

use std::io::Write;
use std::process::{Command, Stdio};

use sqlx::Executor;

use super::conn::{pg_error, quote_qualified, PgAccess, PgLocation};
use super::copy::CopyIn;
use super::{POST_DATA, PRE_DATA, SEQUENCES};
use crate::error::{EngineError, Result};
use crate::repo::manifest::{ObjectEntry, ObjectKind};
use crate::source::dbio::{
    kept_structure_note, runtime, table_load, unknown_structure, StatementsSink, TableLoad,
};
use crate::source::{Load, LoadMode, ObjectSink, Target};

pub struct PostgresTarget {
    at: PgLocation,
    rt: tokio::runtime::Runtime,
    /// Statements kept for `finish` (post-data, sequence values).
    deferred: Vec<(String, Vec<u8>)>,
    /// The structure was reused rather than created (the tables existed).
    reused_structure: bool,
    /// Tables this restore created (empty) from the structure: loading
    /// them is not a conflict.
    created: Vec<String>,
}

impl PostgresTarget {
    pub fn open(at: PgLocation) -> Result<Self> {
        Ok(PostgresTarget {
            at,
            rt: runtime()?,
            deferred: Vec::new(),
            reused_structure: false,
            created: Vec::new(),
        })
    }

    /// Whether the database exists (connecting to the server's `postgres`
    /// database, which also checks the credentials).
    fn database_exists(&self) -> Result<bool> {
        let admin = self.at.with_database("postgres");
        self.rt.block_on(async {
            let mut conn = admin.connect().await?;
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_database WHERE datname = $1")
                .bind(&self.at.database)
                .fetch_one(&mut conn)
                .await
                .map(|n| n > 0)
                .map_err(|e| pg_error(&admin, "list the databases of", e))
        })
    }

    fn create_database(&self) -> Result<()> {
        if self.database_exists()? {
            return Ok(());
        }
        let admin = self.at.with_database("postgres");
        self.rt.block_on(async {
            let mut conn = admin.connect().await?;
            conn.execute(
                format!(
                    "CREATE DATABASE {}",
                    super::conn::quote_ident(&self.at.database)
                )
                .as_str(),
            )
            .await
            .map(drop)
            .map_err(|e| pg_error(&self.at, "create the database", e))
        })
    }

    fn user_tables(&self) -> Result<Vec<String>> {
        if !self.database_exists()? {
            return Ok(Vec::new());
        }
        self.rt.block_on(async {
            let mut conn = self.at.connect().await?;
            sqlx::query_scalar(
                "SELECT format('%s.%s', table_schema, table_name) FROM information_schema.tables \
                 WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
            )
            .fetch_all(&mut conn)
            .await
            .map_err(|e| pg_error(&self.at, "list the tables of", e))
        })
    }

    /// Replays SQL text with psql in one transaction, stopping at the first error.
    fn replay(&self, what: &str, sql: &[u8]) -> Result<()> {
        let mut child = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-f",
                "-",
            ])
            .envs(self.at.libpq_env())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| EngineError::io("psql (install PostgreSQL's client tools)", e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(sql)
                .map_err(|e| EngineError::io("psql", e))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| EngineError::io("psql", e))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(EngineError::Database {
                what: format!("restore {what} into {}", self.at.display()),
                detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

impl PostgresTarget {
    /// Pre-data now (unless the tables exist: then the structure is kept);
    /// post-data and sequence values once every table is loaded.
    fn apply_structure(&mut self, name: String, sql: Vec<u8>) -> Result<Vec<String>> {
        match name.as_str() {
            PRE_DATA => {
                self.create_database()?;
                if self.user_tables()?.is_empty() {
                    self.replay("the structure (pre-data)", &sql)?;
                    self.created = self.user_tables()?;
                    Ok(Vec::new())
                } else {
                    self.reused_structure = true;
                    Ok(vec![kept_structure_note(&self.at.display())])
                }
            }
            POST_DATA | SEQUENCES => {
                self.deferred.push((name, sql));
                Ok(Vec::new())
            }
            other => Err(unknown_structure(other)),
        }
    }
}

impl Target for PostgresTarget {
    fn url(&self) -> String {
        self.at.display()
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn server_version(&self) -> Result<Option<String>> {
        let admin = self.at.with_database("postgres");
        self.rt.block_on(async {
            let mut conn = admin.connect().await?;
            sqlx::query_scalar::<_, String>("SHOW server_version")
                .fetch_one(&mut conn)
                .await
                .map(Some)
                .map_err(|e| pg_error(&admin, "read the version of", e))
        })
    }

    fn existing(&self, names: &[&str]) -> Result<Vec<String>> {
        let tables = self.user_tables()?;
        Ok(names
            .iter()
            .filter(|n| tables.iter().any(|t| t == *n))
            .map(|n| (*n).to_owned())
            .collect())
    }

    fn is_empty(&self) -> Result<bool> {
        Ok(self.user_tables()?.is_empty())
    }

    fn begin(&mut self, entry: &ObjectEntry, spec: &Load) -> Result<Box<dyn ObjectSink + '_>> {
        let name = spec.name.as_str();
        // Merging and time ranges are refused by the pre-checks (can_merge).
        let overwrite = spec.mode == LoadMode::Replace;
        if entry.kind == ObjectKind::Schema {
            let name = entry.name.clone();
            return Ok(Box::new(StatementsSink::new(move |sql| {
                self.apply_structure(name, sql)
            })));
        }
        if entry.kind != ObjectKind::Table {
            return Err(EngineError::invalid(
                format!("object {}", entry.name),
                "only tables and structure can be restored into PostgreSQL",
            ));
        }
        self.create_database()?;
        let tables = self.user_tables()?;
        let load = table_load(
            entry,
            name,
            &tables,
            &self.created,
            overwrite,
            &self.at.display(),
        )?;
        let prepare = match load {
            TableLoad::Fresh => Vec::new(),
            // Emptied in the load's transaction: a failed load rolls it back.
            TableLoad::Replace => vec![format!("TRUNCATE {}", quote_qualified(name))],
            // The same columns, defaults and indexes.
            TableLoad::CopyShapeOf(original) => vec![format!(
                "CREATE TABLE {} (LIKE {} INCLUDING ALL)",
                quote_qualified(name),
                quote_qualified(&original)
            )],
        };
        Ok(Box::new(TableSink {
            copy: Some(CopyIn::start(&self.at, name, prepare, Vec::new())),
            rows: entry.rows,
            name: name.to_owned(),
        }))
    }

    fn finish(&mut self, _restored: &[(ObjectEntry, String)]) -> Result<()> {
        for (name, sql) in std::mem::take(&mut self.deferred) {
            if name == POST_DATA && self.reused_structure {
                continue;
            }
            self.replay(&name, &sql)?;
        }
        Ok(())
    }
}

struct TableSink {
    copy: Option<CopyIn>,
    rows: Option<u64>,
    name: String,
}

impl ObjectSink for TableSink {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.copy {
            Some(copy) => copy.write(data),
            None => Err(EngineError::invalid(
                format!("table {}", self.name),
                "already finished",
            )),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<Vec<String>> {
        let copy = self.copy.take().ok_or_else(|| {
            EngineError::invalid(format!("table {}", self.name), "already finished")
        })?;
        copy.commit(self.rows)?;
        Ok(Vec::new())
    }

    fn abort(self: Box<Self>) {}
}
