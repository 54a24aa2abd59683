//! Backup tasks: the settings form, its validation, and run states.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

pub use super::schedule::{Period, PeriodUnit, Schedule, ScheduleFields};
pub use limits::Limits;

use super::NotifyRule;

mod limits;

pub const MAX_TASK_NAME: usize = 64;
pub const COMPRESSION_LEVELS: [&str; 3] = ["fastest", "balanced", "best"];

/// Why a trimmed name of a task or channel (`what`) cannot be used.
pub(crate) fn name_problem(name: &str, what: &str) -> Option<String> {
    if name.is_empty() {
        Some(match what {
            "channel" => crate::tr!(validation.name_channel),
            "copy job" => crate::tr!(validation.name_copy_job),
            _ => crate::tr!(validation.name_task),
        })
    } else if name.chars().count() > MAX_TASK_NAME {
        Some(crate::tr!(validation.at_most_chars, max = MAX_TASK_NAME))
    } else if name.chars().any(char::is_control) {
        Some(crate::tr!(validation.no_control))
    } else {
        None
    }
}

/// A form field's problem, shown beside the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The value is well formed but already used (a name another has):
    /// the form conflicts with the current state rather than being wrong.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_use: bool,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
            in_use: false,
        }
    }

    /// A value another object already has.
    pub fn in_use(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            in_use: true,
            ..FieldError::new(field, message)
        }
    }
}

/// The task form exactly as submitted (all text, so that a form posted
/// without JavaScript and one built by the hydrated page read the same).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskForm {
    pub name: String,
    pub source_id: String,
    pub repository_id: String,
    /// `all`, `objects` or `regex`.
    pub content_mode: String,
    /// Selected objects (tables, directories, files), one per line.
    pub content_objects: String,
    pub content_parent: String,
    pub content_regex: String,
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
    pub policy: String,
    pub full_every_n: String,
    pub keep_last: String,
    pub compression: String,
    pub pack_size_mib: String,
    /// MiB per second (empty: no limit).
    pub limit_read_mib: String,
    pub limit_upload_mib: String,
    pub retry_count: String,
    pub retry_interval_min: String,
    /// Present ("on") when the enabled box is ticked.
    pub enabled: Option<String>,
    /// Present ("on"): incrementals read only newer rows of time-series tables.
    #[serde(default)]
    pub watermark: Option<String>,
    /// Restore drills (see `model::drill`): `off`, `after_backups` or `schedule`.
    pub drill_mode: String,
    pub drill_every_n: String,
    pub drill_first_start: String,
    pub drill_period_value: String,
    pub drill_period_unit: String,
    /// `latest` or `random`.
    pub drill_point: String,
    /// `auto` or the id of a data source marked drill server.
    pub drill_server_id: String,
    /// `SQL => expected`, one per line.
    pub drill_checks: String,
    /// Durations such as `30m`; empty for none.
    pub drill_time_limit: String,
    pub rpo_target: String,
    pub rto_target: String,
    /// Present ("on"): the binary logs (MariaDB) or the WAL (PostgreSQL
    /// cluster) are archived continuously, for point-in-time recovery.
    #[serde(default)]
    pub continuous: Option<String>,
    /// `default`, `failures`, `all` or `off` (see `NotifyRule`).
    pub notify: String,
}

/// What a task backs up from its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    All,
    /// Chosen objects: tables, or files and directories of a tree.
    Objects(Vec<String>),
    /// Objects under `parent` whose path below it matches `pattern`.
    Regex {
        parent: String,
        pattern: String,
    },
}

impl Content {
    /// The engine's include patterns for this content.
    pub fn include_patterns(&self) -> Vec<String> {
        match self {
            Content::All => Vec::new(),
            Content::Objects(names) => names
                .iter()
                .map(|n| format!("^{}(?:/|$)", escape_regex(n)))
                .collect(),
            Content::Regex { parent, pattern } if parent.is_empty() => vec![pattern.clone()],
            Content::Regex { parent, pattern } => {
                vec![format!("^{}/(?:{pattern})", escape_regex(parent))]
            }
        }
    }
}

