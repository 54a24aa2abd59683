//! Prune: forget points by retention rules, then delete the stored data no
//! kept point needs. A point a kept incremental depends on is never removed.
//!
//! Rules apply per backup chain: points of the same task and source. A prune
//! can be scoped to one task, leaving every other task's points alone, or
//! forget one task entirely (when an administrator deletes it with its files).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::Datelike;
use serde::Serialize;

use crate::commands::archive::{BINLOG, WAL};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::archive::{file_number, LogArchive};
use crate::repo::index::Index;
use crate::repo::lease::live_leases;
use crate::repo::lock::RepoLock;
use crate::repo::manifest::{manifest_path, BackupMode, Manifest};
use crate::repo::Repository;
use crate::source::postgres::cluster::wal::SegmentName;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneOptions {
    /// Keep the newest N points (the "maximum number of backup copies").
    pub keep_last: Option<usize>,
    /// Keep the newest point of each of the last N days that have one.
    pub keep_daily: Option<usize>,
    pub keep_weekly: Option<usize>,
    pub keep_monthly: Option<usize>,
    /// Apply the rules to this task's points only; every other task's points
    /// are kept ("other task").
    pub task: Option<String>,
    /// Forget every point of `task` (which must be set) instead of applying
    /// keep rules (of which there must be none). See [`PruneOptions::forget_task`].
    pub forget_all: bool,
}

/// The reason given for points a task-scoped prune does not consider.
const OTHER_TASK: &str = "other task";

impl PruneOptions {
    /// Forgets every point of `task`; data other tasks' points share stays.
    pub fn forget_task(task: impl Into<String>) -> Self {
        PruneOptions {
            task: Some(task.into()),
            forget_all: true,
            ..Default::default()
        }
    }

    fn has_keep_rule(&self) -> bool {
        self.keep_last.is_some()
            || self.keep_daily.is_some()
            || self.keep_weekly.is_some()
            || self.keep_monthly.is_some()
    }

    fn validate(&self) -> Result<()> {
        if self.task.as_deref() == Some("") {
            return Err(EngineError::invalid("prune task", "must not be empty"));
        }
        if self.forget_all {
            if self.task.is_none() {
                return Err(EngineError::invalid(
                    "prune",
                    "forgetting every point needs the task whose points to forget",
                ));
            }
            if self.has_keep_rule() {
                return Err(EngineError::invalid(
                    "retention",
                    "forgetting a task removes all its points; give no keep rule with it",
                ));
            }
        } else if !self.has_keep_rule() {
            return Err(EngineError::invalid(
                "retention",
                "give at least one of keep-last, keep-daily, keep-weekly, keep-monthly (pruning with no rule would remove every point)",
            ));
        }
        Ok(())
    }

