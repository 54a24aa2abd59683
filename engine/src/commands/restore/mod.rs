//! Restore: prepare a plan (what goes where, what clashes), then execute
//! exactly that plan, checking every object against its manifest checksum.

use std::collections::BTreeMap;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Phase, Progress};
use crate::repo::index::Index;
use crate::repo::lease::while_leased;
use crate::repo::manifest::{Manifest, ObjectEntry, ObjectKind};
use crate::repo::{ChunkId, Repository};
use crate::source::{DuplicatePolicy, Load, LoadMode, Target, TimeRange};

use super::precheck::{lock_check, plan_checks, range_check, target_checks};
pub use super::precheck::{Outcome, PreCheck};

pub(crate) mod check;
mod download;
mod object;
pub mod pg_recovery;
pub mod to_time;
pub mod wal_get;

pub use check::{CheckOutcome, ObjectCheck, VerifyMode};
pub use download::{read_file, FileChunks};
pub(crate) use object::fetch_chunk;
use object::{restore_one, Digesting, InOrder};

/// What to do with objects that already exist at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// Refuse the restore (and a non-empty target) before writing anything.
    #[default]
    Stop,
    /// Leave existing objects as they are.
    Skip,
    /// Replace existing objects (structure and data).
    Overwrite,
    /// Keep existing objects' structure and load the backup's rows into
    /// them, as the duplicate policy says.
    Merge,
}

