//! A restore to a second, on a blocking thread: the engine plans it again
//! (base point and log range; the archive and the target may have changed
//! since Verify), restores the base point through the same phases as any
//! restore, then fetches and replays the binary logs.

use std::path::Path;

use tidemark_engine::restore::to_time::{
    plan_restore_to_time, run_restore_to_time, PitrPlan, PitrStats, RecoveryTarget,
};
use tidemark_engine::restore::RestoreStats;
use tidemark_engine::{CancelToken, EngineError, Repository, SourceUrl};

use super::run::{accept_plan, preparing, RestoreLog, RestoreSpec};
use super::tracker::{RestoreTracker, TitledPhases};
use crate::model::{PitrPreview, PitrResult, RestoreSettings, LOG_PHASES};
use crate::repo_access::RepoAccess;

/// Opens the repository and plans the restore to `settings.to_time`.
pub fn plan(
    settings: &RestoreSettings,
    task_name: &str,
    repository: &RepoAccess,
    target_url: &str,
) -> Result<(Repository, PitrPlan), EngineError> {
    let to = settings
        .to_time
        .as_deref()
        .ok_or_else(|| EngineError::InvalidInput {
            what: "restore".into(),
            message: "no time to recover to".into(),
        })?;
    let repo = repository.open()?;
    let target = RecoveryTarget::time(to)?;
    let options = super::options(settings, &[])?;
    let plan = plan_restore_to_time(
        &repo,
        task_name,
        &SourceUrl::parse(target_url)?,
        &options,
        &target,
    )?;
    Ok((repo, plan))
}

/// The plan as the form shows it before Start.
pub fn preview(plan: &PitrPlan) -> PitrPreview {
    PitrPreview {
        to: plan.to.clone(),
        base_point: plan.base_point.clone(),
        from: format!("{}:{}", plan.from.file, plan.from.pos),
        until: format!("{}:{}", plan.until.file, plan.until.pos),
        files: plan.files.clone(),
        last_commit: plan.last_commit,
        source_database: plan.source_database.clone(),
        target_database: plan.target_database.clone(),
        notes: plan.notes.clone(),
        cluster: false,
    }
}

pub fn result(plan: &PitrPlan, stats: &PitrStats) -> PitrResult {
    PitrResult {
        base_point: plan.base_point.clone(),
        to: plan.to.clone(),
        transactions: stats.replay.transactions,
        rows: stats.replay.rows,
        counts_checked: stats.counts_checked.clone(),
        notes: stats.notes.clone(),
        seconds: stats.seconds,
        cluster: None,
    }
}

/// The engine's log steps, which it names by title, as phases.
fn log_step(tracker: &RestoreTracker, title: &str) {
    if let Some(index) = LOG_PHASES.iter().position(|p| *p == title) {
        if index > 0 {
            tracker.mark(LOG_PHASES[index - 1], true);
        }
        tracker.mark(title, false);
    }
}

pub fn execute(
    spec: &RestoreSpec,
    tracker: &RestoreTracker,
    cancel: &CancelToken,
    log: &dyn RestoreLog,
) -> Result<RestoreStats, EngineError> {
    preparing(tracker, cancel)?;
    let (repo, plan) = plan(
        &spec.settings,
        &spec.task_name,
        &spec.repository,
        &spec.target_url,
    )?;
    accept_plan(&plan.base, tracker, log)?;
    cancel.check()?;
    let work_dir = prepare_work_dir(&spec.work_dir)?;
    let progress = TitledPhases {
        tracker,
        on_title: log_step,
        on_finish: |tracker| tracker.mark(LOG_PHASES[1], true),
    };
    let stats = run_restore_to_time(&repo, &plan, work_dir, &progress, cancel)?;
    log.replayed(&result(&plan, &stats));
    Ok(stats.base)
}

/// The directory the engine decrypts logs into (in a private temporary
/// directory of its own that it deletes).
fn prepare_work_dir(dir: &Path) -> Result<&Path, EngineError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| EngineError::Io {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    Ok(dir)
}
