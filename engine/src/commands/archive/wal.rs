//! Continuous archiving of a PostgreSQL cluster's write-ahead log.
//!
//! `pg_receivewal` streams through the task's replication slot into a
//! spool directory that outlives the run (the slot moves on once WAL is
//! flushed there, so the spool, not the server, holds what is not yet in
//! the repository). Every few seconds the readable new WAL of each segment
//! goes into the repository, and `pg_waldump` (the server's own reader)
//! gives the commit records the index needs. A segment the server removed
//! before it was streamed is recorded as a hole.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};

use super::{gap, ArchiveStats};
use crate::error::{EngineError, Result};
use crate::progress::Progress;
use crate::repo::archive::{LogArchive, Mark, Segment};
use crate::source::postgres::cluster::wal::{self, is_history, SegmentName};

/// The stream of WAL segments, and of timeline history files.
pub const WAL: &str = "wal";
pub const WAL_HISTORY: &str = "wal-history";

/// One spooled file: its segment, and whether pg_receivewal finished it.
struct Spooled {
    name: SegmentName,
    path: PathBuf,
    finished: bool,
}

/// What one run has moved from the spool.
pub(super) struct WalSpool<'a> {
    archive: &'a LogArchive<'a>,
    history: &'a LogArchive<'a>,
    dir: PathBuf,
    pg_waldump: PathBuf,
    system_id: u64,
    segment_size: u64,
    /// Everything before this position is stored and indexed.
    scan_pos: Option<u64>,
    /// Segments whose index this run rebuilt from their start.
    rebuilt: BTreeSet<String>,
    /// Segments this run compared with what the repository held.
    verified: BTreeSet<String>,
    pub newest: Option<(String, u64)>,
    pub end: Option<u64>,
    pub last_commit: Option<DateTime<Utc>>,
}

impl<'a> WalSpool<'a> {
    pub(super) fn new(
        archive: &'a LogArchive<'a>,
        history: &'a LogArchive<'a>,
        dir: &Path,
        pg_waldump: PathBuf,
        system_id: u64,
    ) -> Self {
        WalSpool {
            archive,
            history,
            dir: dir.to_owned(),
            pg_waldump,
            system_id,
            segment_size: wal::DEFAULT_SEGMENT_SIZE,
            scan_pos: None,
            rebuilt: BTreeSet::new(),
            verified: BTreeSet::new(),
            newest: None,
            end: None,
            last_commit: None,
        }
    }

    pub(super) fn segment_size(&self) -> u64 {
        self.segment_size
    }

