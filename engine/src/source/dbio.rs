//! What the database sources share: a runtime for the async drivers on
//! the engine's blocking threads, and a reader over a channel of buffers.

use std::io::Read;
use std::sync::mpsc::Receiver;

use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;
use crate::source::{DuplicatePolicy, Load, LoadMode, ObjectSink};

/// A runtime for the async driver, owned by the calling (blocking) thread.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::io("tokio runtime", e))
}

/// Reads buffers a driver thread sends; an `Err` buffer is a read error,
/// a closed channel the end.
pub struct ChannelReader {
    rx: Receiver<std::result::Result<Vec<u8>, String>>,
    current: Vec<u8>,
    pos: usize,
}

impl ChannelReader {
    pub fn new(rx: Receiver<std::result::Result<Vec<u8>, String>>) -> Self {
        ChannelReader {
            rx,
            current: Vec::new(),
            pos: 0,
        }
    }

    /// Stops receiving, so a sender blocked on a full channel is released.
    pub fn close(&mut self) {
        let (_, empty) = std::sync::mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.rx, empty));
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.pos < self.current.len() {
                let n = buf.len().min(self.current.len() - self.pos);
                buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Ok(Err(message)) => return Err(std::io::Error::other(message)),
                Err(_) => return Ok(0),
            }
        }
    }
}

/// Collects a structure object's statements; `commit` hands them to
/// `apply` (a target replays them now or keeps them for `finish`).
pub struct StatementsSink<F> {
    sql: Vec<u8>,
    apply: F,
}

impl<F: FnOnce(Vec<u8>) -> Result<Vec<String>>> StatementsSink<F> {
    pub fn new(apply: F) -> Self {
        StatementsSink {
            sql: Vec::new(),
            apply,
        }
    }
}

impl<F: FnOnce(Vec<u8>) -> Result<Vec<String>>> ObjectSink for StatementsSink<F> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.sql.extend_from_slice(data);
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<Vec<String>> {
        (self.apply)(self.sql)
    }

    fn abort(self: Box<Self>) {}
}

/// The note a target gives when it kept an existing structure.
pub fn kept_structure_note(target: &str) -> String {
    format!("{target} already has tables: its structure was kept and only data restored")
}

/// A structure object no target knows.
pub fn unknown_structure(name: &str) -> EngineError {
    EngineError::invalid(format!("object {name}"), "unknown structure object")
}

/// How a table is loaded at a database target.
#[derive(Debug, PartialEq, Eq)]
pub enum TableLoad {
    /// Into the table of that name, new or created empty by this restore.
    Fresh,
    /// The table exists and is replaced (the policy allows it).
    Replace,
    /// `tbl AS new_tbl`: create the new table with the shape of this one.
    CopyShapeOf(String),
}

/// Decides how to load `entry` as `name`, given the target's tables and
/// those this restore created; the same rules for every database target.
pub fn table_load(
    entry: &ObjectEntry,
    name: &str,
    tables: &[String],
    created: &[String],
    overwrite: bool,
    target: &str,
) -> Result<TableLoad> {
    let has = |list: &[String], n: &str| list.iter().any(|t| t == n);
    if has(tables, name) && !has(created, name) {
        if !overwrite {
            return Err(EngineError::Conflict(format!(
                "table {name} exists at {target}"
            )));
        }
        return Ok(TableLoad::Replace);
    }
    if name != entry.name && !has(tables, name) {
        if !has(tables, &entry.name) {
            return Err(EngineError::invalid(
                format!("rename of {} to {name}", entry.name),
                "the original table must exist at the target to copy its structure (restore the structure first)",
            ));
        }
        return Ok(TableLoad::CopyShapeOf(entry.name.clone()));
    }
    Ok(TableLoad::Fresh)
}

/// What a database target reads back from a restored table.
#[derive(Debug, Default)]
pub struct TableFacts {
    pub rows: u64,
    /// Rows outside the restored time range (only counted with a range).
    pub outside_range: u64,
    /// `min` and `max` of the time column as text, when it has one.
    pub span: Option<(Option<String>, Option<String>)>,
}

/// Compares a restored table with its manifest entry, the same way for
/// every database target; `Some` describes the difference.
pub fn table_difference(entry: &ObjectEntry, load: &Load, facts: &TableFacts) -> Option<String> {
    let expected = entry.rows?;
    let (name, rows) = (&load.name, facts.rows);
    let merging = matches!(load.mode, LoadMode::Merge(_));
    if load.range.is_some() {
        if facts.outside_range > 0 && !merging {
            return Some(format!(
                "{name} has {} row(s) outside the restored time range",
                facts.outside_range
            ));
        }
        return (rows > expected && !merging)
            .then(|| format!("{name} has {rows} rows, more than the {expected} of the backup"));
    }
    let differs = match load.mode {
        LoadMode::Create | LoadMode::Replace | LoadMode::Merge(DuplicatePolicy::Rewrite) => {
            rows != expected
        }
        // Existing rows stay: at least the backup's rows are there.
        LoadMode::Merge(_) => rows < expected,
    };
    if differs {
        return Some(format!(
            "{name} has {rows} rows after the restore, the backup recorded {expected}"
        ));
    }
    let recorded = entry.time_min.is_some() || entry.time_max.is_some();
    match (&facts.span, load.mode) {
        (Some((min, max)), LoadMode::Create | LoadMode::Replace)
            if recorded && (*min != entry.time_min || *max != entry.time_max) =>
        {
            Some(format!(
                "{name} spans {} to {} after the restore, the backup recorded {} to {}",
                min.clone().unwrap_or_default(),
                max.clone().unwrap_or_default(),
                entry.time_min.clone().unwrap_or_default(),
                entry.time_max.clone().unwrap_or_default()
            ))
        }
        _ => None,
    }
}

/// A duplicate key met while loading into an existing table, as the
/// conflict it is (the same for every database server); `None` for
/// other errors.
pub fn duplicate_key(err: &sqlx::Error, table: &str, target: &str) -> Option<EngineError> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    (db.kind() == sqlx::error::ErrorKind::UniqueViolation).then(|| {
        EngineError::Conflict(format!(
            "a row of the backup has a key that already exists in table {table} at {target} ({}); nothing was loaded into it: skip or rewrite duplicates instead",
            db.message()
        ))
    })
}

/// Stops a helper process (a log streamer): SIGTERM, up to 5 s to finish
/// what it is writing, then SIGKILL.
pub(crate) fn terminate(child: &mut std::process::Child) {
    // SAFETY: kill on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
