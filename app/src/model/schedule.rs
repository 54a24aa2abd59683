//! Schedules: a first start and a period, for backups and drills alike,
//! or (backups) a cron expression in a time zone.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::task::{parse_in, parse_start};
use super::FieldError;

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
    /// The schedule in words: "Manual", "every 6 hours", "cron 0 3 * * * (UTC)".
    pub fn label(&self) -> String {
        match self {
            Schedule::Manual => "Manual".into(),
            Schedule::Periodic { every, .. } => every.label(),
            Schedule::Cron {
                expression,
                timezone,
            } => format!("cron {expression} ({timezone})"),
        }
    }

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
fn cron_problem(expression: &str, timezone: &str) -> Option<(&'static str, String)> {
    if expression.is_empty() {
        return Some(("cron_expression", crate::tr!(validation.give_cron)));
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

/// A schedule as a form's fields, by the names the backup task form and the
/// repository check forms share (errors name the same fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScheduleFields {
    /// `manual`, `periodic` or `cron`.
    pub schedule_mode: String,
    /// With `cron`: 5 fields (or 6, seconds first), and an IANA time zone
    /// (empty: UTC).
    pub cron_expression: String,
    pub cron_timezone: String,
    /// `YYYY-MM-DDTHH:MM` in UTC (an HTML datetime-local value).
    pub first_start: String,
    pub period_value: String,
    pub period_unit: String,
}

impl ScheduleFields {
    /// The schedule, or None with the problems added to `errors`.
    pub fn parse(&self, errors: &mut Vec<FieldError>) -> Option<Schedule> {
        let mut fail = |field: &str, message: &str| errors.push(FieldError::new(field, message));
        match self.schedule_mode.as_str() {
            "" | "manual" => Some(Schedule::Manual),
            "periodic" => {
                let first_start = parse_start(&self.first_start);
                if first_start.is_none() {
                    fail(
                        "first_start",
                        &crate::tr!(validation.give_the_first_start_time_yyyy),
                    );
                }
                let value = parse_in(&self.period_value, 1, 10_000);
                if value.is_none() {
                    fail(
                        "period_value",
                        &crate::tr!(validation.a_whole_number_from_1_to_2),
                    );
                }
                let unit = match self.period_unit.as_str() {
                    "hours" => Some(PeriodUnit::Hours),
                    "days" => Some(PeriodUnit::Days),
                    _ => {
                        fail("period_unit", &crate::tr!(validation.choose_hours_or_days));
                        None
                    }
                };
                match (first_start, value, unit) {
                    (Some(first_start), Some(value), Some(unit)) => Some(Schedule::Periodic {
                        first_start,
                        every: Period { value, unit },
                    }),
                    _ => None,
                }
            }
            "cron" => {
                let expression = self
                    .cron_expression
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let timezone = match self.cron_timezone.trim() {
                    "" => "UTC".to_owned(),
                    zone => zone.to_owned(),
                };
                match cron_problem(&expression, &timezone) {
                    Some((field, why)) => {
                        fail(field, &why);
                        None
                    }
                    None => Some(Schedule::Cron {
                        expression,
                        timezone,
                    }),
                }
            }
            _ => {
                fail(
                    "schedule_mode",
                    &crate::tr!(validation.choose_manual_periodic_or_cron),
                );
                None
            }
        }
    }

    /// The fields that show `schedule`.
    pub fn of(schedule: &Schedule) -> Self {
        let mut fields = ScheduleFields::default();
        match schedule {
            Schedule::Manual => fields.schedule_mode = "manual".into(),
            Schedule::Cron {
                expression,
                timezone,
            } => {
                fields.schedule_mode = "cron".into();
                fields.cron_expression = expression.clone();
                fields.cron_timezone = timezone.clone();
            }
            Schedule::Periodic { first_start, every } => {
                fields.schedule_mode = "periodic".into();
                fields.first_start = first_start.format("%Y-%m-%dT%H:%M").to_string();
                fields.period_value = every.value.to_string();
                fields.period_unit = match every.unit {
                    PeriodUnit::Hours => "hours".into(),
                    PeriodUnit::Days => "days".into(),
                };
            }
        }
        fields
    }
}