    fn listing(&self) -> Result<(Vec<Spooled>, Vec<String>)> {
        let mut segments = Vec::new();
        let mut histories = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| EngineError::io(&self.dir, e))? {
            let entry = entry.map_err(|e| EngineError::io(&self.dir, e))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let (stem, finished) = match file.strip_suffix(".partial") {
                Some(stem) => (stem, false),
                None => (file.as_str(), true),
            };
            if let Some(name) = SegmentName::parse(stem) {
                segments.push(Spooled {
                    name,
                    path: entry.path(),
                    finished,
                });
            } else if is_history(&file) {
                histories.push(file);
            }
        }
        segments.sort_by_key(|s| (s.name.log, s.name.seg, s.name.timeline));
        Ok((segments, histories))
    }

    /// Stores what is new in the spool; returns bytes stored.
    pub(super) fn poll(
        &mut self,
        stats: &mut ArchiveStats,
        progress: &dyn Progress,
    ) -> Result<u64> {
        let (segments, histories) = self.listing()?;
        let mut moved = 0;
        for file in histories {
            if self.history.segment(&file)?.is_none() {
                let path = self.dir.join(&file);
                let bytes = std::fs::read(&path).map_err(|e| EngineError::io(&path, e))?;
                let mut segment = Segment::new(&file);
                segment.complete = true;
                self.history.append(&mut segment, &bytes)?;
                moved += bytes.len() as u64;
            }
        }
        let Some(first) = segments.first() else {
            return Ok(moved);
        };
        let header = read_range(&first.path, 0, 64)?;
        if let Some((sysid, size)) = wal::segment_header(&header) {
            if sysid != self.system_id {
                return Err(EngineError::invalid(
                    format!("WAL in {}", self.dir.display()),
                    format!("it was written by the cluster {sysid}, not by {} (the task's): empty the spool directory or archive this cluster under a new task", self.system_id),
                ));
            }
            self.segment_size = size;
        }
        let size = self.segment_size;
        let scan_from = self.scan_pos.unwrap_or_else(|| first.name.start(size));
        let last = &segments[segments.len() - 1];
        let end = last.name.start(size) + size;
        let scratch = self.link_for_scan(&segments)?;
        let scan = wal::scan(&self.pg_waldump, &scratch, scan_from, end);
        let scan = match scan {
            Ok(scan) => scan,
            Err(err) => {
                tracing::warn!("WAL index: {err}");
                // Read again from the oldest segment still spooled.
                self.scan_pos = None;
                return Ok(moved);
            }
        };
        let readable_to = scan.stopped_at.unwrap_or(end);
        for spooled in &segments {
            match self.store(spooled, &scan.commits, readable_to, stats, progress) {
                Ok(n) => moved += n,
                // pg_receivewal finished the segment (renamed its .partial)
                // meanwhile: the next poll takes it under its new name and
                // reads the same stretch again (storing is idempotent).
                Err(EngineError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    self.scan_pos = Some(spooled.name.start(size).max(scan_from));
                    return Ok(moved);
                }
                Err(err) => return Err(err),
            }
        }
        self.scan_pos = Some(readable_to.max(scan_from));
        self.end = Some(readable_to);
        Ok(moved)
    }

    /// pg_waldump reads segments by their names: a scratch directory of
    /// links, the growing `.partial` one under its final name.
    fn link_for_scan(&self, segments: &[Spooled]) -> Result<PathBuf> {
        let scratch = self.dir.join(".scan");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch).map_err(|e| EngineError::io(&scratch, e))?;
        }
        std::fs::create_dir(&scratch).map_err(|e| EngineError::io(&scratch, e))?;
        for s in segments {
            let link = scratch.join(s.name.to_string());
            std::os::unix::fs::symlink(&s.path, &link).map_err(|e| EngineError::io(&link, e))?;
        }
        Ok(scratch)
    }

    fn store(
        &mut self,
        spooled: &Spooled,
        commits: &[wal::Commit],
        readable_to: u64,
        stats: &mut ArchiveStats,
        progress: &dyn Progress,
    ) -> Result<u64> {
        let size = self.segment_size;
        let name = spooled.name.to_string();
        let start = spooled.name.start(size);
        let stop = start + size;
        let readable = readable_to.clamp(start, stop) - start;
        let mut segment = match self.archive.segment(&name)? {
            Some(s) => s,
            None if readable == 0 => return Ok(0),
            None => {
                self.check_continuity(&spooled.name, stats)?;
                let mut s = Segment::new(&name);
                s.system_id = Some(self.system_id);
                s
            }
        };
        if !self.verified.contains(&name) && segment.size > 0 && readable >= segment.size {
            // What the repository holds must be what the server sends.
            let stored = self.archive.read(&segment, 0, segment.size)?;
            let local = read_range(&spooled.path, 0, segment.size)?;
            if blake3::hash(&stored) != blake3::hash(&local) {
                return Err(EngineError::invalid(
                    format!("WAL segment {name}"),
                    "the server's copy differs from the archived one: the cluster was rebuilt or restored under the same system; archive it under a new task",
                ));
            }
            self.verified.insert(name.clone());
        }
        if segment.complete {
            self.forget(spooled, readable_to >= stop)?;
            return Ok(0);
        }
        // Commits before what is stored were indexed when it was stored,
        // except the first time this run reads the segment: its index is
        // rebuilt from the segment's start.
        let mut indexed_to = start + segment.size;
        if self.rebuilt.insert(name.clone()) {
            segment.marks.clear();
            segment.transactions = 0;
            segment.last_time = None;
            segment.last_end = 0;
            indexed_to = start;
        }
        let mut new_commits = 0;
        for c in commits
            .iter()
            .filter(|c| c.lsn >= indexed_to && c.lsn < stop)
        {
            let second = c.micros.div_euclid(1_000_000);
            if segment.last_time.is_none_or(|t| second > t) {
                segment.marks.push(Mark {
                    time: second,
                    pos: c.lsn,
                    gtid: None,
                });
                segment.last_time = Some(second);
            }
            segment.last_end = c.lsn;
            segment.transactions += 1;
            new_commits += 1;
            self.last_commit = Utc.timestamp_opt(second, 0).single().max(self.last_commit);
        }
        let complete = spooled.finished && readable_to >= stop;
        let mut moved = 0;
        if readable > segment.size {
            let bytes = read_range(&spooled.path, segment.size, readable)?;
            segment.complete = complete;
            if complete {
                segment.next = Some(spooled.name.next(size).to_string());
            }
            self.archive.append(&mut segment, &bytes)?;
            moved = bytes.len() as u64;
            stats.bytes += moved;
            stats.transactions += new_commits;
            progress.inc(moved, new_commits);
        } else if complete || new_commits > 0 {
            segment.complete = complete;
            if complete {
                segment.next = Some(spooled.name.next(size).to_string());
            }
            self.archive.append(&mut segment, &[])?;
        }
        self.newest = Some((name, segment.size));
        if complete {
            self.archive.compact(&mut segment)?;
            stats.files += 1;
            self.forget(spooled, true)?;
        }
        Ok(moved)
    }

    /// A finished segment the scan has gone past leaves the spool.
    fn forget(&self, spooled: &Spooled, scanned: bool) -> Result<()> {
        if spooled.finished && scanned {
            std::fs::remove_file(&spooled.path).map_err(|e| EngineError::io(&spooled.path, e))?;
        }
        Ok(())
    }

    /// A segment new to the archive must follow the one before it.
    fn check_continuity(&self, name: &SegmentName, stats: &mut ArchiveStats) -> Result<()> {
        let size = self.segment_size;
        let previous = self
            .archive
            .segments()?
            .into_iter()
            .filter_map(|s| SegmentName::parse(&s.name).map(|n| (n, s)))
            .filter(|(n, _)| n.start(size) < name.start(size))
            .max_by_key(|(n, _)| (n.start(size), n.timeline));
        let Some((before, segment)) = previous else {
            return Ok(());
        };
        let follows = before.next(size).start(size) == name.start(size);
        let reason = if !follows {
            Some(format!(
                "WAL from {} to {} was not streamed before the server removed it (the slot was dropped or the spool lost)",
                before.next(size),
                name
            ))
        } else if !segment.complete && name.timeline == before.timeline {
            Some(format!(
                "{before} was archived only up to {}: the rest was not streamed before the server removed it",
                wal::lsn_text(before.start(size) + segment.size)
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            let hole = gap(
                Some(&segment.name),
                segment.size,
                &name.to_string(),
                reason,
                segment.last_time,
            );
            tracing::warn!("archive gap: {}", hole.reason);
            self.archive.record_gap(&hole)?;
            stats.gaps.push(hole.reason);
        }
        Ok(())
    }
}

fn read_range(path: &Path, from: u64, to: u64) -> Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(|e| EngineError::io(path, e))?;
    file.seek(SeekFrom::Start(from))
        .map_err(|e| EngineError::io(path, e))?;
    let mut buf = Vec::with_capacity(to.saturating_sub(from) as usize);
    file.take(to.saturating_sub(from))
        .read_to_end(&mut buf)
        .map_err(|e| EngineError::io(path, e))?;
    Ok(buf)
}
