//! Delete a task, asking whether its backup files go too.

use leptos::prelude::*;

use crate::api::tasks::DeleteTask;
use crate::components::Notice;
use crate::model::human_bytes;

#[component]
pub(super) fn DeleteDialog(
    id: i64,
    name: String,
    deleting: RwSignal<Option<(i64, String)>>,
    deleted: RwSignal<u32>,
) -> impl IntoView {
    let with_files = RwSignal::new(false);
    let delete = ServerAction::<DeleteTask>::new();
    let error = Signal::derive(move || delete.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete.value().get() {
            deleted.update(|n| *n += 1);
        }
    });
    view! {
        <div class="panel panel--danger" data-testid="delete-dialog" role="dialog">
            {move || match delete.value().get() {
                Some(Ok(report)) => {
                    view! {
                        <p data-testid="delete-report">
                            "Task " <strong>{report.task.clone()}</strong> " deleted"
                            {(report.points_removed > 0 || report.packs_deleted > 0).then(|| format!(
                                ": {} backup point(s) and {} pack file(s) removed, {} freed",
                                report.points_removed,
                                report.packs_deleted,
                                human_bytes(report.bytes_freed),
                            ))}
                            {(report.packs_shared > 0).then(|| format!(
                                "; {} pack file(s) kept because other points still use them",
                                report.packs_shared
                            ))}
                            "."
                        </p>
                        <button class="button" data-testid="close-delete" on:click=move |_| deleting.set(None)>
                            "Close"
                        </button>
                    }
                        .into_any()
                }
                _ => {
                    let name = name.clone();
                    view! {
                        <p>"Delete task " <strong>{name}</strong> "? A running backup of it is stopped first."</p>
                        <label class="checkbox">
                            <input
                                type="checkbox"
                                data-testid="delete-files"
                                prop:checked=move || with_files.get()
                                on:change=move |ev| with_files.set(event_target_checked(&ev))
                            />
                            "Also delete its backup files (points other tasks depend on are kept)"
                        </label>
                        <Notice error />
                        <div class="form-actions">
                            <button
                                class="button button--danger"
                                data-testid="confirm-delete"
                                disabled=move || delete.pending().get()
                                on:click=move |_| {
                                    delete.dispatch(DeleteTask { id, delete_files: with_files.get_untracked() });
                                }
                            >
                                "Delete"
                            </button>
                            <button class="button" on:click=move |_| deleting.set(None)>"Cancel"</button>
                        </div>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}
