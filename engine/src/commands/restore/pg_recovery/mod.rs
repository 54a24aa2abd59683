//! Point-in-time recovery of a PostgreSQL cluster into a new data
//! directory: the newest base backup that precedes the moment is unpacked
//! and checked against its own manifest (`pg_verifybackup`), then the
//! server itself replays the archived WAL (`restore_command` =
//! `tidemark wal-get`) and stops by position.
//!
//! As for MariaDB, the moment is resolved to a position with the archive's
//! own index of commit records: recovery stops just before the first
//! commit in log order that committed after the chosen second
//! (`recovery_target_lsn`, exclusive), or just after the last archived
//! commit when none did (`recovery_target_time` would fail on an idle
//! server: no later commit tells it the moment has passed).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

mod extract;
mod server;

pub use extract::{ExtractPlan, ExtractStats, PgExtract, EXTRACT_TITLE};

use super::{plan_restore, run_restore, RestoreOptions, RestorePlan, RestoreStats};
use crate::commands::archive::{ArchiverStatus, WAL};
use crate::commands::timeline::{self, run_holds, time};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::archive::LogArchive;
use crate::repo::manifest::{BackupMode, Manifest};
use crate::repo::Repository;
use crate::source::postgres::binaries::{is_root, PgBinaries};
use crate::source::postgres::cluster::datadir::{is_free, PgDataDirTarget};
use crate::source::postgres::cluster::wal::{
    lsn_text, parse_history, SegmentName, DEFAULT_SEGMENT_SIZE,
};
use crate::source::postgres::cluster::{tools_for, KIND};

/// Where recovery goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgRecoveryTarget {
    /// Everything committed at or before this second (UTC).
    Time(DateTime<Utc>),
    /// The point itself: its copy, replayed just far enough to be consistent.
    Point(String),
}

#[derive(Debug, Clone)]
pub struct PgRecoveryOptions {
    /// The new data directory (absent or empty).
    pub data_dir: PathBuf,
    /// Start the recovered cluster on this port and leave it running.
    pub port: Option<u16>,
    /// The program `restore_command` runs (`tidemark`, with `wal-get`).
    pub wal_get: PathBuf,
    /// Longest the server's replay may take.
    pub time_limit: Duration,
    /// Afterwards, restore a database (or some of its tables) of the
    /// recovered cluster into another server.
    pub extract: Option<PgExtract>,
}

/// Where the server stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum StopAt {
    /// Just before the record at `lsn` (a commit after the moment).
    Before { lsn: String },
    /// Just after the record at `lsn` (the last commit archived).
    After { lsn: String },
    /// As soon as the copy is consistent.
    Consistent,
}

