//! The server side of the restore functions.

use std::collections::HashMap;

use tidemark_engine::Selection;

use super::{
    CheckItem, RestoreDetail, RestoreObjectState, RestorePreview, RestoreRow, TargetChoices,
};
use crate::catalog::{RestoreRecord, TaskRecord};
use crate::error::{blocking, AppError};
use crate::jobs::restore::{confine_target, create_missing, resolve};
use crate::model::{
    FieldError, ObjectChoice, PhaseTimes, RestoreForm, RestoreSettings, RestoreTarget, Role,
    SourceKind,
};
use crate::state::AppState;

#[path = "restores_checks.rs"]
mod checks;
#[path = "restores_points.rs"]
mod points;
pub use checks::check;
use checks::record_verify;
pub use points::{objects, points};

async fn task(state: &AppState, id: i64) -> Result<TaskRecord, AppError> {
    super::super::tasks::server::load_task(state, id).await
}

fn row(record: &RestoreRecord, task_names: &HashMap<i64, String>) -> RestoreRow {
    let r = &record.row;
    RestoreRow {
        id: r.id,
        name: r.name.clone(),
        task_id: r.task_id,
        task_name: r
            .task_id
            .and_then(|id| task_names.get(&id).cloned())
            .unwrap_or_else(|| "(deleted task)".into()),
        // A restore to a second has no point of its own: the list shows the second.
        point_id: match &record.settings.to_time {
            Some(time) => format!("{time} UTC (point in time)"),
            None => r.point_id.clone(),
        },
        target: r.target.clone(),
        state: r.state.clone(),
        phase: r.phase.clone(),
        created_at: r.created_at,
        finished_at: r.finished_at,
        error: r.error.clone(),
        error_kind: r.error_kind.clone(),
        bytes_total: u64::try_from(r.bytes_total).unwrap_or(0),
        bytes_loaded: u64::try_from(r.bytes_loaded).unwrap_or(0),
    }
}

async fn task_names(state: &AppState) -> Result<HashMap<i64, String>, AppError> {
    Ok(state
        .catalog
        .list_tasks()
        .await?
        .into_iter()
        .map(|t| (t.id, t.settings.name))
        .collect())
}

pub async fn list(state: &AppState) -> Result<Vec<RestoreRow>, AppError> {
    let names = task_names(state).await?;
    Ok(state
        .catalog
        .list_restores()
        .await?
        .iter()
        .map(|r| row(r, &names))
        .collect())
}

pub async fn targets(state: &AppState, task_id: i64) -> Result<TargetChoices, AppError> {
    let task = task(state, task_id).await?;
    let source = state
        .catalog
        .source(task.settings.source_id)
        .await?
        .ok_or_else(|| AppError::Conflict("the backup task's data source was deleted".into()))?;
    let kind = source
        .kind()
        .ok_or_else(|| AppError::Conflict("the data source's kind is unknown".into()))?;
    let all = state.catalog.list_sources().await?;
    let of_kind = |wanted: SourceKind| {
        all.iter()
            .filter(|s| s.kind() == Some(wanted))
            .map(|s| (s.id, s.name.clone(), s.location.clone()))
            .collect::<Vec<_>>()
    };
    // A cluster goes into a new data directory only; a database of it
    // can then be extracted into a PostgreSQL data source.
    let (sources, extract_sources) = match kind {
        SourceKind::PgCluster => (Vec::new(), of_kind(SourceKind::Postgres)),
        _ => (of_kind(kind), Vec::new()),
    };
    let roots = &state.info.restore_roots;
    Ok(TargetChoices {
        kind: kind.as_str().into(),
        path_allowed: matches!(
            kind,
            SourceKind::FileTree | SourceKind::Sqlite | SourceKind::PgCluster
        ),
        sources,
        extract_sources,
        original_source_id: source.id,
        restore_roots: roots
            .roots()
            .iter()
            .map(|r| r.display().to_string())
            .collect(),
        admin_anywhere: roots.admin_anywhere(),
    })
}

