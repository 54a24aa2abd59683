//! Continuous log archives: the files a server writes one after another
//! (MariaDB binary logs, PostgreSQL WAL segments), stored while they grow.
//!
//! ```text
//! archive/<task>/<stream>/segments/<file>.json   what is stored of one file, and its index
//! archive/<task>/<stream>/packs/<hash>.pack      the file's bytes, appended piece by piece
//! archive/<task>/<stream>/gaps/<time>.json       a hole the archiver found, and why
//! ```
//!
//! A segment's bytes are chunks in packs of their own (not in the point
//! index): each upload of a growing file adds one pack with the new bytes,
//! compressed and sealed like every chunk, and then rewrites the segment's
//! manifest, so a reader sees a prefix of the file that ends on an event.
//! A finished file's pieces are joined into one pack.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::blob::{self, ChunkId};
use super::Repository;
use crate::error::{EngineError, Result};

/// Largest chunk a piece is cut into.
const CHUNK: usize = 4 << 20;

/// One stored file of a log stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Segment {
    /// The server's name for the file (`binlog.000042`).
    pub name: String,
    /// Bytes stored: the file's first `size` bytes, ending on an event.
    pub size: u64,
    /// The server has moved on to the next file: nothing more will come.
    pub complete: bool,
    pub pieces: Vec<Piece>,
    pub server_id: Option<u32>,
    /// The GTID state the file starts from (`0-1-41,1-2-7`).
    #[serde(default)]
    pub start_gtids: Vec<String>,
    /// The file the server went on with, when the file says.
    pub next: Option<String>,
    /// Where each commit time begins: a mark per change of the second.
    pub marks: Vec<Mark>,
    /// Offset just past the last committed group: a replay may stop here.
    pub last_end: u64,
    /// Commit time of the last group, UTC seconds.
    pub last_time: Option<i64>,
    pub last_gtid: Option<String>,
    pub transactions: u64,
    pub updated_at: DateTime<Utc>,
    /// The PostgreSQL cluster that wrote a WAL segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_id: Option<u64>,
}

/// The bytes `[offset, offset + raw_length)` of the file, as one chunk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Piece {
    pub pack: String,
    pub at: u64,
    pub length: u32,
    pub id: ChunkId,
    pub offset: u64,
    pub raw_length: u32,
}

/// The first group of the file committed at `time` after groups of
/// another second: it starts at `pos`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub time: i64,
    pub pos: u64,
    pub gtid: Option<String>,
}

/// A hole in the archive: events the archive does not have.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gap {
    /// The last archived file before the hole, and how far it got.
    pub after: Option<String>,
    pub after_pos: u64,
    /// Where archiving went on.
    pub resumed_at: String,
    pub reason: String,
    pub found_at: DateTime<Utc>,
    /// Commit time of the last archived group before it, UTC seconds.
    pub from_time: Option<i64>,
}

/// One task's log stream in a repository.
pub struct LogArchive<'r> {
    repo: &'r Repository,
    dir: String,
}

/// The number in a log file's name (`binlog.000042` → 42); a WAL
/// segment's place in the log (`000000010000000200000003` → 2 << 32 | 3,
/// whatever its timeline).
pub fn file_number(name: &str) -> Option<u64> {
    if let Some(segment) = crate::source::postgres::cluster::wal::SegmentName::parse(name) {
        return Some((u64::from(segment.log) << 32) | u64::from(segment.seg));
    }
    name.rsplit_once('.').and_then(|(_, n)| n.parse().ok())
}

