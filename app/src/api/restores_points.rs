//! The points a restore of a task can read: those in the task's own
//! repository and in the destinations of copy jobs from it, each point
//! listed once with every repository that holds it.

use std::collections::HashMap;

use tidemark_engine::{BackupMode, Manifest};

use super::super::{PointList, PointLocation, PointObject, PointRow};
use super::task;
use crate::catalog::TaskRecord;
use crate::error::{blocking, AppError};
use crate::jobs::restore::read_from;
use crate::repo_access::RepoAccess;
use crate::state::AppState;

/// A repository the task's points may be in.
struct Place {
    location: PointLocation,
    access: RepoAccess,
}

/// The task's own repository first, then the copy destinations by name.
async fn places(state: &AppState, task: &TaskRecord) -> Result<Vec<Place>, AppError> {
    let own = state
        .catalog
        .repository(task.settings.repository_id)
        .await?
        .ok_or_else(|| AppError::Conflict("the backup task's repository was deleted".into()))?;
    let copies = state
        .catalog
        .copy_destinations(own.id, &task.settings.name)
        .await?;
    Ok(std::iter::once((own, false))
        .chain(copies.into_iter().map(|r| (r, true)))
        .map(|(record, copy)| Place {
            location: PointLocation {
                repository_id: record.id,
                repository_name: record.name.clone(),
                copy,
            },
            access: record.access(),
        })
        .collect())
}

fn mode_name(mode: BackupMode) -> &'static str {
    match mode {
        BackupMode::Full => "full",
        BackupMode::Incremental => "incremental",
    }
}

/// The task's points in one repository's manifests.
fn rows_of(manifests: &[Manifest], task: &str) -> Vec<PointRow> {
    let by_id: HashMap<&str, &Manifest> = manifests.iter().map(|m| (m.id.as_str(), m)).collect();
    manifests
        .iter()
        .filter(|m| m.task == task)
        .map(|m| {
            // Follow parents back to the full point the chain starts at.
            let (mut start, mut length) = (m, 1);
            while let Some(parent) = start.parent.as_deref().and_then(|p| by_id.get(p)) {
                start = parent;
                length += 1;
            }
            PointRow {
                id: m.id.clone(),
                mode: mode_name(m.mode).into(),
                finished_at: m.finished_at,
                chain_start: start.id.clone(),
                chain_length: length,
                objects: m.objects.len() as u64,
                bytes: m.objects.iter().map(|o| o.size).sum(),
                log_position: m.log_position.as_ref().map(|l| l.describe()),
                locations: Vec::new(),
            }
        })
        .collect()
}

/// The task's points, newest first. A repository that cannot be read is
/// named in `unreadable` while the others are listed (the copy is what an
/// administrator reaches for when the own repository is lost); when none
/// can be read, the own repository's error is the answer.
pub async fn points(state: &AppState, task_id: i64) -> Result<PointList, AppError> {
    let task = task(state, task_id).await?;
    let places = places(state, &task).await?;
    let name = task.settings.name.clone();
    blocking(move || {
        let mut rows: Vec<PointRow> = Vec::new();
        let mut unreadable = Vec::new();
        let mut first_error = None;
        for place in &places {
            let manifests = place
                .access
                .open_for_request()
                .and_then(|repo| Ok(repo.points()?.0));
            let manifests = match manifests {
                Ok(manifests) => manifests,
                Err(err) => {
                    unreadable.push(format!("{}: {err}", place.location.repository_name));
                    first_error.get_or_insert(err);
                    continue;
                }
            };
            for mut row in rows_of(&manifests, &name) {
                match rows.iter_mut().find(|r| r.id == row.id) {
                    Some(known) => known.locations.push(place.location.clone()),
                    None => {
                        row.locations.push(place.location.clone());
                        rows.push(row);
                    }
                }
            }
        }
        if let (true, Some(err)) = (unreadable.len() == places.len(), first_error) {
            return Err(err);
        }
        rows.sort_by_key(|p| std::cmp::Reverse(p.finished_at));
        Ok(PointList {
            points: rows,
            unreadable,
        })
    })
    .await
}

/// The objects of a point in the repository it is read from.
pub async fn objects(
    state: &AppState,
    task_id: i64,
    point_id: String,
    repository_id: Option<i64>,
) -> Result<Vec<PointObject>, AppError> {
    let task = task(state, task_id).await?;
    let repository = read_from(&state.catalog, &task, repository_id)
        .await
        .map_err(|why| match why.contains("neither") {
            true => AppError::Invalid {
                field: "repository_id".into(),
                message: why,
            },
            false => AppError::Conflict(why),
        })?
        .access();
    let name = task.settings.name.clone();
    blocking(move || {
        let repo = repository.open_for_request()?;
        let manifest = repo.point(&point_id)?;
        if manifest.task != name {
            return Err(AppError::NotFound(format!(
                "point {point_id} of task {name}"
            )));
        }
        Ok(manifest
            .objects
            .iter()
            .map(|o| PointObject {
                name: o.name.clone(),
                kind: o.kind.as_str().into(),
                size: o.size,
                rows: o.rows,
                time_min: o.time_min.clone(),
                time_max: o.time_max.clone(),
            })
            .collect())
    })
    .await
}
