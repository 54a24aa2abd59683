//! A task's timeline: the times it can be recovered to (from each base
//! point's snapshot to the end of the log archived after it), the holes in
//! the archive and how far the archive is behind the server (the RPO).

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use super::archive::{ArchiverStatus, BINLOG, WAL};
use crate::error::Result;
use crate::repo::archive::{file_number, Gap, LogArchive, Segment};
use crate::repo::manifest::{BackupMode, LogPosition, Manifest};
use crate::repo::Repository;
use crate::source::postgres::cluster::wal::SegmentName;

#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub task: String,
    /// Times a restore can go to, oldest first, without gaps inside.
    pub ranges: Vec<RecoverableRange>,
    pub gaps: Vec<TimelineGap>,
    /// Full points of the task with their log coordinates, oldest first.
    pub points: Vec<BasePoint>,
    pub files: u64,
    pub bytes: u64,
    /// Commit time of the last archived transaction.
    pub last_commit: Option<DateTime<Utc>>,
    /// What the archiver last said.
    pub archiver: Option<ArchiverStatus>,
    /// Seconds since the archive last held everything the server had
    /// written: what a failure now would lose at most.
    pub lag_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecoverableRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The points a restore in this range starts from.
    pub base_points: Vec<String>,
    /// The archived files the range spans.
    pub first_file: String,
    pub last_file: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineGap {
    /// Last archived commit before the hole.
    pub from: Option<DateTime<Utc>>,
    pub after: Option<String>,
    pub resumed_at: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BasePoint {
    pub id: String,
    pub taken_at: DateTime<Utc>,
    pub file: String,
    pub pos: u64,
    pub gtid: String,
    /// The coordinates as shown ([`LogPosition::describe`]).
    pub coordinates: String,
    /// Why no recovery can start from it, when none can.
    pub unusable: Option<String>,
}

/// A run of archived files with no hole between them.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub segments: Vec<Segment>,
}

impl Run {
    pub fn contains(&self, file: &str, pos: u64) -> bool {
        self.segments
            .iter()
            .any(|s| s.name == file && pos <= s.size.max(4))
    }

    pub fn last(&self) -> Option<&Segment> {
        self.segments.last()
    }
}

pub(crate) fn time(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

/// Splits the archive into runs at every hole: a missing file, a file not
/// stored to its end, or a gap the archiver recorded.
pub(crate) fn runs(segments: Vec<Segment>, gaps: &[Gap]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for segment in segments {
        let continues = runs.last().and_then(Run::last).is_some_and(|before| {
            let next_number =
                file_number(&before.name).map(|n| n + 1) == file_number(&segment.name);
            let named = before.next.as_deref() == Some(segment.name.as_str());
            let recorded = gaps.iter().any(|g| g.resumed_at == segment.name);
            before.complete && (next_number || named) && !recorded
        });
        match runs.last_mut() {
            Some(run) if continues => run.segments.push(segment),
            _ => runs.push(Run {
                segments: vec![segment],
            }),
        }
    }
    runs
}

/// Full points of the task that carry log coordinates, oldest first.
pub(crate) fn base_points(repo: &Repository, task: &str) -> Result<Vec<Manifest>> {
    let (points, _) = repo.points()?;
    Ok(points
        .into_iter()
        .filter(|p| p.task == task && p.mode == BackupMode::Full && p.log_position.is_some())
        .collect())
}

/// The log stream a task archives: a PostgreSQL cluster's WAL, or MariaDB's
/// binary logs.
pub(crate) fn stream_for(repo: &Repository, task: &str) -> Result<&'static str> {
    let (points, _) = repo.points()?;
    let cluster = points
        .iter()
        .any(|p| p.task == task && p.source.kind == crate::source::postgres::cluster::KIND);
    let wal = !LogArchive::new(repo, task, WAL).segments()?.is_empty();
    Ok(if cluster || wal { WAL } else { BINLOG })
}

