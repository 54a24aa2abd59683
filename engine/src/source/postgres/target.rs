//! Restoring into a PostgreSQL database: structure first (pg_dump's
//! pre-data, replayed in one transaction), then each table in its own transaction (an
//! existing table is emptied and reloaded in that transaction, so a failed
//! or cancelled load leaves it as it was), then indexes, constraints,
//! sequence values and materialized views' refreshes once every table is
//! loaded. Each table is then read back for its content digest.

use sqlx::Executor;

use super::conn::{pg_error, quote_ident, quote_qualified, PgAccess, PgLocation};
use super::copy::{CopyIn, LoadSql};
use super::load::{ParallelSink, TableSink};
use super::lobs::{self, LARGE_OBJECTS};
use super::meta;
use super::readback;
use super::rows::Format;
use super::session::Sessions;
use super::{POST_DATA, PRE_DATA, REFRESH, SEQUENCES};
use crate::error::{EngineError, Result};
use crate::repo::manifest::{ObjectEntry, ObjectKind};
use crate::source::dbio::{
    kept_structure_note, table_difference, table_load, unknown_structure, StatementsSink,
    TableFacts, TableLoad,
};
use crate::source::{DuplicatePolicy, Load, LoadMode, ObjectSink, Target, TimeRange};

/// Connections loading one large table at a time.
const LOADERS: usize = 2;
/// Tables from this size (as the source reported it) load in parallel.
const PARALLEL_FROM: u64 = 32 * 1024 * 1024;

pub struct PostgresTarget {
    at: PgLocation,
    sessions: Sessions,
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
            sessions: Sessions::new(at.clone())?,
            at,
            deferred: Vec::new(),
            reused_structure: false,
            created: Vec::new(),
        })
    }

    /// Whether the database exists (connecting to the server's `postgres`
    /// database, which also checks the credentials).
    pub(crate) fn database_exists(&self) -> Result<bool> {
        let admin = self.at.with_database("postgres");
        self.sessions.block_on(async {
            let mut conn = admin.connect().await?;
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_database WHERE datname = $1")
                .bind(&self.at.database)
                .fetch_one(&mut conn)
                .await
                .map(|n| n > 0)
                .map_err(|e| pg_error(&admin, "list the databases of", e))
        })
    }

    /// Drops the whole database, ending its sessions (a drill's scratch
    /// database; never a restore target).
    pub(crate) fn drop_database(&self) -> Result<()> {
        let admin = self.at.with_database("postgres");
        self.sessions.block_on(async {
            let mut conn = admin.connect().await?;
            conn.execute(
                format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&self.at.database)
                )
                .as_str(),
            )
            .await
            .map(drop)
            .map_err(|e| pg_error(&self.at, "drop the scratch database", e))
        })
    }

    fn create_database(&self) -> Result<()> {
        if self.database_exists()? {
            return Ok(());
        }
        let admin = self.at.with_database("postgres");
        self.sessions.block_on(async {
            let mut conn = admin.connect().await?;
            conn.execute(format!("CREATE DATABASE {}", quote_ident(&self.at.database)).as_str())
                .await
                .map(drop)
                .map_err(|e| pg_error(&self.at, "create the database", e))
        })
    }

    fn user_tables(&self) -> Result<Vec<String>> {
        if !self.database_exists()? {
            return Ok(Vec::new());
        }
        self.sessions.query("list the tables of", async |c| {
            sqlx::query_scalar(
                "SELECT format('%s.%s', table_schema, table_name) FROM information_schema.tables \
                 WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
            )
            .fetch_all(c)
            .await
        })
    }

    /// Replays pg_dump's SQL in one transaction, stopping at the first
    /// error. Its psql meta-commands (`\restrict`) are left out: the text
    /// goes to the server as plain SQL.
    fn replay(&self, what: &str, sql: &[u8]) -> Result<()> {
        let text = String::from_utf8_lossy(sql);
        let statements: String = text
            .lines()
            .filter(|line| !line.starts_with('\\'))
            .flat_map(|line| [line, "\n"])
            .collect();
        let doing = format!("restore {what} into");
        self.sessions.query(&doing, async |c| {
            // Several statements in one simple query run as one transaction.
            sqlx::raw_sql(&statements).execute(c).await.map(drop)
        })
    }
}