    /// Whether the rules (or the forgetting) concern `point`.
    fn in_scope(&self, point: &Manifest) -> bool {
        self.task.as_deref().is_none_or(|task| point.task == task)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KeptPoint {
    pub id: String,
    /// Why it stays: `last`, `daily`, `weekly`, `monthly`, `parent of <id>`,
    /// or `other task` (outside a task-scoped prune).
    pub reasons: Vec<String>,
}

/// What a prune will do; printed by a dry run.
#[derive(Debug, Clone, Serialize)]
pub struct PrunePlan {
    pub keep: Vec<KeptPoint>,
    pub remove: Vec<String>,
    /// Pack files no kept point needs, with their index files.
    pub packs_to_delete: Vec<String>,
    pub bytes_to_free: u64,
    /// Packs that hold some needed chunks and some unneeded ones; kept whole.
    pub packs_partly_needed: u64,
    /// Archived log files older than every kept point a recovery can start
    /// from: `(task, file)`.
    pub log_files_to_delete: Vec<(String, String)>,
    #[serde(skip)]
    options: PruneOptions,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneStats {
    pub points_removed: u64,
    pub packs_deleted: u64,
    pub bytes_freed: u64,
    pub log_files_deleted: u64,
}

/// The time bucket (day, ISO week, month) a point falls in.
type BucketOf = fn(&Manifest) -> String;

pub fn plan_prune(repo: &Repository, options: &PruneOptions) -> Result<PrunePlan> {
    options.validate()?;
    let (points, damaged) = repo.points()?;
    if let Some(err) = damaged.first() {
        // Without every manifest, what is still needed cannot be known.
        return Err(EngineError::corrupt(
            "repository",
            format!("prune needs every manifest readable: {err}"),
        ));
    }
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut chains: HashMap<(&str, &str), Vec<&Manifest>> = HashMap::new();
    for point in &points {
        if !options.in_scope(point) {
            reasons
                .entry(point.id.clone())
                .or_default()
                .push(OTHER_TASK.into());
            continue;
        }
        if options.forget_all {
            continue;
        }
        chains
            .entry((point.task.as_str(), point.source.url.as_str()))
            .or_default()
            .push(point);
    }
    for chain in chains.values_mut() {
        chain.sort_by_key(|p| std::cmp::Reverse(p.finished_at));
        if let Some(n) = options.keep_last {
            for point in chain.iter().take(n) {
                reasons
                    .entry(point.id.clone())
                    .or_default()
                    .push("last".into());
            }
        }
        let buckets: [(Option<usize>, &str, BucketOf); 3] = [
            (options.keep_daily, "daily", |m| {
                m.finished_at.format("%Y-%m-%d").to_string()
            }),
            (options.keep_weekly, "weekly", |m| {
                let week = m.finished_at.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }),
            (options.keep_monthly, "monthly", |m| {
                m.finished_at.format("%Y-%m").to_string()
            }),
        ];
        for (count, reason, bucket_of) in buckets {
            let Some(count) = count else { continue };
            let mut seen = HashSet::new();
            for point in chain.iter() {
                if seen.len() == count {
                    break;
                }
                if seen.insert(bucket_of(point)) {
                    reasons
                        .entry(point.id.clone())
                        .or_default()
                        .push(reason.into());
                }
            }
        }
    }
    // A point a restore or drill is reading stays until it is done; the
    // next prune removes it if the rules still say so.
    for (point, reader) in live_leases(repo)? {
        if points.iter().any(|p| p.id == point) {
            reasons.entry(point).or_default().push(reader);
        }
    }
    // Incrementals need their whole chain back to the full point.
    let by_id: HashMap<&str, &Manifest> = points.iter().map(|p| (p.id.as_str(), p)).collect();
    let kept_by_rule: Vec<String> = reasons.keys().cloned().collect();
    for id in kept_by_rule {
        let mut current = by_id.get(id.as_str()).and_then(|p| p.parent.as_deref());
        while let Some(parent) = current {
            let parent_reasons = reasons.entry(parent.to_owned()).or_default();
            // A point outside the scope is kept anyway; one reason says so.
            if !parent_reasons.iter().any(|r| r == OTHER_TASK) {
                parent_reasons.push(format!("parent of {id}"));
            }
            current = by_id.get(parent).and_then(|p| p.parent.as_deref());
        }
    }
    let remove: Vec<String> = points
        .iter()
        .filter(|p| !reasons.contains_key(&p.id))
        .map(|p| p.id.clone())
        .collect();

    let needed: HashSet<_> = points
        .iter()
        .filter(|p| reasons.contains_key(&p.id))
        .flat_map(|p| p.objects.iter().flat_map(|o| o.chunks.iter().map(|c| c.id)))
        .collect();
    let index = Index::load(repo)?;
    if let Some(err) = index.damaged.first() {
        return Err(EngineError::corrupt(
            "repository",
            format!("prune needs every index file readable: {err}"),
        ));
    }
    let mut packs_to_delete = Vec::new();
    let mut bytes_to_free = 0;
    let mut packs_partly_needed = 0;
    for file in &index.files {
        let used = file.blobs.iter().filter(|b| needed.contains(&b.id)).count();
        if used == 0 {
            packs_to_delete.push(file.pack.clone());
            bytes_to_free += file.size;
        } else if used < file.blobs.len() {
            packs_partly_needed += 1;
        }
    }
    let (log_files_to_delete, log_bytes) = archive_to_delete(repo, &points, &reasons, options)?;
    bytes_to_free += log_bytes;
    let keep = points
        .iter()
        .filter_map(|p| {
            reasons.get(&p.id).map(|r| KeptPoint {
                id: p.id.clone(),
                reasons: r
                    .iter()
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            })
        })
        .collect();
    Ok(PrunePlan {
        keep,
        remove,
        packs_to_delete,
        bytes_to_free,
        packs_partly_needed,
        log_files_to_delete,
        options: options.clone(),
    })
}

/// The archived log files no kept point needs: those before the file of
/// the oldest kept full point with log coordinates, per task; all of a
/// forgotten task's. A task with no such point keeps its archive.
fn archive_to_delete(
    repo: &Repository,
    points: &[Manifest],
    kept: &BTreeMap<String, Vec<String>>,
    options: &PruneOptions,
) -> Result<(Vec<(String, String)>, u64)> {
    let mut tasks: BTreeSet<&str> = points.iter().map(|p| p.task.as_str()).collect();
    if let (true, Some(task)) = (options.forget_all, options.task.as_deref()) {
        tasks.insert(task);
    }
    let mut files = Vec::new();
    let mut bytes = 0;
    for task in tasks {
        if options.task.as_deref().is_some_and(|t| t != task) {
            continue;
        }
        for stream in [BINLOG, WAL] {
            let archive = LogArchive::new(repo, task, stream);
            let first_needed = points
                .iter()
                .filter(|p| {
                    p.task == task && p.mode == BackupMode::Full && kept.contains_key(&p.id)
                })
                .filter_map(|p| p.log_position.as_ref())
                .filter_map(|l| file_number(&l.file))
                .min();
            let forget_all = options.forget_all && options.task.as_deref() == Some(task);
            if first_needed.is_none() && !forget_all {
                continue;
            }
            for segment in archive.segments()? {
                if forget_all || file_number(&segment.name) < first_needed {
                    bytes += segment.size;
                    files.push((task.to_owned(), segment.name));
                }
            }
        }
    }
    Ok((files, bytes))
}

/// Runs `plan`, or less: it is made again under the lock (same options, so
/// the same task scope). The prune is refused if it would now remove or
/// delete anything the plan did not say (e.g. a point a backup just wrote);
/// it does less when a reader took a lease since.
pub fn run_prune(
    repo: &Repository,
    plan: &PrunePlan,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<PruneStats> {
    let _lock = RepoLock::acquire(repo, "prune")?;
    let fresh = plan_prune(repo, &plan.options)?;
    let within = |now: &[String], planned: &[String]| now.iter().all(|x| planned.contains(x));
    if !within(&fresh.remove, &plan.remove)
        || !within(&fresh.packs_to_delete, &plan.packs_to_delete)
        || !fresh
            .log_files_to_delete
            .iter()
            .all(|f| plan.log_files_to_delete.contains(f))
    {
        return Err(EngineError::Conflict(
            "the repository changed since the prune was planned; plan it again".into(),
        ));
    }
    let (points, _) = repo.points()?;
    let sizes: HashMap<String, u64> = Index::load(repo)?
        .files
        .into_iter()
        .map(|f| (f.pack, f.size))
        .collect();
    let mut stats = PruneStats::default();
    progress.set_title("pruning");
    progress.set_length(
        fresh.bytes_to_free,
        (fresh.remove.len() + fresh.packs_to_delete.len()) as u64,
    );
    // Points first: once a manifest is gone nothing refers to its data.
    for id in &fresh.remove {
        cancel.check()?;
        repo.backend().delete(&manifest_path(id))?;
        stats.points_removed += 1;
        progress.inc(0, 1);
    }
    // A reader that leased a point just before its manifest went has it in
    // memory: the packs it needs stay, for the next prune to delete.
    let still_read = still_read_chunks(repo, &points, &fresh.remove)?;
    let index = Index::load(repo)?;
    for pack in &fresh.packs_to_delete {
        cancel.check()?;
        let in_use = index
            .files
            .iter()
            .find(|f| f.pack == *pack)
            .is_some_and(|f| f.blobs.iter().any(|b| still_read.contains(&b.id)));
        if in_use {
            continue;
        }
        // The index file goes before the pack: an index entry must never
        // name a pack that is gone, or a backup would count on its chunks.
        let idx = format!("{}.idx", pack.trim_end_matches(".pack"));
        repo.backend().delete(&idx)?;
        repo.backend().delete(pack)?;
        let size = sizes.get(pack).copied().unwrap_or(0);
        stats.packs_deleted += 1;
        stats.bytes_freed += size;
        progress.inc(size, 1);
    }
    let mut by_task: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (task, file) in &fresh.log_files_to_delete {
        by_task.entry(task).or_default().push(file);
    }
    for (task, files) in by_task {
        for stream in [BINLOG, WAL] {
            let archive = LogArchive::new(repo, task, stream);
            let is_wal = |name: &str| SegmentName::parse(name).is_some();
            for name in files.iter().filter(|n| is_wal(n) == (stream == WAL)) {
                cancel.check()?;
                if let Some(segment) = archive.segment(name)? {
                    archive.delete(&segment)?;
                    stats.log_files_deleted += 1;
                    stats.bytes_freed += segment.size;
                }
            }
            // Holes before the first file kept are history no point needs.
            let first_kept = archive
                .segments()?
                .first()
                .and_then(|s| file_number(&s.name));
            archive.forget_gaps_before(first_kept)?;
        }
    }
    progress.finish();
    Ok(stats)
}

/// The chunks of removed points that a reader holds a lease on.
fn still_read_chunks(
    repo: &Repository,
    points: &[Manifest],
    removed: &[String],
) -> Result<HashSet<crate::repo::ChunkId>> {
    let leased: HashSet<String> = live_leases(repo)?.into_iter().map(|(p, _)| p).collect();
    Ok(points
        .iter()
        .filter(|p| removed.contains(&p.id) && leased.contains(&p.id))
        .flat_map(|p| p.objects.iter().flat_map(|o| o.chunks.iter().map(|c| c.id)))
        .collect())
}
