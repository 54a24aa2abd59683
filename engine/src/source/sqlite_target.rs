//! Restoring tables into a SQLite database. Each table is loaded inside a
//! savepoint: it appears complete or not at all, and an existing table is
//! replaced only with `overwrite`.

mod extras;
mod readback;
mod sink;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;

use super::dbio::{table_difference, TableFacts};
use super::sqlite::sql_error;
use super::sqlite_frames::{
    decode_row, is_time_type, quote_ident, DatabaseSettings, Statistic, STAT_TABLES,
};
use super::{Load, ObjectSink, Target, TimeRange};
use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;
use sink::TableSink;

pub struct SqliteTarget {
    path: PathBuf,
    /// The database; an empty in-memory one until [`Target::prepare`] when
    /// the file does not exist yet, so planning creates nothing.
    conn: Connection,
    exists: bool,
    /// The file was created by this restore (removed again if it fails).
    created: bool,
    /// Directories above the file this restore created, outermost first
    /// (removed again, if still empty, when it fails).
    created_dirs: Vec<PathBuf>,
    /// The restore's transaction is open.
    in_transaction: bool,
    /// The rowid's name and the columns of each table loaded, in the
    /// backup's order.
    loaded: HashMap<String, (Option<String>, Vec<String>)>,
    /// Planner statistics of the tables created (table name restored
    /// under, and its rows), written once all tables are in.
    statistics: Vec<(String, Statistic)>,
    /// Indexes and triggers of restored tables, waiting for their place.
    pending: Vec<extras::Pending>,
}

impl SqliteTarget {
    /// Probes that files can be created and written where the restore writes.
    fn writable(&self) -> Result<()> {
        if self.exists {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&self.path)
                .map_err(|e| EngineError::NotWritable {
                    path: self.path.clone(),
                    source: e,
                })?;
        }
        // SQLite writes its journal beside the database.
        let dir = self.existing_directory();
        let probe = dir.join(format!(".tidemark-probe-{}", std::process::id()));
        std::fs::File::create(&probe).map_err(|e| EngineError::NotWritable {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let _ = std::fs::remove_file(&probe);
        Ok(())
    }

    /// Opens the database for planning; a file that does not exist yet is
    /// created only when the restore starts, with its missing directories.
    pub fn open(path: PathBuf) -> Result<Self> {
        // The nearest directory that exists must be one.
        if let Some(parent) = path
            .ancestors()
            .skip(1)
            .filter(|p| !p.as_os_str().is_empty())
            .find(|p| std::fs::symlink_metadata(p).is_ok())
        {
            let meta = std::fs::metadata(parent).map_err(|e| EngineError::io(parent, e))?;
            if !meta.is_dir() {
                return Err(EngineError::NotADirectory {
                    path: parent.to_path_buf(),
                });
            }
        }
        let exists = path.exists();
        let conn = if exists {
            Connection::open(&path)
        } else {
            Connection::open_in_memory()
        }
        .map_err(|e| sql_error(&path, e))?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| sql_error(&path, e))?;
        Ok(SqliteTarget {
            path,
            conn,
            exists,
            created: false,
            created_dirs: Vec::new(),
            in_transaction: false,
            loaded: HashMap::new(),
            statistics: Vec::new(),
            pending: Vec::new(),
        })
    }

    fn directory(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    /// Where a probe file shows whether the restore can write: the
    /// database's directory, or the nearest one above that exists.
    fn existing_directory(&self) -> &Path {
        self.directory()
            .ancestors()
            .find(|p| p.as_os_str().is_empty() || p.is_dir())
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    /// Creates the database's missing directories, remembering them.
    fn create_directories(&mut self) -> Result<()> {
        let mut missing: Vec<PathBuf> = self
            .directory()
            .ancestors()
            .take_while(|p| !p.as_os_str().is_empty() && std::fs::symlink_metadata(p).is_err())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        for dir in missing {
            std::fs::create_dir(&dir).map_err(|e| EngineError::io(&dir, e))?;
            self.created_dirs.push(dir);
        }
        Ok(())
    }

    /// The table's one date/time column (by declared type), if it has exactly one.
    fn time_column(&self, table: &str) -> Result<Option<(usize, String)>> {
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA table_info({})", quote_ident(table)))
            .map_err(|e| sql_error(&self.path, e))?;
        let columns: Vec<(usize, String)> = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| sql_error(&self.path, e))?
            .into_iter()
            .filter(|(_, _, ty)| is_time_type(ty))
            .map(|(cid, name, _)| (cid as usize, name))
            .collect();
        Ok(match columns.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        })
    }

