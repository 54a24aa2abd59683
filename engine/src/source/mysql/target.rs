//! Restoring into MariaDB/MySQL: the structure with foreign-key checks off
//! (tables come in any order), then each table in batches inside one
//! transaction. An existing table is loaded into a staging copy and swapped
//! in with one `RENAME TABLE`, so a failed load leaves it as it was.

use std::collections::HashMap;

use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Executor};

use super::account_lock;
use super::columns::{read_back, table_columns};
use super::conn::{connect, my_error, quote_ident, MyLocation};
use super::load::{Merged, TableSink, SQL_MODE, STAGE, STAGE_NAME};
use super::rows::{RowReader, FORMAT_BYTES};
use super::{programs, EVENTS, ROUTINES, STATEMENT_END, TABLES, TRIGGERS, VIEWS};
use crate::error::{EngineError, Result};
use crate::repo::manifest::{ObjectEntry, ObjectKind};
use crate::source::dbio::{
    kept_structure_note, runtime, table_difference, table_load, unknown_structure, StatementsSink,
    TableFacts, TableLoad,
};
use crate::source::{DuplicatePolicy, Load, LoadMode, ObjectSink, Target};

const STAGING_SUFFIX: &str = "__tidemark_new";

/// The restore's session: values checked as [`SQL_MODE`] says, times in
/// UTC, statements and results in utf8mb4.
fn session() -> String {
    format!(
        "SET SESSION foreign_key_checks = 0, unique_checks = 0, sql_mode = '{SQL_MODE}', time_zone = '+00:00', \
         character_set_client = utf8mb4, character_set_results = utf8mb4, collation_connection = utf8mb4_unicode_ci"
    )
}

fn no_time_column(table: &str) -> EngineError {
    EngineError::invalid(
        format!("time range of table {table}"),
        "the table has no single time column",
    )
}

pub struct MySqlTarget {
    at: MyLocation,
    rt: tokio::runtime::Runtime,
    conn: Option<MySqlConnection>,
    views: Option<Vec<u8>>,
    created: Vec<String>,
    /// The stored programs each structure object held, checked when read back.
    programs: HashMap<String, Vec<(String, String)>>,
    /// Each loaded table's columns in the order of its stream.
    loaded_columns: HashMap<String, Vec<String>>,
    /// The server's max_allowed_packet, read when connecting.
    max_packet: u64,
    /// Accounts locked out for the restore, unlocked at the end (or when
    /// the target is dropped after a failure).
    locked: Vec<(String, String)>,
}

impl Drop for MySqlTarget {
    fn drop(&mut self) {
        if let Err(err) = self.unlock_accounts() {
            tracing::error!("{err}");
        }
    }
}

impl MySqlTarget {
    pub fn open(at: MyLocation) -> Result<Self> {
        Ok(MySqlTarget {
            at,
            rt: runtime()?,
            conn: None,
            views: None,
            created: Vec::new(),
            programs: HashMap::new(),
            loaded_columns: HashMap::new(),
            max_packet: 0,
            locked: Vec::new(),
        })
    }

    fn unlock_accounts(&mut self) -> Result<()> {
        if self.locked.is_empty() {
            return Ok(());
        }
        let accounts = std::mem::take(&mut self.locked);
        self.rt.block_on(async {
            let mut server = connect(&self.at, false).await?;
            account_lock::unlock(&mut server, &self.at, &accounts).await
        })
    }

