//! The server side of the drill functions, and the RPO/RTO figures the
//! task list and the dashboard show.

use std::collections::HashMap;

use chrono::Utc;

use super::{DrillCheckView, DrillPhaseView, DrillRunView, DrillsPage, DRILLS_SHOWN};
use crate::catalog::{Catalog, DrillRunRecord, DrillTrigger, TaskRecord};
use crate::error::AppError;
use crate::jobs::drills::DrillStartError;
use crate::model::RecoveryStatus;
use crate::state::AppState;

impl From<DrillStartError> for AppError {
    fn from(err: DrillStartError) -> Self {
        match err {
            DrillStartError::NoTask(id) => AppError::NotFound(format!("task {id}")),
            DrillStartError::Catalog(db) => db.into(),
            other => AppError::Conflict(other.to_string()),
        }
    }
}

impl From<DrillRunRecord> for DrillRunView {
    fn from(r: DrillRunRecord) -> Self {
        // Written by this server from the engine's own types; an unreadable
        // list shows as empty rather than failing the page.
        let phases: Vec<DrillPhaseView> = serde_json::from_str(&r.phases).unwrap_or_default();
        let checks: Vec<DrillCheckView> = serde_json::from_str(&r.checks).unwrap_or_default();
        DrillRunView {
            id: r.id,
            task_id: r.task_id,
            trigger: r.trigger,
            status: r.status,
            point: r.point,
            point_finished_at: r.point_finished_at,
            sandbox: r.sandbox,
            started_at: r.started_at,
            finished_at: r.finished_at,
            rto_seconds: r.rto_seconds,
            seconds: r.seconds,
            bytes: r.bytes,
            rows: r.rows,
            objects: r.objects,
            phases,
            checks,
            error: r.error,
        }
    }
}

/// The checks of a task's drill plan that need the catalog: the drill
/// server is a PostgreSQL source marked as one, not the task's own source,
/// and fits the task's kind; SQL checks need a database.
pub async fn validate_recovery(
    catalog: &Catalog,
    settings: &crate::model::TaskSettings,
) -> Result<Vec<crate::model::FieldError>, sqlx::Error> {
    use crate::model::{FieldError, SourceKind};
    let mut errors = Vec::new();
    let kind = catalog
        .source(settings.source_id)
        .await?
        .and_then(|s| s.kind());
    let recovery = &settings.recovery;
    if let Some(id) = recovery.drill_server_id {
        let server = catalog.source(id).await?;
        let problem = match &server {
            None => Some("this data source no longer exists".to_owned()),
            Some(_) if id == settings.source_id => Some(
                "a drill never restores into the task's own source; choose another drill server"
                    .to_owned(),
            ),
            Some(s) if !s.drill_server => Some(format!(
                "data source {:?} is not marked drill server (mark it on the Data sources page)",
                s.name
            )),
            Some(_) if matches!(kind, Some(SourceKind::FileTree | SourceKind::Sqlite)) => Some(
                "files and SQLite are drilled in a scratch directory: choose automatic".to_owned(),
            ),
            Some(s) if s.kind() != kind => Some(format!(
                "data source {:?} is a {} server; this task backs up {}",
                s.name,
                s.kind().map_or("different", SourceKind::label),
                kind.map_or("another kind of data", SourceKind::label)
            )),
            Some(_) => None,
        };
        if let Some(problem) = problem {
            errors.push(FieldError::new("drill_server_id", problem));
        }
    }
    if !recovery.checks.is_empty() && kind == Some(SourceKind::FileTree) {
        errors.push(FieldError::new(
            "drill_checks",
            crate::tr!(validation.sql_checks_need_database),
        ));
    }
    Ok(errors)
}

/// Every task's recovery figures, by task id.
pub async fn recovery_by_task(
    catalog: &Catalog,
    tasks: &[TaskRecord],
) -> Result<HashMap<i64, RecoveryStatus>, sqlx::Error> {
    let newest: HashMap<i64, _> = catalog.newest_good_points().await?.into_iter().collect();
    let proven: HashMap<i64, DrillRunRecord> = catalog
        .last_passed_drills()
        .await?
        .into_iter()
        .map(|d| (d.task_id, d))
        .collect();
    let last: HashMap<i64, DrillRunRecord> = catalog
        .last_finished_drills()
        .await?
        .into_iter()
        .map(|d| (d.task_id, d))
        .collect();
    Ok(tasks
        .iter()
        .map(|task| {
            let proven = proven.get(&task.id);
            let targets = &task.settings.recovery;
            let status = RecoveryStatus {
                newest_point_at: newest.get(&task.id).copied(),
                rpo_target_secs: targets.rpo_target_secs,
                proven_point: proven.and_then(|d| d.point.clone()),
                proven_point_at: proven.and_then(|d| d.point_finished_at),
                proven_at: proven.and_then(|d| d.finished_at),
                proven_rto_secs: proven.and_then(|d| d.rto_seconds),
                rto_target_secs: targets.rto_target_secs,
                last_drill_error: last
                    .get(&task.id)
                    .filter(|d| d.status == "failed")
                    .map(|d| {
                        d.error
                            .clone()
                            .unwrap_or_else(|| "no reason recorded".into())
                    }),
            };
            (task.id, status)
        })
        .collect())
}

pub async fn task_drills(state: &AppState, task_id: i64) -> Result<DrillsPage, AppError> {
    let task = state
        .catalog
        .task(task_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("task {task_id}")))?;
    let recovery = recovery_by_task(&state.catalog, std::slice::from_ref(&task))
        .await?
        .remove(&task_id)
        .unwrap_or_default();
    let runs = state
        .catalog
        .drill_runs(task_id, DRILLS_SHOWN)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(DrillsPage {
        task_id,
        task_name: task.settings.name.clone(),
        plan: task.settings.recovery.drill.label(),
        recovery,
        checked_at: Utc::now(),
        runs,
        running: state.jobs.drill_live(task_id),
    })
}

/// Drills the failed run's point again (the plan's choice when it had none).
pub async fn retry(state: &AppState, run_id: i64) -> Result<i64, AppError> {
    let run = state
        .catalog
        .drill_run(run_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("drill run {run_id}")))?;
    if run.status != "failed" {
        return Err(AppError::Conflict(format!(
            "drill run {run_id} is {}: only a failed drill is retried; use Run drill now",
            run.status
        )));
    }
    let again = state
        .jobs
        .start_drill(run.task_id, DrillTrigger::Retry, run.point)
        .await?;
    Ok(again.id)
}

#[cfg(test)]
#[path = "drills_server_tests.rs"]
mod tests;
