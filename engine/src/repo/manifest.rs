//! Manifests: one per backup point, published last.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ChunkId, Compression, Repository};
use crate::digest::RowDigest;
use crate::error::{EngineError, Result};

pub const MANIFEST_FORMAT_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";

/// What a backup point holds and how it was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub tool_version: String,
    /// The run directory's name: `<task>_<source>_<creation time>`.
    pub id: String,
    pub task: String,
    pub source: SourceRecord,
    pub selection: Selection,
    pub mode: BackupMode,
    /// The point this incremental was taken against.
    pub parent: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub compression: Compression,
    pub pack_size_limit: u64,
    pub objects: Vec<ObjectEntry>,
    pub totals: Totals,
    /// Where the source's change log stood at the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_position: Option<LogPosition>,
}

/// A snapshot's place in the source's change log: the binary log file and
/// offset that match it exactly, and the GTID state there (MariaDB); or a
/// physical base backup's WAL range (PostgreSQL: the segment and position
/// it starts at, the position it ends at).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPosition {
    pub file: String,
    pub pos: u64,
    pub gtid: String,
    /// When the snapshot was opened.
    pub taken_at: DateTime<Utc>,
    /// A physical base backup's end: where its copy is consistent (`pos`
    /// is where it starts; recovery must replay at least this far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_pos: Option<u64>,
    /// The PostgreSQL timeline the base backup was taken on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<u32>,
    /// The PostgreSQL cluster's system identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<u64>,
}

impl LogPosition {
    /// The coordinates as an administrator reads them: "binlog.000003:1210,
    /// GTID 0-1-41" for a binary log; the start segment, the start and
    /// consistency positions and the timeline for a PostgreSQL base backup.
    pub fn describe(&self) -> String {
        match self.end_pos {
            Some(end) => {
                use crate::source::postgres::cluster::wal::lsn_text;
                format!(
                    "WAL {} from {}, consistent at {}, timeline {}",
                    self.file,
                    lsn_text(self.pos),
                    lsn_text(end),
                    self.timeline.unwrap_or(1)
                )
            }
            None if self.gtid.is_empty() => format!("{}:{}", self.file, self.pos),
            None => format!("{}:{}, GTID {}", self.file, self.pos, self.gtid),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The source URL without credentials.
    pub url: String,
    pub kind: String,
    pub server_version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Time-series tables (those with one time column): only rows at or
    /// after this UTC instant, `YYYY-MM-DD HH:MM:SS`. Other objects whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// ... and before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Incrementals read only the rows of time-series tables newer than
    /// the parent point's latest time (append-only tables), and keep the
    /// parent's rows as earlier parts of the object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub watermark: bool,
}

impl Selection {
    /// Reads a time bound as given by a user (`2026-11-01`,
    /// `2026-11-01 12:00`, RFC 3339) into the form sources use.
    pub fn parse_time(text: &str) -> Result<String> {
        let text = text.trim();
        let parsed = chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc).naive_utc())
            .ok()
            .or_else(|| {
                [
                    "%Y-%m-%d %H:%M:%S",
                    "%Y-%m-%dT%H:%M:%S",
                    "%Y-%m-%d %H:%M",
                    "%Y-%m-%dT%H:%M",
                ]
                .iter()
                .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
            })
            .or_else(|| {
                chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            })
            .ok_or_else(|| {
                EngineError::invalid(
                    format!("time {text:?}"),
                    "expected YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] (UTC) or RFC 3339",
                )
            })?;
        Ok(parsed.format("%Y-%m-%d %H:%M:%S").to_string())
    }

    /// The SQL condition on `column` (already quoted) for the time range,
    /// if there is one. Bounds were normalised by [`Selection::parse_time`].
    pub fn time_condition(&self, column: &str) -> Option<String> {
        let range = crate::source::TimeRange {
            since: self.since.clone(),
            until: self.until.clone(),
        };
        (!range.is_unbounded()).then(|| range.sql_condition(column))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupMode {
    Full,
    Incremental,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    File,
    Dir,
    Symlink,
    Table,
    /// A database's structure (DDL) or other statements replayed at restore.
    Schema,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::File => "file",
            ObjectKind::Dir => "dir",
            ObjectKind::Symlink => "symlink",
            ObjectKind::Table => "table",
            ObjectKind::Schema => "schema",
        }
    }
}

