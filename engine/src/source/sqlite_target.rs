//! Restoring tables into a SQLite database. Each table is loaded inside a
//! savepoint: it appears complete or not at all, and an existing table is
//! replaced only with `overwrite`.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::dbio::{table_difference, TableFacts};
use super::sqlite::sql_error;
use super::sqlite_frames::{name_span, next_frame, quote_ident, Header, FORMAT};
use super::{DuplicatePolicy, Load, LoadMode, ObjectSink, Target, TimeRange};
use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;

/// Rows sent to SQLite in one INSERT.
const BATCH_ROWS: usize = 256;

pub struct SqliteTarget {
    path: PathBuf,
    /// The database; an empty in-memory one until [`Target::prepare`] when
    /// the file does not exist yet, so planning creates nothing.
    conn: Connection,
    exists: bool,
    /// The file was created by this restore (removed again if it fails).
    created: bool,
    /// The restore's transaction is open.
    in_transaction: bool,
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
        let dir = self.directory();
        let probe = dir.join(format!(".tidemark-probe-{}", std::process::id()));
        std::fs::File::create(&probe).map_err(|e| EngineError::NotWritable {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let _ = std::fs::remove_file(&probe);
        Ok(())
    }

    /// Opens the database for planning; a file that does not exist yet is
    /// created only when the restore starts (its directory must exist).
    pub fn open(path: PathBuf) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
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
            in_transaction: false,
        })
    }

    fn directory(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
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
            .filter(|(_, _, ty)| {
                let ty = ty.to_ascii_uppercase();
                ty.contains("TIME") || ty.contains("DATE")
            })
            .map(|(cid, name, _)| (cid as usize, name))
            .collect();
        Ok(match columns.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        })
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
        Ok(self.count("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")? == 0)
    }

    fn begin(&mut self, entry: &ObjectEntry, load: &Load) -> Result<Box<dyn ObjectSink + '_>> {
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
            batch: String::new(),
            batched: 0,
            extras: Vec::new(),
            done: false,
        }))
    }

    fn finish(&mut self, _restored: &[(ObjectEntry, String)]) -> Result<()> {
        if self.in_transaction {
            self.conn
                .execute_batch("COMMIT")
                .map_err(|e| sql_error(&self.path, e))?;
            self.in_transaction = false;
            self.created = false;
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
    }
}

struct TableSink<'t> {
    target: &'t mut SqliteTarget,
    source_name: String,
    /// The name restored under (differs when renamed).
    name: String,
    mode: LoadMode,
    range: Option<TimeRange>,
    buf: Vec<u8>,
    header: Option<Header>,
    /// The INSERT around a batch of rows, once the table exists.
    insert: Option<(String, String)>,
    batch: String,
    batched: usize,
    /// Indexes and triggers, created after the rows are loaded.
    extras: Vec<String>,
    done: bool,
}

