//! The WAL archiver's plan and its supervised run (see [`super::wal`]).

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::spool::{write_status, ArchiverStatus};
use super::wal::{WalSpool, WAL, WAL_HISTORY};
use super::{wait, ArchiveOptions, ArchivePlan, ArchiveStats, STATUS_EVERY};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::archive::LogArchive;
use crate::repo::Repository;
use crate::source::dbio::runtime;
use crate::source::postgres::cluster::wal::{
    lsn_text, parse_lsn, SegmentName, WalReceiver, DEFAULT_SEGMENT_SIZE,
};
use crate::source::postgres::cluster::{
    cluster_checks, reserve_slot, server_facts, slot_name, tools_for,
};
use crate::source::postgres::PgLocation;
use crate::source::PgAccess;

/// Slot retention that is worth a warning: the server's disk fills while
/// the archive falls behind.
pub const SLOT_WARNING: u64 = 1 << 30;

/// The server's flush position and, when the task's slot exists, where
/// the slot stands.
async fn positions(at: &PgLocation, slot: &str) -> Result<(u64, Option<u64>)> {
    let mut conn = at.connect().await?;
    let (flush, restart): (String, Option<String>) = sqlx::query_as(
        "SELECT pg_current_wal_flush_lsn()::text, \
         (SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = $1)",
    )
    .bind(slot)
    .fetch_one(&mut conn)
    .await
    .map_err(|e| crate::source::postgres::pg_error(at, "read the WAL position of", e))?;
    Ok((
        parse_lsn(&flush).unwrap_or(0),
        restart.as_deref().and_then(parse_lsn),
    ))
}

pub(super) fn plan(
    repo: &Repository,
    at: &PgLocation,
    options: &ArchiveOptions,
) -> Result<ArchivePlan> {
    let rt = runtime()?;
    let checks = rt.block_on(cluster_checks(at));
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
    let slot = slot_name(&options.task);
    let (flush, restart) = rt.block_on(positions(at, &slot))?;
    let start = SegmentName::of(1, restart.unwrap_or(flush), DEFAULT_SEGMENT_SIZE);
    let archive = LogArchive::new(repo, &options.task, WAL);
    let segments = archive.segments()?;
    if let Some(last) = segments.last() {
        plan.archived = last.size;
        if let Some(name) = SegmentName::parse(&last.name) {
            let next = name.next(DEFAULT_SEGMENT_SIZE).start(DEFAULT_SEGMENT_SIZE);
            let resumes = start.start(DEFAULT_SEGMENT_SIZE);
            if restart.is_none() && resumes > next {
                plan.gap = Some(format!(
                    "the slot {slot} is gone: streaming starts at {}, the archive ends in {}",
                    lsn_text(flush),
                    last.name
                ));
            }
        }
    }
    plan.start_file = Some(match restart {
        Some(lsn) => format!("slot {slot} at {}", lsn_text(lsn)),
        None => format!("a new slot {slot} at {}", lsn_text(flush)),
    });
    Ok(plan)
}

