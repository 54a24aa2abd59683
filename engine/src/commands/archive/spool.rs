//! The spool directory the streamer writes into, and moving what it wrote
//! into the repository: complete events only, each file checked against
//! what the repository already holds of it.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::{gap, ArchiveStats};
use crate::error::{EngineError, Result};
use crate::progress::Progress;
use crate::repo::archive::{file_number, LogArchive, Mark, Segment};
use crate::source::mysql::binlog::{Gtid, Scanner};

/// Most bytes of one file read per poll.
const READ_LIMIT: u64 = 256 << 20;

/// Empties (or creates, mode 0700) the spool directory.
pub(super) fn prepare(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| EngineError::io(dir, e))
}

/// What the archiver is doing, kept in the repository for the timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiverStatus {
    pub task: String,
    pub source: String,
    pub host: String,
    pub pid: u32,
    pub running: bool,
    pub updated_at: DateTime<Utc>,
    /// The last moment the archive held every event the server had written.
    pub synced_at: Option<DateTime<Utc>>,
    pub server_file: Option<String>,
    pub server_size: u64,
    pub archived_file: Option<String>,
    pub archived_size: u64,
    pub last_commit: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// WAL the task's replication slot holds back on the server (bytes
    /// from the slot's position to the server's): what the server keeps
    /// until it is streamed (PostgreSQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_retained_bytes: Option<u64>,
    /// Where the server stood at recent checks, not yet archived.
    #[serde(skip)]
    pending: std::collections::VecDeque<(DateTime<Utc>, Option<u64>, u64)>,
}

impl ArchiverStatus {
    pub(super) fn new(task: &str, source: &str) -> Self {
        ArchiverStatus {
            task: task.to_owned(),
            source: source.to_owned(),
            host: crate::repo::lock::hostname(),
            pid: std::process::id(),
            running: true,
            updated_at: Utc::now(),
            synced_at: None,
            server_file: None,
            server_size: 0,
            archived_file: None,
            archived_size: 0,
            last_commit: None,
            error: None,
            slot_retained_bytes: None,
            pending: Default::default(),
        }
    }

    /// `server`: where the server's log stood just now. The archive is
    /// complete up to a moment once it holds what the server had then, so
    /// under a steady load `synced_at` trails by about one upload.
    pub(super) fn update(
        &mut self,
        files: &Files<'_>,
        server: Option<(String, u64)>,
        error: Option<&str>,
    ) {
        self.update_positions(files.newest.clone(), files.last_commit, server, error);
    }

    /// `archived`: the newest file and how much of it is stored.
    pub(super) fn update_positions(
        &mut self,
        archived: Option<(String, u64)>,
        last_commit: Option<DateTime<Utc>>,
        server: Option<(String, u64)>,
        error: Option<&str>,
    ) {
        self.updated_at = Utc::now();
        if let Some((file, size)) = archived {
            self.archived_file = Some(file);
            self.archived_size = size;
        }
        if last_commit.is_some() {
            self.last_commit = last_commit;
        }
        let archived = (
            self.archived_file.as_deref().and_then(file_number),
            self.archived_size,
        );
        while let Some((at, file, size)) = self.pending.front().cloned() {
            if (file, size) > archived {
                break;
            }
            self.synced_at = self.synced_at.max(Some(at));
            self.pending.pop_front();
        }
        if let Some((file, size)) = server {
            self.pending
                .push_back((self.updated_at, file_number(&file), size));
            self.server_file = Some(file);
            self.server_size = size;
        }
        if self.synced() {
            self.synced_at = Some(self.updated_at);
            self.pending.clear();
        }
        self.error = error.map(str::to_owned);
    }

    /// The archive ends where the server's log does.
    pub fn synced(&self) -> bool {
        self.server_file.is_some()
            && self.server_file == self.archived_file
            && self.server_size == self.archived_size
    }
}

pub(super) fn write_status(archive: &LogArchive<'_>, status: &ArchiverStatus) -> Result<()> {
    archive.write_status(status)
}

