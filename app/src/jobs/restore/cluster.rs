//! A PostgreSQL cluster recovered into a new data directory, on a blocking
//! thread: the engine plans it again (base backup, WAL range, stop
//! position; the archive and the directory may have changed since Verify),
//! unpacks the base and checks it against its own manifest
//! (`pg_verifybackup`), then the server replays the archived WAL, fetched
//! through `tidemark wal-get`, and stops where the plan says.

use std::path::PathBuf;
use std::time::Duration;

use tidemark_engine::restore::pg_recovery::{
    plan_recovery, run_recovery, PgExtract, PgRecoveryOptions, PgRecoveryPlan, PgRecoveryStats,
    PgRecoveryTarget, StopAt, EXTRACT_TITLE,
};
use tidemark_engine::restore::to_time::RecoveryTarget;
use tidemark_engine::restore::RestoreStats;
use tidemark_engine::restore::VerifyMode;
use tidemark_engine::{CancelToken, EngineError, Repository};
use tidemark_engine::{DuplicatePolicy, SourceUrl};

use super::run::{accept_plan, conflict_policy, preparing, RestoreLog, RestoreSpec};
use super::tracker::{RestoreTracker, TitledPhases};
use crate::model::{
    ClusterRecovery, ExtractResult, PitrPreview, PitrResult, RestoreSettings, EXTRACT_PHASE,
    WAL_PHASE,
};
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

/// The engine's extraction for the settings: into `url` (a PostgreSQL
/// data source's), with the restore's own policies.
fn extract(
    settings: &RestoreSettings,
    url: Option<&str>,
) -> Result<Option<PgExtract>, EngineError> {
    let (Some(extract), Some(url)) = (&settings.extract, url) else {
        return Ok(None);
    };
    let SourceUrl::Postgres(target) = SourceUrl::parse(url)? else {
        return Err(invalid(
            "a database of the recovered cluster is extracted into a PostgreSQL data source",
        ));
    };
    Ok(Some(PgExtract {
        database: extract.database.clone(),
        target,
        tables: extract
            .tables
            .iter()
            .map(|(name, to)| (name.clone(), (to != name).then(|| to.clone())))
            .collect(),
        on_conflict: conflict_policy(settings),
        on_duplicate: settings.data.parse::<DuplicatePolicy>()?,
        lock: settings.lock,
        verify: settings.verify.parse::<VerifyMode>()?,
        remove_cluster: extract.remove_cluster,
    }))
}

fn options(
    settings: &RestoreSettings,
    target_url: &str,
    extract_url: Option<&str>,
) -> Result<PgRecoveryOptions, EngineError> {
    Ok(PgRecoveryOptions {
        data_dir: data_dir(target_url)?,
        port: settings.start_port,
        // The recovering server's restore_command is this program's wal-get.
        wal_get: std::env::current_exe().map_err(|source| EngineError::Io {
            path: "the tidemark program".into(),
            source,
        })?,
        time_limit: Duration::from_secs(u64::from(settings.timeout_min) * 60),
        extract: extract(settings, extract_url)?,
    })
}

/// Opens the repository and plans the recovery.
pub fn plan(
    settings: &RestoreSettings,
    task_name: &str,
    repository: &RepoAccess,
    target_url: &str,
    extract_url: Option<&str>,
) -> Result<(Repository, PgRecoveryPlan, PgRecoveryOptions), EngineError> {
    let repo = repository.open()?;
    let options = options(settings, target_url, extract_url)?;
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
    if let Some(extract) = &plan.extract {
        notes.push(format!(
            "then {} is restored into {} and read back",
            extract.describe(),
            extract.target
        ));
    }
    notes.push(match (plan.port, &plan.extract) {
        (Some(port), _) => format!("afterwards it is started on port {port} and left running"),
        (None, Some(e)) if e.remove_cluster => {
            "afterwards the recovered data directory is removed".into()
        }
        (None, _) => "afterwards it is shut down cleanly (start it with pg_ctl)".into(),
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
            extracted: stats.extracted.as_ref().map(|e| ExtractResult {
                database: e.database.clone(),
                target: e.target.clone(),
                checks: e
                    .restore
                    .checks
                    .iter()
                    .map(|c| (c.name.clone(), c.target_name.clone(), c.outcome.describe()))
                    .collect(),
                rows: e.restore.rows,
                notes: e.restore.notes.clone(),
                seconds: e.seconds,
                removed_cluster: e.removed_cluster,
            }),
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
        spec.extract_url.as_deref(),
    )?;
    accept_plan(&plan.base, tracker, log)?;
    cancel.check()?;
    // The server's replay, which the engine names by title, as a phase.
    let progress = TitledPhases {
        tracker,
        on_title: |tracker, title| {
            if title.starts_with(WAL_PHASE) {
                tracker.mark(WAL_PHASE, false);
            } else if title.starts_with(EXTRACT_TITLE) {
                tracker.mark(WAL_PHASE, true);
                tracker.mark(EXTRACT_PHASE, false);
            }
        },
        on_finish: |_| {},
    };
    let stats = run_recovery(&repo, &plan, &options, &progress, cancel)?;
    tracker.mark(WAL_PHASE, true);
    if stats.extracted.is_some() {
        tracker.mark(EXTRACT_PHASE, true);
    }
    log.replayed(&result(&plan, &stats));
    Ok(stats.base)
}
