//! A restore's progress: the overall bar and one bar each for reading the
//! repository and loading the target, with bytes, rows, throughput and
//! ETA; green when it finished, red when it failed (pages show the error).

use leptos::prelude::*;

use crate::model::{human_bytes, human_duration, RestoreProgress, RestoreState};

fn bar(testid: &'static str, label: String, percent: f64) -> impl IntoView {
    view! {
        <div class="restore-bar" data-testid=testid>
            <span class="restore-bar-label">{label}</span>
            <div class="job-progress-track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{percent:.0}")>
                <div class="job-progress-fill" style=format!("width: {percent:.1}%")></div>
            </div>
        </div>
    }
}

#[component]
pub fn RestoreProgressView(
    #[prop(into)] progress: Signal<Option<RestoreProgress>>,
) -> impl IntoView {
    move || {
        progress.get().map(|p| {
            let state = p.state.as_str();
            let percent = p.percent();
            let label = match p.state {
                RestoreState::Running | RestoreState::Pending => p.phase.clone(),
                other => other.as_str().to_owned(),
            };
            let figures = format!(
                "{} of {} · {} of {} rows · {} of {} objects · {}/s{}",
                human_bytes(p.bytes_loaded),
                human_bytes(p.bytes_total),
                p.rows_loaded,
                p.rows_total,
                p.objects_done,
                p.objects_total,
                human_bytes(p.throughput() as u64),
                p.eta_secs()
                    .map(|s| format!(" · ETA {}", human_duration(s)))
                    .unwrap_or_default()
            );
            let active = p.state.is_active();
            view! {
                <div class=format!("job-progress job-progress--{}", css_state(p.state)) data-testid="restore-progress" data-state=state>
                    <div class="job-progress-track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{percent:.0}")>
                        <div class="job-progress-fill" style=format!("width: {percent:.1}%")></div>
                    </div>
                    <div class="job-progress-text">
                        <span class="job-progress-step" data-testid="restore-phase">{label}</span>
                        " "
                        <strong data-testid="restore-percent">{format!("{percent:.0}%")}</strong>
                        " · "
                        <span class="muted" data-testid="restore-figures">{figures}</span>
                    </div>
                    {active.then(|| view! {
                        <div class="restore-bars">
                            {bar("bar-downloading", format!("Reading the repository {:.0}%", p.downloading_percent()), p.downloading_percent())}
                            {bar("bar-loading", format!("Loading the target {:.0}%", p.loading_percent()), p.loading_percent())}
                        </div>
                    })}
                </div>
            }
        })
    }
}

/// The bar of a restore that is not running (in lists): full and green
/// when it finished, red where a failed or cancelled one stopped; nothing
/// for one never started.
#[component]
pub fn EndedRestoreBar(state: String, bytes_loaded: u64, bytes_total: u64) -> impl IntoView {
    let ended = match state.as_str() {
        "finished" => RestoreState::Finished,
        "failed" => RestoreState::Failed,
        "cancelled" => RestoreState::Cancelled,
        _ => return view! { <span class="muted" data-testid="restore-progress" data-state=state>"not started"</span> }.into_any(),
    };
    let percent = if ended == RestoreState::Finished {
        100.0
    } else if bytes_total == 0 {
        0.0
    } else {
        (bytes_loaded as f64 * 100.0 / bytes_total as f64).min(100.0)
    };
    view! {
        <div class=format!("job-progress job-progress--{}", css_state(ended)) data-testid="restore-progress" data-state=state>
            <div class="job-progress-track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{percent:.0}")>
                <div class="job-progress-fill" style=format!("width: {percent:.1}%")></div>
            </div>
            <div class="job-progress-text">
                <strong data-testid="restore-percent">{format!("{percent:.0}%")}</strong>
                " · "
                <span class="muted">{format!("{} of {}", human_bytes(bytes_loaded), human_bytes(bytes_total))}</span>
            </div>
        </div>
    }
    .into_any()
}

/// The bar colours shared with backup jobs.
fn css_state(state: RestoreState) -> &'static str {
    match state {
        RestoreState::Finished => "succeeded",
        RestoreState::Failed => "failed",
        RestoreState::Cancelled => "cancelled",
        _ => "running",
    }
}
