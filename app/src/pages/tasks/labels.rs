//! The console-language words for the run, mode, trigger, schedule and
//! policy values the server sends as English text.

use crate::i18n::*;
use crate::I18n;

/// A run state ("succeeded", …); an unknown one as sent.
pub(crate) fn state_name(i18n: I18n, state: &str) -> String {
    match state {
        "running" => t_string!(i18n, phase.running).into(),
        "succeeded" => t_string!(i18n, phase.succeeded).into(),
        "failed" => t_string!(i18n, phase.failed).into(),
        "cancelled" => t_string!(i18n, phase.cancelled).into(),
        "new" => t_string!(i18n, tasks.state_new).into(),
        "pending" => t_string!(i18n, tasks.state_pending).into(),
        "never run" => t_string!(i18n, tasks.never_run).into(),
        other => other.into(),
    }
}

/// A backup mode ("full" or "incremental").
pub(crate) fn mode_name(i18n: I18n, mode: &str) -> String {
    match mode {
        "full" => t_string!(i18n, tasks.mode.full).into(),
        "incremental" => t_string!(i18n, tasks.mode.incremental).into(),
        other => other.into(),
    }
}

/// What started a run ("manual", "schedule", "retry").
pub(crate) fn trigger_name(i18n: I18n, trigger: &str) -> String {
    match trigger {
        "manual" => t_string!(i18n, tasks.trigger.manual).into(),
        "schedule" => t_string!(i18n, tasks.trigger.schedule).into(),
        "retry" => t_string!(i18n, tasks.trigger.retry).into(),
        other => other.into(),
    }
}

/// A schedule's label as the server writes it ("Manual", "every 6 hours",
/// "cron … (zone)"); a cron one stays as it is.
pub(crate) fn schedule_text(i18n: I18n, label: &str) -> String {
    if label == "Manual" {
        return t_string!(i18n, tasks.schedule.manual).into();
    }
    let Some(rest) = label.strip_prefix("every ") else {
        return label.into();
    };
    match rest.split_once(' ') {
        Some(("1", "hour")) => t_string!(i18n, tasks.schedule.every_hour).into(),
        Some(("1", "day")) => t_string!(i18n, tasks.schedule.every_day).into(),
        Some((n, "hours")) => t_string!(i18n, tasks.schedule.every_hours, n),
        Some((n, "days")) => t_string!(i18n, tasks.schedule.every_days, n),
        _ => label.into(),
    }
}

/// Whether a schedule label is technical text (a cron expression).
pub(crate) fn schedule_is_cron(label: &str) -> bool {
    label.starts_with("cron ")
}

/// A backup policy's label as the server writes it.
pub(crate) fn policy_text(i18n: I18n, label: &str) -> String {
    match label {
        "full first, then incremental" => {
            t_string!(i18n, tasks.policy.full_then_incremental).into()
        }
        "full every time" => t_string!(i18n, tasks.policy.full_always).into(),
        other => match other
            .strip_prefix("full every ")
            .and_then(|r| r.strip_suffix(" runs"))
        {
            Some(n) => t_string!(i18n, tasks.policy.full_every_n, n),
            None => other.into(),
        },
    }
}

/// `1 小时 02 分 03 秒`-style durations.
pub(crate) fn duration_text(i18n: I18n, secs: f64) -> String {
    let total = secs.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let (m2, s2) = (format!("{m:02}"), format!("{s:02}"));
    if h > 0 {
        t_string!(i18n, tasks.duration.hms, h, m = m2, s = s2)
    } else if m > 0 {
        t_string!(i18n, tasks.duration.ms, m, s = s2)
    } else {
        t_string!(i18n, tasks.duration.s, s)
    }
}
