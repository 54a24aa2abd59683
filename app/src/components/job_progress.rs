//! A job's progress bar: step, percentage, bytes, items, throughput, ETA;
//! green when it succeeded, red with the error when it failed.

use leptos::prelude::*;

use super::phase_name;
use crate::i18n::*;
use crate::model::{human_bytes, JobPhase, JobProgress};
use crate::pages::tasks::labels::duration_text;

#[component]
pub fn JobProgressBar(#[prop(into)] progress: Signal<Option<JobProgress>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        progress.get().map(|p| {
            let percent = p.percent();
            let phase = match p.phase {
                JobPhase::Running => "running",
                JobPhase::Succeeded => "succeeded",
                JobPhase::Failed => "failed",
                JobPhase::Cancelled => "cancelled",
            };
            let figures = t_string!(
                i18n,
                progress.figures,
                done = human_bytes(p.bytes_done),
                total = human_bytes(p.bytes_total),
                items_done = p.items_done,
                items_total = p.items_total,
                rate = human_bytes(p.throughput() as u64),
            );
            let eta = p
                .eta_secs()
                .map(|s| t_string!(i18n, progress.eta, eta = duration_text(i18n, s)))
                .unwrap_or_default();
            // A running job's step is the server's words; the others the phase's name.
            let (label, server_words) = match p.phase {
                JobPhase::Running => (p.step.clone(), "no"),
                _ => (phase_name(i18n, p.phase).to_owned(), "yes"),
            };
            view! {
                <div class=format!("job-progress job-progress--{phase}") data-testid="job-progress" data-phase=phase>
                    <div class="job-progress-track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{percent:.0}")>
                        <div class="job-progress-fill" style=format!("width: {percent:.1}%")></div>
                    </div>
                    <div class="job-progress-text">
                        <span class="job-progress-step" data-testid="job-step" translate=server_words>{label}</span>
                        " "
                        <strong data-testid="job-percent">{format!("{percent:.0}%")}</strong>
                        " · "
                        <span class="muted">{figures}{eta}</span>
                    </div>
                    {p.error.map(|e| view! { <div class="job-progress-error" data-testid="job-error" translate="no">{e}</div> })}
                </div>
            }
        })
    }
}
