//! A task's recovery figures as coloured badges: the newest good point's
//! age against the RPO target (recoloured as time passes, without a
//! reload), and the last proven point with its measured RTO against the
//! RTO target. Green, amber (80–100 % of the target) or red.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::model::{format_duration, human_duration, when, RecoveryStatus};

/// The server's time as the page counts it: `checked_at`, one second more
/// each second in the browser (the server's clock, not the browser's).
pub fn server_clock(checked_at: DateTime<Utc>) -> Signal<DateTime<Utc>> {
    let now = RwSignal::new(checked_at);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let ticks = std::cell::Cell::new(0i64);
        let handle = set_interval_with_handle(
            move || {
                ticks.set(ticks.get() + 1);
                now.set(checked_at + chrono::Duration::seconds(ticks.get()));
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    });
    now.into()
}

fn target_text(target: Option<u64>) -> String {
    target
        .map(|t| format!(" · target {}", format_duration(t)))
        .unwrap_or_else(|| " · no target".into())
}

/// The newest good point's age against the RPO target.
#[component]
pub fn RpoBadge(status: RecoveryStatus, now: Signal<DateTime<Utc>>) -> impl IntoView {
    let status = StoredValue::new(status);
    let level = move || status.with_value(|s| s.rpo_level(now.get()));
    let text = move || {
        status.with_value(|s| match s.point_age(now.get()) {
            None => format!("no good point{}", target_text(s.rpo_target_secs)),
            Some(age) => format!(
                "newest point {} old{}",
                human_duration(age),
                target_text(s.rpo_target_secs)
            ),
        })
    };
    view! {
        <span
            class=move || format!("level level--{}", level().as_str())
            data-testid="rpo-status"
            data-level=move || level().as_str()
            title=move || status.with_value(|s| format!("newest good point taken {}", when(s.newest_point_at)))
        >
            {text}
        </span>
    }
}

/// The last proven point, when, and its measured RTO against the target.
#[component]
pub fn RtoBadge(status: RecoveryStatus) -> impl IntoView {
    let level = status.rto_level().as_str();
    let text = match status.proven_rto_secs {
        Some(rto) => format!(
            "proven: point of {} · RTO {}{}",
            when(status.proven_point_at),
            human_duration(rto),
            target_text(status.rto_target_secs)
        ),
        None => format!("never proven{}", target_text(status.rto_target_secs)),
    };
    let title = status
        .proven_point
        .as_ref()
        .map(|p| {
            format!(
                "point {p} restored and proven by the drill that finished {}",
                when(status.proven_at)
            )
        })
        .unwrap_or_else(|| "no drill has passed yet".into());
    view! {
        <span class=format!("level level--{level}") data-testid="rto-status" data-level=level title=title>
            {text}
        </span>
        {status.last_drill_error.map(|e| view! {
            <div class="muted error-text" data-testid="last-drill-error" title=e.clone()>"last drill failed: " {e.clone()}</div>
        })}
    }
}