impl TableSink<'_> {
    fn fail(&self, detail: impl Into<String>) -> EngineError {
        EngineError::corrupt(format!("table {} in the backup", self.source_name), detail)
    }

    fn exec(&self, sql: &str) -> Result<()> {
        self.target.conn.execute_batch(sql).map_err(|e| {
            let mut message = e.to_string();
            if self.mode == LoadMode::Merge(DuplicatePolicy::Stop) && message.contains("UNIQUE") {
                message.push_str(
                    " (a row of the backup clashes with an existing row and duplicates stop the restore)",
                );
            }
            EngineError::invalid(
                format!(
                    "restoring table {} into {}",
                    self.name,
                    self.target.path.display()
                ),
                message,
            )
        })
    }

    /// Puts the restored name in place of the original in a CREATE statement.
    fn renamed(&self, sql: &str, what: &str) -> Result<String> {
        if self.name == self.source_name {
            return Ok(sql.to_owned());
        }
        let span = name_span(sql)
            .ok_or_else(|| self.fail(format!("cannot find the name in its {what} statement")))?;
        Ok(format!(
            "{}{}{}",
            &sql[..span.start],
            quote_ident(&self.name),
            &sql[span.end..]
        ))
    }

    /// Creates, replaces or reuses the table, and prepares the INSERT.
    fn structure(&mut self, create: &str, view: bool) -> Result<()> {
        let q = quote_ident(&self.name);
        match self.mode {
            LoadMode::Create => self.exec(&self.renamed(create, "CREATE")?)?,
            LoadMode::Replace => {
                let kind = if view { "VIEW" } else { "TABLE" };
                self.exec(&format!("DROP {kind} IF EXISTS {q}"))?;
                self.exec(&self.renamed(create, "CREATE")?)?;
            }
            // The existing table keeps its structure, indexes and triggers.
            LoadMode::Merge(policy) => {
                if !view && policy == DuplicatePolicy::Rewrite {
                    self.exec(&format!("DELETE FROM {q}"))?;
                }
            }
        }
        if view {
            return Ok(());
        }
        let verb = match self.mode {
            LoadMode::Merge(DuplicatePolicy::Skip) => "INSERT OR IGNORE",
            _ => "INSERT",
        };
        let range = self.range.as_ref().filter(|r| !r.is_unbounded());
        self.insert = Some(match range {
            None => (format!("{verb} INTO {q} VALUES "), String::new()),
            Some(range) => {
                let (cid, _) = self.target.time_column(&self.name)?.ok_or_else(|| {
                    EngineError::invalid(
                        format!("time range for table {}", self.name),
                        "the table has no single date/time column to filter on",
                    )
                })?;
                // VALUES names its columns column1, column2, ...
                let condition = range.sql_condition(&format!("column{}", cid + 1));
                (
                    format!("{verb} INTO {q} SELECT * FROM (VALUES "),
                    format!(") WHERE {condition}"),
                )
            }
        });
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.batched == 0 {
            return Ok(());
        }
        let (prefix, suffix) = self
            .insert
            .as_ref()
            .ok_or_else(|| self.fail("rows before the table's structure"))?;
        let sql = format!("{prefix}{}{suffix}", self.batch);
        self.exec(&sql)?;
        self.batch.clear();
        self.batched = 0;
        Ok(())
    }

    fn record(&mut self, tag: u8, payload: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(payload).map_err(|_| self.fail("a record is not UTF-8"))?;
        match tag {
            b'H' => {
                let header: Header =
                    serde_json::from_str(text).map_err(|e| self.fail(e.to_string()))?;
                if header.format != FORMAT {
                    return Err(self.fail(format!("unknown stream format {:?}", header.format)));
                }
                self.header = Some(header);
            }
            b'S' => {
                let view = self
                    .header
                    .as_ref()
                    .ok_or_else(|| self.fail("schema before header"))?
                    .view;
                self.structure(text, view)?;
            }
            b'R' => {
                if self.batched > 0 {
                    self.batch.push(',');
                }
                self.batch.push_str(text);
                self.batched += 1;
                if self.batched >= BATCH_ROWS {
                    self.flush()?;
                }
            }
            b'X' => self.extras.push(text.to_owned()),
            _ => return Err(self.fail("unexpected record")),
        }
        Ok(())
    }
}

impl ObjectSink for TableSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(data);
        let mut used = 0;
        loop {
            let frame = next_frame(&self.buf[used..]).map_err(|e| self.fail(e))?;
            let Some(frame) = frame else { break };
            let (tag, payload, len) = (frame.tag, frame.payload.to_vec(), frame.len);
            self.record(tag, &payload)?;
            used += len;
        }
        self.buf.drain(..used);
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        let result = (|| {
            if !self.buf.is_empty() || self.header.is_none() {
                return Err(self.fail("the stream ends in the middle of a record"));
            }
            self.flush()?;
            if matches!(self.mode, LoadMode::Merge(_)) {
                // Loaded into an existing table, which keeps its own.
                self.extras.clear();
            }
            for extra in std::mem::take(&mut self.extras) {
                if extra.to_ascii_uppercase().starts_with("CREATE TRIGGER")
                    && self.name != self.source_name
                {
                    // A trigger's body names other tables; on a renamed copy it
                    // would act on live data, so the copy gets none.
                    let trigger = name_span(&extra)
                        .map(|r| extra[r].to_owned())
                        .unwrap_or_default();
                    notes.push(format!(
                        "trigger {trigger} of {} was not created on the renamed copy {}",
                        self.source_name, self.name
                    ));
                    continue;
                }
                let sql = if self.name == self.source_name {
                    extra
                } else {
                    // The index is renamed after its table so names stay unique, and pointed at it.
                    let span =
                        name_span(&extra).ok_or_else(|| self.fail("cannot find an index name"))?;
                    let index = format!(
                        "{}_{}",
                        self.name,
                        extra[span.clone()].trim_matches(['"', '[', ']', '`'])
                    );
                    let rest = &extra[span.end..];
                    let on = rest
                        .to_ascii_uppercase()
                        .find(" ON ")
                        .ok_or_else(|| self.fail("index without ON"))?
                        + 4;
                    let table_end = rest[on..].find('(').map(|p| on + p).unwrap_or(rest.len());
                    format!(
                        "{}{}{}{}{}",
                        &extra[..span.start],
                        quote_ident(&index),
                        &rest[..on],
                        quote_ident(&self.name),
                        &rest[table_end..]
                    )
                };
                self.exec(&sql)?;
            }
            self.exec("RELEASE tidemark_table")
        })();
        self.done = result.is_ok();
        result.map(|()| notes)
    }

    fn abort(self: Box<Self>) {}
}

impl Drop for TableSink<'_> {
    fn drop(&mut self) {
        // Not committed: undo everything this table did.
        if !self.done {
            let _ = self
                .target
                .conn
                .execute_batch("ROLLBACK TO tidemark_table; RELEASE tidemark_table");
        }
    }
}
