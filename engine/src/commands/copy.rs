//! Copy: the points of one repository that another lacks, to that other.
//!
//! Only chunks the destination does not hold are moved. Each is read and
//! checked in the source, re-encoded under the destination's key (chunk ids
//! are keyed, so a point's chunk list is rewritten with the destination's
//! ids) and packed; a point is published in the destination only once every
//! chunk it needs is indexed there and each newly written one has been read
//! back and checked. A copy stopped at any moment leaves the destination
//! consistent: packs without a point (which the next copy reuses and prune
//! removes), never a point with missing chunks. A point is copied with the
//! ancestors of its chain the destination lacks, so no copied point has a
//! missing parent.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use serde::Serialize;

use crate::commands::restore::fetch_chunk;
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::blob;
use crate::repo::index::{Index, PackIndexFile};
use crate::repo::lock::RepoLock;
use crate::repo::manifest::Manifest;
use crate::repo::pack::{write_pack, FinishedPack, PackWriter};
use crate::repo::{ChunkId, Repository};
use crate::throttle::Throttle;

#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Only the points of this task.
    pub task: Option<String>,
    /// Only this point (an id, or `latest` of the task or repository) and
    /// the ancestors of its chain the destination lacks.
    pub point: Option<String>,
    /// Only the newest N points of each task (with the ancestors of their
    /// chains): what a destination that keeps N points would keep, so that
    /// its retention never removes a point the same copy just wrote.
    pub newest: Option<usize>,
    /// A pack file's size limit in bytes, in the destination.
    pub pack_size: u64,
    /// Bytes per second written to the destination, at most.
    pub limit_upload: Option<u64>,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            task: None,
            point: None,
            newest: None,
            pack_size: 16 * 1024 * 1024,
            limit_upload: None,
        }
    }
}

/// What a copy will do: the points to copy, oldest first, and those the
/// destination already holds.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    pub points: Vec<Manifest>,
    pub present: Vec<String>,
    /// Bytes of content the points to copy describe (before deduplication).
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CopyStats {
    /// Points published in the destination, oldest first.
    pub copied: Vec<String>,
    /// Points it already held.
    pub present: Vec<String>,
    /// Chunks written to the destination, and chunks it already had.
    pub chunks_written: u64,
    pub chunks_present: u64,
    /// Bytes read from the source's packs and written to the destination's.
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub seconds: f64,
}

pub fn plan_copy(from: &Repository, to: &Repository, options: &CopyOptions) -> Result<CopyPlan> {
    if from.location() == to.location() {
        return Err(EngineError::invalid(
            "copy",
            format!("{} is both the source and the destination", from.location()),
        ));
    }
    if let Some(limit) = options.limit_upload {
        Throttle::new(limit, "upload limit")?;
    }
    let (source_points, _) = from.points()?;
    let (dest_points, _) = to.points()?;
    let held: HashSet<&str> = dest_points.iter().map(|p| p.id.as_str()).collect();
    let of_task = |p: &&Manifest| options.task.as_ref().is_none_or(|t| &p.task == t);
    let chosen: Vec<&Manifest> = match options.point.as_deref() {
        None => {
            let all: Vec<&Manifest> = source_points.iter().filter(of_task).collect();
            match options.newest {
                Some(n) => newest_with_chains(&source_points, &all, n),
                None => all,
            }
        }
        Some(wanted) => {
            let point = if wanted == "latest" {
                source_points.iter().rfind(of_task)
            } else {
                source_points.iter().find(|p| p.id == wanted)
            };
            let point = point.ok_or_else(|| EngineError::PointNotFound {
                point: wanted.to_owned(),
                location: from.location().to_owned(),
            })?;
            chain(&source_points, point)
        }
    };
    let (present, missing): (Vec<&Manifest>, Vec<&Manifest>) = chosen
        .into_iter()
        .partition(|p| held.contains(p.id.as_str()));
    let mut points: Vec<Manifest> = missing.into_iter().cloned().collect();
    points.sort_by(|a, b| a.finished_at.cmp(&b.finished_at).then(a.id.cmp(&b.id)));
    Ok(CopyPlan {
        bytes: points.iter().map(|p| p.totals.bytes).sum(),
        points,
        present: present.into_iter().map(|p| p.id.clone()).collect(),
    })
}

/// Source chunk ids mapped to the destination's.
struct Renamed {
    same_ids: bool,
    known: HashMap<ChunkId, ChunkId>,
}

impl Renamed {
    fn get(&self, id: ChunkId) -> Option<ChunkId> {
        if self.same_ids {
            Some(id)
        } else {
            self.known.get(&id).copied()
        }
    }
}

/// The newest `n` of `points` per task and source, with their ancestors.
fn newest_with_chains<'a>(
    all: &'a [Manifest],
    points: &[&'a Manifest],
    n: usize,
) -> Vec<&'a Manifest> {
    let mut per_chain: HashMap<(&str, &str), usize> = HashMap::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    // Newest first: `points` is oldest first.
    for point in points.iter().rev() {
        let taken = per_chain
            .entry((point.task.as_str(), point.source.url.as_str()))
            .or_default();
        if *taken >= n {
            continue;
        }
        *taken += 1;
        for p in chain(all, point) {
            if seen.insert(p.id.as_str()) {
                out.push(p);
            }
        }
    }
    out
}

