//! Verify of a restore task: the engine's pre-check and plan, with the
//! console's own items (the original source, the restore path), recorded
//! against the settings they checked.

use tidemark_engine::restore::Outcome;
use tidemark_engine::EngineError;

use super::super::{CheckItem, PlannedRow, RestorePreview};
use crate::error::{blocking, AppError};
use crate::jobs::restore::{
    action_name, cluster, confine_target, plan, resolve, to_time, Confined, ResolvedTarget,
};
use crate::model::{RestoreSettings, Role, SourceKind};
use crate::state::AppState;

fn item(name: &str, outcome: &str, detail: impl Into<String>) -> CheckItem {
    CheckItem {
        name: name.into(),
        outcome: outcome.into(),
        detail: detail.into(),
    }
}

/// Checks of the console's own, beside the engine's pre-check (which also
/// checks the lock).
fn console_checks(
    target: &ResolvedTarget,
    confined: Option<Result<Confined, String>>,
) -> Vec<CheckItem> {
    let mut checks = Vec::new();
    match confined {
        Some(Ok(confined)) => {
            let place = match &confined.root {
                Some(root) => format!("inside the restore root {}", root.display()),
                None => "outside the restore roots, as admins are allowed here".into(),
            };
            let detail = match confined.missing_dirs.first() {
                Some(dir) => format!(
                    "{place}; {} does not exist yet: Start creates it",
                    dir.display()
                ),
                None => place,
            };
            checks.push(item("restore path", "pass", detail));
        }
        Some(Err(why)) => checks.push(item("restore path", "fail", why)),
        None => {}
    }
    if target.is_original {
        checks.push(item(
            "original data source",
            "warn",
            "the target is the backup task's own data source: restored objects replace or join live data there",
        ));
    }
    checks
}

pub async fn check(
    state: &AppState,
    settings: &RestoreSettings,
    role: Role,
) -> Result<RestorePreview, AppError> {
    let target = resolve(&state.catalog, settings)
        .await
        .map_err(AppError::Conflict)?;
    let confined = confine_target(&state.info.restore_roots, settings, role);
    let mut checks = console_checks(&target, confined);
    let mut preview = RestorePreview {
        checks: Vec::new(),
        outcome: String::new(),
        target: target.display.clone(),
        objects: Vec::new(),
        bytes: 0,
        rows: 0,
        estimated_secs: 0.0,
        pitr: None,
    };
    refuse_for_kind(settings, target.kind)?;
    let (settings, resolved) = (settings.clone(), target.clone());
    let planned = if resolved.kind == SourceKind::PgCluster {
        let recovery = blocking(move || {
            Ok(cluster::plan(
                &settings,
                &resolved.task_name,
                &resolved.repository,
                &resolved.url,
                resolved.extract.as_ref().map(|(url, _)| url.as_str()),
            ))
        })
        .await?;
        match recovery {
            // A directory in use, a time outside the archive's reach, no
            // base backup: the engine's reason is meant for the user.
            Err(EngineError::Conflict(reason)) => return Err(AppError::Conflict(reason)),
            Err(err) => Err(err),
            Ok((_, plan, _)) => {
                preview.pitr = Some(cluster::preview(&plan));
                Ok(plan.base)
            }
        }
    } else if settings.to_time.is_some() {
        let pitr = blocking(move || {
            Ok(to_time::plan(
                &settings,
                &resolved.task_name,
                &resolved.repository,
                &resolved.url,
            ))
        })
        .await?;
        match pitr {
            // The time is outside the ranges, in a hole, before any base
            // point: the engine's reason is meant for the user.
            Err(EngineError::Conflict(reason)) => return Err(AppError::Conflict(reason)),
            Err(err) => Err(err),
            Ok((_, plan)) => {
                preview.pitr = Some(to_time::preview(&plan));
                Ok(plan.base)
            }
        }
    } else {
        blocking(move || {
            Ok(plan(&settings, &resolved.repository, &resolved.url, &[]).map(|(_, _, plan)| plan))
        })
        .await?
    };
    match planned {
        Ok(plan) => {
            let mut engine_checks: Vec<CheckItem> = plan
                .checks
                .iter()
                .map(|c| {
                    let outcome = match c.outcome {
                        Outcome::Pass => "pass",
                        Outcome::Warn => "warn",
                        Outcome::Fail => "fail",
                    };
                    item(c.name, outcome, c.detail.clone())
                })
                .collect();
            engine_checks.append(&mut checks);
            checks = engine_checks;
            preview.objects = plan
                .objects
                .iter()
                .map(|o| PlannedRow {
                    name: o.name.clone(),
                    target_name: o.target_name.clone(),
                    kind: o.kind.as_str().into(),
                    action: action_name(o.action).into(),
                    bytes: o.size,
                    rows: o.rows,
                    range: o.range.as_ref().map(|r| {
                        format!(
                            "{} … {}",
                            r.since.as_deref().unwrap_or("start"),
                            r.until.as_deref().unwrap_or("end")
                        )
                    }),
                })
                .collect();
            preview.bytes = plan.bytes;
            preview.rows = plan.rows;
            preview.estimated_secs = plan.estimated_seconds;
        }
        // A plan that cannot be made is a failing item, not an error page.
        Err(err) => checks.insert(0, item("restore plan", "fail", err.to_string())),
    }
    preview.outcome = worst(&checks).into();
    preview.checks = checks;
    Ok(preview)
}

/// Settings that do not fit the backup's kind: a 422 on the field.
fn refuse_for_kind(settings: &RestoreSettings, kind: SourceKind) -> Result<(), AppError> {
    let invalid = |field: &str, message: String| {
        Err(AppError::Invalid {
            field: field.into(),
            message,
        })
    };
    if settings.extract.is_some() && kind != SourceKind::PgCluster {
        return invalid(
            "extract_source_id",
            "only a recovered PostgreSQL cluster has databases to extract: leave it empty".into(),
        );
    }
    match kind {
        SourceKind::PgCluster if !settings.objects.is_empty() => invalid(
            "objects_mode",
            "a PostgreSQL cluster is recovered as a whole into a new data directory: restore all objects".into(),
        ),
        SourceKind::PgCluster => Ok(()),
        _ if settings.start_port.is_some() => invalid(
            "start_port",
            "only a recovered PostgreSQL cluster is started on a port: leave it empty".into(),
        ),
        SourceKind::MySql => Ok(()),
        _ if settings.to_time.is_some() => invalid(
            "recovery_method",
            format!(
                "point-in-time recovery replays MariaDB binary logs or a PostgreSQL cluster's WAL: this task backs up a {} source",
                kind.label()
            ),
        ),
        _ => Ok(()),
    }
}

fn worst(checks: &[CheckItem]) -> &'static str {
    if checks.iter().any(|c| c.outcome == "fail") {
        "fail"
    } else if checks.iter().any(|c| c.outcome == "warn") {
        "warn"
    } else {
        "pass"
    }
}

pub(super) async fn record_verify(
    state: &AppState,
    id: i64,
    settings: &RestoreSettings,
    preview: &RestorePreview,
) -> Result<(), AppError> {
    let checks = serde_json::to_string(&preview.checks)
        .map_err(|e| AppError::internal("encoding pre-check items", &e))?;
    state
        .catalog
        .record_restore_verify(id, &settings.fingerprint(), &checks, &preview.outcome)
        .await?;
    Ok(())
}
