//! Loading one table's rows: over one connection in one transaction, or,
//! for a large table this restore created empty, over several connections
//! at once (each its own COPY of whole rows), emptied again if any fails.

use super::conn::quote_qualified;
use super::copy::{CopyIn, LoadSql};
use super::session::Sessions;
use super::split::{RowSplitter, HEADER, TRAILER};
use crate::error::{EngineError, Result};
use crate::source::ObjectSink;

/// Rows handed to one loader at a time.
const BATCH: usize = 1024 * 1024;

fn finished(name: &str) -> EngineError {
    EngineError::invalid(format!("table {name}"), "already finished")
}

/// Ends a load and returns its connection for the next one.
fn end(sessions: &Sessions, mut copy: CopyIn, commit: Option<Option<u64>>) -> Result<u64> {
    let outcome = match commit {
        Some(expected) => copy.finish(expected),
        None => copy.abort(),
    };
    if let Some(conn) = copy.take_connection() {
        sessions.give_back(conn);
    }
    outcome
}

pub struct TableSink<'a> {
    pub copy: Option<CopyIn>,
    pub rows: Option<u64>,
    pub name: String,
    pub sessions: &'a Sessions,
}

impl Drop for TableSink<'_> {
    fn drop(&mut self) {
        if let Some(copy) = self.copy.take() {
            let _ = end(self.sessions, copy, None);
        }
    }
}

impl ObjectSink for TableSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.copy {
            Some(copy) => copy.write(data),
            None => Err(finished(&self.name)),
        }
    }

    fn next_part(&mut self) -> Result<()> {
        match &mut self.copy {
            Some(copy) => copy.next_part(),
            None => Err(finished(&self.name)),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<Vec<String>> {
        let copy = self.copy.take().ok_or_else(|| finished(&self.name))?;
        end(self.sessions, copy, Some(self.rows))?;
        Ok(Vec::new())
    }

    fn abort(self: Box<Self>) {}
}

/// Loads a table this restore created (so empty before) over several
/// connections, whole rows round-robin.
pub struct ParallelSink<'a> {
    loaders: Vec<CopyIn>,
    headed: Vec<bool>,
    splitter: RowSplitter,
    next: usize,
    rows: Option<u64>,
    name: String,
    sessions: &'a Sessions,
}

impl<'a> ParallelSink<'a> {
    pub fn start(
        sessions: &'a Sessions,
        at: &super::conn::PgLocation,
        name: &str,
        rows: Option<u64>,
        connections: usize,
    ) -> Result<Self> {
        let mut loaders = Vec::new();
        for _ in 0..connections {
            let conn = sessions.block_on(sessions.take())?;
            let sql = LoadSql {
                table: name.to_owned(),
                copy_into: quote_qualified(name),
                ..LoadSql::default()
            };
            loaders.push(CopyIn::start(sessions.handle(), conn, at, sql));
        }
        Ok(ParallelSink {
            headed: vec![false; loaders.len()],
            loaders,
            splitter: RowSplitter::new(BATCH),
            next: 0,
            rows,
            name: name.to_owned(),
            sessions,
        })
    }

    fn send(&mut self, batch: &[u8]) -> Result<()> {
        let i = self.next % self.loaders.len();
        self.next += 1;
        if !self.headed[i] {
            self.loaders[i].write(&HEADER)?;
            self.headed[i] = true;
        }
        self.loaders[i].write(batch)
    }

    /// Ends every loader, all committed or none left with rows.
    fn finish_all(&mut self) -> Result<u64> {
        let last = self.splitter.finish()?;
        if !last.is_empty() {
            self.send(&last)?;
        }
        for (i, loader) in self.loaders.iter_mut().enumerate() {
            if !self.headed[i] {
                loader.write(&HEADER)?;
            }
            loader.write(&TRAILER)?;
        }
        let mut loaded = 0;
        let mut failure = None;
        for copy in std::mem::take(&mut self.loaders) {
            match end(self.sessions, copy, Some(None)) {
                Ok(rows) => loaded += rows,
                Err(err) => failure = failure.or(Some(err)),
            }
        }
        if let Some(err) = failure {
            return Err(err);
        }
        match self.rows {
            Some(expected) if expected != loaded => Err(EngineError::corrupt(
                format!("table {}", self.name),
                format!("{loaded} rows loaded but the backup point recorded {expected}"),
            )),
            _ => Ok(loaded),
        }
    }
}

impl Drop for ParallelSink<'_> {
    fn drop(&mut self) {
        for copy in std::mem::take(&mut self.loaders) {
            let _ = end(self.sessions, copy, None);
        }
    }
}

impl ObjectSink for ParallelSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        for batch in self.splitter.feed(data)? {
            self.send(&batch)?;
        }
        Ok(())
    }

    /// The splitter drops each part's header and trailer itself.
    fn next_part(&mut self) -> Result<()> {
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<Vec<String>> {
        let outcome = self.finish_all();
        if outcome.is_err() {
            // Some loaders may have committed: the table was empty before.
            let table = quote_qualified(&self.name);
            let _ = self
                .sessions
                .query("empty the partly loaded table in", async |c| {
                    sqlx::query(&format!("TRUNCATE ONLY {table}"))
                        .execute(c)
                        .await
                        .map(drop)
                });
        }
        outcome.map(|_| Vec::new())
    }

    fn abort(self: Box<Self>) {}
}
