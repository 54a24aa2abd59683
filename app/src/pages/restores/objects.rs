//! Data configuration: every object of the recovery point with a checkbox,
//! the name it is restored under, and a time range for time-series tables.

use crate::i18n::*;
use leptos::prelude::*;

use crate::api::restores::PointObject;
use crate::model::{human_bytes, ObjectChoice, RestoreForm};

/// The form's choices for `objects`, keeping what was chosen for names
/// that are still there.
pub fn choices_for(objects: &[PointObject], current: &[ObjectChoice]) -> Vec<ObjectChoice> {
    objects
        .iter()
        .map(|o| {
            current
                .iter()
                .find(|c| c.name == o.name)
                .cloned()
                .unwrap_or_else(|| ObjectChoice {
                    name: o.name.clone(),
                    selected: true,
                    target_name: o.name.clone(),
                    ..ObjectChoice::default()
                })
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

#[component]
pub fn ObjectTable(objects: Vec<PointObject>, form: RwSignal<RestoreForm>) -> impl IntoView {
    let i18n = use_i18n();
    let custom = move || form.with(|f| f.objects_mode == "custom");
    view! {
        <table class="table" data-testid="object-table">
            <thead>
                <tr><th>{t!(i18n, restore_form.col_restore)}</th><th>{t!(i18n, restore_form.col_object)}</th><th>{t!(i18n, restore_form.col_kind)}</th><th>{t!(i18n, history.col_size)}</th><th>{t!(i18n, restore_form.col_rows)}</th><th>{t!(i18n, restore_form.col_restored_as)}</th><th>{t!(i18n, restore_form.col_range_utc)}</th></tr>
            </thead>
            <tbody>
                {objects.into_iter().enumerate().map(|(at, o)| {
                    let name = o.name.clone();
                    let choice = {
                        let name = name.clone();
                        move || form.with(|f| match f.objects.get(at) {
                            Some(c) if c.name == name => c.clone(),
                            _ => f.objects.iter().find(|c| c.name == name).cloned().unwrap_or_default(),
                        })
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
                }).collect_view()}
            </tbody>
        </table>
    }
}