/// Full or incremental, decided per run from the task's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Policy {
    FullThenIncremental,
    FullAlways,
    /// A full point every n runs, incrementals between.
    FullEveryN(u32),
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::FullThenIncremental => "full-then-incremental",
            Policy::FullAlways => "full-always",
            Policy::FullEveryN(_) => "full-every-n",
        }
    }

    pub fn label(self) -> String {
        match self {
            Policy::FullThenIncremental => "full first, then incremental".into(),
            Policy::FullAlways => "full every time".into(),
            Policy::FullEveryN(n) => format!("full every {n} runs"),
        }
    }

    /// Whether the next run must be full, given how many successful
    /// incremental runs followed the last full one (None: no full yet).
    pub fn next_is_full(self, incrementals_since_full: Option<u32>) -> bool {
        match (self, incrementals_since_full) {
            (_, None) | (Policy::FullAlways, _) => true,
            (Policy::FullThenIncremental, Some(_)) => false,
            (Policy::FullEveryN(n), Some(since)) => since + 1 >= n,
        }
    }
}

/// A task's settings once the form is valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSettings {
    pub name: String,
    pub source_id: i64,
    pub repository_id: i64,
    pub content: Content,
    pub schedule: Schedule,
    pub policy: Policy,
    /// The maximum number of backup copies kept; None keeps all.
    pub keep_last: Option<u32>,
    pub compression: String,
    pub pack_size_mib: u32,
    pub retry_count: u32,
    pub retry_interval_min: u32,
    pub enabled: bool,
    /// Incrementals read only the rows of time-series tables newer than the
    /// last point's latest time (append-only tables; PostgreSQL sources).
    #[serde(default)]
    pub watermark: bool,
    /// Restore drills and the RPO/RTO targets.
    #[serde(default)]
    pub recovery: super::drill::RecoverySettings,
    /// The server's binary logs or WAL are archived continuously between
    /// backups (MariaDB and PostgreSQL cluster sources), so a restore can go
    /// to any second.
    #[serde(default)]
    pub continuous: bool,
    /// Bandwidth limits for its backups.
    #[serde(default)]
    pub limits: Limits,
    /// Which of its events reach the notification channels. Left out of
    /// the JSON when default, so stored settings keep their fingerprints.
    #[serde(default, skip_serializing_if = "NotifyRule::is_default")]
    pub notify: NotifyRule,
}

impl TaskForm {
    fn schedule_fields(&self) -> ScheduleFields {
        ScheduleFields {
            schedule_mode: self.schedule_mode.clone(),
            cron_expression: self.cron_expression.clone(),
            cron_timezone: self.cron_timezone.clone(),
            first_start: self.first_start.clone(),
            period_value: self.period_value.clone(),
            period_unit: self.period_unit.clone(),
        }
    }

    fn set_schedule_fields(&mut self, fields: ScheduleFields) {
        self.schedule_mode = fields.schedule_mode;
        self.cron_expression = fields.cron_expression;
        self.cron_timezone = fields.cron_timezone;
        self.first_start = fields.first_start;
        self.period_value = fields.period_value;
        self.period_unit = fields.period_unit;
    }

    /// Checks every field that needs nothing but the form itself; the
    /// server adds the checks that need the catalog (name free, source
    /// and repository exist). Returns every problem at once.
    pub fn parse(&self) -> Result<TaskSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: &str| errors.push(FieldError::new(field, message));

        let name = self.name.trim().to_owned();
        if let Some(problem) = name_problem(&name, "task") {
            fail("name", &problem);
        }
        let source_id = self.source_id.trim().parse::<i64>().ok();
        if source_id.is_none() {
            fail("source_id", &crate::tr!(validation.choose_a_data_source));
        }
        let repository_id = self.repository_id.trim().parse::<i64>().ok();
        if repository_id.is_none() {
            fail("repository_id", &crate::tr!(validation.choose_a_repository));
        }

