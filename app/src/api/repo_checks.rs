//! A repository's scheduled checks: their plans (admins edit them), Run
//! now (operators), and the history of check runs with the damaged packs
//! and the points they break.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::repositories::VerifyProblem;
use crate::error::AppError;
use crate::model::CheckForm;

/// One check's plan as the page shows and edits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckPlanView {
    /// `structure` or `data`.
    pub kind: String,
    pub label: String,
    pub schedule: String,
    pub read_percent: u8,
    pub next_at: Option<DateTime<Utc>>,
    pub form: CheckForm,
}

/// One run of a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRunView {
    pub id: i64,
    pub kind: String,
    /// `manual` or `schedule`.
    pub trigger: String,
    /// `running`, `clean`, `damaged` or `failed`.
    pub outcome: String,
    pub read_percent: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub points: i64,
    pub objects: i64,
    pub packs_total: i64,
    pub packs_read: i64,
    pub bytes_read: i64,
    pub problems: Vec<VerifyProblem>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecksOverview {
    pub repository_id: i64,
    pub repository: String,
    pub plans: Vec<CheckPlanView>,
    /// Newest first.
    pub runs: Vec<CheckRunView>,
}

/// How many runs the page lists.
pub const HISTORY_ROWS: u32 = 50;

#[server(endpoint = "repositories/checks")]
pub async fn repository_checks(id: i64) -> Result<ChecksOverview, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::checks(&state, id).await
}

/// Saves one check's schedule (and the data check's share of packs).
#[server(endpoint = "repositories/checks/save")]
pub async fn save_repository_check(form: CheckForm) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Admin).await?;
    let target = format!(
        "repository {} {} check",
        form.repository_id.trim(),
        form.kind.trim()
    );
    let work = server::save(&state, form);
    crate::auth::audited(&state, &actor, "schedule repository check", &target, work).await
}

/// Runs one check now, as its plan says, and waits for it.
#[server(endpoint = "repositories/checks/run")]
pub async fn run_repository_check(id: i64, kind: String) -> Result<CheckRunView, AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Operator).await?;
    let target = format!("repository {id} {kind} check");
    let work = server::run_now(&state, id, &kind);
    crate::auth::audited(&state, &actor, "check repository", &target, work).await
}

#[cfg(feature = "ssr")]
pub mod server {
    use super::{CheckPlanView, CheckRunView, ChecksOverview, HISTORY_ROWS};
    use crate::api::repositories::VerifyProblem;
    use crate::catalog::CheckRunRecord;
    use crate::error::AppError;
    use crate::jobs::repo_checks::CheckTrigger;
    use crate::model::{CheckForm, CheckKind};
    use crate::state::AppState;

    /// The engine's problem as stored in the history.
    #[derive(serde::Deserialize)]
    struct StoredProblem {
        what: String,
        detail: String,
        #[serde(default)]
        affects: Vec<String>,
    }

    impl From<CheckRunRecord> for CheckRunView {
        fn from(r: CheckRunRecord) -> Self {
            let problems: Vec<StoredProblem> =
                serde_json::from_str(&r.problems).unwrap_or_default();
            CheckRunView {
                id: r.id,
                kind: r.kind,
                trigger: r.trigger,
                outcome: r.outcome,
                read_percent: r.read_percent,
                started_at: r.started_at,
                finished_at: r.finished_at,
                points: r.points,
                objects: r.objects,
                packs_total: r.packs_total,
                packs_read: r.packs_read,
                bytes_read: r.bytes_read,
                problems: problems
                    .into_iter()
                    .map(|p| VerifyProblem {
                        what: p.what,
                        detail: p.detail,
                        affects: p.affects,
                    })
                    .collect(),
                error: r.error,
            }
        }
    }

    async fn repository_name(state: &AppState, id: i64) -> Result<String, AppError> {
        state
            .catalog
            .repository(id)
            .await?
            .map(|r| r.name)
            .ok_or_else(|| AppError::NotFound(format!("repository {id}")))
    }

    pub async fn checks(state: &AppState, id: i64) -> Result<ChecksOverview, AppError> {
        let repository = repository_name(state, id).await?;
        let plans = state
            .catalog
            .check_plans(id)
            .await?
            .into_iter()
            .map(|r| CheckPlanView {
                kind: r.plan.kind.as_str().to_owned(),
                label: r.plan.kind.label().to_owned(),
                schedule: r.plan.schedule.label(),
                read_percent: r.plan.read_percent,
                next_at: r.next_at,
                form: r.plan.to_form(id),
            })
            .collect();
        let runs = state.catalog.check_runs(id, HISTORY_ROWS).await?;
        Ok(ChecksOverview {
            repository_id: id,
            repository,
            plans,
            runs: runs.into_iter().map(Into::into).collect(),
        })
    }

    pub async fn save(state: &AppState, form: CheckForm) -> Result<(), AppError> {
        let (id, plan) = form.parse().map_err(AppError::Validation)?;
        repository_name(state, id).await?;
        let next_at = plan.schedule.next_after(chrono::Utc::now());
        state.catalog.save_check_plan(id, &plan, next_at).await?;
        state.jobs.wake_scheduler();
        Ok(())
    }

    pub async fn run_now(state: &AppState, id: i64, kind: &str) -> Result<CheckRunView, AppError> {
        let kind = CheckKind::parse(kind).ok_or_else(|| AppError::Invalid {
            field: "kind".into(),
            message: "choose the structure or data check".into(),
        })?;
        let plan = state
            .catalog
            .check_plans(id)
            .await?
            .into_iter()
            .find(|p| p.plan.kind == kind)
            .ok_or_else(|| AppError::NotFound(format!("repository {id}")))?;
        let done = state
            .jobs
            .check_repository(
                id,
                kind,
                plan.plan.read_percent,
                plan.round,
                CheckTrigger::Manual,
            )
            .await?;
        state.catalog.bump_check_round(id, kind).await?;
        Ok(done.run.into())
    }
}
