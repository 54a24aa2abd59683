//! The task page's timeline (continuous tasks): the recoverable ranges as
//! bars on a UTC time axis, the archive's holes in red with their reason,
//! the base points with their binary log coordinates, and the archiver's
//! state and lag (the current RPO) against the task's RPO target. It reads
//! the repository again every few seconds while shown.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::api::timeline::{task_timeline, TimelineView};
use crate::components::ErrorAlert;
use crate::model::{format_duration, human_bytes, human_duration};

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
    let lag = match view.lag_seconds {
        Some(lag) => format!("lag (RPO) {}", human_duration(lag)),
        None => "lag (RPO) unknown: the archive has never held everything the server wrote".into(),
    };
    let target = view
        .rpo_target_secs
        .map(|t| format!(" · target {}", format_duration(t)))
        .unwrap_or_else(|| " · no target".into());
    view! {
        <section class="panel" data-testid="timeline" data-archiver=state>
            <h2>"Timeline (point-in-time recovery)"</h2>
            <p>
                <span class=format!("level level--{}", if state == "running" { "green" } else { "red" }) data-testid="archiver-state">{format!("archiver {state}")}</span>
                " "
                <span class=format!("level level--{level}") data-testid="timeline-lag" data-level=level data-lag=view.lag_seconds.map(|l| format!("{l:.0}")).unwrap_or_default()>{lag}{target}</span>
                " "
                <span class="muted">{format!(
                    "{} log file(s), {} archived{}",
                    view.files,
                    human_bytes(view.bytes),
                    view.last_commit.map(|t| format!(", last commit {} UTC", utc(t))).unwrap_or_default()
                )}</span>
            </p>
            {view.slot_retained_bytes.map(|bytes| {
                let alert = bytes >= view.slot_warning_bytes;
                view! {
                    <p class=if alert { "alert alert--warn" } else { "muted" } data-testid="slot-retained" data-alert=alert.to_string()>
                        {format!("replication slot retains {} of WAL on the server{}", human_bytes(bytes),
                            if alert { ": the archive is falling behind and the server's disk fills; check the archiver" } else { "" })}
                    </p>
                }
            })}
            {view.archiver_error.clone().map(|e| view! {
                <p class="alert alert--error" data-testid="archiver-error">{e}</p>
            })}
            {span.map(|(from, to)| view! {
                <div class="timeline-axis" aria-label="recoverable time">
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
                view! { <p class="muted" data-testid="timeline-empty">"Nothing recoverable to the second yet: it needs a full backup point taken with binary logging on, and the archived logs after it."</p> }.into_any()
            } else {
                view! {
                    <ul class="timeline-list">
                        {view.ranges.iter().map(|r| view! {
                            <li data-testid="timeline-range" data-from=utc(r.from) data-to=utc(r.to)>
                                {format!("recoverable from {} to {} UTC ({} to {}; base points: {})", utc(r.from), utc(r.to), r.first_file, r.last_file, r.base_points.join(", "))}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(!view.gaps.is_empty()).then(|| view! {
                <ul class="timeline-list">
                    {view.gaps.iter().map(|g| view! {
                        <li class="error-text" data-testid="timeline-gap">
                            {format!(
                                "hole{}{}, archiving resumed at {}: {}",
                                g.after.as_ref().map(|a| format!(" after {a}")).unwrap_or_default(),
                                g.from.map(|t| format!(" (last commit before it {} UTC)", utc(t))).unwrap_or_default(),
                                g.resumed_at,
                                g.reason
                            )}
                        </li>
                    }).collect_view()}
                </ul>
            })}
            {(!view.points.is_empty()).then(|| view! {
                <table class="table">
                    <thead><tr><th>"Base point"</th><th>"Snapshot (UTC)"</th><th>"Log coordinates"</th><th></th></tr></thead>
                    <tbody>
                        {view.points.iter().map(|p| view! {
                            <tr data-testid="timeline-point" data-point=p.id.clone()>
                                <td><code>{p.id.clone()}</code></td>
                                <td>{utc(p.taken_at)}</td>
                                <td data-testid="point-coordinates">{p.coordinates.clone()}</td>
                                <td class="muted">{p.unusable.clone().unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}
