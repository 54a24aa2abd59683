//! Copy jobs: list them with their last run, save (admins), delete
//! (admins), Run now (operators), and each job's history.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::CopyJobForm;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyRunView {
    pub id: i64,
    pub trigger: String,
    /// `running`, `succeeded` or `failed`.
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub copied: Vec<String>,
    pub points_present: i64,
    pub chunks_written: i64,
    pub chunks_present: i64,
    pub bytes_written: i64,
    pub points_pruned: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyJobView {
    pub id: i64,
    pub name: String,
    pub from: String,
    pub to: String,
    /// The task copied; every task when none.
    pub task: Option<String>,
    pub schedule: String,
    pub keep_last: Option<u32>,
    pub enabled: bool,
    pub next_at: Option<DateTime<Utc>>,
    /// Newest first.
    pub runs: Vec<CopyRunView>,
    pub form: CopyJobForm,
}

/// How many runs of each job the page lists.
pub const HISTORY_ROWS: u32 = 10;

#[server(endpoint = "copies")]
pub async fn list_copy_jobs() -> Result<Vec<CopyJobView>, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::list(&state).await
}

/// Creates a copy job, or with `id` changes one.
#[server(endpoint = "copies/save")]
pub async fn save_copy_job(id: Option<i64>, form: CopyJobForm) -> Result<i64, AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Admin).await?;
    let target = form.name.trim().to_owned();
    let action = if id.is_some() {
        "edit copy job"
    } else {
        "create copy job"
    };
    let work = server::save(&state, id, form);
    crate::auth::audited(&state, &actor, action, &target, work).await
}

/// Forgets a copy job and its history; the copied points stay.
#[server(endpoint = "copies/delete")]
pub async fn delete_copy_job(id: i64) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Admin).await?;
    let work = async {
        if state.catalog.delete_copy_job(id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("copy job {id}")))
        }
    };
    crate::auth::audited(
        &state,
        &actor,
        "delete copy job",
        &format!("copy job {id}"),
        work,
    )
    .await
}

/// Runs a copy job now and waits for it.
#[server(endpoint = "copies/run")]
pub async fn run_copy_job(id: i64) -> Result<CopyRunView, AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Operator).await?;
    let work = async {
        let run = state
            .jobs
            .run_copy_job(id, crate::jobs::repo_checks::CheckTrigger::Manual)
            .await?;
        Ok(CopyRunView::from(run))
    };
    crate::auth::audited(
        &state,
        &actor,
        "run copy job",
        &format!("copy job {id}"),
        work,
    )
    .await
}

#[cfg(feature = "ssr")]
pub mod server {
    use std::collections::HashMap;

    use super::{CopyJobView, CopyRunView, HISTORY_ROWS};
    use crate::catalog::CopyRunRecord;
    use crate::error::AppError;
    use crate::model::{CopyJobForm, FieldError};
    use crate::state::AppState;

    impl From<CopyRunRecord> for CopyRunView {
        fn from(r: CopyRunRecord) -> Self {
            CopyRunView {
                id: r.id,
                trigger: r.trigger,
                state: r.state,
                started_at: r.started_at,
                finished_at: r.finished_at,
                copied: serde_json::from_str(&r.copied).unwrap_or_default(),
                points_present: r.points_present,
                chunks_written: r.chunks_written,
                chunks_present: r.chunks_present,
                bytes_written: r.bytes_written,
                points_pruned: r.points_pruned,
                error: r.error,
            }
        }
    }

    pub async fn list(state: &AppState) -> Result<Vec<CopyJobView>, AppError> {
        let names: HashMap<i64, String> = state
            .catalog
            .list_repositories()
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect();
        let mut out = Vec::new();
        for job in state.catalog.copy_jobs().await? {
            let runs = state.catalog.copy_runs(job.id, HISTORY_ROWS).await?;
            let s = &job.settings;
            let name_of = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
            out.push(CopyJobView {
                id: job.id,
                name: s.name.clone(),
                from: name_of(s.from_repository_id),
                to: name_of(s.to_repository_id),
                task: s.task.clone(),
                schedule: s.schedule.label(),
                keep_last: s.keep_last,
                enabled: s.enabled,
                next_at: job.next_at,
                runs: runs.into_iter().map(Into::into).collect(),
                form: s.to_form(),
            });
        }
        Ok(out)
    }

    pub async fn save(
        state: &AppState,
        id: Option<i64>,
        form: CopyJobForm,
    ) -> Result<i64, AppError> {
        let settings = form.parse().map_err(AppError::Validation)?;
        let mut errors = Vec::new();
        for (field, repository) in [
            ("from_repository_id", settings.from_repository_id),
            ("to_repository_id", settings.to_repository_id),
        ] {
            if state.catalog.repository(repository).await?.is_none() {
                errors.push(FieldError::new(
                    field,
                    crate::tr!(validation.no_such_repository),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let id = match id {
            None => state.catalog.insert_copy_job(&settings).await?.id,
            Some(id) => {
                state
                    .catalog
                    .update_copy_job(id, &settings)
                    .await?
                    .ok_or_else(|| AppError::NotFound(format!("copy job {id}")))?
                    .id
            }
        };
        state.jobs.wake_scheduler();
        Ok(id)
    }
}