pub async fn new_form(
    state: &AppState,
    task_id: Option<i64>,
    point_id: Option<String>,
) -> Result<RestoreForm, AppError> {
    let mut form = RestoreForm {
        objects_mode: "all".into(),
        target_mode: "new".into(),
        structure: "stop".into(),
        data: "stop".into(),
        verify: "content".into(),
        timeout_min: "1440".into(),
        ..RestoreForm::default()
    };
    let Some(task_id) = task_id else {
        return Ok(form);
    };
    let task = task(state, task_id).await?;
    form.task_id = task_id.to_string();
    let base: String = task.settings.name.chars().take(50).collect();
    let mut name = format!("{base}-restore");
    let mut n = 2;
    while state.catalog.restore_name_taken(&name).await? {
        name = format!("{base}-restore-{n}");
        n += 1;
    }
    form.name = name;
    let choices = targets(state, task_id).await?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let dir = match state.info.restore_roots.roots().first() {
        Some(root) => root.clone(),
        None => state.info.data_dir.join("restores"),
    };
    if choices.path_allowed {
        // Advised: a new path, never the backup's own source.
        let leaf = if choices.kind == "sqlite" {
            format!("{base}-{stamp}.db")
        } else {
            format!("{base}-{stamp}")
        };
        form.target_path = dir.join(leaf).display().to_string();
    } else {
        form.target_mode = "source".into();
        form.target_source_id = choices.original_source_id.to_string();
    }
    if let Some(point) = point_id {
        // Read from the first repository holding it: the task's own, or a
        // copy when the own repository no longer has it.
        let repository = points(state, task_id)
            .await?
            .points
            .into_iter()
            .find(|p| p.id == point)
            .and_then(|p| p.locations.first().map(|l| l.repository_id));
        form.repository_id = repository.map(|id| id.to_string()).unwrap_or_default();
        form.objects = objects(state, task_id, point.clone(), repository)
            .await?
            .into_iter()
            .map(|o| ObjectChoice {
                target_name: o.name.clone(),
                name: o.name,
                selected: true,
                ..ObjectChoice::default()
            })
            .collect();
        form.point_id = point;
    }
    Ok(form)
}

/// The form's settings with the checks that need the catalog.
pub async fn validate(
    state: &AppState,
    form: &RestoreForm,
    checking: bool,
    role: Role,
) -> Result<RestoreSettings, AppError> {
    let mut errors = match form.parse() {
        Ok(_) => Vec::new(),
        Err(errors) => errors,
    };
    let name = form.name.trim();
    if !checking && !name.is_empty() && state.catalog.restore_name_taken(name).await? {
        errors.push(FieldError::in_use(
            "name",
            "another restore task has this name",
        ));
    }
    for object in &form.objects {
        for (label, text) in [("since", &object.since), ("until", &object.until)] {
            if !text.trim().is_empty() {
                if let Err(err) = Selection::parse_time(text) {
                    errors.push(FieldError::new(
                        "objects",
                        format!("{} {label}: {err}", object.name),
                    ));
                }
            }
        }
    }
    if let Ok(settings) = form.parse() {
        if let Some(Err(why)) = confine_target(&state.info.restore_roots, &settings, role) {
            errors.push(FieldError::new("target_path", why));
        }
    }
    let mut settings = match form.parse() {
        Ok(settings) if errors.is_empty() => settings,
        _ => return Err(AppError::Validation(errors)),
    };
    // The task's own repository is stored as none, so settings saved
    // before copies existed keep their fingerprint.
    if let (Some(id), Ok(task)) = (settings.repository_id, task(state, settings.task_id).await) {
        if task.settings.repository_id == id {
            settings.repository_id = None;
        }
    }
    if let Err(why) = resolve(&state.catalog, &settings).await {
        let field = match settings.target {
            RestoreTarget::NewPath(_) => "target_path",
            RestoreTarget::Source(_) => "target_source_id",
        };
        let field = if why.contains("backup task was deleted") {
            "task_id"
        } else if why.contains("extract") {
            "extract_source_id"
        } else if why.contains("copy") {
            "repository_id"
        } else {
            field
        };
        return Err(AppError::Validation(vec![FieldError::new(field, why)]));
    }
    Ok(settings)
}

