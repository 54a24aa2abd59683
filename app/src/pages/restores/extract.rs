//! The restore form's extraction from a recovered PostgreSQL cluster: a
//! database of it, or chosen tables (optionally renamed), restored into a
//! PostgreSQL data source with the logical restore, and read back.

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
    let chosen = move || form.with(|f| !f.extract.source_id.is_empty());
    view! {
        <fieldset class="panel" data-testid="extract-fields">
            <legend>"Extract into a database server (optional)"</legend>
            <p class="muted">"Once recovered, a database of the cluster — or some of its tables — is restored into a PostgreSQL data source with the logical restore, under the policies below, and every row is read back and compared. Clashes are refused before the recovery starts."</p>
            <div class="form-grid">
                <label>"Data source"
                    <select data-testid="extract-source-id"
                        prop:value=move || form.with(|f| f.extract.source_id.clone())
                        on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.extract.source_id = v); }>
                        <option value="">"— no extraction —"</option>
                        {move || sources.get().into_iter().map(|(id, name, location)| {
                            let value = id.to_string();
                            let selected = form.with_untracked(|f| f.extract.source_id == value);
                            view! { <option value=value selected=selected>{format!("{name} — {location}")}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <FieldError field="extract_source_id" error />
                <label>"Database of the recovered cluster"
                    <input type="text" data-testid="extract-database"
                        prop:value=move || form.with(|f| f.extract.database.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.extract.database = v); } />
                </label>
                <FieldError field="extract_database" error />
                <label class="form-wide">"Tables, one per line: schema.table, or schema.table=schema.new_name (empty: every table)"
                    <textarea rows="3" data-testid="extract-tables"
                        prop:value=move || form.with(|f| f.extract.tables.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.extract.tables = v); }></textarea>
                </label>
                <FieldError field="extract_tables" error />
                <label class="checkbox" class:hidden=move || !chosen()>
                    <input type="checkbox" data-testid="extract-remove"
                        prop:checked=move || form.with(|f| f.extract.remove_cluster)
                        on:change=move |ev| { let on = event_target_checked(&ev); form.update(|f| f.extract.remove_cluster = on); } />
                    " Remove the recovered data directory afterwards"</label>
                <FieldError field="extract_remove" error />
            </div>
        </fieldset>
    }
}
