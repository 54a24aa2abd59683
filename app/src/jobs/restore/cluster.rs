//! A PostgreSQL cluster recovered into a new data directory, on a blocking
//! thread: the engine plans it again (base backup, WAL range, stop
//! position; the archive and the directory may have changed since Verify),
//! unpacks the base and checks it against its own manifest
//! (`pg_verifybackup`), then the server replays the archived WAL, fetched
//! through `tidemark wal-get`, and stops where the plan says.

use std::path::PathBuf;
use std::time::Duration;

use tidemark_engine::restore::pg_recovery::{
    plan_recovery, run_recovery, PgRecoveryOptions, PgRecoveryPlan, PgRecoveryStats,
    PgRecoveryTarget, StopAt,
};
use tidemark_engine::restore::to_time::RecoveryTarget;
use tidemark_engine::restore::RestoreStats;
use tidemark_engine::{CancelToken, EngineError, Repository};

use super::run::{accept_plan, preparing, RestoreLog, RestoreSpec};
use super::tracker::{RestoreTracker, TitledPhases};
use crate::model::{ClusterRecovery, PitrPreview, PitrResult, RestoreSettings, WAL_PHASE};
use crate::repo_access::RepoAccess;

/// Where the settings recover to: a second, or the chosen base point as
/// it was copied.
fn target(settings: &RestoreSettings) -> Result<PgRecoveryTarget, EngineError> {
    match settings.to_time.as_deref() {
        Some(text) => match RecoveryTarget::time(text)? {
            RecoveryTarget::Time(t) => Ok(PgRecoveryTarget::Time(t)),
            RecoveryTarget::Gtid(_) => Err(invalid("a PostgreSQL cluster recovers to a time")),
        },
        None => Ok(PgRecoveryTarget::Point(settings.point_id.clone())),
    }
}

/// The data directory of a `file://` target URL.
fn data_dir(target_url: &str) -> Result<PathBuf, EngineError> {
    target_url
        .strip_prefix("file://")
        .map(PathBuf::from)
        .ok_or_else(|| {
            invalid("a PostgreSQL cluster is recovered into a new data directory (a path)")
        })
}

fn invalid(message: &str) -> EngineError {
    EngineError::InvalidInput {
        what: "restore".into(),
        message: message.into(),
    }
}

fn options(settings: &RestoreSettings, target_url: &str) -> Result<PgRecoveryOptions, EngineError> {
    Ok(PgRecoveryOptions {
        data_dir: data_dir(target_url)?,
        port: settings.start_port,
        // The recovering server's restore_command is this program's wal-get.
        wal_get: std::env::current_exe().map_err(|source| EngineError::Io {
            path: "the tidemark program".into(),
            source,
        })?,
        time_limit: Duration::from_secs(u64::from(settings.timeout_min) * 60),
        extract: None,
    })
}

/// Opens the repository and plans the recovery.
pub fn plan(
    settings: &RestoreSettings,
    task_name: &str,
    repository: &RepoAccess,
    target_url: &str,
) -> Result<(Repository, PgRecoveryPlan, PgRecoveryOptions), EngineError> {
    let repo = repository.open()?;
    let options = options(settings, target_url)?;
    let plan = plan_recovery(&repo, task_name, &target(settings)?, &options)?;
    Ok((repo, plan, options))
}

fn stop_text(stop: &StopAt) -> String {
    match stop {
        StopAt::Before { lsn } => format!("stop just before {lsn} (the first commit after it)"),
        StopAt::After { lsn } => format!("stop just after the commit at {lsn}"),
        StopAt::Consistent => "stop as soon as the copy is consistent".into(),
    }
}

/// The plan as the form shows it before Start.
pub fn preview(plan: &PgRecoveryPlan) -> PitrPreview {
    let mut files = vec![plan.first_segment.clone()];
    if plan.last_segment != plan.first_segment {
        files.push(plan.last_segment.clone());
    }
    let mut notes = plan.notes.clone();
    notes.push(format!(
        "the server replays timeline {}; the copy is consistent at {}",
        plan.timeline, plan.consistent_at
    ));
    notes.push(match plan.port {
        Some(port) => format!("afterwards it is started on port {port} and left running"),
        None => "afterwards it is shut down cleanly (start it with pg_ctl)".into(),
    });
    PitrPreview {
        to: plan.to.clone(),
        base_point: plan.base_point.clone(),
        from: format!(
            "WAL {} (consistent at {})",
            plan.first_segment, plan.consistent_at
        ),
        until: stop_text(&plan.stop),
        files,
        last_commit: None,
        source_database: "the whole cluster".into(),
        target_database: plan.data_dir.display().to_string(),
        notes,
        cluster: true,
    }
}

pub fn result(plan: &PgRecoveryPlan, stats: &PgRecoveryStats) -> PitrResult {
    PitrResult {
        base_point: plan.base_point.clone(),
        to: plan.to.clone(),
        transactions: 0,
        rows: 0,
        counts_checked: Vec::new(),
        notes: plan.notes.clone(),
        seconds: stats.seconds,
        cluster: Some(ClusterRecovery {
            data_dir: plan.data_dir.display().to_string(),
            stopped: stats.stopped.clone(),
            last_transaction: stats.last_transaction.clone(),
            new_timeline: stats.new_timeline,
            wal_files: stats.wal_files_served,
            running_on_port: stats.running_on_port,
            recovery_seconds: stats.recovery_seconds,
        }),
    }
}

pub fn execute(
    spec: &RestoreSpec,
    tracker: &RestoreTracker,
    cancel: &CancelToken,
    log: &dyn RestoreLog,
) -> Result<RestoreStats, EngineError> {
    preparing(tracker, cancel)?;
    let (repo, plan, options) = plan(
        &spec.settings,
        &spec.task_name,
        &spec.repository,
        &spec.target_url,
    )?;
    accept_plan(&plan.base, tracker, log)?;
    cancel.check()?;
    // The server's replay, which the engine names by title, as a phase.
    let progress = TitledPhases {
        tracker,
        on_title: |tracker, title| {
            if title.starts_with(WAL_PHASE) {
                tracker.mark(WAL_PHASE, false);
            }
        },
        on_finish: |_| {},
    };
    let stats = run_recovery(&repo, &plan, &options, &progress, cancel)?;
    tracker.mark(WAL_PHASE, true);
    log.replayed(&result(&plan, &stats));
    Ok(stats.base)
}
