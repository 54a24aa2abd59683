//! Sources (what is backed up) and restore targets (where it goes back).
//!
//! A source describes itself (kind, server version, objects with sizes)
//! and streams each object's content; a target takes objects back, one
//! at a time, and makes each visible only once it is complete.

pub(crate) mod dbio;
mod dburl;
mod early_read;
mod filetree;
mod influx;
pub(crate) mod mysql;
pub(crate) mod postgres;
mod selector;
mod sqlite;
mod sqlite_frames;
mod sqlite_target;
mod url;

use std::io::Read;

use serde::Serialize;

pub(crate) use dburl::DbLocation;
pub use filetree::{FileTreeSource, FileTreeTarget};
pub(crate) use influx::InfluxLocation;
pub use influx::{InfluxSource, InfluxTarget};
pub(crate) use mysql::{parse_url as parse_my_url, MyLocation};
pub use mysql::{MySqlSource, MySqlTarget};
pub(crate) use postgres::{parse_url as parse_pg_url, PgAccess};
pub use postgres::{PgLocation, PostgresSource, PostgresTarget};
pub use sqlite::SqliteSource;
pub use sqlite_target::SqliteTarget;
pub use url::SourceUrl;

use crate::digest::{RowSplitter, RowTime};
use crate::error::{EngineError, Result};
use crate::repo::manifest::{LogPosition, ObjectEntry, Selection};

/// What a source holds right now.
#[derive(Debug, Clone)]
pub struct SourceDescription {
    /// `file-tree`, `sqlite`, ...
    pub kind: String,
    pub server_version: Option<String>,
    /// The objects selected, with metadata; content fields are empty.
    pub objects: Vec<ObjectEntry>,
}

pub trait Source: Send + Sync {
    /// The source URL without credentials, for manifests and messages.
    fn url(&self) -> String;
    /// A short name for run directories (the database or directory name).
    fn name(&self) -> String;
    fn describe(&self) -> Result<SourceDescription>;
    /// Where the source's change log stood at the snapshot (MariaDB's
    /// binary log), for point-in-time recovery from this point.
    fn log_position(&self) -> Result<Option<LogPosition>> {
        Ok(None)
    }
    /// Where the change log stood once every object was read, for sources
    /// that know it only then (a physical base backup's WAL range); it
    /// replaces [`Source::log_position`] in the manifest.
    fn final_log_position(&self) -> Result<Option<LogPosition>> {
        Ok(None)
    }
    /// Streams one object's content (for an entry with a `watermark`, the
    /// rows after it only).
    fn open(&self, object: &ObjectEntry) -> Result<Box<dyn Read + Send + '_>>;
    /// Before `describe`: time-series tables (name, latest time of the
    /// parent point) that need only be read after that time. Sources that
    /// can mark those entries with their `watermark` and describe them as
    /// the whole table (rows, time span) given the parent's entry.
    fn use_watermarks(&self, _parent: &[ObjectEntry]) {}
    /// Once `open`'s stream has been read to its end: the rows and time
    /// span it held, for sources that read no snapshot and so can only
    /// estimate them in [`Source::describe`]. The manifest records these.
    fn read_stats(&self, _object: &ObjectEntry) -> Option<ReadStats> {
        None
    }
    /// How many slices `object` is read in. A large table can be cut into
    /// slices that several readers take at once, each stored as a part of
    /// the object, or the one table caps the speed of the whole backup.
    fn slices(&self, _object: &ObjectEntry) -> u32 {
        1
    }
    /// Slice `n` of the [`Source::slices`] of `object`.
    fn open_slice(&self, object: &ObjectEntry, n: u32) -> Result<Box<dyn Read + Send + '_>> {
        if n == 0 {
            self.open(object)
        } else {
            Err(EngineError::invalid(
                format!("object {}", object.name),
                format!("this source reads it whole, so it has no slice {n}"),
            ))
        }
    }
}

/// What one object's stream held, counted while it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub rows: u64,
    pub time_min: Option<String>,
    pub time_max: Option<String>,
}