pub async fn create(state: &AppState, form: RestoreForm, role: Role) -> Result<i64, AppError> {
    let settings = validate(state, &form, false, role).await?;
    let target = resolve(&state.catalog, &settings)
        .await
        .map_err(AppError::Conflict)?;
    // Checked first: a restore to a second the engine refuses (a time
    // outside the recoverable ranges) is not stored.
    let preview = check(state, &settings, role).await?;
    let id = state
        .catalog
        .create_restore(&settings, &target.display)
        .await?;
    record_verify(state, id, &settings, &preview).await?;
    Ok(id)
}

async fn load(state: &AppState, id: i64) -> Result<RestoreRecord, AppError> {
    state
        .catalog
        .restore(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("restore task {id}")))
}

pub async fn verify_saved(
    state: &AppState,
    id: i64,
    role: Role,
) -> Result<RestorePreview, AppError> {
    let record = load(state, id).await?;
    let preview = check(state, &record.settings, role).await?;
    record_verify(state, id, &record.settings, &preview).await?;
    Ok(preview)
}

/// Start or Retry by `role`: a new path must still be one this role may
/// write (roots change, and a task saved by an admin may be started by an
/// operator); its missing directories are created first.
pub async fn start(
    state: &AppState,
    id: i64,
    retry: bool,
    acknowledge_warnings: bool,
    role: Role,
) -> Result<(), AppError> {
    let record = load(state, id).await?;
    if let Some(confined) = confine_target(&state.info.restore_roots, &record.settings, role) {
        let confined = confined.map_err(AppError::Forbidden)?;
        blocking(move || create_missing(&confined).map_err(AppError::Conflict)).await?;
    }
    Ok(state
        .jobs
        .restores()
        .start(id, retry, acknowledge_warnings)
        .await?)
}

pub async fn detail(state: &AppState, id: i64) -> Result<RestoreDetail, AppError> {
    let record = load(state, id).await?;
    let names = task_names(state).await?;
    let r = &record.row;
    let phases = state
        .catalog
        .restore_phases(id, r.attempt)
        .await?
        .into_iter()
        .map(|p| PhaseTimes {
            phase: p.phase,
            started_at: Some(p.started_at),
            finished_at: p.finished_at,
        })
        .collect();
    let objects = state
        .catalog
        .restore_objects(id)
        .await?
        .into_iter()
        .map(|o| RestoreObjectState {
            name: o.name,
            target_name: o.target_name,
            action: o.action,
            bytes: u64::try_from(o.bytes).unwrap_or(0),
            rows: o.rows.and_then(|r| u64::try_from(r).ok()),
            state: o.state,
            error: o.error,
            check_result: o.check_result,
            check_detail: o.check_detail,
        })
        .collect();
    let checks: Vec<CheckItem> = r
        .checks
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    let to_u64 = |n: i64| u64::try_from(n).unwrap_or(0);
    let resolved = resolve(&state.catalog, &record.settings).await.ok();
    let cluster = resolved
        .as_ref()
        .is_some_and(|t| t.kind == SourceKind::PgCluster);
    let read_from_copy = resolved.as_ref().is_some_and(|t| t.from_copy);
    let read_from = resolved.map(|t| t.repository_name).unwrap_or_default();
    Ok(RestoreDetail {
        cluster,
        read_from,
        read_from_copy,
        row: row(&record, &names),
        form: record.settings.to_form(),
        attempt: r.attempt,
        started_at: r.started_at,
        timeout_min: record.settings.timeout_min,
        checks,
        verify_outcome: r.verify_outcome.clone(),
        verified_at: r.verified_at,
        verified_current: r.verified_fingerprint.as_deref()
            == Some(record.settings.fingerprint().as_str()),
        phases,
        objects,
        bytes_total: to_u64(r.bytes_total),
        bytes_loaded: to_u64(r.bytes_loaded),
        rows_total: to_u64(r.rows_total),
        rows_loaded: to_u64(r.rows_loaded),
        live: state.jobs.restores().live(id),
        pitr_result: r
            .pitr_result
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok()),
    })
}

pub async fn delete(state: &AppState, id: i64) -> Result<(), AppError> {
    let record = load(state, id).await?;
    if state.jobs.restores().is_running(id) || !state.catalog.delete_restore(id).await? {
        return Err(AppError::Conflict(format!(
            "restore task {:?} is running: cancel it first",
            record.settings.name
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "restores_server_tests.rs"]
mod restores_server_tests;