    /// A database this restore created takes the source's settings: its
    /// encoding while it is still empty (SQLite fixes it with the first
    /// object), its header's numbers. An existing one keeps its own (text
    /// that another encoding would change fails verification).
    fn adopt(&self, settings: &DatabaseSettings) -> rusqlite::Result<()> {
        if !self.created {
            return Ok(());
        }
        let current = super::sqlite::settings(&self.conn)?;
        let empty: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        let encoding = ["UTF-8", "UTF-16le", "UTF-16be"]
            .into_iter()
            .find(|e| *e == settings.encoding);
        if let (Some(encoding), 0) = (encoding, empty) {
            if current.encoding != encoding {
                self.conn
                    .execute_batch(&format!("PRAGMA encoding = '{encoding}'"))?;
            }
        }
        if current.user_version != settings.user_version {
            self.conn
                .pragma_update(None, "user_version", settings.user_version)?;
        }
        if current.application_id != settings.application_id {
            self.conn
                .pragma_update(None, "application_id", settings.application_id)?;
        }
        Ok(())
    }

    /// The created tables' rows of the planner's statistics, in the
    /// source's order, as `sqlite3 .dump` restores them. A SQLite without
    /// `sqlite_stat4` would not use its rows, so they are left out there.
    fn write_statistics(&mut self) -> rusqlite::Result<()> {
        let mut rows = std::mem::take(&mut self.statistics);
        if rows.is_empty() {
            return Ok(());
        }
        rows.sort_by(|(_, a), (_, b)| (&a.table, a.order).cmp(&(&b.table, b.order)));
        // Creates the statistics tables if need be, and adds no rows.
        self.conn.execute_batch("ANALYZE sqlite_master")?;
        for stat_table in STAT_TABLES {
            let exists = self
                .conn
                .prepare("SELECT 1 FROM sqlite_master WHERE name = ?1")?
                .exists([stat_table])?;
            if !exists {
                continue;
            }
            let mut delete = self
                .conn
                .prepare(&format!("DELETE FROM {stat_table} WHERE tbl = ?1"))?;
            for (table, _) in rows.iter().filter(|(_, s)| s.table == stat_table) {
                delete.execute([table])?;
            }
            for (table, stat) in rows.iter().filter(|(_, s)| s.table == stat_table) {
                let values = hex::decode(&stat.values)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
                let values = decode_row(&values)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
                let params = vec!["?"; values.len() + 1].join(",");
                let mut insert = self
                    .conn
                    .prepare_cached(&format!("INSERT INTO {stat_table} VALUES ({params})"))?;
                let mut bound = vec![ToSqlOutput::Borrowed(ValueRef::Text(table.as_bytes()))];
                bound.extend(values.into_iter().map(ToSqlOutput::Borrowed));
                insert.execute(rusqlite::params_from_iter(bound))?;
            }
        }
        Ok(())
    }

    /// Whether the table is a shadow table of a virtual table (where
    /// SQLite can tell, 3.37 and later).
    fn is_shadow(&self, table: &str) -> bool {
        self.conn
            .prepare("SELECT 1 FROM pragma_table_list WHERE schema = 'main' AND name = ?1 AND type = 'shadow'")
            .and_then(|mut stmt| stmt.exists([table]))
            .unwrap_or(false)
    }

    fn count(&self, sql: &str) -> Result<u64> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| sql_error(&self.path, e))
    }
}

