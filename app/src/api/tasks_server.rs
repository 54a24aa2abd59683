//! The server side of the task functions.

use std::collections::HashMap;

use tidemark_engine::prune::{plan_prune, run_prune, PruneOptions};
use tidemark_engine::restore::Outcome;
use tidemark_engine::{CancelToken, NoProgress};

use super::{Check, DeleteReport, TaskRow};
use crate::catalog::TaskRecord;
use crate::error::{blocking, AppError};
use crate::model::{FieldError, SourceKind, TaskForm, TaskSettings};
use crate::state::AppState;

pub async fn load_task(state: &AppState, id: i64) -> Result<TaskRecord, AppError> {
    state
        .catalog
        .task(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("task {id}")))
}

pub async fn list_tasks(state: &AppState) -> Result<Vec<TaskRow>, AppError> {
    let catalog = &state.catalog;
    let sources: HashMap<i64, String> = catalog
        .list_sources()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let repositories: HashMap<i64, String> = catalog
        .list_repositories()
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let mut last: HashMap<i64, crate::catalog::RunRecord> = catalog
        .last_runs()
        .await?
        .into_iter()
        .map(|r| (r.task_id, r))
        .collect();
    let tasks = catalog.list_tasks().await?;
    let mut recovery = crate::api::drills::server::recovery_by_task(catalog, &tasks).await?;
    let checked_at = chrono::Utc::now();
    let rows = tasks
        .into_iter()
        .map(|task| {
            let s = &task.settings;
            let run = last.remove(&task.id);
            TaskRow {
                id: task.id,
                name: s.name.clone(),
                source: sources.get(&s.source_id).cloned().unwrap_or_default(),
                repository: repositories
                    .get(&s.repository_id)
                    .cloned()
                    .unwrap_or_default(),
                schedule: s.schedule.label(),
                policy: s.policy.label(),
                enabled: s.enabled,
                last_state: run.as_ref().map(|r| r.state.clone()),
                last_run_at: run.as_ref().map(|r| r.started_at),
                last_error: run.and_then(|r| r.error),
                next_run_at: task.next_run_at,
                retry_at: task.retry_at,
                running: state.jobs.is_running(task.id),
                recovery: recovery.remove(&task.id).unwrap_or_default(),
                checked_at,
            }
        })
        .collect();
    Ok(rows)
}

pub async fn copy_form(state: &AppState, id: i64) -> Result<TaskForm, AppError> {
    let task = load_task(state, id).await?;
    let mut form = task.settings.to_form();
    // The original name is shortened when needed, never the suffix: a
    // shortened suffix could give back the original name itself.
    let with_suffix = |suffix: &str| {
        task.settings
            .name
            .chars()
            .take(crate::model::MAX_TASK_NAME - suffix.chars().count())
            .collect::<String>()
            + suffix
    };
    let mut name = with_suffix("-copy");
    let mut n = 2;
    while state.catalog.task_name_taken(&name, None).await? {
        name = with_suffix(&format!("-copy-{n}"));
        n += 1;
    }
    form.name = name;
    form.source_id = String::new();
    form.content_mode = "objects".into();
    form.content_objects = String::new();
    form.content_parent = String::new();
    form.content_regex = String::new();
    Ok(form)
}

/// The form's settings with every check that needs the catalog too.
async fn validate(
    state: &AppState,
    id: Option<i64>,
    form: &TaskForm,
) -> Result<TaskSettings, AppError> {
    let mut errors = Vec::new();
    let parsed = form.parse();
    if let Err(form_errors) = &parsed {
        errors.extend(form_errors.iter().cloned());
    }
    let name = form.name.trim();
    if !name.is_empty() && state.catalog.task_name_taken(name, id).await? {
        errors.push(FieldError::in_use("name", "another task has this name"));
    }
    if let Ok(settings) = &parsed {
        match state.catalog.source(settings.source_id).await? {
            None => errors.push(FieldError::new(
                "source_id",
                crate::tr!(validation.this_data_source_no_longer_exists),
            )),
            Some(source) if settings.continuous => {
                if let Some(why) = continuous_refused(source.kind()) {
                    errors.push(FieldError::new("continuous", why));
                }
            }
            Some(_) => {}
        }
        if state
            .catalog
            .repository(settings.repository_id)
            .await?
            .is_none()
        {
            errors.push(FieldError::new(
                "repository_id",
                crate::tr!(validation.this_repository_no_longer_exists),
            ));
        }
        errors
            .extend(crate::api::drills::server::validate_recovery(&state.catalog, settings).await?);
        for pattern in settings.content.include_patterns() {
            if let Err(err) = regex::Regex::new(&pattern) {
                errors.push(FieldError::new(
                    "content_regex",
                    crate::tr!(validation.not_a_regex, err),
                ));
            }
        }
    }
    match parsed {
        Ok(settings) if errors.is_empty() => Ok(settings),
        _ => Err(AppError::Validation(errors)),
    }
}

