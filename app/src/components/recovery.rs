//! A task's recovery figures as coloured badges: the newest good point's
//! age against the RPO target (recoloured as time passes, without a
//! reload), and the last proven point with its measured RTO against the
//! RTO target. Green, amber (80–100 % of the target) or red.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::i18n::*;
use crate::model::{format_duration, when, RecoveryStatus};
use crate::pages::tasks::duration_text;

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

fn target_text(i18n: crate::I18n, target: Option<u64>) -> String {
    target
        .map(|t| t_string!(i18n, recovery.target, target = format_duration(t)))
        .unwrap_or_else(|| t_string!(i18n, recovery.no_target).into())
}

/// The newest good point's age against the RPO target.
#[component]
pub fn RpoBadge(status: RecoveryStatus, now: Signal<DateTime<Utc>>) -> impl IntoView {
    let i18n = use_i18n();
    let status = StoredValue::new(status);
    let level = move || status.with_value(|s| s.rpo_level(now.get()));
    let text = move || {
        status.with_value(|s| match s.point_age(now.get()) {
            None => t_string!(
                i18n,
                recovery.no_good_point,
                target = target_text(i18n, s.rpo_target_secs)
            ),
            Some(age) => t_string!(
                i18n,
                recovery.newest_point_age,
                age = duration_text(i18n, age),
                target = target_text(i18n, s.rpo_target_secs)
            ),
        })
    };
    view! {
        <span
            class=move || format!("level level--{}", level().as_str())
            data-testid="rpo-status"
            data-level=move || level().as_str()
            title=move || status.with_value(|s| t_string!(i18n, recovery.newest_point_tip, at = when(s.newest_point_at)))
        >
            {text}
        </span>
    }
}

/// The last proven point, when, and its measured RTO against the target.
#[component]
pub fn RtoBadge(status: RecoveryStatus) -> impl IntoView {
    let i18n = use_i18n();
    let level = status.rto_level().as_str();
    let status = StoredValue::new(status);
    let text = move || {
        status.with_value(|status| match status.proven_rto_secs {
            Some(rto) => t_string!(
                i18n,
                recovery.proven,
                at = when(status.proven_point_at),
                rto = duration_text(i18n, rto),
                target = target_text(i18n, status.rto_target_secs)
            ),
            None => t_string!(
                i18n,
                recovery.never_proven,
                target = target_text(i18n, status.rto_target_secs)
            ),
        })
    };
    let title = move || {
        status.with_value(|status| match status.proven_point.as_ref() {
            Some(point) => t_string!(
                i18n,
                recovery.proven_tip,
                point,
                at = when(status.proven_at)
            ),
            None => t_string!(i18n, recovery.no_drill_passed).into(),
        })
    };
    let last_error = status.with_value(|s| s.last_drill_error.clone());
    view! {
        <span class=format!("level level--{level}") data-testid="rto-status" data-level=level title=title>
            {text}
        </span>
        {last_error.map(|e| view! {
            <div class="muted error-text" data-testid="last-drill-error">
                {t!(i18n, recovery.last_drill_failed)}<span translate="no" title=e.clone()>{e.clone()}</span>
            </div>
        })}
    }
}