/// One object of a point: a file, directory or symlink of a tree, or a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub name: String,
    pub kind: ObjectKind,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Modification time, nanoseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<i128>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_max: Option<String>,
    /// A table's columns as `name type`, in the order its rows are stored;
    /// loading into an existing table checks its columns are the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// BLAKE3 of the whole content, checked after restore (for an object
    /// in parts, each part has its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// A table's content digest over its rows as the source printed them
    /// (order-independent), which the restore compares with the target's
    /// read-back. Points from before digests have none: a restore then
    /// computes it from the stored stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<RowDigest>,
    /// How the object's rows are encoded in its stream when its source
    /// has more than one way (e.g. PostgreSQL's `copy-text` for tables
    /// with types that have no binary form); none: the source's usual one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<ChunkRef>,
    /// When the content is several streams one after the other (a table
    /// read by a watermark incremental: the parent's rows, then the newer
    /// ones), where each ends in `chunks`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    /// Set while backing up: this table is read from this time on, and
    /// the parent's parts hold the rows up to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
}

/// One stream of an object's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// How many of the object's chunks, following the previous part's, hold it.
    pub chunks: u32,
    /// BLAKE3 of this part's content.
    pub checksum: String,
    /// The rows of this part are those after this time (none: from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl ObjectEntry {
    /// An entry with only a name and kind; sources fill in what they know.
    pub fn new(name: impl Into<String>, kind: ObjectKind) -> Self {
        ObjectEntry {
            name: name.into(),
            kind,
            size: 0,
            mode: None,
            mtime_ns: None,
            link_target: None,
            rows: None,
            time_min: None,
            time_max: None,
            columns: Vec::new(),
            checksum: None,
            digest: None,
            format: None,
            chunks: Vec::new(),
            parts: Vec::new(),
            watermark: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    pub id: ChunkId,
    pub len: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub objects: u64,
    pub bytes: u64,
    pub chunks: u64,
    /// Chunks this run stored (the rest were already in the repository).
    pub new_chunks: u64,
    /// Bytes this run added to the repository, after compression.
    pub new_bytes_stored: u64,
}

/// A point as listed: enough to choose one without reading every object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PointSummary {
    pub id: String,
    pub task: String,
    pub source: String,
    pub mode: BackupMode,
    pub parent: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub totals: Totals,
}

impl From<&Manifest> for PointSummary {
    fn from(m: &Manifest) -> Self {
        PointSummary {
            id: m.id.clone(),
            task: m.task.clone(),
            source: m.source.url.clone(),
            mode: m.mode,
            parent: m.parent.clone(),
            started_at: m.started_at,
            finished_at: m.finished_at,
            totals: m.totals.clone(),
        }
    }
}

pub fn manifest_path(point: &str) -> String {
    format!("runs/{point}/{MANIFEST_FILE}")
}

impl Repository {
    /// Every published point, oldest first. Damaged manifests are returned
    /// separately so one bad file does not hide the others.
    pub fn points(&self) -> Result<(Vec<Manifest>, Vec<EngineError>)> {
        let mut points = Vec::new();
        let mut damaged = Vec::new();
        for path in self.backend().list("runs")? {
            if !path.ends_with(&format!("/{MANIFEST_FILE}")) {
                continue;
            }
            match self.read_meta::<Manifest>(&path) {
                Ok(manifest) => points.push(manifest),
                Err(err) => damaged.push(err),
            }
        }
        points.sort_by(|a, b| a.finished_at.cmp(&b.finished_at).then(a.id.cmp(&b.id)));
        Ok((points, damaged))
    }

    /// Loads one point; `latest` names the newest.
    pub fn point(&self, id: &str) -> Result<Manifest> {
        if id == "latest" {
            let (points, _) = self.points()?;
            return points
                .into_iter()
                .last()
                .ok_or_else(|| EngineError::PointNotFound {
                    point: "latest (the repository has no points)".into(),
                    location: self.location().to_owned(),
                });
        }
        if id.is_empty() || id.contains('/') || id.contains("..") {
            return Err(EngineError::invalid("point id", format!("{id:?}")));
        }
        let path = manifest_path(id);
        if !self.backend().exists(&path)? {
            return Err(EngineError::PointNotFound {
                point: id.to_owned(),
                location: self.location().to_owned(),
            });
        }
        self.read_meta(&path)
    }

    /// Publishes a point: the manifest is the last file a run writes, and it
    /// appears complete or not at all.
    pub(crate) fn publish(&self, manifest: &Manifest) -> Result<()> {
        self.write_meta(&manifest_path(&manifest.id), manifest)
    }
}
