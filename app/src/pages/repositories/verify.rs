//! "Verify repository": the engine's verify, with or without re-reading data.

use crate::i18n::*;
use crate::pages::tasks::labels::duration_text;
use leptos::prelude::*;

use crate::api::repositories::VerifyRepository;
use crate::components::ErrorAlert;
use crate::model::human_bytes;

#[component]
pub(super) fn VerifyPanel(id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let verify = ServerAction::<VerifyRepository>::new();
    view! {
        <div class="actions">
            <button
                class="button button--small"
                data-testid="verify-repository"
                disabled=move || verify.pending().get()
                on:click=move |_| { verify.dispatch(VerifyRepository { id, read_data: false }); }
            >
                {t!(i18n, repositories.verify)}
            </button>
            <button
                class="button button--small"
                data-testid="verify-repository-data"
                title=move || t_string!(i18n, verify.data_tip)
                disabled=move || verify.pending().get()
                on:click=move |_| { verify.dispatch(VerifyRepository { id, read_data: true }); }
            >
                {t!(i18n, verify.data)}
            </button>
        </div>
        {move || verify.pending().get().then(|| view! { <span class="muted">{t!(i18n, verify.verifying)}</span> })}
        {move || verify.value().get().map(|result| match result {
            Ok(report) => {
                let clean = report.problems.is_empty();
                view! {
                    <div data-testid="verify-report" data-clean=clean.to_string() class=if clean { "state--succeeded" } else { "state--failed" }>
                        {if clean { t_string!(i18n, verify.clean) } else { t_string!(i18n, verify.damaged) }}
                        {t!(i18n, verify.figures, points = report.points, objects = report.objects, chunks = report.chunks)}
                        {report.read_data.then(|| t_string!(i18n, verify.reread, packs = report.packs_read, size = human_bytes(report.bytes_read)))}
                        {t!(i18n, verify.took, time = duration_text(i18n, report.seconds))}
                        <ul>
                            {report.problems.into_iter().map(|p| view! {
                                <li data-testid="verify-problem">
                                    <strong translate="no">{p.what}</strong> ": " <span translate="no">{p.detail}</span>
                                    {(!p.affects.is_empty()).then(|| view! { {t!(i18n, verify.affects)} <span translate="no">{p.affects.join(", ")}</span> ")" })}
                                </li>
                            }).collect_view()}
                        </ul>
                    </div>
                }.into_any()
            }
            Err(error) => view! { <ErrorAlert error /> }.into_any(),
        })}
    }
}