        let content = match self.content() {
            Ok(content) => Some(content),
            Err(error) => {
                errors.push(error);
                None
            }
        };
        let recovery = match self.recovery() {
            Ok(recovery) => Some(recovery),
            Err(recovery_errors) => {
                errors.extend(recovery_errors);
                None
            }
        };
        let schedule = self.schedule_fields().parse(&mut errors);
        let mut fail = |field: &str, message: &str| errors.push(FieldError::new(field, message));

        let policy = match self.policy.as_str() {
            "" | "full-then-incremental" => Some(Policy::FullThenIncremental),
            "full-always" => Some(Policy::FullAlways),
            "full-every-n" => match parse_in(&self.full_every_n, 2, 1000) {
                Some(n) => Some(Policy::FullEveryN(n)),
                None => {
                    fail(
                        "full_every_n",
                        &crate::tr!(validation.a_whole_number_from_2_to),
                    );
                    None
                }
            },
            _ => {
                fail("policy", &crate::tr!(validation.choose_a_backup_policy));
                None
            }
        };
        let keep_last = if self.keep_last.trim().is_empty() {
            None
        } else {
            let kept = parse_in(&self.keep_last, 1, 100_000);
            if kept.is_none() {
                fail(
                    "keep_last",
                    &crate::tr!(validation.a_whole_number_of_at_least),
                );
            }
            kept
        };
        let compression = if self.compression.is_empty() {
            "balanced".to_owned()
        } else {
            self.compression.clone()
        };
        if !COMPRESSION_LEVELS.contains(&compression.as_str()) {
            fail(
                "compression",
                &crate::tr!(validation.choose_fastest_balanced_or_best),
            );
        }
        let pack_size_mib = or_default(&self.pack_size_mib, 16, |t| parse_in(t, 1, 4096));
        if pack_size_mib.is_none() {
            fail(
                "pack_size_mib",
                &crate::tr!(validation.a_whole_number_of_mib_from),
            );
        }
        let limits = Limits::parse(&self.limit_read_mib, &self.limit_upload_mib, &mut errors);
        let mut fail = |field: &str, message: &str| errors.push(FieldError::new(field, message));
        let notify = NotifyRule::parse(&self.notify).unwrap_or_else(|| {
            fail(
                "notify",
                &crate::tr!(validation.choose_default_failures_all_or_off),
            );
            NotifyRule::Default
        });
        let retry_count = or_default(&self.retry_count, 0, |t| parse_in(t, 0, 100));
        if retry_count.is_none() {
            fail(
                "retry_count",
                &crate::tr!(validation.a_whole_number_from_0_to),
            );
        }
        let retry_interval_min =
            or_default(&self.retry_interval_min, 5, |t| parse_in(t, 1, 10_080));
        if retry_interval_min.is_none() {
            fail(
                "retry_interval_min",
                &crate::tr!(validation.a_whole_number_of_minutes_from),
            );
        }

        match (
            source_id,
            repository_id,
            content,
            schedule,
            policy,
            pack_size_mib,
            retry_count,
            retry_interval_min,
        ) {
            (Some(s), Some(r), Some(c), Some(sch), Some(p), Some(pack), Some(rc), Some(ri))
                if errors.is_empty() && recovery.is_some() =>
            {
                Ok(TaskSettings {
                    name,
                    source_id: s,
                    repository_id: r,
                    content: c,
                    schedule: sch,
                    policy: p,
                    keep_last,
                    compression,
                    pack_size_mib: pack,
                    retry_count: rc,
                    retry_interval_min: ri,
                    enabled: self.enabled.is_some(),
                    watermark: self.watermark.is_some(),
                    recovery: recovery.unwrap_or_default(),
                    continuous: self.continuous.is_some(),
                    limits,
                    notify,
                })
            }
            _ => Err(errors),
        }
    }
}