impl Target for SqliteTarget {
    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn free_space(&self) -> Option<u64> {
        super::filetree::free_space_at(&self.path)
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn can_filter_time(&self) -> bool {
        true
    }

    fn check_writable(&self) -> Option<Result<()>> {
        Some(self.writable())
    }

    fn prepare(&mut self) -> Result<()> {
        if !self.exists {
            self.create_directories()?;
            self.conn = Connection::open(&self.path).map_err(|e| sql_error(&self.path, e))?;
            self.exists = true;
            self.created = true;
        }
        // IMMEDIATE takes the write lock now: a busy database fails here,
        // before anything is read from the repository.
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| sql_error(&self.path, e))?;
        self.in_transaction = true;
        Ok(())
    }

    fn existing(&self, names: &[&str]) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?1")
            .map_err(|e| sql_error(&self.path, e))?;
        let mut found = Vec::new();
        for name in names {
            if stmt.exists([name]).map_err(|e| sql_error(&self.path, e))? {
                found.push((*name).to_owned());
            }
        }
        Ok(found)
    }

    fn is_empty(&self) -> Result<bool> {
        Ok(self.count(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )? == 0)
    }

    fn begin(&mut self, entry: &ObjectEntry, load: &Load) -> Result<Box<dyn ObjectSink + '_>> {
        // What stood before this object in the source's schema comes first
        // (outside its savepoint: it belongs to tables already restored).
        self.create_pending(|p| p.before.as_deref() == Some(entry.name.as_str()))?;
        self.conn
            .execute_batch("SAVEPOINT tidemark_table")
            .map_err(|e| sql_error(&self.path, e))?;
        Ok(Box::new(TableSink {
            target: self,
            source_name: entry.name.clone(),
            name: load.name.clone(),
            mode: load.mode,
            range: load.range.clone(),
            buf: Vec::new(),
            header: None,
            insert: None,
            extras: Vec::new(),
            done: false,
        }))
    }

    fn finish(&mut self, _restored: &[(ObjectEntry, String)]) -> Result<()> {
        self.create_pending(|_| true)?;
        self.write_statistics()
            .map_err(|e| sql_error(&self.path, e))?;
        if self.in_transaction {
            self.conn
                .execute_batch("COMMIT")
                .map_err(|e| sql_error(&self.path, e))?;
            self.in_transaction = false;
            self.created = false;
            self.created_dirs.clear();
        }
        Ok(())
    }

    fn can_lock(&self) -> bool {
        true
    }

    /// The restore's one write transaction already makes other writers wait.
    fn lock(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn verify_object(&mut self, entry: &ObjectEntry, load: &Load) -> Result<Option<String>> {
        if entry.rows.is_none() {
            return Ok(None); // a view
        }
        let q = quote_ident(&load.name);
        let mut facts = TableFacts {
            rows: self.count(&format!("SELECT count(*) FROM {q}"))?,
            ..TableFacts::default()
        };
        if let Some((_, column)) = self.time_column(&load.name)? {
            let c = quote_ident(&column);
            if let Some(range) = &load.range {
                let inside = TimeRange::sql_condition(range, &c);
                facts.outside_range =
                    self.count(&format!("SELECT count(*) FROM {q} WHERE NOT ({inside})"))?;
            }
            facts.span = Some(
                self.conn
                    .query_row(
                        &format!("SELECT CAST(min({c}) AS TEXT), CAST(max({c}) AS TEXT) FROM {q}"),
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(|e| sql_error(&self.path, e))?,
            );
        }
        Ok(table_difference(entry, load, &facts))
    }

    fn read_back(
        &mut self,
        entry: &ObjectEntry,
        load: &Load,
        row: &mut dyn FnMut(&[u8]),
    ) -> Result<bool> {
        readback::read_back(self, entry, load, row)
    }
}

impl Drop for SqliteTarget {
    fn drop(&mut self) {
        // Not finished: the restore failed or was cancelled; undo all of it.
        if self.in_transaction {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        if self.created {
            if let Ok(memory) = Connection::open_in_memory() {
                drop(std::mem::replace(&mut self.conn, memory));
            }
            for suffix in ["", "-journal", "-wal", "-shm"] {
                let mut file = self.path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
