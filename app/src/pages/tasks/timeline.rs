//! The task page's timeline (continuous tasks): the recoverable ranges as
//! bars on a UTC time axis, the archive's holes in red with their reason,
//! the base points with their binary log coordinates, and the archiver's
//! state and lag (the current RPO) against the task's RPO target. It reads
//! the repository again every few seconds while shown.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use super::duration_text;
use crate::api::timeline::{task_timeline, TimelineView};
use crate::components::ErrorAlert;
use crate::i18n::*;
use crate::model::{format_duration, human_bytes};

/// How often the panel reads the timeline again.
#[cfg(feature = "hydrate")]
const REFRESH: std::time::Duration = std::time::Duration::from_secs(3);

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[component]
pub fn TaskTimelinePanel(#[prop(into)] task_id: Signal<i64>) -> impl IntoView {
    let tick = RwSignal::new(0u64);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || tick.update(|n| *n += 1), REFRESH) {
            on_cleanup(move || handle.clear());
        }
    });
    let timeline = Resource::new(
        move || (task_id.get(), tick.get()),
        |(id, _)| task_timeline(id),
    );
    view! {
        <Transition fallback=|| ()>
            {move || timeline.get().map(|result| match result {
                Ok(view) if !view.continuous && view.ranges.is_empty() && view.files == 0 => ().into_any(),
                Ok(view) => view! { <Timeline view /> }.into_any(),
                Err(error) => view! { <section class="panel" data-testid="timeline"><ErrorAlert error /></section> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Timeline(view: TimelineView) -> impl IntoView {
    let i18n = use_i18n();
    let span = view.span();
    // Where a moment sits on the axis, in percent.
    let at = move |t: DateTime<Utc>| -> f64 {
        match span {
            Some((from, to)) => {
                let whole = (to - from).num_milliseconds().max(1) as f64;
                ((t - from).num_milliseconds() as f64 / whole * 100.0).clamp(0.0, 100.0)
            }
            None => 0.0,
        }
    };
    let level = view.lag_level();
    let state = if view.archiver_error.is_some() {
        "error"
    } else if view.archiver_running {
        "running"
    } else {
        "stopped"
    };
    let archiver = match state {
        "error" => t_string!(i18n, timeline.archiver_error),
        "running" => t_string!(i18n, timeline.archiver_running),
        _ => t_string!(i18n, timeline.archiver_stopped),
    };
    let lag = match view.lag_seconds {
        Some(lag) => t_string!(i18n, timeline.lag, lag = duration_text(i18n, lag)),
        None => t_string!(i18n, timeline.lag_unknown).into(),
    };
    let target = view
        .rpo_target_secs
        .map(|t| t_string!(i18n, recovery.target, target = format_duration(t)))
        .unwrap_or_else(|| t_string!(i18n, recovery.no_target).into());
    // Log file names, point ids and the server's reasons are data.
    let data = |text: String| move || view! { <span translate="no">{text.clone()}</span> };
    view! {
        <section class="panel" data-testid="timeline" data-archiver=state>
            <h2>{t!(i18n, timeline.title)}</h2>
            <p>
                <span class=format!("level level--{}", if state == "running" { "green" } else { "red" }) data-testid="archiver-state">{archiver}</span>
                " "
                <span class=format!("level level--{level}") data-testid="timeline-lag" data-level=level data-lag=view.lag_seconds.map(|l| format!("{l:.0}")).unwrap_or_default()>{lag}{target}</span>
                " "
                <span class="muted">{t_string!(
                    i18n,
                    timeline.files,
                    files = view.files,
                    size = human_bytes(view.bytes),
                    last = view.last_commit.map(|t| t_string!(i18n, timeline.last_commit, at = utc(t))).unwrap_or_default()
                )}</span>
            </p>
            {view.slot_retained_bytes.map(|bytes| {
                let alert = bytes >= view.slot_warning_bytes;
                view! {
                    <p class=if alert { "alert alert--warn" } else { "muted" } data-testid="slot-retained" data-alert=alert.to_string()>
                        {t_string!(i18n, timeline.slot, size = human_bytes(bytes),
                            alert = if alert { t_string!(i18n, timeline.slot_alert) } else { "" })}
                    </p>
                }
            })}
            {view.archiver_error.clone().map(|e| view! {
                <p class="alert alert--error" data-testid="archiver-error" translate="no">{e}</p>
            })}
            {span.map(|(from, to)| view! {
                <div class="timeline-axis" aria-label=move || t_string!(i18n, timeline.axis_label)>
                    {view.ranges.iter().map(|r| view! {
                        <div class="timeline-bar" style=format!("left: {:.2}%; width: {:.2}%", at(r.from), (at(r.to) - at(r.from)).max(0.5))></div>
                    }).collect_view()}
                    {view.gaps.iter().filter_map(|g| g.from).map(|t| view! {
                        <div class="timeline-hole" style=format!("left: {:.2}%", at(t))></div>
                    }).collect_view()}
                </div>
                <div class="timeline-scale muted"><span>{utc(from)}" UTC"</span><span>{utc(to)}" UTC"</span></div>
            })}
            {if view.ranges.is_empty() {
                view! { <p class="muted" data-testid="timeline-empty">{t!(i18n, timeline.empty)}</p> }.into_any()
            } else {
                view! {
                    <ul class="timeline-list">
                        {view.ranges.iter().map(|r| view! {
                            <li data-testid="timeline-range" data-from=utc(r.from) data-to=utc(r.to)>
                                {t!(i18n, timeline.range, from = utc(r.from), to = utc(r.to), first = data(r.first_file.clone()), last = data(r.last_file.clone()), points = data(r.base_points.join(", ")))}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(!view.gaps.is_empty()).then(|| view! {
                <ul class="timeline-list">
                    {view.gaps.iter().map(|g| view! {
                        <li class="error-text" data-testid="timeline-gap">
                            {t!(i18n, timeline.hole)}
                            {g.after.clone().map(|a| t!(i18n, timeline.hole_after, file = data(a)))}
                            {g.from.map(|t| t!(i18n, timeline.hole_before, at = utc(t)))}
                            {t!(i18n, timeline.hole_resumed, file = data(g.resumed_at.clone()))}
                            <span translate="no">{g.reason.clone()}</span>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            {(!view.points.is_empty()).then(|| view! {
                <table class="table">
                    <thead><tr><th>{t!(i18n, timeline.col_base_point)}</th><th>{t!(i18n, timeline.col_snapshot)}</th><th>{t!(i18n, timeline.col_coordinates)}</th><th></th></tr></thead>
                    <tbody>
                        {view.points.iter().map(|p| view! {
                            <tr data-testid="timeline-point" data-point=p.id.clone()>
                                <td><code>{p.id.clone()}</code></td>
                                <td>{utc(p.taken_at)}</td>
                                <td data-testid="point-coordinates" translate="no">{p.coordinates.clone()}</td>
                                <td class="muted" translate="no">{p.unusable.clone().unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}
