//! Restore: prepare a plan (what goes where, what clashes), then execute
//! exactly that plan, checking every object against its manifest checksum.

use std::time::Instant;

use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::blob;
use crate::repo::index::Index;
use crate::repo::manifest::{Manifest, ObjectEntry, ObjectKind};
use crate::repo::Repository;
use crate::source::Target;

/// What to do with objects that already exist at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// Refuse the restore (and a non-empty target) before writing anything.
    #[default]
    Stop,
    /// Leave existing objects as they are.
    Skip,
    /// Replace existing objects.
    Overwrite,
}

impl std::str::FromStr for ConflictPolicy {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "stop" => Ok(ConflictPolicy::Stop),
            "skip" => Ok(ConflictPolicy::Skip),
            "overwrite" => Ok(ConflictPolicy::Overwrite),
            other => Err(EngineError::invalid(
                "conflict policy",
                format!("{other:?} (expected stop, skip or overwrite)"),
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Overwrite,
    Skip,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedObject {
    pub name: String,
    pub target_name: String,
    pub kind: ObjectKind,
    pub size: u64,
    pub action: Action,
    #[serde(skip)]
    pub entry: ObjectEntry,
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
    /// Why the plan cannot run, if it cannot.
    pub blocked: Option<String>,
    pub estimated_seconds: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreStats {
    pub restored: u64,
    pub skipped: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Objects that could not be restored, with the reason; the others were.
    pub failed: Vec<(String, String)>,
    /// What was restored differently from the source, and why.
    pub notes: Vec<String>,
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
            objects.push(PlannedObject {
                name: entry.name.clone(),
                target_name,
                kind: entry.kind,
                size: entry.size,
                action: Action::Create,
                entry: entry.clone(),
            });
        }
    }
    let names: Vec<&str> = objects.iter().map(|o| o.target_name.as_str()).collect();
    let conflicts = target.existing(&names)?;
    for object in &mut objects {
        if conflicts.contains(&object.target_name) {
            object.action = match options.on_conflict {
                ConflictPolicy::Skip => Action::Skip,
                ConflictPolicy::Overwrite | ConflictPolicy::Stop => Action::Overwrite,
            };
        }
    }
    let blocked = match options.on_conflict {
        ConflictPolicy::Stop if !conflicts.is_empty() => Some(format!(
            "{} object(s) already exist at {}: {}{}; choose --on-conflict skip or overwrite, or another target",
            conflicts.len(),
            target.url(),
            conflicts.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
            if conflicts.len() > 5 { ", ..." } else { "" }
        )),
        ConflictPolicy::Stop if !target.is_empty()? => Some(format!(
            "target {} is not empty; choose --on-conflict skip or overwrite, or an empty target",
            target.url()
        )),
        _ => None,
    };
    let bytes = objects
        .iter()
        .filter(|o| o.action != Action::Skip)
        .map(|o| o.size)
        .sum::<u64>();
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
        blocked,
        estimated_seconds: bytes as f64 / rate,
    })
}

/// `wanted` selects `name` itself or, as a directory, everything below it.
fn selects(wanted: &str, name: &str) -> bool {
    let wanted = wanted.trim_end_matches('/');
    name == wanted || (name.starts_with(wanted) && name[wanted.len()..].starts_with('/'))
}

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
    let started = Instant::now();
    let index = Index::load(repo)?;
    let mut stats = RestoreStats::default();
    let mut restored = Vec::new();
    progress.set_title("restoring");
    progress.set_length(plan.bytes, plan.objects.len() as u64);
    for object in &plan.objects {
        cancel.check()?;
        if object.action == Action::Skip {
            stats.skipped += 1;
            progress.inc(0, 1);
            continue;
        }
        match restore_one(repo, &index, object, target, progress, cancel) {
            Ok(notes) => {
                stats.notes.extend(notes);
                stats.restored += 1;
                stats.bytes += object.size;
                restored.push((object.entry.clone(), object.target_name.clone()));
            }
            Err(EngineError::Cancelled) => return Err(EngineError::Cancelled),
            Err(err) => stats.failed.push((object.name.clone(), err.to_string())),
        }
        progress.inc(0, 1);
    }
    target.finish(&restored)?;
    progress.finish();
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(stats)
}

fn restore_one(
    repo: &Repository,
    index: &Index,
    object: &PlannedObject,
    target: &mut dyn Target,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Vec<String>> {
    let entry = &object.entry;
    let mut sink = target.begin(
        entry,
        &object.target_name,
        object.action == Action::Overwrite,
    )?;
    let mut hasher = blake3::Hasher::new();
    for chunk in &entry.chunks {
        if let Err(err) = cancel.check() {
            sink.abort();
            return Err(err);
        }
        let data = match fetch_chunk(repo, index, chunk.id, &object.name) {
            Ok(data) => data,
            Err(err) => {
                sink.abort();
                return Err(err);
            }
        };
        hasher.update(&data);
        if let Err(err) = sink.write(&data) {
            sink.abort();
            return Err(err);
        }
        progress.inc(data.len() as u64, 0);
    }
    if let Some(expected) = &entry.checksum {
        let actual = hasher.finalize().to_hex().to_string();
        if &actual != expected {
            sink.abort();
            return Err(EngineError::corrupt(
                format!("object {}", object.name),
                format!("restored content has checksum {actual}, the manifest records {expected}"),
            ));
        }
    }
    sink.commit()
}

/// Reads, decrypts, decompresses and checks one chunk.
pub(crate) fn fetch_chunk(
    repo: &Repository,
    index: &Index,
    id: crate::repo::ChunkId,
    object: &str,
) -> Result<Vec<u8>> {
    let location = index.get(&id).ok_or_else(|| {
        EngineError::corrupt(
            format!("object {object}"),
            format!("chunk {} is missing from the repository", id.short()),
        )
    })?;
    let stored =
        repo.backend()
            .read_range(&location.pack, location.offset, location.length as u64)?;
    blob::decode(&stored, id, location.raw_length, repo.key(), &|| {
        format!(
            "pack {} at offset {} (needed by {object})",
            location.pack, location.offset
        )
    })
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
