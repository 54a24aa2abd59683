//! Compare two points of a task: choose them (the newer one's parent by
//! default), then what was added, removed and changed, with sizes and, for
//! tables, row counts and time spans; a file tree shows only what changed,
//! each entry under its folder. The choice is in the URL.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use super::browse::object_kind_name;
use super::mode_name;
use crate::api::point_diff::{diff_points, DiffRow, PointDiffView};
use crate::api::restores::recovery_points;
use crate::components::{hydrated_flag, EmptyState, ErrorAlert};
use crate::i18n::*;
use crate::model::human_bytes;

fn compare_url(task: i64, from: &str, to: &str) -> String {
    let mut url = format!(
        "/backups/{task}/compare?to={}",
        crate::model::percent_encode(to)
    );
    if !from.is_empty() {
        url.push_str(&format!("&from={}", crate::model::percent_encode(from)));
    }
    url
}

#[component]
pub fn TaskComparePage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let task_id =
        move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0));
    let from = move || query.with(|q| q.get("from").unwrap_or_default());
    let to = move || query.with(|q| q.get("to").unwrap_or_default());
    let points = Resource::new(task_id, recovery_points);
    let diff = Resource::new(
        move || (task_id(), from(), to()),
        |(task, from, to)| async move {
            if to.is_empty() {
                return Ok(None);
            }
            diff_points(task, Some(from).filter(|f| !f.is_empty()), to)
                .await
                .map(Some)
        },
    );
    let chosen_from = RwSignal::new(String::new());
    let chosen_to = RwSignal::new(String::new());
    Effect::new(move |_| {
        chosen_from.set(from());
        chosen_to.set(to());
    });
    // Without a choice, the newest point against its parent.
    Effect::new(move |_| {
        if let Some(Ok(list)) = points.get() {
            if chosen_to.with_untracked(String::is_empty) {
                if let Some(newest) = list.points.first() {
                    chosen_to.set(newest.id.clone());
                }
            }
        }
    });
    let navigate = use_navigate();
    let compare = move |_| {
        let url = compare_url(task_id(), &chosen_from.get(), &chosen_to.get());
        navigate(&url, Default::default());
    };
    let options = move |selected: RwSignal<String>, with_parent: bool| {
        points.get().and_then(Result::ok).map(move |list| {
            let parent = with_parent.then(|| {
                view! { <option value="" selected=selected.with_untracked(String::is_empty)>{t!(i18n, compare.parent_option)}</option> }
            });
            let rows = list.points.into_iter().map(move |p| {
                let is = selected.with_untracked(|s| *s == p.id);
                let label = format!("{} · {} · {}", p.finished_at.format("%Y-%m-%d %H:%M:%S"), mode_name(i18n, &p.mode), p.id);
                // Mostly data (the point's id); the mode is already the console's word.
                view! { <option value=p.id.clone() selected=is translate="no">{label}</option> }
            }).collect_view();
            view! { {parent} {rows} }
        })
    };

    view! {
        <section class="page" data-testid="compare-page" data-hydrated=hydrated_flag()>
            <header class="page-header">
                <h1>{t!(i18n, history.compare_points)}</h1>
                <A href=move || format!("/backups/{}/history", task_id()) attr:class="button">{t!(i18n, browse.back_to_history)}</A>
            </header>
            <div class="panel form-grid">
                <label>{t!(i18n, compare.newer)}
                    <select data-testid="compare-to" prop:value=move || chosen_to.get() on:change=move |ev| chosen_to.set(event_target_value(&ev))>
                        <Transition fallback=|| ()>{move || options(chosen_to, false)}</Transition>
                    </select>
                </label>
                <label>{t!(i18n, compare.compared_with)}
                    <select data-testid="compare-from" prop:value=move || chosen_from.get() on:change=move |ev| chosen_from.set(event_target_value(&ev))>
                        <Transition fallback=|| ()>{move || options(chosen_from, true)}</Transition>
                    </select>
                </label>
                <button type="button" class="button button--primary" data-testid="compare-run" on:click=compare>{t!(i18n, compare.compare)}</button>
            </div>
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, compare.reading)}</p> }>
                {move || diff.get().map(|result| match result {
                    Ok(None) => ().into_any(),
                    Ok(Some(view)) => view! { <DiffReport view /> }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

fn size(n: Option<u64>) -> String {
    n.map(human_bytes).unwrap_or_else(|| "—".into())
}

fn before_after<T: PartialEq + ToString>(before: &Option<T>, after: &Option<T>) -> String {
    match (before, after) {
        (Some(b), Some(a)) if b == a => a.to_string(),
        (Some(b), Some(a)) => format!("{} → {}", b.to_string(), a.to_string()),
        (Some(b), None) => b.to_string(),
        (None, Some(a)) => a.to_string(),
        (None, None) => String::new(),
    }
}

#[component]
fn DiffReport(view: PointDiffView) -> impl IntoView {
    let i18n = use_i18n();
    let summary = t_string!(
        i18n,
        compare.summary,
        added = view.added,
        removed = view.removed,
        changed = view.changed,
        unchanged = view.unchanged,
        from = human_bytes(view.bytes_from),
        to = human_bytes(view.bytes_to)
    );
    let title = format!(
        "{} ({}) → {} ({})",
        view.from,
        view.from_finished_at.format("%Y-%m-%d %H:%M:%S"),
        view.to,
        view.to_finished_at.format("%Y-%m-%d %H:%M:%S")
    );
    let left_out = view.left_out;
    view! {
        <section class="panel" data-testid="diff-report" data-added=view.added data-removed=view.removed data-changed=view.changed>
            <h2 translate="no">{title}</h2>
            <p data-testid="diff-summary">{summary}</p>
            {if view.rows.is_empty() {
                view! { <EmptyState title=move || t_string!(i18n, compare.nothing_changed)>{t!(i18n, compare.nothing_changed_body)}</EmptyState> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="diff-table">
                        <thead><tr><th>{t!(i18n, run.col_object)}</th><th>{t!(i18n, compare.col_change)}</th><th>{t!(i18n, history.col_size)}</th><th>{t!(i18n, run.col_rows)}</th><th>{t!(i18n, browse.col_time_span)}</th></tr></thead>
                        <tbody>{view.rows.into_iter().map(|row| view! { <DiffLine row /> }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            {(left_out > 0).then(|| view! {
                <p class="muted" data-testid="diff-left-out">{t!(i18n, compare.left_out, count = left_out, command = || view! { <code>"`tidemark diff --json`"</code> })}</p>
            })}
        </section>
    }
}

#[component]
fn DiffLine(row: DiffRow) -> impl IntoView {
    let i18n = use_i18n();
    let (folder, leaf) = match row.name.rsplit_once('/') {
        Some((folder, leaf)) => (format!("{folder}/"), leaf.to_owned()),
        None => (String::new(), row.name.clone()),
    };
    let change = change_name(i18n, &row.change);
    let what = if row.differs.is_empty() {
        change
    } else {
        let differs: Vec<String> = row
            .differs
            .iter()
            .map(|d| difference_name(i18n, d))
            .collect();
        t_string!(
            i18n,
            compare.change_differs,
            change,
            differs = differs.join(t_string!(i18n, common.list_separator))
        )
    };
    let indent = format!("padding-left: {}em", row.depth as f32 * 1.2);
    view! {
        <tr data-testid="diff-row" data-change=row.change.clone() data-name=row.name.clone() data-kind=row.kind.clone()>
            <td style=indent title=row.name.clone() translate="no">
                <span class="muted">{folder}</span><strong>{leaf}</strong>
                {(row.kind != "file").then(|| view! { " " <span class="badge" translate="yes">{object_kind_name(i18n, &row.kind)}</span> })}
            </td>
            <td><span class=format!("badge diff--{}", row.change)>{what}</span></td>
            <td>{match (row.size_before, row.size_after) {
                (Some(b), Some(a)) if b != a => format!("{} → {}", human_bytes(b), human_bytes(a)),
                (b, a) => size(a.or(b)),
            }}</td>
            <td>{before_after(&row.rows_before, &row.rows_after)}</td>
            <td>{before_after(&row.span_before, &row.span_after)}</td>
        </tr>
    }
}

/// `added`, `removed` or `changed` in the console's language.
fn change_name(i18n: crate::I18n, change: &str) -> String {
    match change {
        "added" => t_string!(i18n, compare.added).into(),
        "removed" => t_string!(i18n, compare.removed).into(),
        "changed" => t_string!(i18n, compare.changed).into(),
        other => other.into(),
    }
}

/// What differs for a changed object (`content`, `mode`, …).
fn difference_name(i18n: crate::I18n, what: &str) -> String {
    match what {
        "kind" => t_string!(i18n, compare.differs_kind).into(),
        "content" => t_string!(i18n, compare.differs_content).into(),
        "columns" => t_string!(i18n, compare.differs_columns).into(),
        "link" => t_string!(i18n, compare.differs_link).into(),
        "mode" => t_string!(i18n, compare.differs_mode).into(),
        "mtime" => t_string!(i18n, compare.differs_mtime).into(),
        other => other.into(),
    }
}
