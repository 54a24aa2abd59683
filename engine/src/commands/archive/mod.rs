//! Continuous archiving of a MariaDB server's binary logs into a repository
//! (a PostgreSQL cluster's WAL: see [`wal`]).
//!
//! A supervised streamer copies the logs as they are written into a spool
//! directory; every few seconds the new complete events of each file go
//! into the repository (see [`crate::repo::archive`]), with an index of
//! commit times. When the streamer stops (the server restarted, the network
//! failed) it is started again from what the repository holds. A hole (logs
//! purged before they were copied, another server, a GTID domain going
//! back) is recorded, never papered over.

mod spool;
pub(crate) mod wal;
mod wal_run;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::commands::precheck::{Outcome, PreCheck};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::archive::{file_number, Gap, LogArchive};
use crate::repo::Repository;
use crate::source::dbio::runtime;
use crate::source::mysql::binlog::{self, BinlogStreamer};
use crate::source::{MyLocation, SourceUrl};

pub use spool::ArchiverStatus;
pub use wal::{WAL, WAL_HISTORY};
pub use wal_run::{check_wal_switch, WalSwitchCheck, SLOT_WARNING};

/// How often an idle archiver publishes its status.
const STATUS_EVERY: Duration = Duration::from_secs(10);

/// The log stream's name in the repository.
pub const BINLOG: &str = "binlog";

#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    pub task: String,
    /// Where the streamer writes (created, mode 0700; emptied at each start).
    pub spool_dir: PathBuf,
    /// How often the growing file's new events are uploaded.
    pub upload_every: Duration,
    /// Stop once the archive holds everything the server has written.
    pub until_caught_up: bool,
}

impl ArchiveOptions {
    pub fn new(task: &str, spool_dir: PathBuf) -> Self {
        ArchiveOptions {
            task: task.to_owned(),
            spool_dir,
            upload_every: Duration::from_secs(2),
            until_caught_up: false,
        }
    }
}

/// Where archiving starts, and what the source's settings allow.
#[derive(Debug, Clone, Serialize)]
pub struct ArchivePlan {
    pub task: String,
    pub source: String,
    pub checks: Vec<PreCheck>,
    /// The file the streamer starts from (none when a check failed).
    pub start_file: Option<String>,
    /// Bytes of that file the repository already holds.
    pub archived: u64,
    /// A hole starting here would leave, and why.
    pub gap: Option<String>,
}

