//! Restore drills and recovery targets: the drill part of the task form,
//! its validation, and how a task's RPO and RTO compare with their targets
//! (green / amber / red), shared so the browser can recolour as time passes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::task::{parse_in, parse_start, FieldError, Period, PeriodUnit, Schedule, TaskForm};

/// When a task's drills run by themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DrillMode {
    /// Only when an operator asks.
    #[default]
    Off,
    /// After every n successful backups of the task.
    AfterBackups(u32),
    /// On a schedule of their own (the forms backups use).
    Scheduled {
        first_start: DateTime<Utc>,
        every: Period,
    },
}

impl DrillMode {
    pub fn schedule(self) -> Schedule {
        match self {
            DrillMode::Scheduled { first_start, every } => {
                Schedule::Periodic { first_start, every }
            }
            _ => Schedule::Manual,
        }
    }

    pub fn label(self) -> String {
        match self {
            DrillMode::Off => "manual only".into(),
            DrillMode::AfterBackups(1) => "after every backup".into(),
            DrillMode::AfterBackups(n) => format!("after every {n} backups"),
            DrillMode::Scheduled { every, .. } => every.label(),
        }
    }
}

/// Which point a drill restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DrillPoint {
    #[default]
    Latest,
    /// Any retained point, to catch old damage.
    Random,
}

/// An administrator's assertion, run read-only in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlAssertion {
    pub sql: String,
    pub expected: String,
}

/// A task's drill plan and recovery targets (part of its settings).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RecoverySettings {
    pub drill: DrillMode,
    pub point: DrillPoint,
    /// A data source marked "drill server"; None: Tidemark's own sandbox.
    pub drill_server_id: Option<i64>,
    pub checks: Vec<SqlAssertion>,
    pub time_limit_secs: Option<u64>,
    /// The oldest the newest good point may be.
    pub rpo_target_secs: Option<u64>,
    /// The longest a restore (as a drill measures it) may take.
    pub rto_target_secs: Option<u64>,
}

/// The longest target or limit accepted: a year.
const MAX_DURATION_SECS: u64 = 366 * 86_400;

/// `90s`, `30m`, `4h`, `2d` (a number and a unit) in seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "s" | "sec" | "seconds" => 1,
        "m" | "min" | "minutes" => 60,
        "h" | "hours" => 3600,
        "d" | "days" => 86_400,
        _ => return None,
    };
    number
        .checked_mul(scale)
        .filter(|s| (1..=MAX_DURATION_SECS).contains(s))
}

/// Seconds in the largest unit that divides them (`2d`, `90s`).
pub fn format_duration(secs: u64) -> String {
    for (unit, scale) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs >= scale && secs.is_multiple_of(scale) {
            return format!("{}{unit}", secs / scale);
        }
    }
    format!("{secs}s")
}

fn optional_duration(text: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<u64> {
    if text.trim().is_empty() {
        return None;
    }
    let parsed = parse_duration(text);
    if parsed.is_none() {
        errors.push(FieldError::new(field, crate::tr!(validation.duration_hint)));
    }
    parsed
}

/// `SQL => expected`, one per line.
fn parse_checks(text: &str, errors: &mut Vec<FieldError>) -> Vec<SqlAssertion> {
    let mut checks = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match line.rsplit_once("=>") {
            Some((sql, expected)) if !sql.trim().is_empty() && !expected.trim().is_empty() => {
                let sql = sql.trim().trim_end_matches(';').trim();
                if sql.contains(';') {
                    errors.push(FieldError::new(
                        "drill_checks",
                        crate::tr!(validation.one_statement_per_check, line = n + 1),
                    ));
                }
                checks.push(SqlAssertion {
                    sql: sql.to_owned(),
                    expected: expected.trim().to_owned(),
                });
            }
            _ => errors.push(FieldError::new(
                "drill_checks",
                crate::tr!(validation.check_as_sql, line = n + 1),
            )),
        }
    }
    checks
}