/// `point` and its ancestors, oldest first (as far as the source has them).
fn chain<'a>(points: &'a [Manifest], point: &'a Manifest) -> Vec<&'a Manifest> {
    let by_id: HashMap<&str, &Manifest> = points.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut out = vec![point];
    let mut seen = HashSet::from([point.id.as_str()]);
    while let Some(parent) = out
        .last()
        .and_then(|p| p.parent.as_deref())
        .and_then(|id| by_id.get(id))
    {
        if !seen.insert(parent.id.as_str()) {
            break;
        }
        out.push(parent);
    }
    out.reverse();
    out
}

pub fn run_copy(
    from: &Repository,
    to: &Repository,
    plan: CopyPlan,
    options: &CopyOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<CopyStats> {
    let started = Instant::now();
    let upload = options
        .limit_upload
        .map(|l| Throttle::new(l, "upload limit"))
        .transpose()?;
    let lock = RepoLock::acquire(to, "copy")?;
    let source_index = Index::load(from)?;
    let mut dest_index = Index::load(to)?;
    let mut stats = CopyStats {
        present: plan.present.clone(),
        ..CopyStats::default()
    };
    // A source chunk's id in the destination, once known. Under the same
    // id key (both plain, or one key) ids are the same and known at once,
    // so a chunk the destination holds is not even read.
    let same_ids = from.key().map(|k| k.id_key) == to.key().map(|k| k.id_key);
    let mut renamed = Renamed {
        same_ids,
        known: HashMap::new(),
    };
    progress.set_title("copying points");
    progress.set_length(plan.bytes, plan.points.len() as u64);
    for point in plan.points {
        cancel.check()?;
        let (manifest, written) = copy_point(
            from,
            to,
            &source_index,
            &dest_index,
            point,
            options.pack_size,
            upload.as_ref(),
            &mut renamed,
            &mut stats,
            cancel,
        )?;
        for file in &written {
            dest_index.add(file);
        }
        read_back(to, &dest_index, &manifest, &written)?;
        to.publish(&manifest)?;
        progress.inc(manifest.totals.bytes, 1);
        stats.copied.push(manifest.id);
    }
    progress.finish();
    drop(lock);
    stats.seconds = started.elapsed().as_secs_f64();
    Ok(stats)
}

/// Stores the chunks of `point` the destination lacks; returns the point
/// with the destination's chunk ids and the pack index files written.
#[allow(clippy::too_many_arguments)]
fn copy_point(
    from: &Repository,
    to: &Repository,
    source_index: &Index,
    dest_index: &Index,
    mut point: Manifest,
    pack_size: u64,
    upload: Option<&Throttle>,
    renamed: &mut Renamed,
    stats: &mut CopyStats,
    cancel: &CancelToken,
) -> Result<(Manifest, Vec<PackIndexFile>)> {
    let level = point.compression.zstd_level();
    let run_dir = format!("runs/{}", point.id);
    std::thread::scope(|scope| {
        // A rendezvous: the next pack is assembled while one is written.
        let (pack_tx, pack_rx) = sync_channel::<FinishedPack>(0);
        let uploader = scope.spawn(move || -> Result<Vec<PackIndexFile>> {
            pack_rx
                .into_iter()
                .map(|pack| {
                    if let Some(throttle) = upload {
                        throttle.take(pack.data.len() as u64)?;
                    }
                    write_pack(to, pack)
                })
                .collect()
        });
        let mut writer = PackWriter::new(&run_dir, pack_size, pack_tx);
        let mut queued: HashSet<ChunkId> = HashSet::new();
        let assembled = (|| -> Result<()> {
            for object in &mut point.objects {
                for chunk in &mut object.chunks {
                    cancel.check()?;
                    if let Some(id) = renamed.get(chunk.id) {
                        if dest_index.contains(&id) || queued.contains(&id) {
                            chunk.id = id;
                            stats.chunks_present += 1;
                            continue;
                        }
                    }
                    let raw = fetch_chunk(from, source_index, chunk.id, &object.name)?;
                    stats.bytes_read += raw.len() as u64;
                    let id = ChunkId::of(&raw, to.key());
                    renamed.known.insert(chunk.id, id);
                    chunk.id = id;
                    if dest_index.contains(&id) || !queued.insert(id) {
                        stats.chunks_present += 1;
                        continue;
                    }
                    let stored = blob::encode_at(&raw, level, to.key())?;
                    stats.bytes_written += stored.len() as u64;
                    stats.chunks_written += 1;
                    writer.add(id, &stored, raw.len() as u32)?;
                }
            }
            Ok(())
        })();
        // Also after a failure: packs already complete help the next copy.
        let flushed = writer.flush();
        drop(writer);
        let uploaded = uploader
            .join()
            .unwrap_or_else(|_| Err(EngineError::invalid("copy", "the pack writer panicked")));
        let written = uploaded?;
        assembled?;
        flushed?;
        Ok((point, written))
    })
}

/// Every chunk the point needs is indexed in the destination, and each one
/// written for it reads back intact.
fn read_back(
    to: &Repository,
    index: &Index,
    point: &Manifest,
    written: &[PackIndexFile],
) -> Result<()> {
    let mut new: HashSet<ChunkId> = written
        .iter()
        .flat_map(|f| f.blobs.iter().map(|b| b.id))
        .collect();
    for object in &point.objects {
        for chunk in &object.chunks {
            if !index.contains(&chunk.id) {
                return Err(EngineError::corrupt(
                    format!("copy of point {}", point.id),
                    format!(
                        "chunk {} of {} is not in the destination",
                        chunk.id.short(),
                        object.name
                    ),
                ));
            }
            // Each new chunk once, however often the point uses it.
            if new.remove(&chunk.id) {
                fetch_chunk(to, index, chunk.id, &object.name)?;
            }
        }
    }
    Ok(())
}
