//! Data configuration: the objects of the recovery point with a checkbox,
//! the name each is restored under, and a time range for time-series
//! tables; listed a page at a time, filtered by name or to the selection.

use crate::i18n::*;
use leptos::prelude::*;

use crate::api::restores::PointObject;
use crate::model::{human_bytes, ObjectChoice, RestoreForm};

/// The form's choices for `objects`, keeping what was chosen for names
/// that are still there. Indexed by name: a point of 100 000 files must
/// not cost a search of every choice for every object.
pub fn choices_for(objects: &[PointObject], current: &[ObjectChoice]) -> Vec<ObjectChoice> {
    let by_name: std::collections::HashMap<&str, &ObjectChoice> =
        current.iter().map(|c| (c.name.as_str(), c)).collect();
    objects
        .iter()
        .map(|o| match by_name.get(o.name.as_str()) {
            Some(choice) => (*choice).clone(),
            None => ObjectChoice {
                name: o.name.clone(),
                selected: true,
                target_name: o.name.clone(),
                ..ObjectChoice::default()
            },
        })
        .collect()
}

/// The choice for object `name`, which [`choices_for`] keeps at index `at`
/// (found by name otherwise): large trees stay quick to edit.
fn choice_at<'a>(
    objects: &'a mut [ObjectChoice],
    at: usize,
    name: &str,
) -> Option<&'a mut ObjectChoice> {
    let at = match objects.get(at) {
        Some(c) if c.name == name => at,
        _ => objects.iter().position(|c| c.name == name)?,
    };
    objects.get_mut(at)
}

fn update_choice(
    form: RwSignal<RestoreForm>,
    at: usize,
    name: &str,
    f: impl FnOnce(&mut ObjectChoice),
) {
    form.update(|form| {
        if let Some(choice) = choice_at(&mut form.objects, at, name) {
            f(choice);
        }
    });
}

/// Rows a page of the table holds: a large tree is listed a page at a time.
const ROWS_PER_PAGE: usize = 100;

#[component]
pub fn ObjectTable(objects: Vec<PointObject>, form: RwSignal<RestoreForm>) -> impl IntoView {
    let i18n = use_i18n();
    let total = objects.len();
    // A selection made elsewhere (Browse → Restore selected) opens showing
    // just that selection.
    let narrowed = form
        .with_untracked(|f| f.objects_mode == "custom" && f.objects.iter().any(|c| !c.selected));
    let objects = StoredValue::new(objects);
    let filter = RwSignal::new(String::new());
    let only_selected = RwSignal::new(narrowed);
    let page = RwSignal::new(0usize);
    // The objects listed, by index. The choices are read untracked: ticking
    // a box must not reshuffle the page under the pointer.
    let shown = Memo::new(move |_| {
        let needle = filter.get().to_lowercase();
        let only = only_selected.get();
        form.with_untracked(|f| {
            objects.with_value(|all| {
                all.iter()
                    .enumerate()
                    .filter(|(at, o)| {
                        (needle.is_empty() || o.name.to_lowercase().contains(&needle))
                            && (!only || choice_selected(f, *at, &o.name))
                    })
                    .map(|(at, _)| at)
                    .collect::<Vec<usize>>()
            })
        })
    });
    let pages = move || shown.with(|s| s.len().div_ceil(ROWS_PER_PAGE).max(1));
    let selected = move || {
        form.with(|f| match f.objects_mode.as_str() {
            "custom" => f.objects.iter().filter(|c| c.selected).count(),
            _ => total,
        })
    };
    let rows = move || {
        let first = page.get().min(pages() - 1) * ROWS_PER_PAGE;
        let on_page: Vec<usize> =
            shown.with(|s| s.iter().skip(first).take(ROWS_PER_PAGE).copied().collect());
        on_page
            .into_iter()
            .filter_map(|at| {
                objects
                    .with_value(|all| all.get(at).cloned())
                    .map(|o| (at, o))
            })
            .map(|(at, o)| object_row(i18n, form, at, o))
            .collect_view()
    };
    view! {
        <div class="object-tools" data-testid="object-tools">
            <input type="search" data-testid="object-filter" placeholder=move || t_string!(i18n, restore_form.filter_objects)
                prop:value=move || filter.get()
                on:input=move |ev| { filter.set(event_target_value(&ev)); page.set(0); } />
            <label class="checkbox"><input type="checkbox" data-testid="object-only-selected"
                prop:checked=move || only_selected.get()
                on:change=move |ev| { only_selected.set(event_target_checked(&ev)); page.set(0); } />
                {t!(i18n, restore_form.only_selected)}</label>
            <span class="muted" data-testid="object-count" data-selected=move || selected().to_string() data-total=total.to_string()>
                {move || t!(i18n, restore_form.selected_of, count = selected(), total)}
            </span>
        </div>
        <table class="table" data-testid="object-table" data-shown=move || shown.with(|s| s.len()).to_string()>
            <thead>
                <tr><th>{t!(i18n, restore_form.col_restore)}</th><th>{t!(i18n, restore_form.col_object)}</th><th>{t!(i18n, restore_form.col_kind)}</th><th>{t!(i18n, history.col_size)}</th><th>{t!(i18n, restore_form.col_rows)}</th><th>{t!(i18n, restore_form.col_restored_as)}</th><th>{t!(i18n, restore_form.col_range_utc)}</th></tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        {move || (pages() > 1).then(|| view! {
            <nav class="pager" data-testid="object-pager">
                <button type="button" class="button" data-testid="object-page-previous" prop:disabled=move || page.get() == 0
                    on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>{t!(i18n, browse.previous)}</button>
                <span class="muted">{move || t!(i18n, browse.page, page = page.get().min(pages() - 1) + 1, pages = pages())}</span>
                <button type="button" class="button" data-testid="object-page-next" prop:disabled=move || { page.get() + 1 >= pages() }
                    on:click=move |_| page.update(|p| *p += 1)>{t!(i18n, browse.next)}</button>
            </nav>
        })}
    }
}