struct FileState {
    scanner: Scanner,
    segment: Segment,
    /// The archived prefix is checked against the local copy up to here.
    verified_to: u64,
    /// Size the repository held when this run began.
    archived_at_start: u64,
    done: bool,
}

/// The files of one streamer run.
pub(super) struct Files<'a> {
    archive: &'a LogArchive<'a>,
    dir: PathBuf,
    open: BTreeMap<(u64, String), FileState>,
    /// The newest file and how much of it is stored.
    pub newest: Option<(String, u64)>,
    pub last_commit: Option<DateTime<Utc>>,
}

impl<'a> Files<'a> {
    pub(super) fn new(archive: &'a LogArchive<'a>, dir: &Path) -> Self {
        Files {
            archive,
            dir: dir.to_owned(),
            open: BTreeMap::new(),
            newest: None,
            last_commit: None,
        }
    }

    /// Stores the new complete events of every file; returns bytes stored.
    pub(super) fn poll(
        &mut self,
        stats: &mut ArchiveStats,
        progress: &dyn Progress,
    ) -> Result<u64> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map_err(|e| EngineError::io(&self.dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && file_number(n).is_some())
            .collect();
        names.sort_by_key(|n| file_number(n));
        let mut moved = 0;
        for (i, name) in names.iter().enumerate() {
            let key = (file_number(name).unwrap_or(0), name.clone());
            if !self.open.contains_key(&key) {
                let state = self.open_file(name)?;
                self.open.insert(key.clone(), state);
            }
            let newer_exists = i + 1 < names.len();
            let Some(state) = self.open.get_mut(&key) else {
                continue;
            };
            if state.done {
                continue;
            }
            moved += step(
                self.archive,
                &self.dir,
                state,
                newer_exists,
                names.get(i + 1),
                stats,
                progress,
            )?;
            self.newest = Some((name.clone(), state.segment.size));
            if let Some(t) = state.segment.last_time {
                self.last_commit = Utc.timestamp_opt(t, 0).single();
            }
        }
        Ok(moved)
    }

    fn open_file(&self, name: &str) -> Result<FileState> {
        let segment = self
            .archive
            .segment(name)?
            .unwrap_or_else(|| Segment::new(name));
        let archived = segment.size;
        Ok(FileState {
            scanner: Scanner::default(),
            done: segment.complete,
            segment,
            verified_to: 0,
            archived_at_start: archived,
        })
    }
}

