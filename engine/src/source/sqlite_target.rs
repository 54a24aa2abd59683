//! Restoring tables into a SQLite database. Each table is loaded inside a
//! savepoint: it appears complete or not at all, and an existing table is
//! replaced only with `overwrite`.

use std::path::PathBuf;

use rusqlite::Connection;

use super::sqlite::sql_error;
use super::sqlite_frames::{name_span, next_frame, quote_ident, Header, FORMAT};
use super::{ObjectSink, Target};
use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;

pub struct SqliteTarget {
    path: PathBuf,
    conn: Connection,
}

impl SqliteTarget {
    /// Opens the database, creating it if the file does not exist (its
    /// directory must).
    pub fn open(path: PathBuf) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::metadata(parent).map_err(|e| EngineError::io(parent, e))?;
        }
        let conn = Connection::open(&path).map_err(|e| sql_error(&path, e))?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| sql_error(&path, e))?;
        Ok(SqliteTarget { path, conn })
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
        let count: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| sql_error(&self.path, e))?;
        Ok(count == 0)
    }

    fn begin(
        &mut self,
        entry: &ObjectEntry,
        name: &str,
        overwrite: bool,
    ) -> Result<Box<dyn ObjectSink + '_>> {
        self.conn
            .execute_batch("SAVEPOINT tidemark_restore")
            .map_err(|e| sql_error(&self.path, e))?;
        Ok(Box::new(TableSink {
            target: self,
            source_name: entry.name.clone(),
            name: name.to_owned(),
            overwrite,
            buf: Vec::new(),
            header: None,
            extras: Vec::new(),
            done: false,
        }))
    }

    fn finish(&mut self, _restored: &[(ObjectEntry, String)]) -> Result<()> {
        Ok(())
    }
}

struct TableSink<'t> {
    target: &'t mut SqliteTarget,
    source_name: String,
    /// The name restored under (differs when renamed).
    name: String,
    overwrite: bool,
    buf: Vec<u8>,
    header: Option<Header>,
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
            EngineError::invalid(
                format!(
                    "restoring table {} into {}",
                    self.name,
                    self.target.path.display()
                ),
                e.to_string(),
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
                if self.overwrite {
                    let kind = if view { "VIEW" } else { "TABLE" };
                    self.exec(&format!(
                        "DROP {kind} IF EXISTS {}",
                        quote_ident(&self.name)
                    ))?;
                }
                let sql = self.renamed(text, "CREATE")?;
                self.exec(&sql)?;
            }
            b'R' => self.exec(&format!(
                "INSERT INTO {} VALUES {text}",
                quote_ident(&self.name)
            ))?,
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
            self.exec("RELEASE tidemark_restore")
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
                .execute_batch("ROLLBACK TO tidemark_restore; RELEASE tidemark_restore");
        }
    }
}
