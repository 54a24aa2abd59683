//! Delete a task, asking whether its backup files go too.

use leptos::prelude::*;

use crate::api::tasks::DeleteTask;
use crate::components::Notice;
use crate::i18n::*;
use crate::model::human_bytes;

#[component]
pub(super) fn DeleteDialog(
    id: i64,
    name: String,
    deleting: RwSignal<Option<(i64, String)>>,
    deleted: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
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
                            {t!(i18n, task_delete.report_task)} <strong translate="no">{report.task.clone()}</strong> {t!(i18n, task_delete.report_deleted)}
                            {(report.points_removed > 0 || report.packs_deleted > 0).then(|| t_string!(
                                i18n,
                                task_delete.report_removed,
                                points = report.points_removed,
                                packs = report.packs_deleted,
                                freed = human_bytes(report.bytes_freed),
                            ))}
                            {(report.packs_shared > 0).then(|| t_string!(
                                i18n,
                                task_delete.report_kept,
                                count = report.packs_shared
                            ))}
                            {t!(i18n, task_delete.report_end)}
                        </p>
                        <button class="button" data-testid="close-delete" on:click=move |_| deleting.set(None)>
                            {t!(i18n, task_delete.close)}
                        </button>
                    }
                        .into_any()
                }
                _ => {
                    let name = name.clone();
                    view! {
                        <p>{t!(i18n, task_delete.confirm_before)} <strong translate="no">{name}</strong> {t!(i18n, task_delete.confirm_after)}</p>
                        <label class="checkbox">
                            <input
                                type="checkbox"
                                data-testid="delete-files"
                                prop:checked=move || with_files.get()
                                on:change=move |ev| with_files.set(event_target_checked(&ev))
                            />
                            {t!(i18n, task_delete.also_files)}
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
                                {t!(i18n, common.delete)}
                            </button>
                            <button class="button" on:click=move |_| deleting.set(None)>{t!(i18n, common.cancel)}</button>
                        </div>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}
