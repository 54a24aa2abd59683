//! Verify: every chunk a point needs is indexed and its pack exists; with
//! `read_data`, every pack is read back and every chunk re-hashed, and each
//! damage is reported with the objects and points it affects. A scheduled
//! check may read a rotating share of the packs instead of all of them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::error::Result;
use crate::progress::{CancelToken, Progress};
use crate::repo::blob;
use crate::repo::index::{Index, PackIndexFile};
use crate::repo::{ChunkId, Repository};

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Only this point (or `latest`); all points when empty.
    pub point: Option<String>,
    /// Re-read and re-hash every chunk the checked points need.
    pub read_data: bool,
    /// With `read_data`: only a share of the packs, a different share each
    /// round, so that successive rounds cover every pack.
    pub read_subset: Option<ReadSubset>,
}

/// A share of the packs to read: `percent` of them (at least one), the
/// `round`-th window of the packs in name order, wrapping around. Rounds
/// 0, 1, 2, … read consecutive windows, so ⌈100 / percent⌉ rounds read
/// every pack that existed throughout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadSubset {
    pub percent: u8,
    pub round: u64,
}

impl ReadSubset {
    /// The indices (into `len` items in order) this round reads.
    pub fn window(self, len: usize) -> impl Iterator<Item = usize> {
        let percent = usize::from(self.percent.clamp(1, 100));
        let take = if len == 0 {
            0
        } else {
            (len * percent).div_ceil(100).clamp(1, len)
        };
        let start = if len == 0 {
            0
        } else {
            ((self.round % len as u64) as usize * take) % len
        };
        (0..take).map(move |i| (start + i) % len)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// The damaged thing: a pack, an index file, a manifest, a chunk.
    pub what: String,
    pub detail: String,
    /// `point: object` pairs that cannot be restored because of it.
    pub affects: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    pub points: u64,
    pub objects: u64,
    pub chunks: u64,
    /// Packs the checked points use; `packs_read` of them were read.
    pub packs_total: u64,
    pub packs_read: u64,
    pub bytes_read: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

pub fn verify(
    repo: &Repository,
    options: &VerifyOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let index = Index::load(repo)?;
    for damaged in &index.damaged {
        report.problems.push(Problem {
            what: "index file".into(),
            detail: damaged.clone(),
            affects: Vec::new(),
        });
    }
    let points = match &options.point {
        Some(id) => vec![repo.point(id)?],
        None => {
            let (points, damaged) = repo.points()?;
            for err in damaged {
                report.problems.push(Problem {
                    what: "manifest".into(),
                    detail: err.to_string(),
                    affects: Vec::new(),
                });
            }
            points
        }
    };

    // A broken chain: the point still restores (it lists every chunk), but
    // its history is incomplete and prune can no longer reason about it.
    if options.point.is_none() {
        let ids: HashSet<&str> = points.iter().map(|p| p.id.as_str()).collect();
        for point in &points {
            if let Some(parent) = point.parent.as_deref().filter(|p| !ids.contains(p)) {
                report.problems.push(Problem {
                    what: format!("point {}", point.id),
                    detail: format!("its parent point {parent} is missing; the point itself still restores, since it lists all its chunks"),
                    affects: Vec::new(),
                });
            }
        }
    }

    // Which objects need each chunk, to name what a damaged chunk breaks.
    let mut needed_by: HashMap<ChunkId, BTreeSet<String>> = HashMap::new();
    for point in &points {
        report.points += 1;
        for object in &point.objects {
            report.objects += 1;
            for chunk in &object.chunks {
                needed_by
                    .entry(chunk.id)
                    .or_default()
                    .insert(format!("{}: {}", point.id, object.name));
            }
        }
    }
    report.chunks = needed_by.len() as u64;

    let existing: HashSet<String> = repo.backend().list("runs")?.into_iter().collect();
    let mut missing: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for (id, users) in &needed_by {
        match index.get(id) {
            None => {
                missing.insert(
                    format!("chunk {}", id.short()),
                    ("not in any index".into(), users.iter().cloned().collect()),
                );
            }
            Some(location) if !existing.contains(&*location.pack) => {
                let entry = missing
                    .entry(format!("pack {}", location.pack))
                    .or_insert_with(|| ("the pack file is missing".into(), Vec::new()));
                entry.1.extend(users.iter().cloned());
            }
            Some(_) => {}
        }
    }
    for (what, (detail, mut affects)) in missing {
        affects.sort();
        affects.dedup();
        report.problems.push(Problem {
            what,
            detail,
            affects,
        });
    }

    if options.read_data {
        let mut files: Vec<&PackIndexFile> = index
            .files
            .iter()
            .filter(|f| {
                existing.contains(&f.pack) && f.blobs.iter().any(|b| needed_by.contains_key(&b.id))
            })
            .collect();
        report.packs_total = files.len() as u64;
        if let Some(subset) = options.read_subset {
            files.sort_by(|a, b| a.pack.cmp(&b.pack));
            files = subset.window(files.len()).map(|i| files[i]).collect();
        }
        read_packs(
            repo,
            &index,
            &needed_by,
            files,
            &mut report,
            progress,
            cancel,
        )?;
    }
    Ok(report)
}

/// Reads `files` back and re-hashes every chunk in them that a checked
/// point needs.
fn read_packs(
    repo: &Repository,
    index: &Index,
    needed_by: &HashMap<ChunkId, BTreeSet<String>>,
    files: Vec<&PackIndexFile>,
    report: &mut VerifyReport,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<()> {
    progress.set_title("reading packs");
    progress.set_length(files.iter().map(|f| f.size).sum(), files.len() as u64);
    for file in files {
        cancel.check()?;
        let data = repo.backend().read(&file.pack)?;
        report.packs_read += 1;
        report.bytes_read += data.len() as u64;
        let mut affects = BTreeSet::new();
        let mut damaged = Vec::new();
        for entry in &file.blobs {
            // Only the index entry that restore would use counts: a chunk
            // stored twice is fine if its indexed copy is.
            let used = index
                .get(&entry.id)
                .is_some_and(|l| *l.pack == *file.pack && l.offset == entry.offset);
            let Some(users) = needed_by.get(&entry.id).filter(|_| used) else {
                continue;
            };
            let end = entry.offset as usize + entry.length as usize;
            let result = match data.get(entry.offset as usize..end) {
                None => Err(format!(
                    "chunk {} lies beyond the end of the pack ({} bytes): truncated",
                    entry.id.short(),
                    data.len()
                )),
                Some(stored) => {
                    blob::decode(stored, entry.id, entry.raw_length, repo.key(), &|| {
                        String::new()
                    })
                    .map(drop)
                    .map_err(|e| {
                        format!(
                            "chunk {} at offset {}: {}",
                            entry.id.short(),
                            entry.offset,
                            e.to_string().trim_start_matches("damaged : ")
                        )
                    })
                }
            };
            if let Err(detail) = result {
                damaged.push(detail);
                affects.extend(users.iter().cloned());
            }
        }
        if !damaged.is_empty() {
            report.problems.push(Problem {
                what: format!("pack {}", file.pack),
                detail: damaged.join("; "),
                affects: affects.into_iter().collect(),
            });
        }
        progress.inc(data.len() as u64, 1);
    }
    progress.finish();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ReadSubset;

    fn window(percent: u8, round: u64, len: usize) -> Vec<usize> {
        ReadSubset { percent, round }.window(len).collect()
    }

    #[test]
    fn windows_rotate_and_cover_everything() {
        assert_eq!(window(25, 0, 8), [0, 1]);
        assert_eq!(window(25, 1, 8), [2, 3]);
        assert_eq!(window(25, 3, 8), [6, 7]);
        assert_eq!(window(25, 4, 8), [0, 1], "then round again");
        // At least one pack, even of few; never more than there are.
        assert_eq!(window(1, 0, 3), [0]);
        assert_eq!(window(1, 2, 3), [2]);
        assert_eq!(window(100, 5, 3).len(), 3);
        assert!(window(10, 0, 0).is_empty());
        // Every pack within ⌈100 / percent⌉ rounds, for awkward sizes.
        for len in 1..40 {
            for percent in [1u8, 7, 30, 34, 50, 99] {
                let rounds = 100u64.div_ceil(u64::from(percent));
                let mut seen = vec![false; len];
                for round in 0..rounds {
                    for i in window(percent, round, len) {
                        seen[i] = true;
                    }
                }
                assert!(seen.iter().all(|s| *s), "{percent}% of {len}");
            }
        }
    }
}