impl PostgresTarget {
    /// Loading into an existing table: its columns must be the backup's,
    /// and rows go through a staging table so the duplicate policy applies.
    fn merge_sql(
        &self,
        entry: &ObjectEntry,
        spec: &Load,
        duplicates: DuplicatePolicy,
    ) -> Result<LoadSql> {
        let name = spec.name.as_str();
        let columns = self
            .sessions
            .query(&format!("read the columns of {name} in"), async |c| {
                meta::columns(c, name).await
            })?;
        if !entry.columns.is_empty() && entry.columns != columns {
            return Err(EngineError::Conflict(format!(
                "table {name} at {} has columns ({}) but the backup's are ({}): rows cannot be loaded into it; restore under another name or overwrite it",
                self.at.display(),
                columns.join(", "),
                entry.columns.join(", ")
            )));
        }
        let on_conflict = if duplicates == DuplicatePolicy::Skip {
            " ON CONFLICT DO NOTHING"
        } else {
            ""
        };
        let unbounded = TimeRange::default();
        let range = spec.range.as_ref().unwrap_or(&unbounded);
        let (mut sql, filter) = self.staged_sql(entry, name, range, on_conflict)?;
        if duplicates == DuplicatePolicy::Rewrite {
            // DELETE, not TRUNCATE: rows other tables reference stop it.
            // With a time range, only that range's rows are rewritten.
            sql.finish.insert(
                0,
                format!("DELETE FROM ONLY {}{filter}", quote_qualified(name)),
            );
        }
        Ok(sql)
    }

    /// COPY into a temporary table, then insert the rows in `range` (and
    /// with `suffix`, e.g. ON CONFLICT) into `name`, in one transaction;
    /// also the range's ` WHERE …` (or nothing).
    fn staged_sql(
        &self,
        entry: &ObjectEntry,
        name: &str,
        range: &TimeRange,
        suffix: &str,
    ) -> Result<(LoadSql, String)> {
        // The shape comes from the backup's table when it is restored
        // under a new name (the new one does not exist yet).
        let shape = if self.user_tables()?.iter().any(|t| t == name) {
            name
        } else {
            entry.name.as_str()
        };
        let doing = format!("read the columns of {shape} in");
        let (columns, time) = self.sessions.query(&doing, async |c| {
            Ok((
                meta::columns(c, shape).await?,
                meta::time_column(c, shape).await?,
            ))
        })?;
        let list = columns
            .iter()
            .map(|c| quote_ident(c.split_once(' ').map_or(c.as_str(), |(n, _)| n)))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = match (range.is_unbounded(), time) {
            (true, _) => String::new(),
            (false, Some(column)) => {
                format!(" WHERE {}", range.sql_condition(&quote_ident(&column)))
            }
            (false, None) => {
                return Err(EngineError::invalid(
                    format!("time range of table {}", entry.name),
                    "the table has no single timestamp column",
                ))
            }
        };
        let stage = "pg_temp.tidemark_stage";
        let sql = LoadSql {
            table: name.to_owned(),
            copy_into: stage.into(),
            prepare: vec![
                // Range bounds are UTC.
                "SET LOCAL TIME ZONE 'UTC'".into(),
                format!(
                    "CREATE TEMP TABLE tidemark_stage ON COMMIT DROP AS SELECT {list} FROM {} WITH NO DATA",
                    quote_qualified(shape)
                ),
            ],
            finish: vec![format!(
                "INSERT INTO {} ({list}) SELECT {list} FROM {stage}{filter}{suffix}",
                quote_qualified(name)
            )],
            format: Format::of(entry)?,
        };
        Ok((sql, filter))
    }

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
            POST_DATA | SEQUENCES | REFRESH => {
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
        self.sessions.block_on(async {
            let mut conn = admin.connect().await?;
            sqlx::query_scalar::<_, String>("SHOW server_version")
                .fetch_one(&mut conn)
                .await
                .map(Some)
                .map_err(|e| pg_error(&admin, "read the version of", e))
        })
    }

    fn existing(&self, names: &[&str]) -> Result<Vec<String>> {
        let mut tables = self.user_tables()?;
        if names.contains(&LARGE_OBJECTS) && self.database_exists()? {
            let any = self
                .sessions
                .query("list the large objects of", async |c| lobs::any(c).await)?;
            if any {
                tables.push(LARGE_OBJECTS.into());
            }
        }
        Ok(names
            .iter()
            .filter(|n| tables.iter().any(|t| t == *n))
            .map(|n| (*n).to_owned())
            .collect())
    }