fn step(
    archive: &LogArchive<'_>,
    dir: &Path,
    state: &mut FileState,
    newer_exists: bool,
    next_name: Option<&String>,
    stats: &mut ArchiveStats,
    progress: &dyn Progress,
) -> Result<u64> {
    let name = state.segment.name.clone();
    let path = dir.join(&name);
    let what = || format!("binary log {name} (spooled at {})", path.display());
    let mut file = std::fs::File::open(&path).map_err(|e| EngineError::io(&path, e))?;
    let len = file
        .metadata()
        .map_err(|e| EngineError::io(&path, e))?
        .len();
    let read = |file: &mut std::fs::File, from: u64, to: u64| -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity((to - from) as usize);
        file.seek(SeekFrom::Start(from))
            .map_err(|e| EngineError::io(&path, e))?;
        file.by_ref()
            .take(to - from)
            .read_to_end(&mut buf)
            .map_err(|e| EngineError::io(&path, e))?;
        Ok(buf)
    };

    // What the repository holds of this file must be what the server sends.
    while state.verified_to < state.archived_at_start {
        let Some(piece) = state
            .segment
            .pieces
            .iter()
            .find(|p| p.offset == state.verified_to)
        else {
            break;
        };
        let end = piece.offset + u64::from(piece.raw_length);
        if end > len {
            break;
        }
        let local = read(&mut file, piece.offset, end)?;
        if archive.chunk_id(&local) != piece.id {
            return Err(EngineError::invalid(
                format!("binary log {name}"),
                format!(
                    "the server's copy differs from the archived one in bytes {} to {end}: its logs were rewritten (RESET MASTER, or the server was rebuilt); archive it under a new task",
                    piece.offset
                ),
            ));
        }
        state.verified_to = end;
    }

    let first_read = state.scanner.pos == 0;
    let from = state.scanner.pos;
    let to = len.min(from + READ_LIMIT);
    let bytes = read(&mut file, from, to)?;
    let (used, transactions) = state.scanner.feed(&bytes, &what)?;
    if first_read {
        // The archive's index is rebuilt from the whole file.
        let segment = &mut state.segment;
        segment.marks.clear();
        segment.transactions = 0;
        segment.last_time = None;
        segment.last_gtid = None;
        if state.archived_at_start == 0 {
            check_continuity(archive, &state.scanner, &name, stats)?;
        }
    }
    for t in &transactions {
        let segment = &mut state.segment;
        let time = i64::from(t.time);
        if segment.last_time != Some(time) {
            segment.marks.push(Mark {
                time,
                pos: t.start,
                gtid: t.gtid.map(|g| g.to_string()),
            });
        }
        segment.last_time = Some(time);
        segment.last_gtid = t.gtid.map(|g| g.to_string());
        segment.transactions += 1;
    }
    let segment = &mut state.segment;
    segment.last_end = state.scanner.last_end;
    segment.server_id = state.scanner.server_id;
    if let Some(list) = &state.scanner.start_gtids {
        segment.start_gtids = list.iter().map(Gtid::to_string).collect();
    }
    let consumed = from + used as u64;
    let complete = newer_exists && consumed == len;
    let mut moved = 0;
    if consumed > segment.size && state.verified_to >= state.archived_at_start {
        let start = segment.size;
        let new = read(&mut file, start, consumed)?;
        segment.next = state.scanner.next.clone();
        segment.complete = complete;
        if complete && segment.next.is_none() {
            segment.next = next_name.cloned();
        }
        archive.append(segment, &new)?;
        moved = new.len() as u64;
        stats.bytes += moved;
        stats.transactions += transactions.len() as u64;
        progress.inc(moved, transactions.len() as u64);
    } else if complete && !segment.complete && consumed >= segment.size {
        segment.complete = true;
        segment.next = state.scanner.next.clone().or_else(|| next_name.cloned());
        archive.append(segment, &[])?;
    }
    if complete && segment.complete {
        archive.compact(segment)?;
        stats.files += 1;
        state.done = true;
        std::fs::remove_file(&path).map_err(|e| EngineError::io(&path, e))?;
    }
    Ok(moved)
}

/// A new file must continue the one before it in the archive: same
/// server, GTIDs going on. Otherwise the archive records a hole.
fn check_continuity(
    archive: &LogArchive<'_>,
    scanner: &Scanner,
    name: &str,
    stats: &mut ArchiveStats,
) -> Result<()> {
    let number = file_number(name);
    let Some(previous) = archive
        .segments()?
        .into_iter()
        .rfind(|s| file_number(&s.name) < number)
    else {
        return Ok(());
    };
    let mut reasons = Vec::new();
    if let (Some(before), Some(now)) = (previous.server_id, scanner.server_id) {
        if before != now {
            reasons.push(format!(
                "the server id changed from {before} to {now} at {name}: another server writes these logs"
            ));
        }
    }
    if let (Some(last), Some(list)) = (
        previous
            .last_gtid
            .as_deref()
            .and_then(|g| g.parse::<Gtid>().ok()),
        &scanner.start_gtids,
    ) {
        if let Some(now) = list.iter().find(|g| g.domain == last.domain) {
            if now.seq < last.seq {
                reasons.push(format!(
                    "GTID domain {} went back from sequence {} to {} at {name}",
                    last.domain, last.seq, now.seq
                ));
            }
        }
    }
    for reason in reasons {
        let hole = gap(
            Some(&previous.name),
            previous.last_end,
            name,
            reason,
            previous.last_time,
        );
        tracing::warn!("archive gap: {}", hole.reason);
        archive.record_gap(&hole)?;
        stats.gaps.push(hole.reason);
    }
    Ok(())
}