    /// A table's rows as the server counts them now.
    pub fn count_rows(&self, table: &str) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", quote_ident(table));
        self.rt.block_on(async {
            let mut conn = connect(&self.at, true).await?;
            let count: i64 = sqlx::query_scalar(&sql)
                .fetch_one(&mut conn)
                .await
                .map_err(|e| my_error(&self.at, &format!("count the rows of {table} in"), e))?;
            let _ = conn.close().await;
            Ok(u64::try_from(count).unwrap_or(0))
        })
    }

    /// The connection to the database, creating the database first if needed.
    fn conn(&mut self) -> Result<&mut MySqlConnection> {
        if self.conn.is_none() {
            let at = self.at.clone();
            let conn = self.rt.block_on(async {
                let mut server = connect(&at, false).await?;
                server
                    .execute(
                        format!(
                            "CREATE DATABASE IF NOT EXISTS {}",
                            quote_ident(&at.database)
                        )
                        .as_str(),
                    )
                    .await
                    .map_err(|e| my_error(&at, "create the database", e))?;
                let _ = server.close().await;
                let mut conn = connect(&at, true).await?;
                conn.execute(session().as_str())
                    .await
                    .map_err(|e| my_error(&at, "prepare", e))?;
                let packet: u64 =
                    sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS UNSIGNED)")
                        .fetch_one(&mut conn)
                        .await
                        .map_err(|e| my_error(&at, "read max_allowed_packet of", e))?;
                Ok::<_, EngineError>((conn, packet))
            })?;
            self.conn = Some(conn.0);
            self.max_packet = conn.1;
        }
        self.conn.as_mut().ok_or_else(|| EngineError::Database {
            what: format!("connect to {}", self.at.display()),
            detail: "no connection".into(),
        })
    }

    /// Whether the database exists, and drops it when `drop` (a drill's
    /// scratch database; never a restore target).
    pub(crate) fn scratch_database(&self, drop: bool) -> Result<bool> {
        self.rt.block_on(async {
            let mut server = connect(&self.at, false).await?;
            let exists: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            )
            .bind(&self.at.database)
            .fetch_one(&mut server)
            .await
            .map_err(|e| my_error(&self.at, "list the databases of", e))?;
            if drop && exists > 0 {
                server
                    .execute(format!("DROP DATABASE {}", quote_ident(&self.at.database)).as_str())
                    .await
                    .map_err(|e| my_error(&self.at, "drop the scratch database", e))?;
            }
            Ok(exists > 0)
        })
    }

    fn tables(&self) -> Result<Vec<String>> {
        self.rt.block_on(async {
            let mut server = connect(&self.at, false).await?;
            sqlx::query_scalar(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')",
            )
            .bind(&self.at.database)
            .fetch_all(&mut server)
            .await
            .map_err(|e| my_error(&self.at, "list the tables of", e))
        })
    }

    fn run_statements(&mut self, what: &str, sql: &[u8]) -> Result<()> {
        let text = String::from_utf8_lossy(sql).into_owned();
        self.conn()?;
        let MySqlTarget { at, rt, conn, .. } = self;
        let conn = conn.as_mut().ok_or_else(|| EngineError::Database {
            what: format!("connect to {}", at.display()),
            detail: "no connection".into(),
        })?;
        rt.block_on(async {
            for statement in text
                .split(STATEMENT_END)
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                conn.execute(statement)
                    .await
                    .map_err(|e| my_error(at, &format!("restore {what} into"), e))?;
            }
            Ok(())
        })
    }
}

impl MySqlTarget {
    /// Tables now (unless tables exist: then the structure is kept); views
    /// once every table is loaded.
    fn apply_structure(&mut self, name: &str, sql: Vec<u8>) -> Result<Vec<String>> {
        match name {
            TABLES if self.tables()?.is_empty() => {
                self.run_statements("the table structure", &sql)?;
                self.created = self.tables()?;
                Ok(Vec::new())
            }
            TABLES => Ok(vec![kept_structure_note(&self.at.display())]),
            VIEWS => {
                self.views = Some(sql);
                Ok(Vec::new())
            }
            ROUTINES | TRIGGERS | EVENTS => {
                let text = String::from_utf8(sql).map_err(|_| {
                    EngineError::corrupt(format!("object {name}"), "its statements are not UTF-8")
                })?;
                self.conn()?;
                let MySqlTarget { at, rt, conn, .. } = self;
                let conn = conn.as_mut().ok_or_else(|| EngineError::Database {
                    what: format!("connect to {}", at.display()),
                    detail: "no connection".into(),
                })?;
                let done = rt.block_on(programs::replay(conn, at, &text, &session()))?;
                self.programs.insert(name.to_owned(), done.programs);
                Ok(done.notes)
            }
            other => Err(unknown_structure(other)),
        }
    }
}

