//! Loading one table's stream: its structure, then its rows bound as
//! parameters (never SQL text, which SQLite parses inexactly for some
//! REALs), then its indexes and triggers.

use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::ToSql;

use super::SqliteTarget;
use crate::error::{EngineError, Result};
use crate::source::sqlite::row_list;
use crate::source::sqlite_frames::{
    decode_row, name_span, next_frame, parse_tuple, quote_ident, Header, FORMAT, FORMAT_V1,
};
use crate::source::{DuplicatePolicy, LoadMode, ObjectSink, Target, TimeRange};

pub(super) struct TableSink<'t> {
    pub(super) target: &'t mut SqliteTarget,
    pub(super) source_name: String,
    /// The name restored under (differs when renamed).
    pub(super) name: String,
    pub(super) mode: LoadMode,
    pub(super) range: Option<TimeRange>,
    pub(super) buf: Vec<u8>,
    pub(super) header: Option<Header>,
    /// The INSERT each row is bound to and its number of values, once
    /// the table exists.
    pub(super) insert: Option<(String, usize)>,
    /// Indexes and triggers, created after the rows are loaded.
    pub(super) extras: Vec<String>,
    pub(super) done: bool,
}

impl TableSink<'_> {
    pub(super) fn fail(&self, detail: impl Into<String>) -> EngineError {
        EngineError::corrupt(format!("table {} in the backup", self.source_name), detail)
    }

    fn load_error(&self, e: rusqlite::Error) -> EngineError {
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
    }

    fn exec(&self, sql: &str) -> Result<()> {
        self.target
            .conn
            .execute_batch(sql)
            .map_err(|e| self.load_error(e))
    }

    fn header(&self) -> Result<&Header> {
        self.header
            .as_ref()
            .ok_or_else(|| self.fail("a record before the header"))
    }

    fn exact(&self) -> bool {
        self.header.as_ref().is_some_and(|h| h.format == FORMAT)
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
    fn structure(&mut self, create: &str) -> Result<()> {
        if let Some(settings) = &self.header()?.database {
            self.target
                .adopt(settings)
                .map_err(|e| self.load_error(e))?;
        }
        let header = self.header()?;
        let (view, virtual_table) = (header.view, header.virtual_table);
        if virtual_table {
            return self.virtual_structure(create);
        }
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
                if !view && policy != DuplicatePolicy::Rewrite && self.target.is_shadow(&self.name)
                {
                    return Err(EngineError::invalid(
                        format!("restoring table {}", self.name),
                        "it is a shadow table of a virtual table (its index); rows merged into it would corrupt the index: overwrite it, rewrite it with the other shadow tables, or restore under another name",
                    ));
                }
                if !view && policy == DuplicatePolicy::Rewrite {
                    self.exec(&format!("DELETE FROM {q}"))?;
                }
            }
        }
        Ok(())
    }

    /// A virtual table is a row of the schema: its rows are in its shadow
    /// tables, restored as tables of their own. Like `sqlite3 .dump`, the
    /// schema row is written directly, as CREATE VIRTUAL TABLE would
    /// create empty shadow tables that clash with the restored ones.
    fn virtual_structure(&mut self, create: &str) -> Result<()> {
        if self.name != self.source_name {
            return Err(EngineError::invalid(
                format!("virtual table {}", self.source_name),
                "it cannot be restored under another name: its shadow tables are named after it",
            ));
        }
        match self.mode {
            LoadMode::Merge(_) => return Ok(()),
            LoadMode::Replace => {
                // The module drops its shadow tables too.
                self.exec(&format!("DROP TABLE IF EXISTS {}", quote_ident(&self.name)))?;
            }
            LoadMode::Create => {}
        }
        // The schema row is written directly: nothing else checks the name is free.
        if !self.target.existing(&[self.name.as_str()])?.is_empty() {
            return Err(EngineError::invalid(
                format!("restoring virtual table {}", self.name),
                "an object of that name already exists",
            ));
        }
        let conn = &self.target.conn;
        let insert = (|| {
            conn.execute_batch("PRAGMA writable_schema = ON")?;
            let inserted = conn.execute(
                "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', ?1, ?1, 0, ?2)",
                (&self.name, create),
            );
            conn.execute_batch("PRAGMA writable_schema = OFF")?;
            inserted?;
            // A new schema version makes SQLite read the schema again.
            let version: i64 = conn.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
            conn.execute_batch(&format!("PRAGMA schema_version = {}", version + 1))
        })();
        insert.map_err(|e| self.load_error(e))
    }

    /// The INSERT for rows of `width` values.
    fn insert_sql(&self, width: usize) -> Result<String> {
        let header = self.header()?;
        let q = quote_ident(&self.name);
        let verb = match self.mode {
            LoadMode::Merge(DuplicatePolicy::Skip) => "INSERT OR IGNORE",
            _ => "INSERT",
        };
        // Rows of -1 streams hold every column in the table's order.
        let columns = if self.exact() {
            format!(" ({})", row_list(header.rowid.as_deref(), &header.columns))
        } else {
            String::new()
        };
        let params = vec!["?"; width].join(",");
        let Some(range) = self.range.as_ref().filter(|r| !r.is_unbounded()) else {
            return Ok(format!("{verb} INTO {q}{columns} VALUES ({params})"));
        };
        let (cid, column) = self.target.time_column(&self.name)?.ok_or_else(|| {
            EngineError::invalid(
                format!("time range for table {}", self.name),
                "the table has no single date/time column to filter on",
            )
        })?;
        let position = if self.exact() {
            header
                .columns
                .iter()
                .position(|c| *c == column)
                .map(|p| p + usize::from(header.rowid.is_some()))
                .ok_or_else(|| {
                    EngineError::invalid(
                        format!("time range for table {}", self.name),
                        format!("the backup has no column {column}"),
                    )
                })?
        } else {
            cid
        };
        // VALUES names its columns column1, column2, ...
        let condition = range.sql_condition(&format!("column{}", position + 1));
        Ok(format!(
            "{verb} INTO {q}{columns} SELECT * FROM (VALUES ({params})) WHERE {condition}"
        ))
    }

    fn insert_row<P: ToSql>(&mut self, values: &[P]) -> Result<()> {
        let table = self
            .header
            .as_ref()
            .is_some_and(|h| !h.view && !h.virtual_table);
        if self.insert.is_none() && table && !self.exact() {
            // Rows of -1 streams say how many columns the table has.
            self.insert = Some((self.insert_sql(values.len())?, values.len()));
        }
        let Some((sql, width)) = &self.insert else {
            return Err(self.fail("a row before the table's structure"));
        };
        if *width != values.len() {
            return Err(self.fail(format!(
                "a row of {} values, the table's rows have {width}",
                values.len()
            )));
        }
        let mut stmt = self
            .target
            .conn
            .prepare_cached(sql)
            .map_err(|e| self.load_error(e))?;
        stmt.execute(rusqlite::params_from_iter(values))
            .map_err(|e| self.load_error(e))?;
        Ok(())
    }

    fn record(&mut self, tag: u8, payload: &[u8]) -> Result<()> {
        if tag == b'R' {
            if self.exact() {
                let values: Vec<ToSqlOutput<'_>> = decode_row(payload)
                    .map_err(|e| self.fail(e))?
                    .into_iter()
                    .map(ToSqlOutput::Borrowed)
                    .collect();
                return self.insert_row(&values);
            }
            let text = std::str::from_utf8(payload).map_err(|_| self.fail("a row is not UTF-8"))?;
            let values: Vec<Value> = parse_tuple(text).map_err(|e| self.fail(e))?;
            return self.insert_row(&values);
        }
        let text = std::str::from_utf8(payload).map_err(|_| self.fail("a record is not UTF-8"))?;
        match tag {
            b'H' => {
                let header: Header =
                    serde_json::from_str(text).map_err(|e| self.fail(e.to_string()))?;
                if header.format != FORMAT && header.format != FORMAT_V1 {
                    return Err(self.fail(format!("unknown stream format {:?}", header.format)));
                }
                self.header = Some(header);
            }
            b'S' => {
                self.structure(text)?;
                let header = self.header()?;
                if self.exact() && !header.view && !header.virtual_table {
                    let width = header.columns.len() + usize::from(header.rowid.is_some());
                    self.insert = Some((self.insert_sql(width)?, width));
                }
            }
            b'X' => self.extras.push(text.to_owned()),
            _ => return Err(self.fail("unexpected record")),
        }
        Ok(())
    }

    /// The table's AUTOINCREMENT counter as the backup had it (never lower
    /// than the existing one when rows were merged in).
    fn restore_sequence(&self) -> Result<()> {
        let Some(seq) = self.header.as_ref().and_then(|h| h.sequence) else {
            return Ok(());
        };
        let conn = &self.target.conn;
        let merge = matches!(self.mode, LoadMode::Merge(_));
        let set = (|| {
            let exists = conn
                .prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")?
                .exists([])?;
            if !exists {
                return Ok(());
            }
            let sql = if merge {
                "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1"
            } else {
                "UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1"
            };
            if conn.execute(sql, (&self.name, seq))? == 0 {
                conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                    (&self.name, seq),
                )?;
            }
            Ok(())
        })();
        set.map_err(|e| self.load_error(e))
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
        let result = (|| {
            if !self.buf.is_empty() || self.header.is_none() {
                return Err(self.fail("the stream ends in the middle of a record"));
            }
            self.restore_sequence()?;
            let (extras, notes) = self.extras()?;
            let mut placed = Vec::new();
            for (pending, sql) in extras {
                match pending {
                    Some(pending) => placed.push(pending),
                    // Without its place (-1 streams), with the table.
                    None => self.exec(&sql)?,
                }
            }
            let statistics = self.statistics()?;
            self.exec("RELEASE tidemark_table")?;
            self.target.pending.extend(placed);
            self.target.statistics.extend(statistics);
            // VERIFYING reads the table back in the backup's column order.
            if let Some(header) = self.header.as_ref().filter(|h| h.format == FORMAT) {
                let row = (header.rowid.clone(), header.columns.clone());
                self.target.loaded.insert(self.name.clone(), row);
            }
            Ok(notes)
        })();
        self.done = result.is_ok();
        result
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