/// Whether `run` holds the log a base point needs: from its snapshot's
/// position (MariaDB), or from where its copy is consistent (PostgreSQL).
pub(crate) fn run_holds(run: &Run, position: &LogPosition) -> bool {
    match (position.end_pos, position.timeline) {
        (Some(end), Some(tli)) => {
            let size = crate::source::postgres::cluster::wal::DEFAULT_SEGMENT_SIZE;
            let segment = SegmentName::of(tli, end, size).to_string();
            run.contains(&segment, end % size)
        }
        _ => run.contains(&position.file, position.pos),
    }
}

pub fn timeline(repo: &Repository, task: &str) -> Result<Timeline> {
    let archive = LogArchive::new(repo, task, stream_for(repo, task)?);
    let segments = archive.segments()?;
    let gaps = archive.gaps()?;
    let archiver: Option<ArchiverStatus> = archive.status()?;
    let files = segments.len() as u64;
    let bytes = segments.iter().map(|s| s.size).sum();
    let last_commit = segments
        .iter()
        .rev()
        .find_map(|s| s.last_time)
        .and_then(time);
    let runs = runs(segments, &gaps);
    let lag_seconds = archiver
        .as_ref()
        .and_then(|a| a.synced_at)
        .map(|t| (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0);

    let mut points = Vec::new();
    let mut ranges: Vec<RecoverableRange> = Vec::new();
    for manifest in base_points(repo, task)? {
        let Some(position) = &manifest.log_position else {
            continue;
        };
        let run = runs
            .iter()
            .enumerate()
            .find(|(_, r)| run_holds(r, position));
        let unusable = match run {
            None if position.end_pos.is_some() => Some(format!(
                "the archive does not hold the WAL after {}, where the base backup is consistent",
                crate::source::postgres::cluster::wal::lsn_text(position.end_pos.unwrap_or(0))
            )),
            None => Some(format!(
                "the archive does not hold {} at offset {}",
                position.file, position.pos
            )),
            Some(_) => None,
        };
        points.push(BasePoint {
            id: manifest.id.clone(),
            taken_at: position.taken_at,
            file: position.file.clone(),
            pos: position.pos,
            gtid: position.gtid.clone(),
            coordinates: position.describe(),
            unusable,
        });
        let Some((index, run)) = run else { continue };
        let is_current = index + 1 == runs.len();
        let Some(end) = run_end(run, is_current, archiver.as_ref()) else {
            continue;
        };
        let from = position.taken_at;
        if end < from {
            continue;
        }
        let (first_file, last_file) = (
            position.file.clone(),
            run.last().map(|s| s.name.clone()).unwrap_or_default(),
        );
        match ranges.last_mut() {
            Some(range) if range.last_file == last_file && range.to == end => {
                range.base_points.push(manifest.id.clone());
            }
            _ => ranges.push(RecoverableRange {
                from,
                to: end,
                base_points: vec![manifest.id.clone()],
                first_file,
                last_file,
            }),
        }
    }
    let gaps = gaps
        .into_iter()
        .map(|g| TimelineGap {
            from: g.from_time.and_then(time),
            after: g.after,
            resumed_at: g.resumed_at,
            reason: g.reason,
        })
        .collect();
    Ok(Timeline {
        task: task.to_owned(),
        ranges,
        gaps,
        points,
        files,
        bytes,
        last_commit,
        archiver,
        lag_seconds,
    })
}

/// How far a run reaches: its last archived commit, or, for the run the
/// archiver is still writing, the last moment it held everything (an
/// idle server's state holds until then).
fn run_end(
    run: &Run,
    is_current: bool,
    archiver: Option<&ArchiverStatus>,
) -> Option<DateTime<Utc>> {
    let last_commit = run
        .segments
        .iter()
        .rev()
        .find_map(|s| s.last_time)
        .and_then(time);
    let synced = archiver.filter(|_| is_current).and_then(|a| {
        // The archiver may stand at the start of the next file already.
        let holds_end = a.archived_file.as_deref().and_then(file_number)
            >= run.last().and_then(|s| file_number(&s.name));
        a.synced_at.filter(|_| holds_end)
    });
    match (last_commit, synced) {
        (Some(c), Some(s)) => Some(c.max(s)),
        (c, s) => c.or(s),
    }
}
