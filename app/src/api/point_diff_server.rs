//! The server side of comparing points.

use tidemark_engine::diff::{diff_points, plan_diff, DiffOptions, ObjectDiff, ObjectFacts};

use super::{DiffRow, PointDiffView, MAX_DIFF_ROWS};
use crate::error::{blocking, AppError};
use crate::state::AppState;

fn span(facts: &ObjectFacts) -> Option<String> {
    match (&facts.time_min, &facts.time_max) {
        (None, None) => None,
        (min, max) => Some(format!(
            "{}..{}",
            min.as_deref().unwrap_or(""),
            max.as_deref().unwrap_or("")
        )),
    }
}

fn row(o: &ObjectDiff) -> DiffRow {
    let facts = o.after.as_ref().or(o.before.as_ref());
    DiffRow {
        name: o.name.clone(),
        kind: facts.map_or("file", |f| f.kind.as_str()).into(),
        change: o.change.as_str().into(),
        size_before: o.before.as_ref().map(|f| f.size),
        size_after: o.after.as_ref().map(|f| f.size),
        rows_before: o.before.as_ref().and_then(|f| f.rows),
        rows_after: o.after.as_ref().and_then(|f| f.rows),
        span_before: o.before.as_ref().and_then(span),
        span_after: o.after.as_ref().and_then(span),
        differs: o.differs.iter().map(|d| (*d).to_owned()).collect(),
        depth: o.name.matches('/').count(),
    }
}

pub async fn diff(
    state: &AppState,
    task_id: i64,
    from: Option<String>,
    to: String,
) -> Result<PointDiffView, AppError> {
    let task = super::super::tasks::server::load_task(state, task_id).await?;
    let repository = state
        .catalog
        .repository(task.settings.repository_id)
        .await?
        .ok_or_else(|| AppError::Conflict("the task's repository was deleted".into()))?
        .access();
    let name = task.settings.name.clone();
    blocking(move || {
        let repo = repository.open_for_request()?;
        let plan = plan_diff(
            &repo,
            &DiffOptions {
                from: from.filter(|f| !f.trim().is_empty()),
                to,
            },
        )?;
        for point in [&plan.from, &plan.to] {
            if point.task != name {
                return Err(AppError::NotFound(format!(
                    "point {} of task {name}",
                    point.id
                )));
            }
        }
        let diff = diff_points(&plan);
        // Tree order: by path components, so a folder comes right before
        // what it holds ("a/b" < "a/b/c" < "a/b c").
        let mut objects: Vec<&ObjectDiff> = diff.objects.iter().collect();
        objects.sort_by(|a, b| a.name.split('/').cmp(b.name.split('/')));
        let left_out = objects.len().saturating_sub(MAX_DIFF_ROWS) as u64;
        Ok(PointDiffView {
            task_id,
            task_name: name,
            from: diff.from.clone(),
            to: diff.to.clone(),
            from_finished_at: plan.from.finished_at,
            to_finished_at: plan.to.finished_at,
            added: diff.added,
            removed: diff.removed,
            changed: diff.changed,
            unchanged: diff.unchanged,
            bytes_from: diff.bytes_from,
            bytes_to: diff.bytes_to,
            rows: objects.into_iter().take(MAX_DIFF_ROWS).map(row).collect(),
            left_out,
        })
    })
    .await
}
