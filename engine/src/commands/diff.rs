//! What changed between two points of a repository, from their manifests
//! alone: objects added, removed and changed, with sizes and, for tables,
//! row counts and time spans. No pack is read: content is compared by the
//! content checksum or row digest each object records, else by its chunk
//! ids (within one repository, the same content has the same ids).

use std::collections::HashMap;

use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::repo::manifest::{Manifest, ObjectEntry, ObjectKind};
use crate::repo::Repository;

#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// The older point (an id, or `latest`); none: the parent of `to`, or
    /// the task's point before it.
    pub from: Option<String>,
    /// The newer point (an id, or `latest`).
    pub to: String,
}

/// The two manifests compared.
#[derive(Debug, Clone)]
pub struct DiffPlan {
    pub from: Manifest,
    pub to: Manifest,
}

/// How an object differs between the two points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

/// What a point records of an object, for the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectFacts {
    pub kind: ObjectKind,
    pub size: u64,
    pub rows: Option<u64>,
    pub time_min: Option<String>,
    pub time_max: Option<String>,
    pub mode: Option<u32>,
    pub mtime_ns: Option<i128>,
}

impl From<&ObjectEntry> for ObjectFacts {
    fn from(o: &ObjectEntry) -> Self {
        ObjectFacts {
            kind: o.kind,
            size: o.size,
            rows: o.rows,
            time_min: o.time_min.clone(),
            time_max: o.time_max.clone(),
            mode: o.mode,
            mtime_ns: o.mtime_ns,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectDiff {
    pub name: String,
    pub change: Change,
    pub before: Option<ObjectFacts>,
    pub after: Option<ObjectFacts>,
    /// For a changed object, what differs: `kind`, `content`, `columns`,
    /// `link`, `mode`, `mtime`.
    pub differs: Vec<&'static str>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PointDiff {
    pub from: String,
    pub to: String,
    /// Added, removed and changed objects, by name.
    pub objects: Vec<ObjectDiff>,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Bytes of content in each point.
    pub bytes_from: u64,
    pub bytes_to: u64,
}

/// Loads the two points; `from` defaults to the parent of `to`, else the
/// point of the same task finished just before it.
pub fn plan_diff(repo: &Repository, options: &DiffOptions) -> Result<DiffPlan> {
    let to = repo.point(&options.to)?;
    let from = match (&options.from, &to.parent) {
        (Some(id), _) => repo.point(id)?,
        (None, Some(parent)) => repo.point(parent)?,
        (None, None) => {
            let (points, _) = repo.points()?;
            points
                .into_iter()
                .rfind(|p| p.task == to.task && p.finished_at < to.finished_at)
                .ok_or_else(|| {
                    EngineError::invalid(
                        "diff",
                        format!(
                            "{} is the first point of task {:?}: name the point to compare it with",
                            to.id, to.task
                        ),
                    )
                })?
        }
    };
    Ok(DiffPlan { from, to })
}

/// Compares the plan's two manifests (no I/O).
pub fn diff_points(plan: &DiffPlan) -> PointDiff {
    let (from, to) = (&plan.from, &plan.to);
    let before: HashMap<&str, &ObjectEntry> =
        from.objects.iter().map(|o| (o.name.as_str(), o)).collect();
    let mut diff = PointDiff {
        from: from.id.clone(),
        to: to.id.clone(),
        bytes_from: from.objects.iter().map(|o| o.size).sum(),
        bytes_to: to.objects.iter().map(|o| o.size).sum(),
        ..PointDiff::default()
    };
    let mut seen = 0usize;
    for object in &to.objects {
        let Some(old) = before.get(object.name.as_str()) else {
            diff.added += 1;
            diff.objects.push(ObjectDiff {
                name: object.name.clone(),
                change: Change::Added,
                before: None,
                after: Some(object.into()),
                differs: Vec::new(),
            });
            continue;
        };
        seen += 1;
        let differs = differences(old, object);
        if differs.is_empty() {
            diff.unchanged += 1;
            continue;
        }
        diff.changed += 1;
        diff.objects.push(ObjectDiff {
            name: object.name.clone(),
            change: Change::Changed,
            before: Some((*old).into()),
            after: Some(object.into()),
            differs,
        });
    }
    if seen < before.len() {
        let now: std::collections::HashSet<&str> =
            to.objects.iter().map(|o| o.name.as_str()).collect();
        for old in &from.objects {
            if !now.contains(old.name.as_str()) {
                diff.removed += 1;
                diff.objects.push(ObjectDiff {
                    name: old.name.clone(),
                    change: Change::Removed,
                    before: Some(old.into()),
                    after: None,
                    differs: Vec::new(),
                });
            }
        }
    }
    diff.objects.sort_by(|a, b| a.name.cmp(&b.name));
    diff
}

/// What differs between two entries of the same name.
fn differences(a: &ObjectEntry, b: &ObjectEntry) -> Vec<&'static str> {
    let mut differs = Vec::new();
    if a.kind != b.kind {
        differs.push("kind");
        return differs;
    }
    // A directory's content is its entries, compared one by one; its
    // modification time changes with them and is left out.
    if a.kind != ObjectKind::Dir && !same_content(a, b) {
        differs.push("content");
    }
    if a.columns != b.columns {
        differs.push("columns");
    }
    if a.link_target != b.link_target {
        differs.push("link");
    }
    if a.mode != b.mode {
        differs.push("mode");
    }
    if a.kind != ObjectKind::Dir && a.mtime_ns != b.mtime_ns {
        differs.push("mtime");
    }
    differs
}

fn same_content(a: &ObjectEntry, b: &ObjectEntry) -> bool {
    if a.size != b.size || a.rows != b.rows {
        return false;
    }
    if let (Some(x), Some(y)) = (&a.checksum, &b.checksum) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (&a.digest, &b.digest) {
        return x == y;
    }
    a.chunks.len() == b.chunks.len() && a.chunks.iter().zip(&b.chunks).all(|(x, y)| x.id == y.id)
}
