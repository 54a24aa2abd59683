//! One restore attempt on the engine, on a blocking thread: plan (the
//! pre-checks run again: the target may have changed since Verify), then
//! run the plan through the engine's phases.

use tidemark_engine::restore::{
    plan_restore, run_restore, ConflictPolicy, RestoreOptions, RestorePlan, RestoreStats,
    VerifyMode,
};
use tidemark_engine::{
    open_target, CancelToken, DuplicatePolicy, EngineError, Repository, Selection, SourceUrl,
    Target, TimeRange,
};

use super::tracker::RestoreTracker;
use crate::model::RestoreSettings;

/// Everything an attempt needs, resolved from the catalog before it starts.
#[derive(Debug, Clone)]
pub struct RestoreSpec {
    pub restore_id: i64,
    pub attempt: i64,
    pub settings: RestoreSettings,
    pub repository: crate::repo_access::RepoAccess,
    /// With credentials; never shown.
    pub target_url: String,
    /// Objects an earlier attempt restored into a target that keeps each
    /// table as it commits (database servers): a Retry resumes after them.
    pub done: Vec<String>,
    /// The backup task's name (a restore to a second reads its log archive).
    pub task_name: String,
    /// Where a restore to a second decrypts binary logs briefly.
    pub work_dir: std::path::PathBuf,
    /// A PostgreSQL cluster, recovered by the server into a new data directory.
    pub cluster: bool,
    /// Where a cluster's extraction restores into (with credentials).
    pub extract_url: Option<String>,
}

/// What the attempt tells the catalog.
pub trait RestoreLog {
    fn planned(&self, plan: &RestorePlan);
    /// A restore to a second replayed its logs.
    fn replayed(&self, result: &crate::model::PitrResult);
}

/// The engine's options for these settings.
pub fn options(settings: &RestoreSettings, done: &[String]) -> Result<RestoreOptions, EngineError> {
    let mut ranges = Vec::new();
    for object in &settings.objects {
        let bound = |text: &str| -> Result<Option<String>, EngineError> {
            if text.is_empty() {
                Ok(None)
            } else {
                Selection::parse_time(text).map(Some)
            }
        };
        let range = TimeRange {
            since: bound(&object.since)?,
            until: bound(&object.until)?,
        };
        if !range.is_unbounded() {
            ranges.push((object.name.clone(), range));
        }
    }
    let mut objects: Vec<(String, Option<String>)> = settings
        .objects
        .iter()
        .map(|o| {
            let rename = (o.target_name != o.name).then(|| o.target_name.clone());
            (o.name.clone(), rename)
        })
        .collect();
    if !done.is_empty() {
        // A resumed attempt: only what is still missing. With "everything"
        // selected, the names come from the point at planning time.
        objects.retain(|(name, _)| !done.contains(name));
    }
    Ok(RestoreOptions {
        objects,
        on_conflict: conflict_policy(settings),
        on_duplicate: settings.data.parse::<DuplicatePolicy>()?,
        ranges,
        stop_on_failure: true,
        lock: settings.lock,
        verify: settings.verify.parse::<VerifyMode>()?,
    })
}

/// What the settings do with objects the target already has.
pub fn conflict_policy(settings: &RestoreSettings) -> ConflictPolicy {
    if settings.force {
        ConflictPolicy::Overwrite
    } else if settings.structure == "ignore" {
        ConflictPolicy::Merge
    } else {
        ConflictPolicy::Stop
    }
}

/// Opens the repository, the point and the target, and plans.
pub fn plan(
    settings: &RestoreSettings,
    repository: &crate::repo_access::RepoAccess,
    target_url: &str,
    done: &[String],
) -> Result<(Repository, Box<dyn Target>, RestorePlan), EngineError> {
    let repo = repository.open()?;
    let manifest = repo.point(&settings.point_id)?;
    let target = open_target(&SourceUrl::parse(target_url)?)?;
    let mut options = options(settings, done)?;
    if !done.is_empty() && options.objects.is_empty() {
        options.objects = manifest
            .objects
            .iter()
            .filter(|o| !done.contains(&o.name))
            .map(|o| (o.name.clone(), None))
            .collect();
    }
    let plan = plan_restore(&manifest, target.as_ref(), &options)?;
    Ok((repo, target, plan))
}

pub fn execute(
    spec: &RestoreSpec,
    tracker: &RestoreTracker,
    cancel: &CancelToken,
    log: &dyn RestoreLog,
) -> Result<RestoreStats, EngineError> {
    if spec.cluster {
        return super::cluster::execute(spec, tracker, cancel, log);
    }
    if spec.settings.to_time.is_some() {
        return super::to_time::execute(spec, tracker, cancel, log);
    }
    preparing(tracker, cancel)?;
    let (repo, mut target, plan) = plan(
        &spec.settings,
        &spec.repository,
        &spec.target_url,
        &spec.done,
    )?;
    accept_plan(&plan, tracker, log)?;
    cancel.check()?;
    run_restore(&repo, &plan, target.as_mut(), tracker, cancel)
}

/// PREPARING begins (PENDING ends), unless cancelled meanwhile.
pub(super) fn preparing(tracker: &RestoreTracker, cancel: &CancelToken) -> Result<(), EngineError> {
    tracker.mark("pending", true);
    tracker.mark("preparing", false);
    cancel.check()
}

/// The plan made when the attempt starts: refused if its pre-check fails
/// now (the target may have changed since Verify), else recorded, with
/// the totals the bar counts against.
pub(super) fn accept_plan(
    plan: &RestorePlan,
    tracker: &RestoreTracker,
    log: &dyn RestoreLog,
) -> Result<(), EngineError> {
    if let Some(reason) = &plan.blocked {
        return Err(EngineError::Conflict(format!(
            "the pre-check failed when the restore started: {reason}"
        )));
    }
    log.planned(plan);
    let working = plan
        .objects
        .iter()
        .filter(|o| o.action != tidemark_engine::restore::Action::Skip)
        .count() as u64;
    tracker.set_totals(plan.bytes, plan.rows, working);
    Ok(())
}

/// Whether a failed attempt left nothing behind (the target rolls back
/// as a whole), so a Retry starts from the beginning.
pub fn rolls_back_as_a_whole(target_url: &str) -> bool {
    target_url.starts_with("sqlite://") || target_url.starts_with("file://")
}