    fn is_empty(&self) -> Result<bool> {
        Ok(self.user_tables()?.is_empty())
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn can_lock(&self) -> bool {
        true
    }

    fn lock(&mut self) -> Result<Vec<String>> {
        let db = &self.at.database;
        if !self.database_exists()? {
            return Ok(vec![format!(
                "database {db} is new: nobody else can be using it, so it was not locked"
            )]);
        }
        let others = self.sessions.lock()?;
        let mut notes = vec![format!(
            "database {db} refused new connections while it was restored (ALLOW_CONNECTIONS false)"
        )];
        if others > 0 {
            notes.push(format!(
                "{others} session(s) already connected to {db} were left connected during the restore"
            ));
        }
        Ok(notes)
    }

    fn unlock(&mut self) -> Result<()> {
        self.sessions.unlock()
    }

    fn can_filter_time(&self) -> bool {
        true
    }

    fn begin(&mut self, entry: &ObjectEntry, spec: &Load) -> Result<Box<dyn ObjectSink + '_>> {
        let name = spec.name.as_str();
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
        let mut parallel = false;
        let sql = if entry.name == LARGE_OBJECTS {
            if spec.range.is_some() || name != LARGE_OBJECTS {
                return Err(EngineError::invalid(
                    format!("object {}", entry.name),
                    "large objects are restored whole and under their own name",
                ));
            }
            lobs::load_sql(spec.mode)
        } else if let LoadMode::Merge(duplicates) = spec.mode {
            self.merge_sql(entry, spec, duplicates)?
        } else {
            let tables = self.user_tables()?;
            let load = table_load(
                entry,
                name,
                &tables,
                &self.created,
                spec.mode == LoadMode::Replace,
                &self.at.display(),
            )?;
            let quoted = quote_qualified(name);
            // A large table this restore created empty loads over several
            // connections; emptied again if the load fails.
            parallel = load == TableLoad::Fresh
                && spec.range.is_none()
                && self.created.iter().any(|t| t == name)
                && entry.size >= PARALLEL_FROM;
            let prepare = match load {
                TableLoad::Fresh => Vec::new(),
                // Emptied in the load's transaction: a failed load rolls it
                // back, and views depending on the table keep working.
                // ONLY: an inheriting child's rows are its own table's.
                TableLoad::Replace => vec![format!("TRUNCATE ONLY {quoted}")],
                // The same columns, defaults and indexes.
                TableLoad::CopyShapeOf(original) => vec![format!(
                    "CREATE TABLE {quoted} (LIKE {} INCLUDING ALL)",
                    quote_qualified(&original)
                )],
            };
            match &spec.range {
                None => LoadSql {
                    table: name.to_owned(),
                    copy_into: quoted,
                    prepare,
                    finish: Vec::new(),
                    format: Format::of(entry)?,
                },
                Some(range) => {
                    let (mut sql, _) = self.staged_sql(entry, name, range, "")?;
                    sql.prepare.splice(0..0, prepare);
                    sql
                }
            }
        };
        // Parallel loaders cut binary rows; text tables load over one.
        if parallel && sql.format == Format::Binary {
            return Ok(Box::new(ParallelSink::start(
                &self.sessions,
                &self.at,
                name,
                entry.rows,
                LOADERS,
            )?));
        }
        let conn = self.sessions.block_on(self.sessions.take())?;
        Ok(Box::new(TableSink {
            copy: Some(CopyIn::start(self.sessions.handle(), conn, &self.at, sql)),
            rows: entry.rows,
            name: name.to_owned(),
            sessions: &self.sessions,
        }))
    }

    fn verify_object(&mut self, entry: &ObjectEntry, load: &Load) -> Result<Option<String>> {
        if entry.kind != ObjectKind::Table || entry.rows.is_none() {
            return Ok(None);
        }
        let name = load.name.as_str();
        let doing = format!("read back table {name} of");
        if entry.name == LARGE_OBJECTS {
            let facts = self
                .sessions
                .query(&doing, async |c| lobs::facts(c).await)?;
            let facts = TableFacts {
                rows: facts.map_or(0, |(rows, _)| rows),
                ..TableFacts::default()
            };
            return Ok(table_difference(entry, load, &facts));
        }
        let facts = self.sessions.query(&doing, async |conn| {
            let q = quote_qualified(name);
            let mut facts = TableFacts {
                rows: count(&mut *conn, &format!("SELECT count(*) FROM ONLY {q}")).await?,
                ..TableFacts::default()
            };
            if let Some(column) = meta::time_column(&mut *conn, name).await? {
                let c = quote_ident(&column);
                if let Some(range) = &load.range {
                    let inside = range.sql_condition(&c);
                    let sql = format!("SELECT count(*) FROM ONLY {q} WHERE NOT ({inside})");
                    facts.outside_range = count(&mut *conn, &sql).await?;
                }
                facts.span = Some(
                    sqlx::query_as(&format!(
                        "SELECT min({c})::text, max({c})::text FROM ONLY {q}"
                    ))
                    .fetch_one(&mut *conn)
                    .await?,
                );
            }
            Ok(facts)
        })?;
        Ok(table_difference(entry, load, &facts))
    }

    fn read_back(
        &mut self,
        entry: &ObjectEntry,
        load: &Load,
        row: &mut dyn FnMut(&[u8]),
    ) -> Result<bool> {
        if entry.kind != ObjectKind::Table {
            return Ok(false);
        }
        readback::read_rows(&self.sessions, entry, &load.name, load.range.as_ref(), row)?;
        Ok(true)
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

async fn count(conn: &mut sqlx::PgConnection, sql: &str) -> std::result::Result<u64, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(sql).fetch_one(conn).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