impl TaskForm {
    /// The drill and target part of the form; the server adds the checks
    /// that need the catalog (the drill server exists and is one).
    pub fn recovery(&self) -> Result<RecoverySettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let drill = match self.drill_mode.as_str() {
            "" | "off" => Some(DrillMode::Off),
            "after_backups" => {
                let n = parse_in(&self.drill_every_n, 1, 1000);
                if n.is_none() {
                    errors.push(FieldError::new(
                        "drill_every_n",
                        crate::tr!(validation.a_whole_number_of_backups_from),
                    ));
                }
                n.map(DrillMode::AfterBackups)
            }
            "schedule" => {
                let first_start = parse_start(&self.drill_first_start);
                if first_start.is_none() {
                    errors.push(FieldError::new(
                        "drill_first_start",
                        crate::tr!(validation.give_the_first_drill_s_time),
                    ));
                }
                let value = parse_in(&self.drill_period_value, 1, 10_000);
                if value.is_none() {
                    errors.push(FieldError::new(
                        "drill_period_value",
                        crate::tr!(validation.a_whole_number_from_1_to_2),
                    ));
                }
                let unit = match self.drill_period_unit.as_str() {
                    "hours" => Some(PeriodUnit::Hours),
                    "days" => Some(PeriodUnit::Days),
                    _ => {
                        errors.push(FieldError::new(
                            "drill_period_unit",
                            crate::tr!(validation.choose_hours_or_days),
                        ));
                        None
                    }
                };
                match (first_start, value, unit) {
                    (Some(first_start), Some(value), Some(unit)) => Some(DrillMode::Scheduled {
                        first_start,
                        every: Period { value, unit },
                    }),
                    _ => None,
                }
            }
            _ => {
                errors.push(FieldError::new(
                    "drill_mode",
                    crate::tr!(validation.choose_off_after_every_n_backups),
                ));
                None
            }
        };
        let point = match self.drill_point.as_str() {
            "" | "latest" => DrillPoint::Latest,
            "random" => DrillPoint::Random,
            _ => {
                errors.push(FieldError::new(
                    "drill_point",
                    crate::tr!(validation.choose_latest_or_random),
                ));
                DrillPoint::Latest
            }
        };
        let drill_server_id = match self.drill_server_id.trim() {
            "" | "auto" => None,
            id => {
                let parsed = id.parse::<i64>().ok();
                if parsed.is_none() {
                    errors.push(FieldError::new(
                        "drill_server_id",
                        crate::tr!(validation.choose_automatic_or_a_data_source),
                    ));
                }
                parsed
            }
        };
        let checks = parse_checks(&self.drill_checks, &mut errors);
        let time_limit_secs =
            optional_duration(&self.drill_time_limit, "drill_time_limit", &mut errors);
        let rpo_target_secs = optional_duration(&self.rpo_target, "rpo_target", &mut errors);
        let rto_target_secs = optional_duration(&self.rto_target, "rto_target", &mut errors);
        match drill {
            Some(drill) if errors.is_empty() => Ok(RecoverySettings {
                drill,
                point,
                drill_server_id,
                checks,
                time_limit_secs,
                rpo_target_secs,
                rto_target_secs,
            }),
            _ => Err(errors),
        }
    }

    /// Fills the drill part of the form from settings.
    pub fn set_recovery(&mut self, recovery: &RecoverySettings) {
        self.drill_mode = "off".into();
        match recovery.drill {
            DrillMode::Off => {}
            DrillMode::AfterBackups(n) => {
                self.drill_mode = "after_backups".into();
                self.drill_every_n = n.to_string();
            }
            DrillMode::Scheduled { first_start, every } => {
                self.drill_mode = "schedule".into();
                self.drill_first_start = first_start.format("%Y-%m-%dT%H:%M").to_string();
                self.drill_period_value = every.value.to_string();
                self.drill_period_unit = match every.unit {
                    PeriodUnit::Hours => "hours".into(),
                    PeriodUnit::Days => "days".into(),
                };
            }
        }
        self.drill_point = match recovery.point {
            DrillPoint::Latest => "latest".into(),
            DrillPoint::Random => "random".into(),
        };
        self.drill_server_id = recovery
            .drill_server_id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "auto".into());
        self.drill_checks = recovery
            .checks
            .iter()
            .map(|c| format!("{} => {}", c.sql, c.expected))
            .collect::<Vec<_>>()
            .join("\n");
        let text = |secs: Option<u64>| secs.map(format_duration).unwrap_or_default();
        self.drill_time_limit = text(recovery.time_limit_secs);
        self.rpo_target = text(recovery.rpo_target_secs);
        self.rto_target = text(recovery.rto_target_secs);
    }
}