impl std::str::FromStr for ConflictPolicy {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "stop" => Ok(ConflictPolicy::Stop),
            "skip" => Ok(ConflictPolicy::Skip),
            "overwrite" => Ok(ConflictPolicy::Overwrite),
            "merge" => Ok(ConflictPolicy::Merge),
            other => Err(EngineError::invalid(
                "conflict policy",
                format!("{other:?} (expected stop, skip, overwrite or merge)"),
            )),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Objects to restore, each optionally renamed (`NAME=NEWNAME`); empty
    /// means all. A directory selects everything below it.
    pub objects: Vec<(String, Option<String>)>,
    pub on_conflict: ConflictPolicy,
    /// With [`ConflictPolicy::Merge`]: rows clashing with existing ones.
    pub on_duplicate: DuplicatePolicy,
    /// Tables restored with only a time range of their rows.
    pub ranges: Vec<(String, TimeRange)>,
    /// The first object that fails ends the restore, and a target that
    /// can (SQLite, file trees) is left as it was before.
    pub stop_on_failure: bool,
    /// Keep others out of the target while restoring (PostgreSQL: the
    /// database refuses new connections; SQLite: one write transaction).
    pub lock: bool,
    /// How restored objects are read back and compared with the point.
    pub verify: VerifyMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Overwrite,
    /// Loaded into the existing object.
    Merge,
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedObject {
    pub name: String,
    pub target_name: String,
    pub kind: ObjectKind,
    pub size: u64,
    /// Rows recorded in the manifest (tables).
    pub rows: Option<u64>,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<TimeRange>,
    #[serde(skip)]
    pub entry: ObjectEntry,
}

impl PlannedObject {
    /// How the target writes this object.
    pub fn load(&self, on_duplicate: DuplicatePolicy) -> Load {
        Load {
            name: self.target_name.clone(),
            mode: match self.action {
                Action::Create | Action::Skip => LoadMode::Create,
                Action::Overwrite => LoadMode::Replace,
                Action::Merge => LoadMode::Merge(on_duplicate),
            },
            range: self.range.clone(),
        }
    }
}

/// The restore as it will happen; printed by a dry run.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePlan {
    pub point: String,
    pub target: String,
    pub objects: Vec<PlannedObject>,
    pub bytes: u64,
    /// Target objects that already exist.
    pub conflicts: Vec<String>,
    pub policy: ConflictPolicy,
    pub on_duplicate: DuplicatePolicy,
    pub stop_on_failure: bool,
    pub lock: bool,
    pub verify: VerifyMode,
    /// The point's source kind (how its table streams are cut into rows).
    pub source_kind: String,
    /// Rows of the tables to write, as the manifest records them.
    pub rows: u64,
    /// Every pre-check with pass, warn or fail.
    pub checks: Vec<PreCheck>,
    /// Why the plan cannot run, if it cannot: the failed pre-checks.
    pub blocked: Option<String>,
    pub estimated_seconds: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreStats {
    pub restored: u64,
    pub skipped: u64,
    pub bytes: u64,
    pub rows: u64,
    pub seconds: f64,
    /// Of `seconds`, the time spent reading objects back and comparing them.
    pub verify_seconds: f64,
    /// Objects that could not be restored, or that differ from the
    /// manifest when read back, with the reason; the others were.
    pub failed: Vec<(String, String)>,
    /// What was restored differently from the source, and why.
    pub notes: Vec<String>,
    /// How each restored object was checked when read back.
    pub checks: Vec<ObjectCheck>,
}

/// Throughput assumed for the estimate when the point has no usable timing.
const FALLBACK_BYTES_PER_SECOND: f64 = 100.0 * 1024.0 * 1024.0;

pub fn plan_restore(
    manifest: &Manifest,
    target: &dyn Target,
    options: &RestoreOptions,
) -> Result<RestorePlan> {
    let mut objects = Vec::new();
    for (wanted, _) in &options.objects {
        if !manifest.objects.iter().any(|o| selects(wanted, &o.name)) {
            return Err(EngineError::invalid(
                "object",
                format!("{wanted:?} is not in point {}", manifest.id),
            ));
        }
    }
    for entry in &manifest.objects {
        let target_name = if options.objects.is_empty() {
            Some(entry.name.clone())
        } else {
            options
                .objects
                .iter()
                .find(|(w, _)| selects(w, &entry.name))
                .map(|(wanted, rename)| match rename {
                    Some(new) => format!("{new}{}", &entry.name[wanted.len()..]),
                    None => entry.name.clone(),
                })
        };
        if let Some(target_name) = target_name {
            let range = options
                .ranges
                .iter()
                .find(|(name, range)| *name == entry.name && !range.is_unbounded())
                .map(|(_, range)| range.clone());
            objects.push(PlannedObject {
                name: entry.name.clone(),
                target_name,
                kind: entry.kind,
                size: entry.size,
                rows: entry.rows,
                action: Action::Create,
                range,
                entry: entry.clone(),
            });
        }
    }
    for (name, _) in &options.ranges {
        let table = objects.iter().find(|o| o.name == *name);
        if !table.is_some_and(|o| o.kind == ObjectKind::Table) {
            return Err(EngineError::invalid(
                "time range",
                format!(
                    "{name:?} is not a table restored from point {}",
                    manifest.id
                ),
            ));
        }
    }
    let mut checks = target_checks(manifest, target);
    let reachable = checks
        .iter()
        .all(|c| c.name != "target reachable" || c.outcome != Outcome::Fail);
    let names: Vec<&str> = objects.iter().map(|o| o.target_name.as_str()).collect();
    let conflicts = if reachable {
        target.existing(&names)?
    } else {
        Vec::new()
    };
    for object in &mut objects {
        if conflicts.contains(&object.target_name) {
            object.action = match options.on_conflict {
                ConflictPolicy::Skip => Action::Skip,
                ConflictPolicy::Overwrite | ConflictPolicy::Stop => Action::Overwrite,
                ConflictPolicy::Merge => Action::Merge,
            };
        }
    }
    let written = || objects.iter().filter(|o| o.action != Action::Skip);
    let bytes = written().map(|o| o.size).sum::<u64>();
    let rows = written().filter_map(|o| o.rows).sum::<u64>();
    if reachable {
        let empty = options.on_conflict != ConflictPolicy::Stop || target.is_empty()?;
        checks.extend(plan_checks(
            target,
            &conflicts,
            (options.on_conflict, options.on_duplicate),
            empty,
            bytes,
        ));
        let ranged: Vec<&str> = objects
            .iter()
            .filter(|o| o.range.is_some())
            .map(|o| o.name.as_str())
            .collect();
        if let Some(check) = range_check(target, &ranged) {
            checks.push(check);
        }
        if options.lock {
            checks.push(lock_check(target));
        }
    }
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.detail.as_str())
        .collect();
    let blocked = (!failed.is_empty()).then(|| failed.join("; "));
    let elapsed = (manifest.finished_at - manifest.started_at).num_milliseconds() as f64 / 1000.0;
    let rate = if elapsed > 0.5 && manifest.totals.bytes > 0 {
        (manifest.totals.bytes as f64 / elapsed).max(FALLBACK_BYTES_PER_SECOND / 4.0)
    } else {
        FALLBACK_BYTES_PER_SECOND
    };
    Ok(RestorePlan {
        point: manifest.id.clone(),
        target: target.url(),
        objects,
        bytes,
        conflicts,
        policy: options.on_conflict,
        on_duplicate: options.on_duplicate,
        stop_on_failure: options.stop_on_failure,
        lock: options.lock,
        verify: options.verify,
        source_kind: manifest.source.kind.clone(),
        rows,
        checks,
        blocked,
        estimated_seconds: bytes as f64 / rate,
    })
}

