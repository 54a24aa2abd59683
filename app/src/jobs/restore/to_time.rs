//! A restore to a second, on a blocking thread: the engine plans it again
//! (base point and log range; the archive and the target may have changed
//! since Verify), restores the base point through the same phases as any
//! restore, then fetches and replays the binary logs.

use std::path::Path;

use tidemark_engine::restore::to_time::{
    plan_restore_to_time, run_restore_to_time, PitrPlan, PitrStats, RecoveryTarget,
};
use tidemark_engine::restore::RestoreStats;
use tidemark_engine::{CancelToken, EngineError, Phase, Progress, Repository, SourceUrl};

use super::run::{RestoreLog, RestoreSpec};
use super::tracker::RestoreTracker;
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

/// The restore tracker, with the engine's log steps (which it names by
/// title) shown as phases of their own.
struct LogPhases<'a>(&'a RestoreTracker);

impl Progress for LogPhases<'_> {
    fn set_title(&self, title: &str) {
        if let Some(index) = LOG_PHASES.iter().position(|p| *p == title) {
            if index > 0 {
                self.0.mark(LOG_PHASES[index - 1], true);
            }
            self.0.mark(title, false);
        }
    }
    fn set_length(&self, bytes: u64, items: u64) {
        self.0.set_length(bytes, items);
    }
    fn inc(&self, bytes: u64, items: u64) {
        self.0.inc(bytes, items);
    }
    fn finish(&self) {
        self.0.mark(LOG_PHASES[1], true);
    }
    fn phase(&self, phase: Phase, done: bool) {
        self.0.phase(phase, done);
    }
    fn fetched(&self, bytes: u64) {
        self.0.fetched(bytes);
    }
    fn rows(&self, rows: u64) {
        self.0.rows(rows);
    }
    fn object(&self, name: &str, error: Option<&str>) {
        self.0.object(name, error);
    }
}

pub fn execute(
    spec: &RestoreSpec,
    tracker: &RestoreTracker,
    cancel: &CancelToken,
    log: &dyn RestoreLog,
) -> Result<RestoreStats, EngineError> {
    tracker.mark("pending", true);
    tracker.mark("preparing", false);
    cancel.check()?;
    let (repo, plan) = plan(
        &spec.settings,
        &spec.task_name,
        &spec.repository,
        &spec.target_url,
    )?;
    if let Some(reason) = &plan.base.blocked {
        return Err(EngineError::Conflict(format!(
            "the pre-check failed when the restore started: {reason}"
        )));
    }
    log.planned(&plan.base);
    let working = plan
        .base
        .objects
        .iter()
        .filter(|o| o.action != tidemark_engine::restore::Action::Skip)
        .count() as u64;
    tracker.set_totals(plan.base.bytes, plan.base.rows, working);
    cancel.check()?;
    let work_dir = prepare_work_dir(&spec.work_dir)?;
    let stats = run_restore_to_time(&repo, &plan, work_dir, &LogPhases(tracker), cancel)?;
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
