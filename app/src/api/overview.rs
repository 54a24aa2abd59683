use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A failed run for the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRun {
    pub run_id: i64,
    pub task: String,
    pub at: DateTime<Utc>,
    pub error: String,
}

/// A task's next scheduled run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextRun {
    pub task_id: i64,
    pub task: String,
    pub at: DateTime<Utc>,
}

/// A task's recovery figures for the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecovery {
    pub task_id: i64,
    pub task: String,
    pub status: crate::model::RecoveryStatus,
}

/// A failed drill or an RPO/RTO breach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryProblem {
    pub task_id: i64,
    pub task: String,
    pub problem: String,
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub version: String,
    pub catalog_backend: String,
    pub schema_version: i64,
    pub repositories: i64,
    pub sources: i64,
    pub tasks: u64,
    pub data_dir: String,
    pub started_at: DateTime<Utc>,
    pub checked_at: DateTime<Utc>,
    pub failures: Vec<FailedRun>,
    pub next_runs: Vec<NextRun>,
    pub running: Vec<crate::model::JobProgress>,
    /// (id, name) of each repository, for the usage card.
    pub repository_names: Vec<(i64, String)>,
    /// Every task's RPO/RTO figures, by name.
    pub recovery: Vec<TaskRecovery>,
    /// Failed drills and breaches when the overview was read.
    pub problems: Vec<RecoveryProblem>,
    /// Notification channels whose newest delivery did not arrive.
    #[serde(default)]
    pub failing_channels: Vec<FailingChannel>,
}

/// A channel that keeps failing, for the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailingChannel {
    pub channel: String,
    pub error: String,
    pub since: DateTime<Utc>,
}

#[server(endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    use std::collections::HashMap;
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    let catalog = &state.catalog;
    let tasks = catalog.list_tasks().await?;
    let names: HashMap<i64, String> = tasks
        .iter()
        .map(|t| (t.id, t.settings.name.clone()))
        .collect();
    let mut next_runs: Vec<NextRun> = tasks
        .iter()
        .filter_map(|t| {
            t.next_run_at.map(|at| NextRun {
                task_id: t.id,
                task: t.settings.name.clone(),
                at,
            })
        })
        .collect();
    next_runs.sort_by_key(|n| n.at);
    next_runs.truncate(5);
    let failures = catalog
        .recent_failures(5)
        .await?
        .into_iter()
        .map(|r| FailedRun {
            run_id: r.id,
            task: names.get(&r.task_id).cloned().unwrap_or_default(),
            at: r.finished_at.unwrap_or(r.started_at),
            error: r.error.unwrap_or_default(),
        })
        .collect();
    let checked_at = Utc::now();
    let mut by_task = crate::api::drills::server::recovery_by_task(catalog, &tasks).await?;
    let recovery: Vec<TaskRecovery> = tasks
        .iter()
        .map(|t| TaskRecovery {
            task_id: t.id,
            task: t.settings.name.clone(),
            status: by_task.remove(&t.id).unwrap_or_default(),
        })
        .collect();
    let problems = recovery
        .iter()
        .flat_map(|r| {
            r.status
                .problems(checked_at)
                .into_iter()
                .map(|problem| RecoveryProblem {
                    task_id: r.task_id,
                    task: r.task.clone(),
                    problem,
                })
        })
        .collect();
    Ok(Overview {
        version: state.info.version.to_owned(),
        catalog_backend: catalog.backend().to_owned(),
        schema_version: catalog.schema_version().await?,
        repositories: catalog.count_repositories().await?,
        sources: catalog.count_sources().await?,
        tasks: tasks.len() as u64,
        data_dir: state.info.data_dir.display().to_string(),
        started_at: state.info.started_at,
        checked_at,
        failures,
        next_runs,
        running: state.jobs.snapshots(),
        repository_names: catalog
            .list_repositories()
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect(),
        recovery,
        problems,
        failing_channels: catalog
            .failing_channels()
            .await?
            .into_iter()
            .map(|f| FailingChannel {
                channel: f.channel,
                error: f.error,
                since: f.since,
            })
            .collect(),
    })
}