/// Why a task of a source of this kind cannot be continuous, if it cannot.
pub fn continuous_refused(kind: Option<SourceKind>) -> Option<String> {
    match kind {
        Some(SourceKind::MySql | SourceKind::PgCluster) => None,
        Some(kind) => Some(format!(
            "continuous archiving copies MariaDB binary logs or a PostgreSQL cluster's WAL: this data source is {}, choose a MariaDB or PostgreSQL cluster source or untick continuous",
            kind.label()
        )),
        None => Some("continuous archiving copies MariaDB binary logs or a PostgreSQL cluster's WAL: this data source's kind is unknown".into()),
    }
}

pub async fn save(
    state: &AppState,
    id: Option<i64>,
    form: TaskForm,
    stop_running: bool,
) -> Result<i64, AppError> {
    let settings = validate(state, id, &form).await?;
    let saved = match id {
        None => state.catalog.insert_task(&settings).await?,
        Some(id) => {
            if state.jobs.is_running(id) {
                if !stop_running {
                    return Err(AppError::Conflict(
                        "this task is running: confirm to stop the current run and apply the new settings".into(),
                    ));
                }
                tracing::info!(task = %settings.name, "stopping the running job to apply new settings");
                state.jobs.stop_and_wait(id).await;
            }
            state
                .catalog
                .update_task(id, &settings)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("task {id}")))?
        }
    };
    state.jobs.wake_scheduler();
    tracing::info!(task = %saved.settings.name, "task saved");
    Ok(saved.id)
}

fn check(name: &str, result: Result<String, String>) -> Check {
    let passed = result.is_ok();
    Check {
        name: name.to_owned(),
        passed,
        detail: result.unwrap_or_else(|e| e),
    }
}

