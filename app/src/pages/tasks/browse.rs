//! Browse a point: a file tree folder by folder (paged, folders first),
//! a database point as its objects; search by name (substring, or `/…/`
//! for a regular expression); tick folders, files or tables, then
//! **Restore selected** opens the restore form with that selection. The
//! folder, search and page are in the URL.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::browse::{browse_point, BrowseEntry, BrowseView};
use crate::components::{hydrated_flag, ErrorAlert, FieldError};
use crate::i18n::*;
use crate::model::{human_bytes, percent_encode};

fn browse_url(task: i64, point: &str, folder: &str, search: &str, page: u32) -> String {
    let mut url = format!(
        "/backups/{task}/points/{}?page={page}",
        percent_encode(point)
    );
    if !folder.is_empty() {
        url.push_str(&format!("&folder={}", percent_encode(folder)));
    }
    if !search.is_empty() {
        url.push_str(&format!("&q={}", percent_encode(search)));
    }
    url
}

#[component]
pub fn PointBrowsePage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let task_id =
        move || params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0));
    let point = move || params.with(|p| p.get("point").unwrap_or_default());
    let folder = move || query.with(|q| q.get("folder").unwrap_or_default());
    let search = move || query.with(|q| q.get("q").unwrap_or_default());
    let page = move || query.with(|q| q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1u32));
    let view = Resource::new(
        move || (task_id(), point(), folder(), search(), page()),
        |(task, point, folder, search, page)| browse_point(task, point, folder, search, page),
    );
    // Names ticked, kept while moving between folders.
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let typed = RwSignal::new(String::new());
    Effect::new(move |_| typed.set(search()));
    let navigate = use_navigate();
    let go_search = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            navigate(
                &browse_url(task_id(), &point(), "", &typed.get(), 1),
                Default::default(),
            );
        }
    };
    let restore = move |_| {
        let names: Vec<String> = selected.get().into_iter().collect();
        let url = format!(
            "/restores/new?task={}&point={}&select={}",
            task_id(),
            percent_encode(&point()),
            percent_encode(&names.join("\n"))
        );
        navigate(&url, Default::default());
    };
    let error = Signal::derive(move || view.get().and_then(Result::err));

    view! {
        <section class="page" data-testid="browse-page" data-hydrated=hydrated_flag()>
            <header class="page-header">
                <h1>{t!(i18n, browse.title)}</h1>
                <button type="button" class="button button--primary" data-testid="restore-selected"
                    disabled=move || selected.with(BTreeSet::is_empty) on:click=restore>
                    {move || t_string!(i18n, browse.restore_selected, count = selected.with(BTreeSet::len))}
                </button>
                <A href=move || format!("/backups/{}/history", task_id()) attr:class="button">{t!(i18n, browse.back_to_history)}</A>
            </header>
            <form class="panel form-grid" on:submit=go_search>
                <label class="form-wide">{t!(i18n, browse.search_label)}
                    <input type="search" data-testid="browse-search" prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev)) />
                </label>
                <FieldError field="search" error />
                <button type="submit" class="button" data-testid="browse-search-go">{t!(i18n, browse.search)}</button>
            </form>
            <Transition fallback=move || view! { <p class="muted">{t!(i18n, browse.reading)}</p> }>
                {move || view.get().map(|result| match result {
                    Ok(view) => view! { <Listing view selected /> }.into_any(),
                    Err(error) if error.field("search").is_some() => ().into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Listing(view: BrowseView, selected: RwSignal<BTreeSet<String>>) -> impl IntoView {
    let i18n = use_i18n();
    let (task, point) = (view.task_id, view.point_id.clone());
    let (folder, search) = (view.folder.clone(), view.search.clone());
    let total = view.total;
    let heading = if search.is_empty() {
        t!(i18n, browse.entries, count = total).into_any()
    } else {
        let quoted = format!("{search:?}");
        let term = move || view! { <span translate="no">{quoted.clone()}</span> };
        t!(i18n, browse.matches, count = total, search = term).into_any()
    };
    let crumbs = view
        .breadcrumbs
        .clone()
        .into_iter()
        .map(|(label, path)| {
            let href = browse_url(task, &point, &path, "", 1);
            // The first crumb is the top of the point; the others are folder names.
            if path.is_empty() {
                view! { <A href=href attr:data-testid="browse-crumb">{t!(i18n, browse.top)}</A> " / " }.into_any()
            } else {
                view! { <A href=href attr:data-testid="browse-crumb" attr:translate="no">{label}</A> " / " }.into_any()
            }
        })
        .collect_view();
    let (page, pages) = (view.page, view.pages);
    let pager = move || {
        let prev = browse_url(task, &point, &folder, &search, page.saturating_sub(1));
        let next = browse_url(task, &point, &folder, &search, page + 1);
        (pages > 1).then(|| view! {
            <nav class="pager" data-testid="browse-pager">
                <span data-testid="browse-page-number">{t!(i18n, browse.page, page, pages)}</span>
                {(page > 1).then(|| view! { <A href=prev attr:data-testid="browse-prev">{t!(i18n, browse.previous)}</A> })}
                {(page < pages).then(|| view! { <A href=next attr:data-testid="browse-next">{t!(i18n, browse.next)}</A> })}
            </nav>
        })
    };
    let (tree, downloads) = (view.tree, view.downloads);
    let point = view.point_id.clone();
    view! {
        <section class="panel" data-testid="browse-listing" data-total=view.total data-folder=view.folder.clone()>
            <h2><span translate="no">{view.task_name.clone()}</span>{format!(" · {} · ", view.finished_at.format("%Y-%m-%d %H:%M:%S UTC"))}<code>{view.point_id.clone()}</code></h2>
            <p>{tree.then_some(crumbs)} <span class="muted">{heading}{t!(i18n, browse.objects_in_point, count = view.objects)}</span></p>
            {pager.clone()()}
            <table class="table" data-testid="browse-table">
                <thead><tr><th></th><th>{t!(i18n, common.name)}</th><th>{t!(i18n, run.col_kind)}</th><th>{t!(i18n, history.col_size)}</th>
                    {if tree { view! { <th>{t!(i18n, browse.col_mode)}</th><th>{t!(i18n, browse.col_modified)}</th> }.into_any() } else { view! { <th>{t!(i18n, run.col_rows)}</th><th>{t!(i18n, browse.col_time_span)}</th> }.into_any() }}
                    <th>{t!(i18n, browse.col_digest)}</th><th></th></tr></thead>
                <tbody>
                    {view.entries.into_iter().map(|entry| view! { <EntryRow entry task point=point.clone() tree downloads selected /> }).collect_view()}
                </tbody>
            </table>
            {pager()}
        </section>
    }
}

#[component]
fn EntryRow(
    entry: BrowseEntry,
    task: i64,
    point: String,
    tree: bool,
    downloads: bool,
    selected: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    // A plain link: the browser streams the file to disk itself.
    let download = (downloads && entry.kind == "file").then(|| {
        format!(
            "/api/points/download?task={task}&point={}&name={}",
            percent_encode(&point),
            percent_encode(&entry.name)
        )
    });
    let name = entry.name.clone();
    let ticked = {
        let name = name.clone();
        move || selected.with(|s| s.contains(&name))
    };
    let toggle = {
        let name = name.clone();
        move |ev| {
            let on = event_target_checked(&ev);
            selected.update(|s| {
                if on {
                    s.insert(name.clone());
                } else {
                    s.remove(&name);
                }
            });
        }
    };
    let label = if entry.kind == "dir" {
        let href = browse_url(task, &point, &entry.name, "", 1);
        view! { <A href=href attr:data-testid="browse-open" attr:translate="no">{format!("{}/", entry.label)}</A> }
            .into_any()
    } else {
        view! { <code>{entry.label.clone()}</code> }.into_any()
    };
    let size = if entry.kind == "dir" && entry.entries_below > 0 {
        t_string!(
            i18n,
            browse.size_in_entries,
            size = human_bytes(entry.size),
            count = entry.entries_below
        )
    } else {
        human_bytes(entry.size)
    };
    view! {
        <tr data-testid="browse-entry" data-name=name.clone() data-kind=entry.kind.clone()>
            <td><input type="checkbox" data-testid="browse-select" prop:checked=ticked on:change=toggle /></td>
            <td>{label}{entry.link_target.map(|t| view! { <span class="muted" translate="no">{format!(" → {t}")}</span> })}</td>
            <td>{let kind = entry.kind.clone(); move || object_kind_name(i18n, &kind)}</td>
            <td>{size}</td>
            {if tree {
                view! {
                    <td><code>{entry.mode.unwrap_or_default()}</code></td>
                    <td>{entry.modified.map(|m| m.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()}</td>
                }.into_any()
            } else {
                view! {
                    <td>{entry.rows.map(|r| r.to_string()).unwrap_or_default()}</td>
                    <td>{match (entry.time_min, entry.time_max) { (Some(a), Some(b)) => format!("{a} … {b}"), _ => String::new() }}</td>
                }.into_any()
            }}
            <td><code class="muted">{entry.digest.unwrap_or_default()}</code></td>
            <td>{download.map(|href| view! { <a class="button button--small" href=href download="" data-testid="browse-download">{t!(i18n, browse.download)}</a> })}</td>
        </tr>
    }
}

/// A point object's kind (`file`, `dir`, `symlink`, `table`, `schema`) in
/// the console's language; an unknown one as sent.
pub(super) fn object_kind_name(i18n: crate::I18n, kind: &str) -> String {
    match kind {
        "file" => t_string!(i18n, browse.kind_file).into(),
        "dir" => t_string!(i18n, browse.kind_dir).into(),
        "symlink" => t_string!(i18n, browse.kind_symlink).into(),
        "table" => t_string!(i18n, browse.kind_table).into(),
        "schema" => t_string!(i18n, browse.kind_schema).into(),
        other => other.into(),
    }
}