pub(super) fn run(
    repo: &Repository,
    at: &PgLocation,
    plan: &ArchivePlan,
    options: &ArchiveOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<ArchiveStats> {
    if let Some(check) = plan.blocked() {
        return Err(EngineError::invalid(
            format!("archiving {}", plan.source),
            format!("{}: {}", check.name, check.detail),
        ));
    }
    repo.check_writable()?;
    let started = Instant::now();
    let rt = runtime()?;
    let archive = LogArchive::new(repo, &options.task, WAL);
    let history = LogArchive::new(repo, &options.task, WAL_HISTORY);
    let spool_dir = &options.spool_dir;
    // Kept between runs: it may hold WAL the slot has moved past.
    std::fs::create_dir_all(spool_dir).map_err(|e| EngineError::io(spool_dir, e))?;
    std::fs::set_permissions(spool_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| EngineError::io(spool_dir, e))?;
    let slot = slot_name(&options.task);
    let mut stats = ArchiveStats::default();
    let mut status = ArchiverStatus::new(&options.task, &plan.source);
    let mut backoff = Duration::from_secs(1);
    let mut caught_up = false;
    let mut status_written: Option<Instant> = None;
    let archived_system = archive.segments()?.iter().find_map(|s| s.system_id);
    loop {
        if cancel.is_cancelled() || caught_up {
            break;
        }
        let setup = rt.block_on(server_facts(at)).and_then(|facts| {
            if archived_system.is_some_and(|s| s != facts.system_id) {
                return Err(EngineError::invalid(
                    format!("cluster {}", at.display()),
                    format!(
                        "its system identifier is {}, the archive's is {}: this is another cluster; archive it under a new task",
                        facts.system_id,
                        archived_system.unwrap_or_default()
                    ),
                ));
            }
            let bin = tools_for(facts.major)?;
            rt.block_on(reserve_slot(at, &slot))?;
            Ok((facts, bin))
        });
        let (facts, bin) = match setup {
            Ok(s) => s,
            Err(err @ EngineError::InvalidInput { .. }) => return Err(err),
            Err(err) => {
                status.error = Some(err.to_string());
                let _ = write_status(&archive, &status);
                tracing::warn!(task = %options.task, "WAL archiver: {err}; retrying in {} s", backoff.as_secs());
                if wait(cancel, backoff) {
                    break;
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        let mut receiver =
            WalReceiver::start(&bin.bin.join("pg_receivewal"), at, spool_dir, &slot)?;
        let mut spool = WalSpool::new(
            &archive,
            &history,
            spool_dir,
            bin.bin.join("pg_waldump"),
            facts.system_id,
        );
        progress.set_title(&format!(
            "archiving the WAL of {} through slot {slot}",
            at.display()
        ));
        let ended = loop {
            let stop = wait(cancel, options.upload_every);
            let reason = receiver.ended();
            let moved = spool.poll(&mut stats, progress)?;
            if moved > 0 {
                backoff = Duration::from_secs(1);
            }
            let server = rt.block_on(positions(at, &slot)).ok();
            if let Some((flush, Some(restart))) = server {
                let retained = flush.saturating_sub(restart);
                // Said once each time it crosses the mark, not every poll.
                if retained >= SLOT_WARNING
                    && status.slot_retained_bytes.is_none_or(|b| b < SLOT_WARNING)
                {
                    tracing::warn!(
                        task = %options.task,
                        "the replication slot {slot} holds back {} MiB of WAL on {}: the archive is behind (is the repository slow or full?)",
                        retained >> 20,
                        at.display()
                    );
                }
                status.slot_retained_bytes = Some(retained);
            }
            let size = spool.segment_size();
            let place = |lsn: u64| (SegmentName::of(1, lsn, size).to_string(), lsn % size);
            status.update_positions(
                spool.end.map(place),
                spool.last_commit,
                server.map(|(flush, _)| place(flush)),
                reason.as_deref(),
            );
            let due = status_written.is_none_or(|t| t.elapsed() >= STATUS_EVERY);
            if moved > 0 || due || stop || reason.is_some() {
                write_status(&archive, &status)?;
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
        receiver.stop();
        if let Some(reason) = ended {
            stats.restarts += 1;
            tracing::warn!(task = %options.task, "WAL archiver: {reason}; restarting in {} s", backoff.as_secs());
            if wait(cancel, backoff) {
                break;
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }
    status.running = false;
    let _ = write_status(&archive, &status);
    stats.last_commit = status.last_commit;
    stats.seconds = started.elapsed().as_secs_f64();
    progress.finish();
    Ok(stats)
}

/// What [`check_wal_switch`] saw.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WalSwitchCheck {
    /// The segment the switch closed.
    pub segment: String,
    pub switched_at: String,
    /// Seconds until the repository held it whole.
    pub seconds: f64,
}

/// Forces the server onto a new WAL segment (`pg_switch_wal()`) and waits
/// until the segment it closed is in the repository whole: proof that the
/// archiver runs and keeps up, end to end.
pub fn check_wal_switch(
    repo: &Repository,
    at: &PgLocation,
    task: &str,
    timeout: Duration,
    cancel: &CancelToken,
) -> Result<WalSwitchCheck> {
    let started = Instant::now();
    let (lsn, timeline): (String, i32) = runtime()?.block_on(async {
        let mut conn = at.connect().await?;
        // A record first: a switch on a segment with nothing new is a no-op.
        sqlx::query("SELECT pg_logical_emit_message(false, 'tidemark', 'WAL switch check')")
            .execute(&mut conn)
            .await
            .map_err(|e| crate::source::postgres::pg_error(at, "write to the WAL of", e))?;
        sqlx::query_as(
            "SELECT pg_switch_wal()::text, (SELECT timeline_id FROM pg_control_checkpoint())",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| crate::source::postgres::pg_error(at, "switch the WAL segment of", e))
    })?;
    let switch = parse_lsn(&lsn).unwrap_or(0);
    // The switch record ends in the segment it closes.
    let segment = SegmentName::of(
        timeline as u32,
        switch.saturating_sub(1),
        DEFAULT_SEGMENT_SIZE,
    )
    .to_string();
    let archive = LogArchive::new(repo, task, WAL);
    loop {
        if archive.segment(&segment)?.is_some_and(|s| s.complete) {
            return Ok(WalSwitchCheck {
                segment,
                switched_at: lsn,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        if started.elapsed() > timeout {
            return Err(EngineError::invalid(
                format!("archive of task {task}"),
                format!(
                    "the segment {segment}, closed at {lsn}, did not arrive in {} s: is `tidemark archive` (or the console's archiver) running for this task?",
                    timeout.as_secs()
                ),
            ));
        }
        if wait(cancel, Duration::from_millis(250)) {
            return Err(EngineError::Cancelled);
        }
    }
}
