//! Compare a live target with a backup point, read-only: is this restored
//! copy exact, or did anything change since the point was taken? Each
//! object is read back through the target's own output and compared with
//! the point's content digest (a file's BLAKE3), as a restore's VERIFYING
//! phase does, without writing anything.

use serde::Serialize;

use super::restore::check::{check_object, Expected};
use super::restore::{fetch_chunk, CheckOutcome, ObjectCheck, VerifyMode};
use crate::digest::{RowDigest, StreamDigest};
use crate::error::Result;
use crate::progress::{CancelToken, Progress};
use crate::repo::index::Index;
use crate::repo::manifest::{Manifest, ObjectEntry, ObjectKind};
use crate::repo::Repository;
use crate::source::{row_splitter, Load, LoadMode, Target};

#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Objects to compare, each optionally under another name at the
    /// target (`NAME=NEWNAME`); empty means every object of the point.
    pub objects: Vec<(String, Option<String>)>,
}

/// What is compared: the point's objects and the names they have at the target.
#[derive(Debug, Clone, Serialize)]
pub struct ComparePlan {
    pub point: String,
    pub target: String,
    /// `(name in the point, name at the target)`.
    pub objects: Vec<(String, String)>,
    #[serde(skip)]
    entries: Vec<ObjectEntry>,
    #[serde(skip)]
    source_kind: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CompareReport {
    pub checks: Vec<ObjectCheck>,
    /// Objects equal to the point, value for value.
    pub equal: u64,
    /// Objects that differ or are missing at the target.
    pub different: u64,
    /// Objects compared only by counts, or not at all (structure).
    pub unchecked: u64,
}

impl CompareReport {
    pub fn is_equal(&self) -> bool {
        self.different == 0
    }
}

pub fn plan_compare(
    manifest: &Manifest,
    target: &dyn Target,
    options: &CompareOptions,
) -> Result<ComparePlan> {
    let mut objects = Vec::new();
    let mut entries = Vec::new();
    for (wanted, _) in &options.objects {
        if !manifest.objects.iter().any(|o| o.name == *wanted) {
            return Err(crate::error::EngineError::invalid(
                "object",
                format!("{wanted:?} is not in point {}", manifest.id),
            ));
        }
    }
    for entry in &manifest.objects {
        let chosen = if options.objects.is_empty() {
            Some(entry.name.clone())
        } else {
            options
                .objects
                .iter()
                .find(|(w, _)| *w == entry.name)
                .map(|(w, rename)| rename.clone().unwrap_or_else(|| w.clone()))
        };
        if let Some(at) = chosen {
            objects.push((entry.name.clone(), at));
            entries.push(entry.clone());
        }
    }
    Ok(ComparePlan {
        point: manifest.id.clone(),
        target: target.url(),
        objects,
        entries,
        source_kind: manifest.source.kind.clone(),
    })
}

pub fn run_compare(
    repo: &Repository,
    plan: &ComparePlan,
    target: &mut dyn Target,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<CompareReport> {
    let index = Index::load(repo)?;
    let mut report = CompareReport::default();
    progress.set_title("comparing");
    progress.set_length(
        plan.entries.iter().map(|e| e.size).sum(),
        plan.entries.len() as u64,
    );
    let names: Vec<&str> = plan.objects.iter().map(|(_, at)| at.as_str()).collect();
    let present = target.existing(&names)?;
    for (entry, (name, at)) in plan.entries.iter().zip(&plan.objects) {
        cancel.check()?;
        let outcome = if !present.contains(at)
            && matches!(entry.kind, ObjectKind::File | ObjectKind::Table)
        {
            CheckOutcome::Differs(format!("{at} does not exist at {}", plan.target))
        } else {
            let load = Load {
                name: at.clone(),
                mode: LoadMode::Create,
                range: None,
            };
            let digest = match (entry.digest, row_splitter(&plan.source_kind, entry)) {
                (Some(digest), _) => Some(digest),
                (None, Some(_)) => Some(stored_digest(
                    repo,
                    &index,
                    &plan.source_kind,
                    entry,
                    cancel,
                )?),
                (None, None) => None,
            };
            let expected = Expected {
                digest,
                ..Expected::default()
            };
            check_object(target, VerifyMode::Content, entry, &load, expected)?
        };
        match &outcome {
            CheckOutcome::Content { .. } | CheckOutcome::RowsPresent { .. } => report.equal += 1,
            CheckOutcome::Differs(how) => {
                progress.object(name, Some(how));
                report.different += 1;
            }
            CheckOutcome::Counts { .. } | CheckOutcome::NotChecked => report.unchecked += 1,
        }
        progress.inc(entry.size, 1);
        report.checks.push(ObjectCheck {
            name: name.clone(),
            target_name: at.clone(),
            outcome,
        });
    }
    progress.finish();
    Ok(report)
}

/// The digest of an object's rows computed from its stored stream, for
/// points taken before digests were recorded.
fn stored_digest(
    repo: &Repository,
    index: &Index,
    kind: &str,
    entry: &ObjectEntry,
    cancel: &CancelToken,
) -> Result<RowDigest> {
    let splitter = || {
        row_splitter(kind, entry).ok_or_else(|| {
            crate::error::EngineError::invalid(format!("object {}", entry.name), "it has no rows")
        })
    };
    let mut rows = StreamDigest::new(splitter()?);
    let mut ends = Vec::new();
    let mut at = 0usize;
    for part in &entry.parts {
        at += part.chunks as usize;
        ends.push(at);
    }
    for (n, chunk) in entry.chunks.iter().enumerate() {
        cancel.check()?;
        if n > 0 && ends.contains(&n) {
            rows.next_part(splitter()?)?;
        }
        rows.feed(&fetch_chunk(repo, index, chunk.id, &entry.name)?)?;
    }
    Ok(rows.finish()?.0)
}