pub async fn verify(
    state: &AppState,
    id: Option<i64>,
    form: TaskForm,
) -> Result<Vec<Check>, AppError> {
    let mut checks = Vec::new();
    let name = form.name.trim().to_owned();
    checks.push(check(
        "Name is free",
        if name.is_empty() {
            Err("the task has no name".into())
        } else if state.catalog.task_name_taken(&name, id).await? {
            Err(format!("another task is named {name:?}"))
        } else {
            Ok(format!("no other task is named {name:?}"))
        },
    ));
    let settings = form.parse();
    checks.push(check(
        "Settings are complete",
        match &settings {
            Ok(_) => Ok("every field is valid".into()),
            Err(errors) => Err(errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")),
        },
    ));

    let source = match form.source_id.trim().parse::<i64>() {
        Ok(id) => state.catalog.source(id).await?,
        Err(_) => None,
    };
    match source.and_then(|s| s.url().map(|url| (s, url))) {
        None => checks.push(check(
            "Data source is reachable",
            Err("no data source is chosen".into()),
        )),
        Some((source, url)) => {
            let reached = super::super::sources::describe(url.clone(), Vec::new()).await;
            checks.push(check(
                "Data source is reachable",
                reached.as_ref().map_err(ToString::to_string).map(|l| {
                    format!(
                        "{} holds {} objects ({} bytes)",
                        source.location, l.total, l.total_bytes
                    )
                }),
            ));
            if reached.is_ok() {
                let content = match form.content() {
                    Ok(content) => {
                        super::super::sources::describe(url.clone(), content.include_patterns())
                            .await
                            .map_err(|e| e.to_string())
                            .and_then(|l| {
                                if l.total == 0 {
                                    Err("the content selects nothing in the source".to_owned())
                                } else {
                                    Ok(format!(
                                        "{} objects, {} bytes selected",
                                        l.total, l.total_bytes
                                    ))
                                }
                            })
                    }
                    Err(e) => Err(e.message),
                };
                checks.push(check("Content exists and is not empty", content));
                if form.continuous.is_some() {
                    checks.extend(continuous_checks(source.kind(), url).await?);
                }
            }
        }
    }

    let repository = match form.repository_id.trim().parse::<i64>() {
        Ok(id) => state.catalog.repository(id).await?,
        Err(_) => None,
    };
    let repo_check = match repository {
        None => Err("no repository is chosen".to_owned()),
        Some(repo) => {
            blocking(move || {
                let opened = repo
                    .access()
                    .open_for_request()
                    .and_then(|r| r.check_writable().map(|()| r).map_err(Into::into));
                Ok(opened
                    .map(|r| format!("{} is reachable and writable", r.location()))
                    .map_err(|e| e.field("passphrase").unwrap_or_else(|| e.to_string())))
            })
            .await?
        }
    };
    checks.push(check("Repository is reachable and writable", repo_check));
    Ok(checks)
}

/// What continuous archiving needs of the source (MariaDB: binary
/// logging, row format, full images, retention, privileges; a PostgreSQL
/// cluster: wal_level, senders, slots, the REPLICATION attribute, the
/// server's own tools), each item naming the setting to change.
async fn continuous_checks(kind: Option<SourceKind>, url: String) -> Result<Vec<Check>, AppError> {
    if let Some(why) = continuous_refused(kind) {
        return Ok(vec![check("Continuous archiving", Err(why))]);
    }
    let stream = if kind == Some(SourceKind::PgCluster) {
        "WAL"
    } else {
        "Binary logs"
    };
    blocking(move || {
        let source = tidemark_engine::SourceUrl::parse(&url)?;
        Ok(tidemark_engine::archive::source_checks(&source)
            .into_iter()
            .map(|c| {
                let name = format!("{stream}: {}", c.name);
                match c.outcome {
                    Outcome::Pass => check(&name, Ok(c.detail)),
                    Outcome::Warn => check(&name, Ok(format!("warning: {}", c.detail))),
                    Outcome::Fail => check(&name, Err(c.detail)),
                }
            })
            .collect())
    })
    .await
}

pub async fn delete(
    state: &AppState,
    id: i64,
    delete_files: bool,
) -> Result<DeleteReport, AppError> {
    let task = load_task(state, id).await?;
    // A run in progress would publish a point after its files were deleted.
    state.jobs.stop_and_wait(id).await;
    state.jobs.stop_drill_and_wait(id).await;
    // Nor may its archiver write logs into the repository afterwards.
    state.jobs.stop_archiver_and_wait(id).await;
    let mut report = DeleteReport {
        task: task.settings.name.clone(),
        points_removed: 0,
        packs_deleted: 0,
        bytes_freed: 0,
        packs_shared: 0,
    };
    if delete_files {
        let repository = state
            .catalog
            .repository(task.settings.repository_id)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(
                    "the task's repository no longer exists; delete without files".into(),
                )
            })?;
        let name = task.settings.name.clone();
        report = blocking(move || {
            let repo = repository.access().open_for_request()?;
            let plan = plan_prune(&repo, &PruneOptions::forget_task(name))?;
            let stats = run_prune(&repo, &plan, &NoProgress, &CancelToken::new())?;
            Ok(DeleteReport {
                points_removed: stats.points_removed,
                packs_deleted: stats.packs_deleted,
                bytes_freed: stats.bytes_freed,
                packs_shared: plan.packs_partly_needed,
                ..report
            })
        })
        .await?;
    }
    state.catalog.delete_task(id).await?;
    tracing::info!(task = %report.task, files = delete_files, points = report.points_removed, "task deleted");
    Ok(report)
}

#[cfg(test)]
mod tasks_server_tests;
