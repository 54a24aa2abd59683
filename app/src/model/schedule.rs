//! Schedules: a first start and a period, for backups and drills alike,
//! or (backups) a cron expression in a time zone.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeriodUnit {
    Hours,
    Days,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub value: u32,
    pub unit: PeriodUnit,
}

impl Period {
    pub fn duration(self) -> Duration {
        match self.unit {
            PeriodUnit::Hours => Duration::hours(i64::from(self.value)),
            PeriodUnit::Days => Duration::days(i64::from(self.value)),
        }
    }

    pub fn label(self) -> String {
        let unit = match (self.unit, self.value) {
            (PeriodUnit::Hours, 1) => "hour",
            (PeriodUnit::Hours, _) => "hours",
            (PeriodUnit::Days, 1) => "day",
            (PeriodUnit::Days, _) => "days",
        };
        format!("every {} {unit}", self.value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    Manual,
    Periodic {
        first_start: DateTime<Utc>,
        every: Period,
    },
    /// 5 fields (or 6, seconds first), read in an IANA time zone.
    Cron {
        expression: String,
        timezone: String,
    },
}

impl Schedule {
    /// The first slot of the schedule strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (first_start, every) = match self {
            Schedule::Manual => return None,
            Schedule::Periodic { first_start, every } => (*first_start, *every),
            Schedule::Cron {
                expression,
                timezone,
            } => return cron_next(expression, timezone, after),
        };
        if first_start > after {
            return Some(first_start);
        }
        let step = every.duration().num_seconds().max(1);
        let passed = (after - first_start).num_seconds() / step + 1;
        Some(first_start + Duration::seconds(passed * step))
    }
}

#[cfg(feature = "ssr")]
fn cron_next(expression: &str, timezone: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    super::cron::next_after(expression, timezone, after)
}

/// The browser never schedules: the server evaluates cron expressions.
#[cfg(not(feature = "ssr"))]
fn cron_next(_expression: &str, _timezone: &str, _after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    None
}

/// What is wrong with a cron schedule (the field and why), if anything.
/// The browser checks only that there is one: the server parses it.
pub(super) fn cron_problem(expression: &str, timezone: &str) -> Option<(&'static str, String)> {
    if expression.is_empty() {
        return Some((
            "cron_expression",
            "give a cron expression, e.g. 0 3 * * * (03:00 every day)".into(),
        ));
    }
    #[cfg(feature = "ssr")]
    if let Err(why) = super::cron::next_runs(expression, timezone, chrono::Utc::now(), 1) {
        let field = if why.contains("time zone") {
            "cron_timezone"
        } else {
            "cron_expression"
        };
        return Some((field, why));
    }
    let _ = timezone;
    None
}
