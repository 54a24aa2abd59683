//! A restore's progress: the overall bar and one bar each for reading the
//! repository and loading the target, with bytes, rows, throughput and
//! ETA; green when it finished, red when it failed (pages show the error).

use leptos::prelude::*;

use super::restore_words::{restore_text, translate_attr};
use crate::i18n::*;
use crate::model::{human_bytes, RestoreProgress, RestoreState};
use crate::pages::tasks::labels::duration_text;

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
    let i18n = use_i18n();
    move || {
        progress.get().map(|p| {
            let state = p.state.as_str();
            let percent = p.percent();
            let word = match p.state {
                RestoreState::Running | RestoreState::Pending => p.phase.clone(),
                other => other.as_str().to_owned(),
            };
            let (label, translate) = (restore_text(i18n, &word), translate_attr(i18n, &word));
            let figures = t_string!(i18n, restore_progress.figures,
                loaded = human_bytes(p.bytes_loaded),
                total = human_bytes(p.bytes_total),
                rows_loaded = p.rows_loaded,
                rows_total = p.rows_total,
                done = p.objects_done,
                objects = p.objects_total,
                rate = human_bytes(p.throughput() as u64),
                eta = p.eta_secs()
                    .map(|s| t_string!(i18n, restore_progress.eta, eta = duration_text(i18n, s)).to_string())
                    .unwrap_or_default()
            ).to_string();
            let active = p.state.is_active();
            view! {
                <div class=format!("job-progress job-progress--{}", css_state(p.state)) data-testid="restore-progress" data-state=state>
                    <div class="job-progress-track" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{percent:.0}")>
                        <div class="job-progress-fill" style=format!("width: {percent:.1}%")></div>
                    </div>
                    <div class="job-progress-text">
                        <span class="job-progress-step" data-testid="restore-phase" translate=translate>{label}</span>
                        " "
                        <strong data-testid="restore-percent">{format!("{percent:.0}%")}</strong>
                        " · "
                        <span class="muted" data-testid="restore-figures">{figures}</span>
                    </div>
                    {active.then(|| view! {
                        <div class="restore-bars">
                            {bar("bar-downloading", t_string!(i18n, restore_progress.reading, percent = format!("{:.0}", p.downloading_percent())).to_string(), p.downloading_percent())}
                            {bar("bar-loading", t_string!(i18n, restore_progress.loading, percent = format!("{:.0}", p.loading_percent())).to_string(), p.loading_percent())}
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
    let i18n = use_i18n();
    let ended = match state.as_str() {
        "finished" => RestoreState::Finished,
        "failed" => RestoreState::Failed,
        "cancelled" => RestoreState::Cancelled,
        _ => return view! { <span class="muted" data-testid="restore-progress" data-state=state>{t!(i18n, restore_words.not_started)}</span> }.into_any(),
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
                <span class="muted">{t!(i18n, restore_progress.bytes, loaded = human_bytes(bytes_loaded), total = human_bytes(bytes_total))}</span>
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
