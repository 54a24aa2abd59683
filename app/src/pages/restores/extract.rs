//! The restore form's extraction from a recovered PostgreSQL cluster: a
//! database of it, or chosen tables (optionally renamed), restored into a
//! PostgreSQL data source with the logical restore, and read back.

use crate::i18n::*;
use leptos::prelude::*;

use crate::components::FieldError;
use crate::error::AppError;
use crate::model::RestoreForm;

#[component]
pub fn ExtractFields(
    form: RwSignal<RestoreForm>,
    /// The PostgreSQL data sources: id, name, location.
    #[prop(into)]
    sources: Signal<Vec<(i64, String, String)>>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let chosen = move || form.with(|f| !f.extract.source_id.is_empty());
    view! {
        <fieldset class="panel" data-testid="extract-fields">
            <legend>{t!(i18n, restore_extract.legend)}</legend>
            <p class="muted">{t!(i18n, restore_extract.hint)}</p>
            <div class="form-grid">
                <label>{t!(i18n, restore_extract.source)}
                    <select data-testid="extract-source-id"
                        prop:value=move || form.with(|f| f.extract.source_id.clone())
                        on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.extract.source_id = v); }>
                        <option value="">{t!(i18n, restore_extract.none)}</option>
                        {move || sources.get().into_iter().map(|(id, name, location)| {
                            let value = id.to_string();
                            let selected = form.with_untracked(|f| f.extract.source_id == value);
                            view! { <option value=value selected=selected translate="no">{format!("{name} — {location}")}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <FieldError field="extract_source_id" error />
                <label>{t!(i18n, restore_extract.database)}
                    <input type="text" data-testid="extract-database"
                        prop:value=move || form.with(|f| f.extract.database.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.extract.database = v); } />
                </label>
                <FieldError field="extract_database" error />
                <label class="form-wide">{t!(i18n, restore_extract.tables)}
                    <textarea rows="3" data-testid="extract-tables"
                        prop:value=move || form.with(|f| f.extract.tables.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.extract.tables = v); }></textarea>
                </label>
                <FieldError field="extract_tables" error />
                <label class="checkbox" class:hidden=move || !chosen()>
                    <input type="checkbox" data-testid="extract-remove"
                        prop:checked=move || form.with(|f| f.extract.remove_cluster)
                        on:change=move |ev| { let on = event_target_checked(&ev); form.update(|f| f.extract.remove_cluster = on); } />
                    {t!(i18n, restore_extract.remove)}</label>
                <FieldError field="extract_remove" error />
            </div>
        </fieldset>
    }
}
