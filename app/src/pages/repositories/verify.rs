//! "Verify repository": the engine's verify, with or without re-reading data.

use leptos::prelude::*;

use crate::api::repositories::VerifyRepository;
use crate::components::ErrorAlert;
use crate::model::{human_bytes, human_duration};

#[component]
pub(super) fn VerifyPanel(id: i64) -> impl IntoView {
    let verify = ServerAction::<VerifyRepository>::new();
    view! {
        <div class="actions">
            <button
                class="button button--small"
                data-testid="verify-repository"
                disabled=move || verify.pending().get()
                on:click=move |_| { verify.dispatch(VerifyRepository { id, read_data: false }); }
            >
                "Verify"
            </button>
            <button
                class="button button--small"
                data-testid="verify-repository-data"
                title="Re-read and re-hash every chunk"
                disabled=move || verify.pending().get()
                on:click=move |_| { verify.dispatch(VerifyRepository { id, read_data: true }); }
            >
                "Verify data"
            </button>
        </div>
        {move || verify.pending().get().then(|| view! { <span class="muted">"Verifying…"</span> })}
        {move || verify.value().get().map(|result| match result {
            Ok(report) => {
                let clean = report.problems.is_empty();
                view! {
                    <div data-testid="verify-report" data-clean=clean.to_string() class=if clean { "state--succeeded" } else { "state--failed" }>
                        {if clean { "clean" } else { "damaged" }}
                        {format!(": {} points, {} objects, {} chunks", report.points, report.objects, report.chunks)}
                        {report.read_data.then(|| format!("; {} packs ({}) re-read", report.packs_read, human_bytes(report.bytes_read)))}
                        {format!(" in {}", human_duration(report.seconds))}
                        <ul>
                            {report.problems.into_iter().map(|p| view! {
                                <li data-testid="verify-problem">
                                    <strong>{p.what}</strong> ": " {p.detail}
                                    {(!p.affects.is_empty()).then(|| format!(" (affects {})", p.affects.join(", ")))}
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