impl ArchivePlan {
    pub fn blocked(&self) -> Option<&PreCheck> {
        self.checks.iter().find(|c| c.outcome == Outcome::Fail)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ArchiveStats {
    pub files: u64,
    pub bytes: u64,
    pub transactions: u64,
    /// Times the streamer was started again after it stopped.
    pub restarts: u64,
    pub gaps: Vec<String>,
    /// Commit time of the last archived transaction.
    pub last_commit: Option<DateTime<Utc>>,
    pub seconds: f64,
}

/// What continuous archiving needs of a source (task Verify): binary
/// logging, row format, full images, retention, privileges. A source that
/// is not MariaDB fails with the reason.
pub fn source_checks(source: &SourceUrl) -> Vec<PreCheck> {
    if let SourceUrl::PgCluster(at) = source {
        return match runtime() {
            Ok(rt) => rt.block_on(crate::source::postgres::cluster::cluster_checks(at)),
            Err(err) => vec![PreCheck::new(
                "continuous archiving",
                Outcome::Fail,
                err.to_string(),
            )],
        };
    }
    let SourceUrl::MySql(at) = source else {
        return vec![PreCheck::new(
            "continuous archiving",
            Outcome::Fail,
            "continuous archiving copies MariaDB binary logs or a PostgreSQL cluster's WAL (postgres-cluster://): the source is neither",
        )];
    };
    match runtime() {
        Ok(rt) => rt.block_on(binlog::archive_checks(at)),
        Err(err) => vec![PreCheck::new(
            "continuous archiving",
            Outcome::Fail,
            err.to_string(),
        )],
    }
}

/// Before a base backup of a continuously archived task: makes sure the
/// server keeps the log the backup will need until the archiver has it.
/// For a PostgreSQL cluster, the task's replication slot (reserving WAL
/// from now on) is created if missing, so a backup started before the
/// archiver's first stream is still followed by its WAL. MariaDB needs
/// nothing here (the binary log retention is a pre-check).
pub fn reserve_log(source: &SourceUrl, task: &str) -> Result<()> {
    if let SourceUrl::PgCluster(at) = source {
        let slot = crate::source::postgres::cluster::slot_name(task);
        runtime()?.block_on(crate::source::postgres::cluster::reserve_slot(at, &slot))?;
    }
    Ok(())
}

fn mariadb(source: &SourceUrl) -> Result<&MyLocation> {
    match source {
        SourceUrl::MySql(at) => Ok(at),
        _ => Err(EngineError::invalid(
            "source",
            "continuous archiving copies MariaDB binary logs or a PostgreSQL cluster's WAL: give a mysql:// or postgres-cluster:// source",
        )),
    }
}

pub fn plan_archive(
    repo: &Repository,
    source: &SourceUrl,
    options: &ArchiveOptions,
) -> Result<ArchivePlan> {
    if options.task.is_empty() || options.task.len() > 64 {
        return Err(EngineError::invalid(
            "task name",
            "must be 1 to 64 characters",
        ));
    }
    if let SourceUrl::PgCluster(at) = source {
        return wal_run::plan(repo, at, options);
    }
    let at = mariadb(source)?;
    let rt = runtime()?;
    let checks = rt.block_on(binlog::archive_checks(at));
    let mut plan = ArchivePlan {
        task: options.task.clone(),
        source: at.display(),
        checks,
        start_file: None,
        archived: 0,
        gap: None,
    };
    if plan.blocked().is_some() {
        return Ok(plan);
    }
    let archive = LogArchive::new(repo, &options.task, BINLOG);
    let resume = resume_point(repo, &archive, at, &options.task)?;
    plan.archived = archive.segment(&resume.file)?.map_or(0, |s| s.size);
    plan.start_file = Some(resume.file);
    plan.gap = resume.gap.map(|g| g.reason);
    Ok(plan)
}

struct Resume {
    file: String,
    gap: Option<Gap>,
}

/// Where the streamer must start for the archive to go on without a hole,
/// or the hole it must leave when the server no longer has that file.
fn resume_point(
    repo: &Repository,
    archive: &LogArchive<'_>,
    at: &MyLocation,
    task: &str,
) -> Result<Resume> {
    let logs = runtime()?.block_on(async {
        let mut conn = binlog::open(at).await?;
        binlog::binary_logs(&mut conn, at).await
    })?;
    let logs: Vec<String> = logs.into_iter().map(|(n, _)| n).collect();
    let (Some(oldest), Some(current)) = (logs.first(), logs.last()) else {
        return Err(EngineError::invalid(
            format!("binary logs of {}", at.display()),
            "the server lists none (is log_bin on?)",
        ));
    };
    let segments = archive.segments()?;
    let Some(last) = segments.last() else {
        // A new archive starts where the task's newest point stands, so
        // that point can be the base of a recovery; else at the server's
        // current file.
        let (points, _) = repo.points()?;
        let wanted = points
            .iter()
            .rev()
            .filter(|p| p.task == task)
            .find_map(|p| p.log_position.as_ref().map(|l| l.file.clone()));
        return Ok(match wanted {
            Some(file) if logs.contains(&file) => Resume { file, gap: None },
            Some(file) => Resume {
                file: oldest.clone(),
                gap: Some(gap(None, 0, oldest, format!("{file}, where the task's newest backup point stands, was purged from the server before archiving began"), None)),
            },
            None => Resume {
                file: current.clone(),
                gap: None,
            },
        });
    };
    let last_number = file_number(&last.name);
    let wanted = if last.complete {
        last.next.clone().or_else(|| {
            let n = last_number? + 1;
            let (stem, digits) = last.name.rsplit_once('.')?;
            Some(format!("{stem}.{n:0width$}", width = digits.len()))
        })
    } else {
        Some(last.name.clone())
    };
    if let Some(file) = wanted.filter(|f| logs.contains(f)) {
        return Ok(Resume { file, gap: None });
    }
    let later = logs
        .iter()
        .find(|l| file_number(l) > last_number && file_number(l).is_some());
    match later {
        Some(file) => Ok(Resume {
            file: file.clone(),
            gap: Some(gap(
                Some(&last.name),
                last.last_end,
                file,
                format!(
                    "the server purged its binary logs after {} (offset {}) up to {file} before they were archived",
                    last.name, last.last_end
                ),
                last.last_time,
            )),
        }),
        None => Err(EngineError::invalid(
            format!("binary logs of {}", at.display()),
            format!(
                "the server's logs ({oldest} to {current}) do not continue the archive, which ends at {}: they were reset (RESET MASTER) or this is another server; archive it under a new task",
                last.name
            ),
        )),
    }
}

fn gap(
    after: Option<&str>,
    after_pos: u64,
    resumed_at: &str,
    reason: String,
    from_time: Option<i64>,
) -> Gap {
    Gap {
        after: after.map(str::to_owned),
        after_pos,
        resumed_at: resumed_at.to_owned(),
        reason,
        found_at: Utc::now(),
        from_time,
    }
}

/// A stable replica id for the task's stream, out of the usual range of
/// real servers' ids.
fn replica_id(task: &str) -> u32 {
    let hash = blake3::hash(task.as_bytes());
    let bytes = hash.as_bytes();
    2_000_000_000 + u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) % 100_000_000
}

/// Archives until cancelled (or caught up, with
/// [`ArchiveOptions::until_caught_up`]), restarting the streamer whenever
/// it stops.
pub fn run_archive(
    repo: &Repository,
    source: &SourceUrl,
    plan: &ArchivePlan,
    options: &ArchiveOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<ArchiveStats> {
    if let SourceUrl::PgCluster(at) = source {
        return wal_run::run(repo, at, plan, options, progress, cancel);
    }
    if let Some(check) = plan.blocked() {
        return Err(EngineError::invalid(
            format!("archiving {}", plan.source),
            format!("{}: {}", check.name, check.detail),
        ));
    }
    let at = mariadb(source)?;
    repo.check_writable()?;
    let started = Instant::now();
    let rt = runtime()?;
    let archive = LogArchive::new(repo, &options.task, BINLOG);
    let mut stats = ArchiveStats::default();
    let mut backoff = Duration::from_secs(1);
    let mut status = ArchiverStatus::new(&options.task, &plan.source);
    let mut caught_up = false;
    let mut watcher = None;
    let mut status_written = None;
    loop {
        if cancel.is_cancelled() || caught_up {
            break;
        }
        let resume = match resume_point(repo, &archive, at, &options.task) {
            Ok(resume) => resume,
            Err(err @ EngineError::InvalidInput { .. }) => return Err(err),
            Err(err) => {
                // The server is away: say so, wait, try again.
                status.error = Some(err.to_string());
                let _ = spool::write_status(&archive, &status);
                tracing::warn!(task = %options.task, "archiver: {err}; retrying in {} s", backoff.as_secs());
                if wait(cancel, backoff) {
                    break;
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        if let Some(gap) = &resume.gap {
            tracing::warn!(task = %options.task, "archive gap: {}", gap.reason);
            archive.record_gap(gap)?;
            stats.gaps.push(gap.reason.clone());
        }
        spool::prepare(&options.spool_dir)?;
        let mut streamer = BinlogStreamer::start(
            at,
            &resume.file,
            &options.spool_dir,
            replica_id(&options.task),
        )?;
        let mut files = spool::Files::new(&archive, &options.spool_dir);
        progress.set_title(&format!("archiving {} from {}", options.task, resume.file));
        let ended = loop {
            let stop = wait(cancel, options.upload_every);
            let reason = streamer.ended();
            let moved = files.poll(&mut stats, progress)?;
            if moved > 0 {
                backoff = Duration::from_secs(1);
            }
            // One connection for the whole run, opened again after a failure.
            let server = rt.block_on(async {
                if watcher.is_none() {
                    watcher = Some(binlog::open(at).await?);
                }
                match watcher.as_mut() {
                    Some(conn) => binlog::current_position(conn, at).await,
                    None => Ok(None),
                }
            });
            if server.is_err() {
                watcher = None;
            }
            status.update(
                &files,
                server.as_ref().ok().and_then(|s| s.clone()),
                reason.as_deref(),
            );
            // Published when something moved, and every few seconds while
            // idle (the timeline's lag), not at every poll (one write per
            // poll would be a PUT every 2 s on S3).
            let due = status_written.is_none_or(|t: Instant| t.elapsed() >= STATUS_EVERY);
            if moved > 0 || due || stop || reason.is_some() {
                spool::write_status(&archive, &status)?;
                status_written = Some(Instant::now());
            }
            if stop {
                break None;
            }
            if reason.is_some() {
                break reason;
            }
            if options.until_caught_up && status.synced() {
                caught_up = true;
                break None;
            }
        };
        streamer.stop();
        if let Some(reason) = ended {
            // The streamer stopped by itself: what it wrote is stored;
            // start again from there.
            stats.restarts += 1;
            tracing::warn!(task = %options.task, "archiver: {reason}; restarting in {} s", backoff.as_secs());
            if wait(cancel, backoff) {
                break;
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
    status.running = false;
    let _ = spool::write_status(&archive, &status);
    stats.last_commit = status.last_commit;
    stats.seconds = started.elapsed().as_secs_f64();
    progress.finish();
    Ok(stats)
}

/// Sleeps up to `how_long`; true when cancelled.
fn wait(cancel: &CancelToken, how_long: Duration) -> bool {
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        if cancel.is_cancelled() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
    cancel.is_cancelled()
}