impl TaskForm {
    /// The content part of the form alone (for previews before saving).
    pub fn content(&self) -> Result<Content, FieldError> {
        match self.content_mode.as_str() {
            "" | "all" => Ok(Content::All),
            "objects" => {
                let names: Vec<String> = self
                    .content_objects
                    .lines()
                    .map(|l| l.trim().trim_end_matches('/').to_owned())
                    .filter(|l| !l.is_empty())
                    .collect();
                if names.is_empty() {
                    Err(FieldError::new(
                        "content_objects",
                        crate::tr!(validation.select_at_least_one_object),
                    ))
                } else {
                    Ok(Content::Objects(names))
                }
            }
            "regex" => {
                let pattern = self.content_regex.trim().to_owned();
                if pattern.is_empty() {
                    Err(FieldError::new(
                        "content_regex",
                        crate::tr!(validation.give_a_regular_expression),
                    ))
                } else {
                    Ok(Content::Regex {
                        parent: self.content_parent.trim().trim_matches('/').to_owned(),
                        pattern,
                    })
                }
            }
            _ => Err(FieldError::new(
                "content_mode",
                crate::tr!(validation.choose_all_selected_objects_or_a),
            )),
        }
    }
}

impl TaskSettings {
    /// Whether the next run must be full. Retention never removes a point
    /// a kept incremental was taken against, so with a maximum number of
    /// copies an incremental chain restarts with a full point every that
    /// many runs; otherwise one endless chain could never be pruned.
    pub fn next_run_is_full(&self, incrementals_since_full: Option<u32>) -> bool {
        let chain_full = match (self.policy, self.keep_last, incrementals_since_full) {
            (Policy::FullThenIncremental, Some(keep), Some(since)) => since + 1 >= keep,
            _ => false,
        };
        chain_full || self.policy.next_is_full(incrementals_since_full)
    }

    /// The form that shows these settings (for Edit and Copy).
    pub fn to_form(&self) -> TaskForm {
        let mut form = TaskForm {
            name: self.name.clone(),
            source_id: self.source_id.to_string(),
            repository_id: self.repository_id.to_string(),
            compression: self.compression.clone(),
            pack_size_mib: self.pack_size_mib.to_string(),
            limit_read_mib: self
                .limits
                .read_mib
                .map(|m| m.to_string())
                .unwrap_or_default(),
            limit_upload_mib: self
                .limits
                .upload_mib
                .map(|m| m.to_string())
                .unwrap_or_default(),
            retry_count: self.retry_count.to_string(),
            retry_interval_min: self.retry_interval_min.to_string(),
            keep_last: self.keep_last.map(|n| n.to_string()).unwrap_or_default(),
            policy: self.policy.as_str().to_owned(),
            enabled: self.enabled.then(|| "on".to_owned()),
            notify: self.notify.as_str().to_owned(),
            watermark: self.watermark.then(|| "on".to_owned()),
            continuous: self.continuous.then(|| "on".to_owned()),
            ..TaskForm::default()
        };
        if let Policy::FullEveryN(n) = self.policy {
            form.full_every_n = n.to_string();
        }
        form.set_recovery(&self.recovery);
        match &self.content {
            Content::All => form.content_mode = "all".into(),
            Content::Objects(names) => {
                form.content_mode = "objects".into();
                form.content_objects = names.join("\n");
            }
            Content::Regex { parent, pattern } => {
                form.content_mode = "regex".into();
                form.content_parent = parent.clone();
                form.content_regex = pattern.clone();
            }
        }
        form.set_schedule_fields(ScheduleFields::of(&self.schedule));
        form
    }
}

/// The states a run goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunState {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunState {
    pub const ALL: [RunState; 4] = [
        RunState::Running,
        RunState::Succeeded,
        RunState::Failed,
        RunState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Escapes regular-expression metacharacters, so a chosen object name
/// matches only itself.
pub fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn parse_in(text: &str, min: u32, max: u32) -> Option<u32> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
}

fn or_default(text: &str, default: u32, parse: impl Fn(&str) -> Option<u32>) -> Option<u32> {
    if text.trim().is_empty() {
        Some(default)
    } else {
        parse(text)
    }
}

pub(super) fn parse_start(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests;