pub trait Target: Send {
    fn url(&self) -> String;
    /// The source kind this target takes back (`file-tree`, `sqlite`,
    /// `postgres`, `mysql`, `influxdb`).
    fn kind(&self) -> &'static str;
    /// The server's version for database targets; connecting checks that
    /// the target is reachable and the credentials are valid.
    fn server_version(&self) -> Result<Option<String>> {
        Ok(None)
    }
    /// Bytes free where the target writes, when that can be known.
    fn free_space(&self) -> Option<u64> {
        None
    }
    /// Which of `names` already exist at the target.
    fn existing(&self, names: &[&str]) -> Result<Vec<String>>;
    /// Whether the target holds nothing yet.
    fn is_empty(&self) -> Result<bool>;
    /// Whether the target can load rows into an existing object
    /// ([`LoadMode::Merge`]).
    fn can_merge(&self) -> bool {
        false
    }
    /// Whether the target can keep only a time range of a table's rows.
    fn can_filter_time(&self) -> bool {
        false
    }
    /// Whether restoring can write here (permissions, read-only files),
    /// checked without changing anything; `None` when the target cannot
    /// tell before it starts.
    fn check_writable(&self) -> Option<Result<()>> {
        None
    }
    /// Whether the target can keep others from using it while the restore
    /// runs ([`Target::lock`]).
    fn can_lock(&self) -> bool {
        false
    }
    /// Keeps others out until [`Target::unlock`] (or until the target is
    /// dropped, however the restore ended); returns notes for the
    /// administrator.
    fn lock(&mut self) -> Result<Vec<String>> {
        Err(crate::error::EngineError::invalid(
            format!("lock of {}", self.url()),
            format!("{} targets cannot be locked", self.kind()),
        ))
    }
    fn unlock(&mut self) -> Result<()> {
        Ok(())
    }
    /// Starts the restore: targets that can, open one unit of work here so
    /// that nothing is visible before [`Target::finish`] and dropping the
    /// target unfinished leaves it as it was.
    fn prepare(&mut self) -> Result<()> {
        Ok(())
    }
    /// Starts restoring one object as `load` says.
    fn begin(&mut self, entry: &ObjectEntry, load: &Load) -> Result<Box<dyn ObjectSink + '_>>;
    /// Called once every object is restored (directory times, indexes,
    /// the commit of the unit of work).
    fn finish(&mut self, restored: &[(ObjectEntry, String)]) -> Result<()>;
    /// Reads a committed object back and compares it with its manifest
    /// entry; `Some` describes a difference.
    fn verify_object(&mut self, _entry: &ObjectEntry, _load: &Load) -> Result<Option<String>> {
        Ok(None)
    }
    /// Reads the committed object `load.name` back through the target's
    /// own output and hands over its content: each row of a table in the
    /// canonical form [`row_splitter`] cuts from the backup's stream (so
    /// the two digests compare), or a file's content in pieces. With
    /// `range`, only the rows in it. `Ok(false)` when this target cannot
    /// read the object back.
    fn read_back(
        &mut self,
        _entry: &ObjectEntry,
        _load: &Load,
        _row: &mut dyn FnMut(&[u8]),
    ) -> Result<bool> {
        Ok(false)
    }
    /// Told before loading that every object will be read back once the
    /// restore is committed: a target that bypasses caches to write faster
    /// writes through them instead, since reading back from the cache costs
    /// far less than what bypassing it saves.
    fn will_read_back(&mut self) {}
    /// A reader of restored files that several threads may use at once,
    /// for targets that can: a tree of many files is read back in
    /// parallel.
    fn file_reader(&self) -> Option<&dyn FileReader> {
        None
    }
}

/// Reads restored files back as [`Target::read_back`] does, from any thread.
pub trait FileReader: Sync {
    fn read_file(
        &self,
        entry: &ObjectEntry,
        load: &Load,
        piece: &mut dyn FnMut(&[u8]),
    ) -> Result<bool>;
    /// The size and BLAKE3 of a restored file the target already read back
    /// while the restore went on, when the committed file is still the one
    /// it read; `None` means: read it now.
    fn read_early(&self, _entry: &ObjectEntry, _load: &Load) -> Option<(u64, String)> {
        None
    }
}

/// The splitter that cuts a stored stream of a `kind` source's object
/// into rows in the canonical form its target's [`Target::read_back`]
/// gives; `None` for objects without rows (files, structure).
pub fn row_splitter(kind: &str, entry: &ObjectEntry) -> Option<Box<dyn RowSplitter>> {
    if entry.kind != crate::repo::manifest::ObjectKind::Table {
        return None;
    }
    match kind {
        "postgres" => postgres::row_splitter(entry),
        "mysql" => mysql::row_splitter(entry),
        "sqlite" => sqlite_frames::row_splitter(entry),
        "influxdb" => influx::row_splitter(entry),
        _ => None,
    }
}

/// How to read the time of a row that [`row_splitter`] cut, for a table
/// with one time column; `None` when its rows cannot be filtered by time
/// (a time-range restore is then compared by counts and span only).
pub fn row_time(kind: &str, entry: &ObjectEntry) -> Option<RowTime> {
    if entry.kind != crate::repo::manifest::ObjectKind::Table {
        return None;
    }
    match kind {
        "postgres" => postgres::row_time(entry),
        "influxdb" => influx::row_time(entry),
        "mysql" => mysql::row_time(entry),
        "sqlite" => sqlite_frames::row_time(entry),
        _ => None,
    }
}

/// How one object is written at the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Load {
    /// The name restored under.
    pub name: String,
    pub mode: LoadMode,
    /// Only rows of the table's one time column in `[since, until)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<TimeRange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "mode", content = "duplicates")]
