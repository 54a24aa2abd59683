//! Backup content: everything, a navigation tree of the source's objects
//! with checkboxes, or a regular expression under a parent path with a
//! preview of what it matches.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::api::sources::{source_objects, PreviewContent, SourceObject};
use crate::components::{ErrorAlert, FieldError};
use crate::error::AppError;
use crate::i18n::*;
use crate::model::{human_bytes, TaskForm};

const PREVIEW_ROWS: usize = 50;

fn selected(form: &TaskForm) -> BTreeSet<String> {
    form.content_objects
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parent_of(name: &str) -> Option<&str> {
    name.rsplit_once('/').map(|(parent, _)| parent)
}

/// Each ancestor directory of `name`, nearest last.
fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/').map(move |(i, _)| &name[..i])
}

#[component]
pub(super) fn ContentPicker(
    form: RwSignal<TaskForm>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    // Memos: the tree is rebuilt when the mode or source changes, not on every keystroke.
    let mode = Memo::new(move |_| form.with(|f| f.content_mode.clone()));
    let source_id = Memo::new(move |_| form.with(|f| f.source_id.trim().parse::<i64>().ok()));
    let radio = move |value: &'static str, label: fn(crate::I18n) -> &'static str| {
        view! {
            <label class="radio">
                <input
                    type="radio"
                    name="form[content_mode]"
                    value=value
                    data-testid=format!("content-{value}")
                    checked=form.with_untracked(|f| f.content_mode == value)
                    prop:checked=move || mode.get() == value
                    on:change=move |_| form.update(|f| f.content_mode = value.into())
                />
                {move || label(i18n)}
            </label>
        }
    };
    view! {
        <div class="content-picker" data-testid="content-picker">
            <div class="radio-row">
                {t!(i18n, task_content.label)}
                {radio("all", |i18n| t_string!(i18n, task_content.everything))}
                {radio("objects", |i18n| t_string!(i18n, task_content.selected_objects))}
                {radio("regex", |i18n| t_string!(i18n, task_content.regex))}
            </div>
            <FieldError field="content_mode" error />
            <input type="hidden" name="form[content_objects]" prop:value=move || form.with(|f| f.content_objects.clone()) value=form.with_untracked(|f| f.content_objects.clone()) />
            {move || match (mode.get().as_str(), source_id.get()) {
                ("objects", Some(id)) => view! { <ObjectTree source_id=id form /> }.into_any(),
                ("objects", None) => view! { <p class="muted">{t!(i18n, task_content.choose_source)}</p> }.into_any(),
                _ => ().into_any(),
            }}
            <FieldError field="content_objects" error />
            <div class:hidden=move || mode.get() != "regex">
                <RegexContent form error />
            </div>
        </div>
    }
}