/// `wanted` selects `name` itself or, as a directory, everything below it.
pub(crate) fn selects(wanted: &str, name: &str) -> bool {
    let wanted = wanted.trim_end_matches('/');
    name == wanted || (name.starts_with(wanted) && name[wanted.len()..].starts_with('/'))
}

/// A decoded chunk (or why it could not be), in restore order.
pub(super) type Fetched = (u64, Result<Vec<u8>>);

/// Executes `plan`. Worker threads read and decode chunks in parallel; this
/// thread writes them in order, one object at a time, so memory stays at a
/// few chunks per worker. A lease on the point keeps prune from removing
/// its data meanwhile.
pub fn run_restore(
    repo: &Repository,
    plan: &RestorePlan,
    target: &mut dyn Target,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<RestoreStats> {
    if let Some(reason) = &plan.blocked {
        return Err(EngineError::Conflict(reason.clone()));
    }
    while_leased(repo, &plan.point, "restore", || {
        restore_leased(repo, plan, target, progress, cancel)
    })
}

/// [`run_restore`] for a caller that holds the point's lease itself.
pub(crate) fn restore_leased(
    repo: &Repository,
    plan: &RestorePlan,
    target: &mut dyn Target,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<RestoreStats> {
    let started = Instant::now();
    progress.phase(Phase::Preparing, false);
    progress.set_title("preparing");
    let index = Index::load(repo)?;
    target.prepare()?;
    if plan.verify == VerifyMode::Content {
        target.will_read_back();
    }
    let mut stats = RestoreStats::default();
    // A target that cannot be locked was a warning in the plan.
    if plan.lock && target.can_lock() {
        stats.notes.extend(target.lock()?);
    }
    progress.phase(Phase::Preparing, true);
    let mut restored = Vec::new();
    let mut loaded_rows = std::collections::HashMap::new();
    progress.set_title("restoring");
    progress.set_length(plan.bytes, plan.objects.len() as u64);
    let work: Vec<&PlannedObject> = plan
        .objects
        .iter()
        .filter(|o| o.action != Action::Skip)
        .collect();
    stats.skipped = (plan.objects.len() - work.len()) as u64;
    progress.inc(0, stats.skipped);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    progress.phase(Phase::Downloading, false);
    progress.phase(Phase::Loading, false);

    std::thread::scope(|scope| -> Result<()> {
        let (job_tx, job_rx) = sync_channel::<(u64, ChunkId, usize)>(workers * 4);
        let (result_tx, result_rx) = sync_channel::<Fetched>(workers * 4);
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..workers {
            let (jobs, results, index, work) =
                (Arc::clone(&job_rx), result_tx.clone(), &index, &work);
            scope.spawn(move || loop {
                let job = match jobs.lock() {
                    Ok(guard) => guard.recv(),
                    Err(_) => return,
                };
                let Ok((seq, id, object)) = job else { return };
                let fetched = fetch_chunk(repo, index, id, &work[object].name);
                if let Ok(data) = &fetched {
                    progress.fetched(data.len() as u64);
                }
                if results.send((seq, fetched)).is_err() {
                    return;
                }
            });
        }
        drop((job_rx, result_tx));
        let producer_work = &work;
        scope.spawn(move || {
            let mut seq = 0;
            for (object, planned) in producer_work.iter().enumerate() {
                for chunk in &planned.entry.chunks {
                    if cancel.is_cancelled() || job_tx.send((seq, chunk.id, object)).is_err() {
                        return;
                    }
                    seq += 1;
                }
            }
        });
        let mut chunks = InOrder {
            rx: result_rx,
            pending: BTreeMap::new(),
            next: 0,
        };
        for object in &work {
            cancel.check()?;
            let load = object.load(plan.on_duplicate);
            let digesting = Digesting {
                kind: &plan.source_kind,
                keep_rows: plan.verify == VerifyMode::Content && check::keeps_rows(&load),
            };
            match restore_one(
                object,
                &load,
                &mut chunks,
                target,
                &digesting,
                progress,
                cancel,
            ) {
                Ok(loaded) => {
                    stats.notes.extend(loaded.notes);
                    let expected = check::Expected {
                        digest: loaded.digest,
                        tally: loaded.tally,
                        ranged: loaded.ranged,
                        file: None,
                    };
                    loaded_rows.insert(object.name.clone(), expected);
                    stats.restored += 1;
                    stats.bytes += object.size;
                    let rows = object.rows.unwrap_or(0);
                    stats.rows += rows;
                    progress.rows(rows);
                    progress.object(&object.name, None);
                    restored.push((object.entry.clone(), object.target_name.clone()));
                }
                Err(EngineError::Cancelled) => return Err(EngineError::Cancelled),
                Err(err) => {
                    progress.object(&object.name, Some(&err.to_string()));
                    if plan.stop_on_failure {
                        return Err(EngineError::RestoreFailed {
                            object: object.name.clone(),
                            message: err.to_string(),
                        });
                    }
                    stats.failed.push((object.name.clone(), err.to_string()));
                }
            }
            progress.inc(0, 1);
        }
        progress.phase(Phase::Downloading, true);
        Ok(())
    })?;
    progress.phase(Phase::Loading, true);
    cancel.check()?;
    progress.phase(Phase::Committing, false);
    progress.set_title("committing");
    target.finish(&restored)?;
    progress.phase(Phase::Committing, true);
    progress.phase(Phase::Verifying, false);
    progress.set_title("verifying");
    let verifying = Instant::now();
    let mut differences = Vec::new();
    let mut file_checks = std::collections::HashMap::new();
    if plan.verify == VerifyMode::Content {
        if let Some(reader) = target.file_reader() {
            let files: Vec<_> = work
                .iter()
                .filter(|o| o.kind == ObjectKind::File)
                .filter(|o| !stats.failed.iter().any(|(n, _)| *n == o.name))
                .map(|o| (&o.entry, o.load(plan.on_duplicate)))
                .collect();
            file_checks = check::files_in_parallel(reader, &files);
        }
    }
    for object in work
        .iter()
        .filter(|o| !stats.failed.iter().any(|(n, _)| *n == o.name))
    {
        cancel.check()?;
        let load = object.load(plan.on_duplicate);
        let mut expected: check::Expected = loaded_rows.remove(&object.name).unwrap_or_default();
        expected.file = file_checks.remove(&object.target_name);
        let outcome = check::check_object(target, plan.verify, &object.entry, &load, expected)?;
        if let Some(difference) = outcome.difference() {
            progress.object(&object.name, Some(difference));
            differences.push((object.name.clone(), difference.to_owned()));
        }
        stats.checks.push(ObjectCheck {
            name: object.name.clone(),
            target_name: object.target_name.clone(),
            outcome,
        });
    }
    stats.failed.extend(differences);
    stats.verify_seconds = verifying.elapsed().as_secs_f64();
    // Only what this restore locked: a caller may hold a lock around it.
    if plan.lock && target.can_lock() {
        target.unlock()?;
    }
    progress.phase(Phase::Verifying, true);
    progress.finish();
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::selects;

    #[test]
    fn a_directory_selects_what_is_below_it_only() {
        assert!(selects("data", "data"));
        assert!(selects("data", "data/a.tsfile"));
        assert!(selects("data/", "data/a.tsfile"));
        assert!(!selects("data", "database/x"));
        assert!(!selects("data/a", "data"));
    }
}