#[derive(Debug, Clone, Serialize)]
pub struct PgRecoveryPlan {
    pub task: String,
    pub to: String,
    pub base_point: String,
    pub base: RestorePlan,
    pub timeline: u32,
    /// Where the base copy is consistent.
    pub consistent_at: String,
    pub stop: StopAt,
    /// The WAL segments the replay reads, first and last.
    pub first_segment: String,
    pub last_segment: String,
    pub data_dir: PathBuf,
    pub port: Option<u16>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extract: Option<ExtractPlan>,
    #[serde(skip)]
    bin: PgBinaries,
    /// The task's user, which the recovered cluster knows (extraction
    /// connects as it first).
    #[serde(skip)]
    cluster_user: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PgRecoveryStats {
    pub base: RestoreStats,
    /// The server's own words on where it stopped.
    pub stopped: Option<String>,
    /// The last transaction the replay applied, as the server logged it.
    pub last_transaction: Option<String>,
    pub new_timeline: Option<u32>,
    pub wal_files_served: u64,
    pub running_on_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted: Option<ExtractStats>,
    pub seconds: f64,
    /// Of `seconds`, the server's replay.
    pub recovery_seconds: f64,
}

fn refuse(message: impl Into<String>) -> EngineError {
    EngineError::Conflict(message.into())
}

/// Full cluster points of the task, oldest first.
fn cluster_points(repo: &Repository, task: &str) -> Result<Vec<Manifest>> {
    Ok(timeline::base_points(repo, task)?
        .into_iter()
        .filter(|p| p.source.kind == KIND && p.mode == BackupMode::Full)
        .filter(|p| p.log_position.as_ref().is_some_and(|l| l.end_pos.is_some()))
        .collect())
}

pub fn plan_recovery(
    repo: &Repository,
    task: &str,
    to: &PgRecoveryTarget,
    options: &PgRecoveryOptions,
) -> Result<PgRecoveryPlan> {
    if !is_free(&options.data_dir)? {
        return Err(refuse(format!(
            "{} is not empty: a cluster is recovered into a new data directory",
            options.data_dir.display()
        )));
    }
    if is_root() {
        server_can_reach(&options.data_dir)?;
    }
    let points = cluster_points(repo, task)?;
    if points.is_empty() {
        return Err(refuse(format!(
            "task {task:?} has no base backup of a PostgreSQL cluster (back up a postgres-cluster:// source first)"
        )));
    }
    let (base, stop, notes) = match to {
        PgRecoveryTarget::Point(id) => {
            let base = points
                .iter()
                .find(|p| &p.id == id)
                .cloned()
                .ok_or_else(|| {
                    refuse(format!("point {id} is not a base backup of task {task:?}"))
                })?;
            (base, StopAt::Consistent, Vec::new())
        }
        PgRecoveryTarget::Time(moment) => resolve_time(repo, task, &points, *moment)?,
    };
    let position = base
        .log_position
        .clone()
        .unwrap_or_else(|| unreachable!("filtered"));
    let major = base
        .source
        .server_version
        .as_deref()
        .and_then(crate::source::postgres::binaries::major_of)
        .ok_or_else(|| {
            refuse(format!(
                "point {} does not say its PostgreSQL version",
                base.id
            ))
        })?;
    let bin = tools_for(major)?;
    let target = PgDataDirTarget::new(options.data_dir.clone(), &bin.bin);
    let base_plan = plan_restore(&base, &target, &RestoreOptions::default())?;
    let end = position.end_pos.unwrap_or(position.pos);
    let timeline = position.timeline.unwrap_or(1);
    let stop_lsn = match &stop {
        StopAt::Before { lsn } | StopAt::After { lsn } => {
            crate::source::postgres::cluster::wal::parse_lsn(lsn).unwrap_or(end)
        }
        StopAt::Consistent => end,
    };
    let timeline = target_timeline(repo, task, timeline, end, stop_lsn)?;
    let extract = options
        .extract
        .as_ref()
        .map(|e| extract::plan_extract(e, options.port))
        .transpose()?;
    let cluster_user = match crate::source::SourceUrl::parse(&base.source.url) {
        Ok(crate::source::SourceUrl::PgCluster(at)) => at.user,
        _ => "postgres".to_owned(),
    };
    Ok(PgRecoveryPlan {
        task: task.to_owned(),
        to: match to {
            PgRecoveryTarget::Time(t) => format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S")),
            PgRecoveryTarget::Point(id) => format!("point {id}"),
        },
        base_point: base.id.clone(),
        base: base_plan,
        timeline,
        consistent_at: lsn_text(end),
        stop,
        first_segment: position.file.clone(),
        last_segment: SegmentName::of(timeline, stop_lsn, DEFAULT_SEGMENT_SIZE).to_string(),
        data_dir: options.data_dir.clone(),
        port: options.port,
        notes,
        extract,
        bin,
        cluster_user,
    })
}

/// The timeline the stop position is on, checked against the archived
/// history files: the base's own, or a later one that branched off it
/// after the base is consistent (the source was promoted meanwhile).
fn target_timeline(
    repo: &Repository,
    task: &str,
    base: u32,
    consistent: u64,
    stop: u64,
) -> Result<u32> {
    let size = DEFAULT_SEGMENT_SIZE;
    let on = LogArchive::new(repo, task, WAL)
        .segments()?
        .iter()
        .filter_map(|s| SegmentName::parse(&s.name))
        .filter(|n| n.start(size) <= stop && stop < n.start(size) + size)
        .map(|n| n.timeline)
        .max()
        .unwrap_or(base);
    if on <= base {
        return Ok(base);
    }
    let name = format!("{on:08X}.history");
    let history = super::wal_get::wal_file(repo, task, &name)?
        .ok_or_else(|| refuse(format!("the WAL at {} is on timeline {on}, but the archive has no {name} to say where it branched", lsn_text(stop))))?;
    let branches = parse_history(&String::from_utf8_lossy(&history));
    let from_base = branches.iter().find(|b| b.parent == base);
    match (from_base, branches.last()) {
        (Some(b), Some(last)) if b.switch >= consistent && stop >= last.switch => Ok(on),
        (Some(b), _) if b.switch < consistent => Err(refuse(format!(
            "timeline {on} branched off timeline {base} at {}, before the base is consistent ({})",
            lsn_text(b.switch),
            lsn_text(consistent)
        ))),
        _ => Err(refuse(format!(
            "timeline {on} (where {} is) does not descend from the base's timeline {base} as {name} says",
            lsn_text(stop)
        ))),
    }
}

/// Running as root, the server runs as `postgres`: every directory above
/// the new data directory must let it through.
fn server_can_reach(data_dir: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    for dir in data_dir.ancestors().skip(1).filter(|d| d.exists()) {
        let meta = std::fs::metadata(dir).map_err(|e| EngineError::io(dir, e))?;
        let passable = meta.permissions().mode() & 0o001 != 0;
        if !passable && meta.uid() == 0 {
            return Err(refuse(format!(
                "the server will run as the postgres user, which cannot enter {} (mode {:o}): choose a data directory it can reach, or chmod o+x {0}",
                dir.display(),
                meta.permissions().mode() & 0o777
            )));
        }
    }
    Ok(())
}

/// The newest base and the stop position for "committed at or before
/// `moment`'s second".
fn resolve_time(
    repo: &Repository,
    task: &str,
    points: &[Manifest],
    moment: DateTime<Utc>,
) -> Result<(Manifest, StopAt, Vec<String>)> {
    let archive = LogArchive::new(repo, task, WAL);
    let gaps = archive.gaps()?;
    let runs = timeline::runs(archive.segments()?, &gaps);
    let status: Option<ArchiverStatus> = archive.status()?;
    let second = moment.timestamp();
    let mut why = Vec::new();
    for base in points.iter().rev() {
        let Some(position) = &base.log_position else {
            continue;
        };
        let end = position.end_pos.unwrap_or(position.pos);
        if position.taken_at.timestamp() > second {
            why.push(format!(
                "{} was taken later ({})",
                base.id,
                position.taken_at.format("%Y-%m-%d %H:%M:%S")
            ));
            continue;
        }
        let Some((index, run)) = runs
            .iter()
            .enumerate()
            .find(|(_, r)| run_holds(r, position))
        else {
            why.push(format!(
                "the archive lacks the WAL after {} for {}",
                lsn_text(end),
                base.id
            ));
            continue;
        };
        let size = DEFAULT_SEGMENT_SIZE;
        let lsn_of = |name: &str, pos: u64| {
            SegmentName::parse(name).map_or(pos, |n| n.start(size) + pos % size)
        };
        let later = run
            .segments
            .iter()
            .flat_map(|s| s.marks.iter())
            .find(|m| m.time > second);
        if let Some(mark) = later {
            if mark.pos < end {
                why.push(format!(
                    "{} is consistent only at {}, after a commit at {}",
                    base.id,
                    lsn_text(end),
                    time(mark.time).map(|t| t.to_string()).unwrap_or_default()
                ));
                continue;
            }
            return Ok((
                base.clone(),
                StopAt::Before {
                    lsn: lsn_text(mark.pos),
                },
                Vec::new(),
            ));
        }
        // Every archived commit is at or before the moment: the archive
        // must reach it.
        let is_current = index + 1 == runs.len();
        let reach = run_reach(run, is_current, status.as_ref());
        if reach.is_none_or(|r| r.timestamp() < second) {
            return Err(refuse(format!(
                "the archive holds the WAL up to {}; {} is later (is the archiver running?)",
                reach
                    .map(|r| format!("{} UTC", r.format("%Y-%m-%d %H:%M:%S")))
                    .unwrap_or_else(|| "no time".into()),
                moment.format("%Y-%m-%d %H:%M:%S UTC")
            )));
        }
        let last = run
            .segments
            .iter()
            .rev()
            .find(|s| s.transactions > 0)
            .map(|s| lsn_of(&s.name, s.last_end))
            .filter(|l| *l >= end);
        let notes = vec!["no commit after the moment is archived yet: recovery stops after the last archived one".to_owned()];
        return Ok(match last {
            Some(lsn) => (base.clone(), StopAt::After { lsn: lsn_text(lsn) }, notes),
            None => (base.clone(), StopAt::Consistent, notes),
        });
    }
    Err(refuse(format!(
        "no base backup of task {task:?} can be recovered to {}: {}",
        moment.format("%Y-%m-%d %H:%M:%S UTC"),
        why.join("; ")
    )))
}

/// The latest moment a run holds everything of.
fn run_reach(
    run: &timeline::Run,
    is_current: bool,
    status: Option<&ArchiverStatus>,
) -> Option<DateTime<Utc>> {
    let last_commit = run
        .segments
        .iter()
        .rev()
        .find_map(|s| s.last_time)
        .and_then(time);
    let synced = status.filter(|_| is_current).and_then(|a| a.synced_at);
    match (last_commit, synced) {
        (Some(c), Some(s)) => Some(c.max(s)),
        (c, s) => c.or(s),
    }
}

pub fn run_recovery(
    repo: &Repository,
    plan: &PgRecoveryPlan,
    options: &PgRecoveryOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<PgRecoveryStats> {
    let started = Instant::now();
    let mut target = PgDataDirTarget::new(plan.data_dir.clone(), &plan.bin.bin);
    let base = run_restore(repo, &plan.base, &mut target, progress, cancel)?;
    if let Some((object, reason)) = base.failed.first() {
        let _ = std::fs::remove_dir_all(&plan.data_dir);
        return Err(EngineError::RestoreFailed {
            object: object.clone(),
            message: reason.clone(),
        });
    }
    let work = tempfile::Builder::new()
        .prefix("tidemark-recovery-")
        .tempdir()
        .map_err(|e| EngineError::io(std::env::temp_dir(), e))?;
    let outcome = server::recover(repo, plan, options, work.path(), progress, cancel);
    if outcome.is_err() {
        server::stop_server(&plan.bin, &plan.data_dir, "immediate");
        let _ = std::fs::remove_dir_all(&plan.data_dir);
    }
    let (stopped, last_transaction, new_timeline, served, recovery_seconds) = outcome?;
    let mut extracted = None;
    if let Some(extract) = &options.extract {
        // A failed extraction leaves the recovered cluster as it is: the
        // recovery itself succeeded.
        let mut stats = extract::run_extract(plan, extract, work.path(), progress, cancel)
            .map_err(|err| kept_cluster(err, &plan.data_dir))?;
        if extract.remove_cluster {
            std::fs::remove_dir_all(&plan.data_dir)
                .map_err(|e| EngineError::io(&plan.data_dir, e))?;
            stats.removed_cluster = true;
        }
        extracted = Some(stats);
    }
    let mut running_on_port = None;
    if let Some(port) = options.port {
        server::start_on_port(&plan.bin, &plan.data_dir, port)?;
        running_on_port = Some(port);
    }
    Ok(PgRecoveryStats {
        base,
        stopped,
        last_transaction,
        new_timeline,
        wal_files_served: served,
        running_on_port,
        extracted,
        seconds: started.elapsed().as_secs_f64(),
        recovery_seconds,
    })
}

/// An extraction's error, saying the recovered cluster was kept.
fn kept_cluster(err: EngineError, data_dir: &Path) -> EngineError {
    let kept = format!("(the recovered cluster is kept in {})", data_dir.display());
    match err {
        EngineError::Conflict(reason) => EngineError::Conflict(format!("{reason} {kept}")),
        EngineError::RestoreFailed { object, message } => EngineError::RestoreFailed {
            object,
            message: format!("{message} {kept}"),
        },
        EngineError::Cancelled => EngineError::Cancelled,
        other => EngineError::RestoreFailed {
            object: "extraction".into(),
            message: format!("{other} {kept}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::archive::WAL_HISTORY;
    use crate::repo::archive::Segment;
    use crate::storage::RepoLocation;

    fn archive_with(repo: &Repository, segments: &[&str], history: Option<(&str, &str)>) {
        let wal = LogArchive::new(repo, "t", WAL);
        for name in segments {
            let mut segment = Segment::new(name);
            wal.append(&mut segment, &[0u8; 64]).unwrap();
        }
        if let Some((name, text)) = history {
            let mut segment = Segment::new(name);
            segment.complete = true;
            LogArchive::new(repo, "t", WAL_HISTORY)
                .append(&mut segment, text.as_bytes())
                .unwrap();
        }
    }

    #[test]
    fn the_target_timeline_follows_the_history_files() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
        // Timeline 2 branched off 1 at 0/5000100; the stop is on 2.
        archive_with(
            &repo,
            &["000000010000000000000005", "000000020000000000000006"],
            Some((
                "00000002.history",
                "1\t0/5000100\tno recovery target specified\n",
            )),
        );
        let stop = 0x600_0040;
        assert_eq!(target_timeline(&repo, "t", 1, 0x400_0100, stop).unwrap(), 2);
        assert_eq!(
            target_timeline(&repo, "t", 1, 0x400_0100, 0x500_0040).unwrap(),
            1
        );
        // A base consistent only after the branch cannot follow it.
        let err = target_timeline(&repo, "t", 1, 0x500_0200, stop).unwrap_err();
        assert!(
            err.to_string().contains("before the base is consistent"),
            "{err}"
        );
        // Without the history file, timeline 2 is refused.
        let other = tempfile::tempdir().unwrap();
        let repo = Repository::init(&RepoLocation::Local(other.path().join("repo")), None).unwrap();
        archive_with(&repo, &["000000020000000000000006"], None);
        let err = target_timeline(&repo, "t", 1, 0x400_0100, stop).unwrap_err();
        assert!(err.to_string().contains("no 00000002.history"), "{err}");
    }
}