#[component]
fn ObjectTree(source_id: i64, form: RwSignal<TaskForm>) -> impl IntoView {
    let i18n = use_i18n();
    let objects = Resource::new(move || source_id, source_objects);
    let expanded = RwSignal::new(BTreeSet::<String>::new());
    let toggle = move |name: String, on: bool| {
        form.update(|f| {
            let mut chosen = selected(f);
            if on {
                // A chosen directory covers what is below it.
                chosen.retain(|n| !n.starts_with(&format!("{name}/")));
                chosen.insert(name);
            } else {
                chosen.remove(&name);
            }
            f.content_objects = chosen.into_iter().collect::<Vec<_>>().join("\n");
        });
    };
    let row = move |object: SourceObject| {
        let name = object.name.clone();
        let depth = name.matches('/').count();
        let is_dir = object.kind == "dir";
        let label = name.rsplit('/').next().unwrap_or(&name).to_owned();
        let visible = {
            let name = name.clone();
            move || expanded.with(|open| ancestors(&name).all(|a| open.contains(a)))
        };
        let covered = {
            let name = name.clone();
            Signal::derive(move || {
                form.with(|f| {
                    let chosen = selected(f);
                    ancestors(&name).any(|a| chosen.contains(a))
                })
            })
        };
        let checked = {
            let name = name.clone();
            move || form.with(|f| selected(f).contains(&name))
        };
        let open = {
            let name = name.clone();
            move || expanded.with(|e| e.contains(&name))
        };
        let name_for_toggle = name.clone();
        let name_for_expand = name.clone();
        view! {
            <li
                class="tree-item"
                class:hidden=move || !visible()
                style=format!("padding-left: {}em", depth as f32 * 1.4)
                data-testid="object-item"
                data-name=name.clone()
            >
                {is_dir.then(|| {
                    let name = name_for_expand.clone();
                    view! {
                        <button
                            type="button"
                            class="tree-toggle"
                            data-testid="object-expand"
                            on:click=move |_| expanded.update(|e| { if !e.remove(&name) { e.insert(name.clone()); } })
                        >
                            {move || if open() { "▾" } else { "▸" }}
                        </button>
                    }
                })}
                <label>
                    <input
                        type="checkbox"
                        data-testid="object-check"
                        prop:checked=move || checked() || covered.get()
                        prop:disabled=covered
                        on:change=move |ev| toggle(name_for_toggle.clone(), event_target_checked(&ev))
                    />
                    <span translate="no">{if is_dir { format!("{label}/") } else { label }}</span>
                </label>
                <span class="muted">
                    {if is_dir { String::new() } else { human_bytes(object.size) }}
                    {object.rows.map(|r| t!(i18n, task_content.rows, count = r))}
                </span>
            </li>
        }
    };
    view! {
        <Suspense fallback=move || view! { <p class="muted">{t!(i18n, task_content.reading)}</p> }>
            {move || objects.get().map(|result| match result {
                Ok(listing) => {
                    // Top-level entries first appear; the rest open under their directory.
                    let truncated = listing.total > listing.objects.len() as u64;
                    let tops = listing.objects.iter().filter(|o| parent_of(&o.name).is_none()).count();
                    view! {
                        <ul class="tree" data-testid="object-tree" data-top-level=tops>
                            {listing.objects.into_iter().map(row).collect_view()}
                        </ul>
                        {truncated.then(|| view! {
                            <p class="muted">{t!(i18n, task_content.truncated, shown = crate::api::sources::OBJECT_LIMIT, total = listing.total)}</p>
                        })}
                        <p class="muted" data-testid="selected-count">
                            {move || t_string!(i18n, task_content.selected, count = form.with(|f| selected(f).len()))}
                        </p>
                    }
                        .into_any()
                }
                Err(error) => view! { <ErrorAlert error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn RegexContent(form: RwSignal<TaskForm>, error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let preview = ServerAction::<PreviewContent>::new();
    view! {
        <div class="form-grid">
            <label>
                {t!(i18n, task_content.parent_path)}
                <input
                    name="form[content_parent]"
                    data-testid="task-content_parent"
                    placeholder=move || t_string!(i18n, task_content.parent_placeholder)
                    value=form.with_untracked(|f| f.content_parent.clone())
                    prop:value=move || form.with(|f| f.content_parent.clone())
                    on:input=move |ev| form.update(|f| f.content_parent = event_target_value(&ev))
                />
            </label>
            <label>
                {t!(i18n, task_content.regex)}
                <input
                    name="form[content_regex]"
                    data-testid="task-content_regex"
                    placeholder=move || t_string!(i18n, task_content.regex_placeholder)
                    value=form.with_untracked(|f| f.content_regex.clone())
                    prop:value=move || form.with(|f| f.content_regex.clone())
                    on:input=move |ev| form.update(|f| f.content_regex = event_target_value(&ev))
                />
                <FieldError field="content_regex" error />
            </label>
            <div>
                <button
                    type="button"
                    class="button"
                    data-testid="preview-refresh"
                    on:click=move |_| {
                        preview.dispatch(PreviewContent { form: form.get_untracked() });
                    }
                >
                    {t!(i18n, common.refresh)}
                </button>
            </div>
        </div>
        {move || preview.value().get().map(|result| match result {
            Ok(listing) => view! {
                <div class="preview" data-testid="preview">
                    <p data-testid="preview-count">
                        {t!(i18n, task_content.preview_count, count = listing.total, size = human_bytes(listing.total_bytes))}
                    </p>
                    <ul>
                        {listing.objects.into_iter().take(PREVIEW_ROWS).map(|o| view! {
                            <li data-testid="preview-item"><code>{o.name}</code></li>
                        }).collect_view()}
                    </ul>
                </div>
            }.into_any(),
            Err(error) => view! { <ErrorAlert error /> }.into_any(),
        })}
    }
}