impl Target for MySqlTarget {
    fn url(&self) -> String {
        self.at.display()
    }

    fn kind(&self) -> &'static str {
        "mysql"
    }

    fn server_version(&self) -> Result<Option<String>> {
        self.rt.block_on(async {
            let mut server = connect(&self.at, false).await?;
            sqlx::query_scalar::<_, String>("SELECT VERSION()")
                .fetch_one(&mut server)
                .await
                .map(Some)
                .map_err(|e| my_error(&self.at, "read the version of", e))
        })
    }

    fn can_lock(&self) -> bool {
        true
    }

    fn lock(&mut self) -> Result<Vec<String>> {
        if !self.scratch_database(false)? {
            return Ok(vec![format!(
                "database {} is new: nobody else can be using it, so no account was locked",
                self.at.database
            )]);
        }
        let (locked, notes) = self.rt.block_on(async {
            let mut server = connect(&self.at, false).await?;
            account_lock::lock(&mut server, &self.at).await
        })?;
        self.locked = locked;
        Ok(notes)
    }

    fn unlock(&mut self) -> Result<()> {
        self.unlock_accounts()
    }

    fn existing(&self, names: &[&str]) -> Result<Vec<String>> {
        let tables = self.tables()?;
        Ok(names
            .iter()
            .filter(|n| tables.iter().any(|t| t == *n))
            .map(|n| (*n).to_owned())
            .collect())
    }

    fn is_empty(&self) -> Result<bool> {
        Ok(self.tables()?.is_empty())
    }

    fn begin(&mut self, entry: &ObjectEntry, spec: &Load) -> Result<Box<dyn ObjectSink + '_>> {
        let name = spec.name.as_str();
        let overwrite = spec.mode == LoadMode::Replace;
        if entry.kind == ObjectKind::Schema {
            let name = entry.name.clone();
            return Ok(Box::new(StatementsSink::new(move |sql| {
                self.apply_structure(&name, sql)
            })));
        }
        if entry.kind != ObjectKind::Table {
            return Err(EngineError::invalid(
                format!("object {}", entry.name),
                "only tables and structure can be restored into MariaDB/MySQL",
            ));
        }
        let tables = self.tables()?;
        let merge = match spec.mode {
            LoadMode::Merge(policy) => Some(policy),
            _ => None,
        };
        let load = match merge {
            Some(_) => TableLoad::Fresh,
            None => table_load(
                entry,
                name,
                &tables,
                &self.created,
                overwrite,
                &self.at.display(),
            )?,
        };
        let staged = merge.is_some() || spec.range.is_some();
        // An existing table is loaded into a staging copy, swapped in at
        // commit; merges and time ranges go through a temporary table.
        let swap = load == TableLoad::Replace && !staged;
        let load_into = if staged {
            STAGE_NAME.to_owned()
        } else if swap {
            format!("{name}{STAGING_SUFFIX}")
        } else {
            name.to_owned()
        };
        let like = match &load {
            TableLoad::Fresh => None,
            TableLoad::Replace => swap.then(|| name.to_owned()),
            TableLoad::CopyShapeOf(original) => Some(original.clone()),
        };
        let at = self.at.clone();
        self.conn()?;
        let max_packet = self.max_packet;
        let MySqlTarget {
            rt,
            conn,
            loaded_columns,
            ..
        } = self;
        let conn = conn.as_mut().ok_or_else(|| EngineError::Database {
            what: format!("connect to {}", at.display()),
            detail: "no connection".into(),
        })?;
        let merged = if staged {
            let filter = match &spec.range {
                Some(range) => {
                    let column = rt
                        .block_on(super::time_column(conn, name))
                        .map_err(|e| my_error(&at, "read the columns of", e))?
                        .or(rt
                            .block_on(super::time_column(conn, &entry.name))
                            .map_err(|e| my_error(&at, "read the columns of", e))?)
                        .ok_or_else(|| no_time_column(&entry.name))?;
                    format!(" WHERE {}", range.sql_condition(&quote_ident(&column)))
                }
                None => String::new(),
            };
            Some(Merged {
                // Rewriting a range deletes that range's rows first;
                // replacing the table with a range of it empties it first.
                delete_first: matches!(merge, Some(DuplicatePolicy::Rewrite))
                    || load == TableLoad::Replace,
                delete_range_only: merge == Some(DuplicatePolicy::Rewrite),
                ignore_duplicates: merge == Some(DuplicatePolicy::Skip),
                filter,
            })
        } else {
            None
        };
        rt.block_on(async {
            if let Some(original) = like {
                conn.execute(format!("DROP TABLE IF EXISTS {}", quote_ident(&load_into)).as_str())
                    .await
                    .map_err(|e| my_error(&at, "prepare", e))?;
                conn.execute(
                    format!(
                        "CREATE TABLE {} LIKE {}",
                        quote_ident(&load_into),
                        quote_ident(&original)
                    )
                    .as_str(),
                )
                .await
                .map_err(|e| my_error(&at, &format!("create {load_into} in"), e))?;
            }
            if merged.is_some() {
                let shape = if tables.iter().any(|t| t == name) {
                    name
                } else {
                    entry.name.as_str()
                };
                conn.execute(format!("DROP TEMPORARY TABLE IF EXISTS {STAGE}").as_str())
                    .await
                    .map_err(|e| my_error(&at, "prepare", e))?;
                conn.execute(
                    format!("CREATE TEMPORARY TABLE {STAGE} LIKE {}", quote_ident(shape)).as_str(),
                )
                .await
                .map_err(|e| my_error(&at, "create a staging table in", e))?;
            }
            conn.execute("START TRANSACTION")
                .await
                .map_err(|e| my_error(&at, "start a transaction in", e))
        })?;
        // The table whose columns the rows go into (a temporary table is
        // not listed: the one it copies is).
        let shape = match (&merged, tables.iter().any(|t| t == name)) {
            (None, _) => load_into.as_str(),
            (Some(_), true) => name,
            (Some(_), false) => entry.name.as_str(),
        };
        let shape = rt
            .block_on(table_columns(conn, shape))
            .map_err(|e| my_error(&at, "read the columns of", e))?;
        if shape.versioned {
            // Its history goes back with each row's own start and end.
            rt.block_on(conn.execute("SET SESSION system_versioning_insert_history = 1"))
                .map_err(|e| {
                    EngineError::invalid(
                        format!("table {}", entry.name),
                        format!(
                            "it is system-versioned and {} cannot take its history back ({}); MariaDB 10.11 or later can",
                            at.display(),
                            my_error(&at, "prepare", e)
                        ),
                    )
                })?;
        }
        let target_columns = shape
            .columns
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect();
        Ok(Box::new(TableSink {
            at,
            rt,
            conn,
            table: name.to_owned(),
            load_into,
            swap,
            merged,
            expected: entry.rows,
            reader: RowReader::default(),
            batch: Vec::new(),
            loaded: 0,
            batch_bytes: 0,
            max_packet,
            target_columns,
            loaded_columns,
        }))
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn can_filter_time(&self) -> bool {
        true
    }

    fn verify_object(&mut self, entry: &ObjectEntry, load: &Load) -> Result<Option<String>> {
        if let Some(expected) = self.programs.get(&entry.name).cloned() {
            self.conn()?;
            let MySqlTarget { at, rt, conn, .. } = self;
            let Some(conn) = conn.as_mut() else {
                return Ok(None);
            };
            return rt.block_on(programs::missing(conn, at, &expected));
        }
        if entry.kind != ObjectKind::Table || entry.rows.is_none() {
            return Ok(None);
        }
        let at = self.at.clone();
        let name = load.name.as_str();
        self.conn()?;
        let MySqlTarget { rt, conn, .. } = self;
        let Some(conn) = conn.as_mut() else {
            return Ok(None);
        };
        let facts = rt.block_on(async {
            // A system-versioned table's rows include its history.
            let versioned = super::columns::is_versioned(conn, name).await?;
            let q = quote_ident(name)
                + if versioned {
                    " FOR SYSTEM_TIME ALL"
                } else {
                    ""
                };
            let count = async |conn: &mut MySqlConnection, sql: String| {
                sqlx::query_scalar::<_, i64>(&sql)
                    .fetch_one(conn)
                    .await
                    .map(|n| u64::try_from(n).unwrap_or(0))
            };
            let mut facts = TableFacts {
                rows: count(conn, format!("SELECT COUNT(*) FROM {q}")).await?,
                ..TableFacts::default()
            };
            if let Some(column) = super::time_column(conn, name).await? {
                let c = quote_ident(&column);
                if let Some(range) = &load.range {
                    let inside = range.sql_condition(&c);
                    let sql = format!("SELECT COUNT(*) FROM {q} WHERE NOT ({inside})");
                    facts.outside_range = count(conn, sql).await?;
                }
                facts.span = Some(
                    sqlx::query_as(&format!(
                        "SELECT CAST(MIN({c}) AS CHAR), CAST(MAX({c}) AS CHAR) FROM {q}"
                    ))
                    .fetch_one(&mut *conn)
                    .await?,
                );
            }
            Ok::<_, sqlx::Error>(facts)
        });
        let facts = facts.map_err(|e| my_error(&at, &format!("read back table {name} of"), e))?;
        Ok(table_difference(entry, load, &facts))
    }

    fn finish(&mut self, _restored: &[(ObjectEntry, String)]) -> Result<()> {
        if let Some(views) = self.views.take() {
            let text = String::from_utf8_lossy(&views).into_owned();
            self.conn()?;
            let MySqlTarget { at, rt, conn, .. } = self;
            if let Some(conn) = conn.as_mut() {
                rt.block_on(programs::replay_views(conn, at, &text))?;
            }
            // A view's statements set the character sets it was made under.
            self.run_statements("the session", session().as_bytes())?;
        }
        Ok(())
    }

    /// Reads the table back with the SELECT the backup streamed it with,
    /// in the stream's column order and value encoding.
    fn read_back(
        &mut self,
        entry: &ObjectEntry,
        load: &Load,
        row: &mut dyn FnMut(&[u8]),
    ) -> Result<bool> {
        let column_bytes = match entry.format.as_deref() {
            Some(FORMAT_BYTES) => true,
            None => false,
            Some(_) => return Ok(false),
        };
        if entry.kind != ObjectKind::Table {
            return Ok(false);
        }
        let name = load.name.as_str();
        let order = self.loaded_columns.get(name).cloned();
        self.conn()?;
        let MySqlTarget { at, rt, conn, .. } = self;
        let Some(conn) = conn.as_mut() else {
            return Ok(false);
        };
        let filter = match &load.range {
            Some(range) => {
                let column = rt
                    .block_on(super::time_column(conn, name))
                    .map_err(|e| my_error(at, "read the columns of", e))?
                    .ok_or_else(|| no_time_column(&entry.name))?;
                // The condition the range was loaded with.
                format!(" WHERE {}", range.sql_condition(&quote_ident(&column)))
            }
            None => String::new(),
        };
        rt.block_on(read_back(conn, at, name, order, column_bytes, &filter, row))?;
        Ok(true)
    }
}
