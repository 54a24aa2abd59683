//! Run history: pages of a task's runs, one run's detail, running jobs.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::sources::SourceObject;
use crate::error::AppError;
use crate::model::{JobProgress, JobText};

pub const PER_PAGE: u32 = 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: i64,
    pub task_id: i64,
    pub trigger: String,
    pub late: bool,
    pub attempt: i64,
    pub state: String,
    pub mode: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub point: Option<String>,
    /// The run directory in the repository: what an administrator copies.
    pub backup_path: Option<String>,
    pub objects: i64,
    pub bytes: i64,
    pub bytes_stored: i64,
    pub chunks: i64,
    pub new_chunks: i64,
    pub error: Option<String>,
    /// What kind of failure `error` is, for the page to head it with.
    #[serde(default)]
    pub error_kind: Option<String>,
    /// When a passed restore drill last proved this run's point.
    #[serde(default)]
    pub proven_at: Option<DateTime<Utc>>,
}

impl RunSummary {
    pub fn duration_secs(&self) -> Option<f64> {
        self.finished_at
            .map(|end| (end - self.started_at).num_milliseconds() as f64 / 1000.0)
    }

    /// Chunks referenced per chunk newly stored; None when nothing was new.
    pub fn dedup_ratio(&self) -> Option<f64> {
        (self.new_chunks > 0).then(|| self.chunks as f64 / self.new_chunks as f64)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub task_id: i64,
    pub task_name: String,
    pub runs: Vec<RunSummary>,
    pub total: u64,
    pub page: u32,
    pub pages: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub level: String,
    pub message: String,
    /// The line as a sentence the console translates, when it is one.
    #[serde(default)]
    pub text: Option<JobText>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: RunSummary,
    pub task_name: String,
    pub logs: Vec<LogLine>,
    /// The objects the run's point holds (read from its manifest).
    pub objects: Vec<SourceObject>,
    /// Why the objects could not be listed, if they could not.
    pub objects_error: Option<String>,
}

#[cfg(feature = "ssr")]
impl From<crate::catalog::RunRecord> for RunSummary {
    fn from(r: crate::catalog::RunRecord) -> Self {
        RunSummary {
            id: r.id,
            task_id: r.task_id,
            trigger: r.trigger,
            late: r.late,
            attempt: r.attempt,
            state: r.state,
            mode: r.mode,
            started_at: r.started_at,
            finished_at: r.finished_at,
            point: r.point,
            backup_path: r.backup_path,
            objects: r.objects,
            bytes: r.bytes,
            bytes_stored: r.bytes_stored,
            chunks: r.chunks,
            new_chunks: r.new_chunks,
            error: r.error,
            error_kind: r.error_kind,
            proven_at: None,
        }
    }
}

/// One page (1-based) of a task's runs, newest first, optionally one state only.
#[server(endpoint = "runs")]
pub async fn list_runs(
    task_id: i64,
    state: Option<String>,
    page: u32,
) -> Result<HistoryPage, AppError> {
    let app = crate::state::allowed(crate::model::Role::Viewer).await?;
    history(&app, task_id, state.as_deref(), page).await
}

#[server(endpoint = "runs/get")]
pub async fn get_run(id: i64) -> Result<RunDetail, AppError> {
    let app = crate::state::allowed(crate::model::Role::Viewer).await?;
    detail(&app, id).await
}

/// One page (1-based) of a task's runs, newest first; `state` one of the
/// run states, or none (or `all`) for every run.
#[cfg(feature = "ssr")]
pub async fn history(
    app: &crate::state::AppState,
    task_id: i64,
    state: Option<&str>,
    page: u32,
) -> Result<HistoryPage, AppError> {
    let task = app
        .catalog
        .task(task_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("task {task_id}")))?;
    let filter = match state {
        None | Some("") | Some("all") => None,
        Some(text) => {
            Some(
                crate::model::RunState::parse(text).ok_or_else(|| AppError::Invalid {
                    field: "state".into(),
                    message: format!("{text:?} is not a run state"),
                })?,
            )
        }
    };
    let page = page.max(1);
    let (runs, total) = app
        .catalog
        .task_runs(
            task_id,
            filter,
            (page - 1).saturating_mul(PER_PAGE),
            PER_PAGE,
        )
        .await?;
    let proven: std::collections::HashMap<String, DateTime<Utc>> = app
        .catalog
        .proven_points(task_id)
        .await?
        .into_iter()
        .collect();
    Ok(HistoryPage {
        task_id,
        task_name: task.settings.name,
        runs: runs
            .into_iter()
            .map(|r| {
                let mut summary = RunSummary::from(r);
                summary.proven_at = summary.point.as_ref().and_then(|p| proven.get(p).copied());
                summary
            })
            .collect(),
        total,
        page,
        pages: u32::try_from(total.div_ceil(u64::from(PER_PAGE)))
            .unwrap_or(u32::MAX)
            .max(1),
    })
}

/// A run with its log and, when it succeeded, the objects of its point.
#[cfg(feature = "ssr")]
pub async fn detail(app: &crate::state::AppState, id: i64) -> Result<RunDetail, AppError> {
    let run = app
        .catalog
        .run(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("run {id}")))?;
    let task = app.catalog.task(run.task_id).await?;
    let logs = app
        .catalog
        .run_logs(id)
        .await?
        .into_iter()
        .map(|l| LogLine {
            at: l.at,
            level: l.level,
            message: l.message,
            text: JobText::from_stored(l.message_key, l.message_args),
        })
        .collect();
    let repository = match &task {
        Some(t) => app.catalog.repository(t.settings.repository_id).await?,
        None => None,
    };
    let (objects, objects_error) = match (run.state.as_str(), &run.point, repository) {
        ("succeeded", Some(point), Some(repo)) => {
            match point_objects(repo.access(), point.clone()).await {
                Ok(objects) => (objects, None),
                Err(err) => (Vec::new(), Some(err.to_string())),
            }
        }
        _ => (Vec::new(), None),
    };
    Ok(RunDetail {
        run: run.into(),
        task_name: task.map(|t| t.settings.name).unwrap_or_default(),
        logs,
        objects,
        objects_error,
    })
}

#[cfg(feature = "ssr")]
async fn point_objects(
    repository: crate::repo_access::RepoAccess,
    point: String,
) -> Result<Vec<SourceObject>, AppError> {
    crate::error::blocking(move || {
        let repo = repository.open_for_request()?;
        let manifest = repo.point(&point)?;
        Ok(manifest
            .objects
            .into_iter()
            .map(|o| SourceObject {
                kind: o.kind.as_str().to_owned(),
                name: o.name,
                size: o.size,
                rows: o.rows,
            })
            .collect())
    })
    .await
}

/// Every running job's progress now (the live feed continues from here).
#[server(endpoint = "jobs")]
pub async fn running_jobs() -> Result<Vec<JobProgress>, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    Ok(state.jobs.snapshots())
}
