//! The server side of the timeline.

use super::{BasePointView, GapView, RangeView, TimelineView};
use crate::error::{blocking, AppError};
use crate::state::AppState;

/// An archiver reports every few seconds; older news is not "running".
const STALE_AFTER_SECS: i64 = 30;

pub async fn timeline(state: &AppState, task_id: i64) -> Result<TimelineView, AppError> {
    let task = super::super::tasks::server::load_task(state, task_id).await?;
    let repository = state
        .catalog
        .repository(task.settings.repository_id)
        .await?
        .ok_or_else(|| AppError::Conflict("the task's repository was deleted".into()))?
        .access();
    let fault = state.jobs.archiver_fault(task_id);
    let mut view = TimelineView {
        task_id,
        task_name: task.settings.name.clone(),
        continuous: task.settings.continuous,
        ranges: Vec::new(),
        gaps: Vec::new(),
        points: Vec::new(),
        files: 0,
        bytes: 0,
        last_commit: None,
        archiver_running: false,
        archiver_error: fault.map(|f| {
            format!(
                "{} (retried at {})",
                f.message,
                f.retry_at.format("%Y-%m-%d %H:%M:%S UTC")
            )
        }),
        synced_at: None,
        lag_seconds: None,
        rpo_target_secs: task.settings.recovery.rpo_target_secs,
        slot_retained_bytes: None,
        slot_warning_bytes: tidemark_engine::archive::SLOT_WARNING,
        checked_at: chrono::Utc::now(),
    };
    let name = task.settings.name.clone();
    let read = blocking(move || {
        let repo = match repository.open_for_request() {
            Ok(repo) => repo,
            // Shown in the panel, not as an error page.
            Err(err) if err.field("passphrase").is_some() => return Ok(None),
            Err(err) => return Err(err),
        };
        Ok(Some(tidemark_engine::timeline::timeline(&repo, &name)?))
    })
    .await?;
    let Some(timeline) = read else {
        view.archiver_error = Some(
            "unlock the repository to archive: the console holds no working passphrase for it (Repositories page)".into(),
        );
        return Ok(view);
    };
    view.ranges = timeline
        .ranges
        .into_iter()
        .map(|r| RangeView {
            from: r.from,
            to: r.to,
            base_points: r.base_points,
            first_file: r.first_file,
            last_file: r.last_file,
        })
        .collect();
    view.gaps = timeline
        .gaps
        .into_iter()
        .map(|g| GapView {
            from: g.from,
            after: g.after,
            resumed_at: g.resumed_at,
            reason: g.reason,
        })
        .collect();
    view.points = timeline
        .points
        .into_iter()
        .map(|p| BasePointView {
            coordinates: p.coordinates,
            id: p.id,
            taken_at: p.taken_at,
            unusable: p.unusable,
        })
        .collect();
    view.files = timeline.files;
    view.bytes = timeline.bytes;
    view.last_commit = timeline.last_commit;
    view.lag_seconds = timeline.lag_seconds;
    if let Some(status) = timeline.archiver {
        // An archiver that stopped without saying so (killed) reports no more.
        let fresh = (view.checked_at - status.updated_at).num_seconds() < STALE_AFTER_SECS;
        view.archiver_running = status.running && fresh;
        view.synced_at = status.synced_at;
        view.slot_retained_bytes = status.slot_retained_bytes;
        if view.archiver_error.is_none() {
            view.archiver_error = status.error;
        }
    }
    Ok(view)
}

#[cfg(test)]
#[path = "pitr_tests.rs"]
mod pitr_tests;