/// How a figure compares with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Green,
    /// Within 80–100 % of the target.
    Amber,
    Red,
    /// No target to compare with.
    Unset,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Green => "green",
            Level::Amber => "amber",
            Level::Red => "red",
            Level::Unset => "unset",
        }
    }

    pub fn against(value: f64, target: Option<u64>) -> Level {
        match target {
            None => Level::Unset,
            Some(target) => {
                let ratio = value / target.max(1) as f64;
                if ratio > 1.0 {
                    Level::Red
                } else if ratio >= 0.8 {
                    Level::Amber
                } else {
                    Level::Green
                }
            }
        }
    }
}

/// A task's recovery figures: its newest good point against the RPO
/// target, its last proven point and measured RTO against the RTO target.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RecoveryStatus {
    /// When the newest successful backup finished.
    pub newest_point_at: Option<DateTime<Utc>>,
    pub rpo_target_secs: Option<u64>,
    /// The newest point a drill proved restorable.
    pub proven_point: Option<String>,
    /// When that point was taken.
    pub proven_point_at: Option<DateTime<Utc>>,
    /// When the drill that proved it finished.
    pub proven_at: Option<DateTime<Utc>>,
    pub proven_rto_secs: Option<f64>,
    pub rto_target_secs: Option<u64>,
    /// The newest drill's error, when it failed.
    pub last_drill_error: Option<String>,
}

impl RecoveryStatus {
    /// The newest good point's age at `now`, in seconds.
    pub fn point_age(&self, now: DateTime<Utc>) -> Option<f64> {
        self.newest_point_at
            .map(|at| ((now - at).num_milliseconds() as f64 / 1000.0).max(0.0))
    }

    /// No good point at all is red; without a target the age is only shown.
    pub fn rpo_level(&self, now: DateTime<Utc>) -> Level {
        match self.point_age(now) {
            None => Level::Red,
            Some(age) => Level::against(age, self.rpo_target_secs),
        }
    }

    /// Never proven is red; proven without a target is green.
    pub fn rto_level(&self) -> Level {
        match self.proven_rto_secs {
            None => Level::Red,
            Some(_) if self.rto_target_secs.is_none() => Level::Green,
            Some(rto) => Level::against(rto, self.rto_target_secs),
        }
    }

    /// What is wrong at `now`, in words: failures and breaches.
    pub fn problems(&self, now: DateTime<Utc>) -> Vec<String> {
        let mut problems = Vec::new();
        match (self.point_age(now), self.rpo_target_secs) {
            (None, Some(_)) => problems.push("RPO exceeded: no good backup point".to_owned()),
            (Some(age), Some(target)) if age > target as f64 => problems.push(format!(
                "RPO exceeded: the newest good point is {} old, the target is {}",
                super::human_duration(age),
                format_duration(target)
            )),
            _ => {}
        }
        if let (Some(rto), Some(target)) = (self.proven_rto_secs, self.rto_target_secs) {
            if rto > target as f64 {
                problems.push(format!(
                    "RTO exceeded: the last proven restore took {}, the target is {}",
                    super::human_duration(rto),
                    format_duration(target)
                ));
            }
        }
        if let Some(error) = &self.last_drill_error {
            problems.push(format!("the last drill failed: {error}"));
        }
        problems
    }
}

#[cfg(test)]
mod tests;