/// A task name as a path component.
pub fn task_dir(task: &str) -> String {
    task.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

impl<'r> LogArchive<'r> {
    pub fn new(repo: &'r Repository, task: &str, stream: &str) -> Self {
        LogArchive {
            repo,
            dir: format!("archive/{}/{stream}", task_dir(task)),
        }
    }

    fn segment_path(&self, name: &str) -> Result<String> {
        if name.is_empty() || name.contains('/') || name.contains("..") {
            return Err(EngineError::invalid("log file name", format!("{name:?}")));
        }
        Ok(format!("{}/segments/{name}.json", self.dir))
    }

    /// Every stored segment, in the order the server wrote them.
    pub fn segments(&self) -> Result<Vec<Segment>> {
        let mut segments = Vec::new();
        for path in self
            .repo
            .backend()
            .list(&format!("{}/segments", self.dir))?
        {
            if path.ends_with(".json") {
                segments.push(self.repo.read_meta::<Segment>(&path)?);
            }
        }
        segments.sort_by_key(|s| (file_number(&s.name), s.name.clone()));
        Ok(segments)
    }

    pub fn segment(&self, name: &str) -> Result<Option<Segment>> {
        let path = self.segment_path(name)?;
        if !self.repo.backend().exists(&path)? {
            return Ok(None);
        }
        self.repo.read_meta(&path).map(Some)
    }

    /// Stores `bytes` as the file's next bytes (from `segment.size`) and
    /// publishes the grown segment, with the index fields the caller set.
    pub fn append(&self, segment: &mut Segment, bytes: &[u8]) -> Result<()> {
        if !bytes.is_empty() {
            let pieces = self.write_pieces(segment.size, bytes)?;
            segment.pieces.extend(pieces);
            segment.size += bytes.len() as u64;
        }
        segment.updated_at = Utc::now();
        self.repo
            .write_meta(&self.segment_path(&segment.name)?, segment)
    }

    fn write_pieces(&self, offset: u64, bytes: &[u8]) -> Result<Vec<Piece>> {
        let key = self.repo.key();
        let mut pack = Vec::new();
        let mut pieces = Vec::new();
        let mut at = offset;
        for chunk in bytes.chunks(CHUNK) {
            let stored = blob::encode_at(chunk, 3, key)?;
            pieces.push(Piece {
                pack: String::new(),
                at: pack.len() as u64,
                length: stored.len() as u32,
                id: self.repo.chunk_id(chunk),
                offset: at,
                raw_length: chunk.len() as u32,
            });
            pack.extend_from_slice(&stored);
            at += chunk.len() as u64;
        }
        let hash = blake3::hash(&pack).to_hex();
        let name = format!("{}/packs/{}.pack", self.dir, &hash[..32]);
        self.repo.backend().write(&name, pack)?;
        for piece in &mut pieces {
            piece.pack = name.clone();
        }
        Ok(pieces)
    }

    /// Rewrites a finished segment's pieces into one pack and deletes the
    /// small ones, so a day of uploads leaves one pack per file.
    pub fn compact(&self, segment: &mut Segment) -> Result<()> {
        let old: std::collections::BTreeSet<String> =
            segment.pieces.iter().map(|p| p.pack.clone()).collect();
        if old.len() <= 1 {
            return Ok(());
        }
        let bytes = self.read(segment, 0, segment.size)?;
        segment.pieces = self.write_pieces(0, &bytes)?;
        segment.updated_at = Utc::now();
        self.repo
            .write_meta(&self.segment_path(&segment.name)?, segment)?;
        for pack in old {
            self.repo.backend().delete(&pack)?;
        }
        Ok(())
    }

    /// The file's bytes `[from, to)`, checked chunk by chunk.
    pub fn read(&self, segment: &Segment, from: u64, to: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for piece in &segment.pieces {
            let end = piece.offset + u64::from(piece.raw_length);
            if end <= from || piece.offset >= to {
                continue;
            }
            let stored =
                self.repo
                    .backend()
                    .read_range(&piece.pack, piece.at, u64::from(piece.length))?;
            let what = || {
                format!(
                    "{}/{} (log file {})",
                    self.repo.location(),
                    piece.pack,
                    segment.name
                )
            };
            let raw = blob::decode(&stored, piece.id, piece.raw_length, self.repo.key(), &what)?;
            let lo = from.saturating_sub(piece.offset) as usize;
            let hi = (to.min(end) - piece.offset) as usize;
            out.extend_from_slice(&raw[lo..hi]);
        }
        if out.len() as u64 != to.saturating_sub(from) {
            return Err(EngineError::corrupt(
                format!(
                    "{}/{}",
                    self.repo.location(),
                    self.segment_path(&segment.name)?
                ),
                format!("its pieces do not cover bytes {from} to {to}"),
            ));
        }
        Ok(out)
    }

    /// The id a chunk of these bytes has in this repository.
    pub fn chunk_id(&self, bytes: &[u8]) -> ChunkId {
        self.repo.chunk_id(bytes)
    }

    /// Publishes what the archiver is doing (read by the timeline).
    pub fn write_status<T: Serialize>(&self, status: &T) -> Result<()> {
        self.repo
            .write_meta(&format!("{}/status.json", self.dir), status)
    }

    pub fn status<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>> {
        let path = format!("{}/status.json", self.dir);
        if !self.repo.backend().exists(&path)? {
            return Ok(None);
        }
        self.repo.read_meta(&path).map(Some)
    }

    /// Records a hole the archiver found.
    pub fn record_gap(&self, gap: &Gap) -> Result<()> {
        let path = format!(
            "{}/gaps/{}-{}.json",
            self.dir,
            gap.found_at.format("%Y%m%dT%H%M%S%3fZ"),
            super::random_hex(4)
        );
        self.repo.write_meta(&path, gap)
    }

    /// Deletes a segment: its manifest first (so no reader finds it half
    /// gone), then its packs.
    pub fn delete(&self, segment: &Segment) -> Result<()> {
        self.repo
            .backend()
            .delete(&self.segment_path(&segment.name)?)?;
        let packs: std::collections::BTreeSet<&str> =
            segment.pieces.iter().map(|p| p.pack.as_str()).collect();
        for pack in packs {
            self.repo.backend().delete(pack)?;
        }
        Ok(())
    }

    /// Deletes the records of holes that end at or before file number
    /// `first` (all of them when `None`: nothing is left).
    pub fn forget_gaps_before(&self, first: Option<u64>) -> Result<()> {
        for path in self.repo.backend().list(&format!("{}/gaps", self.dir))? {
            let gap: Gap = self.repo.read_meta(&path)?;
            if first.is_none() || file_number(&gap.resumed_at) <= first {
                self.repo.backend().delete(&path)?;
            }
        }
        Ok(())
    }

    pub fn gaps(&self) -> Result<Vec<Gap>> {
        let mut gaps = Vec::new();
        for path in self.repo.backend().list(&format!("{}/gaps", self.dir))? {
            if path.ends_with(".json") {
                gaps.push(self.repo.read_meta::<Gap>(&path)?);
            }
        }
        gaps.sort_by_key(|g| g.found_at);
        Ok(gaps)
    }
}

impl Segment {
    pub fn new(name: &str) -> Self {
        Segment {
            name: name.to_owned(),
            size: 0,
            complete: false,
            pieces: Vec::new(),
            server_id: None,
            start_gtids: Vec::new(),
            next: None,
            marks: Vec::new(),
            last_end: 0,
            last_time: None,
            last_gtid: None,
            transactions: 0,
            updated_at: Utc::now(),
            system_id: None,
        }
    }
}
