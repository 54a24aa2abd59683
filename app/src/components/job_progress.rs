//! A job's progress bar: step, percentage, bytes, items, throughput, ETA;
//! green when it succeeded, red with the error when it failed.

use leptos::prelude::*;

use crate::model::{human_bytes, human_duration, JobPhase, JobProgress};

#[component]
pub fn JobProgressBar(#[prop(into)] progress: Signal<Option<JobProgress>>) -> impl IntoView {
    move || {
        progress.get().map(|p| {
            let percent = p.percent();
            let phase = match p.phase {
                JobPhase::Running => "running",
                JobPhase::Succeeded => "succeeded",
                JobPhase::Failed => "failed",
                JobPhase::Cancelled => "cancelled",
            };
            let figures = format!(
                "{} of {} · {} of {} items · {}/s{}",
                human_bytes(p.bytes_done),
                human_bytes(p.bytes_total),
                p.items_done,
                p.items_total,
                human_bytes(p.throughput() as u64),
                p.eta_secs()
                    .map(|s| format!(" · ETA {}", human_duration(s)))
                    .unwrap_or_default()
            );
            let label = match p.phase {
                JobPhase::Running => p.step.clone(),
                _ => phase.to_owned(),
            };
            view! {
                <div class=format!("job-progress job-progress--{phase}") data-testid="job-progress" data-phase=phase>
                    <div class="job-progress-track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{percent:.0}")>
                        <div class="job-progress-fill" style=format!("width: {percent:.1}%")></div>
                    </div>
                    <div class="job-progress-text">
                        <span class="job-progress-step" data-testid="job-step">{label}</span>
                        " "
                        <strong data-testid="job-percent">{format!("{percent:.0}%")}</strong>
                        " · "
                        <span class="muted">{figures}</span>
                    </div>
                    {p.error.map(|e| view! { <div class="job-progress-error" data-testid="job-error">{e}</div> })}
                </div>
            }
        })
    }
}