pub enum LoadMode {
    /// The name is free; an object appearing there meanwhile is an error.
    Create,
    /// Replace the existing object (structure and data).
    Replace,
    /// Keep the existing object's structure and load the rows into it.
    Merge(DuplicatePolicy),
}

/// What loading into an existing table does with rows it already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatePolicy {
    /// A row clashing with an existing key fails the table.
    #[default]
    Stop,
    /// Rows clashing with an existing key are left out.
    Skip,
    /// The table's rows are deleted, then rewritten from the backup.
    Rewrite,
}

impl std::str::FromStr for DuplicatePolicy {
    type Err = crate::error::EngineError;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "stop" => Ok(DuplicatePolicy::Stop),
            "skip" => Ok(DuplicatePolicy::Skip),
            "rewrite" => Ok(DuplicatePolicy::Rewrite),
            other => Err(crate::error::EngineError::invalid(
                "duplicate policy",
                format!("{other:?} (expected stop, skip or rewrite)"),
            )),
        }
    }
}

impl DuplicatePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DuplicatePolicy::Stop => "stop",
            DuplicatePolicy::Skip => "skip",
            DuplicatePolicy::Rewrite => "rewrite",
        }
    }
}

/// A time range `[since, until)`, each end optional, as normalised by
/// [`Selection::parse_time`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct TimeRange {
    pub since: Option<String>,
    pub until: Option<String>,
}

impl TimeRange {
    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// The SQL condition keeping rows of `column` (already quoted) in range;
    /// `1` when unbounded.
    pub fn sql_condition(&self, column: &str) -> String {
        let quote = |t: &str| t.replace('\'', "''");
        let mut parts = Vec::new();
        if let Some(since) = &self.since {
            parts.push(format!("{column} >= '{}'", quote(since)));
        }
        if let Some(until) = &self.until {
            parts.push(format!("{column} < '{}'", quote(until)));
        }
        if parts.is_empty() {
            "1".into()
        } else {
            parts.join(" AND ")
        }
    }
}

/// Receives one object's content. Nothing is visible at the target until
/// `commit`; `abort` (or dropping) leaves the target as it was.
pub trait ObjectSink {
    fn write(&mut self, data: &[u8]) -> Result<()>;
    /// The content written so far is complete and another stream of the
    /// same object follows (the parts of a watermark chain).
    fn next_part(&mut self) -> Result<()> {
        Err(crate::error::EngineError::invalid(
            "restore",
            "this target cannot load an object stored in parts",
        ))
    }
    /// Makes the object visible; returns notes for the administrator
    /// (things restored differently from the source, and why).
    fn commit(self: Box<Self>) -> Result<Vec<String>>;
    fn abort(self: Box<Self>);
}

/// Opens the source a URL names, applying the selection.
pub fn open_source(url: &SourceUrl, selection: &Selection) -> Result<Box<dyn Source>> {
    match url {
        SourceUrl::FileTree(root) => Ok(Box::new(FileTreeSource::new(
            root.clone(),
            &selection.include,
            &selection.exclude,
        )?)),
        SourceUrl::Sqlite(path) => Ok(Box::new(SqliteSource::new(
            path.clone(),
            &selection.include,
            &selection.exclude,
        )?)),
        SourceUrl::Postgres(at) => Ok(Box::new(PostgresSource::new(at.clone(), selection)?)),
        SourceUrl::PgCluster(at) => {
            if !selection.include.is_empty() || !selection.exclude.is_empty() {
                return Err(EngineError::invalid(
                    "selection",
                    "a physical copy of a cluster takes all of it: choose databases or tables at restore",
                ));
            }
            Ok(Box::new(postgres::cluster::PgClusterSource::new(
                at.clone(),
            )?))
        }
        SourceUrl::MySql(at) => Ok(Box::new(MySqlSource::new(at.clone(), selection)?)),
        SourceUrl::Influx(at) => Ok(Box::new(InfluxSource::new(at.clone(), selection)?)),
    }
}

/// Opens the restore target a URL names.
pub fn open_target(url: &SourceUrl) -> Result<Box<dyn Target>> {
    match url {
        SourceUrl::FileTree(root) => Ok(Box::new(FileTreeTarget::new(root.clone()))),
        SourceUrl::Sqlite(path) => Ok(Box::new(SqliteTarget::open(path.clone())?)),
        SourceUrl::Postgres(at) => Ok(Box::new(PostgresTarget::open(at.clone())?)),
        SourceUrl::PgCluster(_) => Err(EngineError::invalid(
            "target",
            "a cluster point is recovered into a new data directory: restore it with a file:///DIR target",
        )),
        SourceUrl::MySql(at) => Ok(Box::new(MySqlTarget::open(at.clone())?)),
        SourceUrl::Influx(at) => Ok(Box::new(InfluxTarget::open(at.clone())?)),
    }
}