fn choice_selected(form: &RestoreForm, at: usize, name: &str) -> bool {
    match form.objects.get(at) {
        Some(c) if c.name == name => c.selected,
        _ => form.objects.iter().any(|c| c.name == name && c.selected),
    }
}

/// One object's row: its checkbox, the name it is restored under and, for
/// a time series, the range.
fn object_row(
    i18n: crate::I18n,
    form: RwSignal<RestoreForm>,
    at: usize,
    o: PointObject,
) -> impl IntoView {
    let custom = move || form.with(|f| f.objects_mode == "custom");
    let name = o.name.clone();
    let choice = {
        let name = name.clone();
        move || {
            form.with(|f| match f.objects.get(at) {
                Some(c) if c.name == name => c.clone(),
                _ => f
                    .objects
                    .iter()
                    .find(|c| c.name == name)
                    .cloned()
                    .unwrap_or_default(),
            })
        }
    };
    let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name.clone());
    let series = o.time_min.is_some();
    let span = match (&o.time_min, &o.time_max) {
        (Some(a), Some(b)) => format!("{a} … {b}"),
        _ => String::new(),
    };
    let (c1, c2, c3, c4) = (choice.clone(), choice.clone(), choice.clone(), choice);
    view! {
        <tr data-testid="object-row" data-object=name.clone()>
            <td>
                <input type="checkbox" data-testid="object-select"
                    prop:checked=move || !custom() || c1().selected
                    prop:disabled=move || !custom()
                    on:change=move |ev| { let on = event_target_checked(&ev); update_choice(form, at, &n1, |c| c.selected = on); } />
            </td>
            <td><code>{name.clone()}</code></td>
            <td translate=crate::components::restore_words::translate_attr(i18n, &o.kind)>{crate::components::restore_words::restore_text(i18n, &o.kind)}</td>
            <td>{human_bytes(o.size)}</td>
            <td>{o.rows.map(|r| r.to_string()).unwrap_or_default()}</td>
            <td>
                <input type="text" data-testid="object-target-name" prop:value=move || c2().target_name
                    on:input=move |ev| { let v = event_target_value(&ev); update_choice(form, at, &n2, |c| c.target_name = v); } />
            </td>
            <td>
                {series.then(|| view! {
                    <div class="range">
                        <input type="text" placeholder=move || t_string!(i18n, restore_form.since) data-testid="object-since" prop:value=move || c3().since
                            on:input=move |ev| { let v = event_target_value(&ev); update_choice(form, at, &n3, |c| c.since = v); } />
                        <input type="text" placeholder=move || t_string!(i18n, restore_form.until) data-testid="object-until" prop:value=move || c4().until
                            on:input=move |ev| { let v = event_target_value(&ev); update_choice(form, at, &n4, |c| c.until = v); } />
                        <small class="muted">{span.clone()}</small>
                    </div>
                })}
            </td>
        </tr>
    }
}
