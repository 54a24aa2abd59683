//! Scheduled repository checks: per repository, a structure check (every
//! point's chunks indexed, every pack present) and a data check (a share of
//! the packs read back and re-hashed), each on its own schedule.

use serde::{Deserialize, Serialize};

use super::schedule::{Schedule, ScheduleFields};
use super::FieldError;

/// Which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CheckKind {
    /// Indexes, manifests and the presence of every pack; reads no pack.
    Structure,
    /// The structure check, and a share of the packs read and re-hashed.
    Data,
}

impl CheckKind {
    pub const ALL: [CheckKind; 2] = [CheckKind::Structure, CheckKind::Data];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Structure => "structure",
            CheckKind::Data => "data",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            CheckKind::Structure => "Structure check",
            CheckKind::Data => "Data check",
        }
    }
}

/// A check's schedule and, for the data check, the share of packs it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckPlan {
    pub kind: CheckKind,
    /// `Manual`: only when run by hand.
    pub schedule: Schedule,
    /// 1 to 100; always 100 for the structure check (it reads no pack).
    pub read_percent: u8,
}

impl CheckPlan {
    /// A check not scheduled, reading every pack when run by hand.
    pub fn unscheduled(kind: CheckKind) -> Self {
        CheckPlan {
            kind,
            schedule: Schedule::Manual,
            read_percent: 100,
        }
    }

    pub fn to_form(&self, repository_id: i64) -> CheckForm {
        let fields = ScheduleFields::of(&self.schedule);
        CheckForm {
            repository_id: repository_id.to_string(),
            kind: self.kind.as_str().to_owned(),
            schedule_mode: fields.schedule_mode,
            cron_expression: fields.cron_expression,
            cron_timezone: fields.cron_timezone,
            first_start: fields.first_start,
            period_value: fields.period_value,
            period_unit: fields.period_unit,
            read_percent: self.read_percent.to_string(),
        }
    }
}

/// The form of one check on a repository's Checks page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckForm {
    pub repository_id: String,
    /// [`CheckKind::as_str`].
    pub kind: String,
    /// `manual` (only by hand), `periodic` or `cron`.
    pub schedule_mode: String,
    pub cron_expression: String,
    pub cron_timezone: String,
    pub first_start: String,
    pub period_value: String,
    pub period_unit: String,
    /// The data check: the share of packs each run reads, in percent.
    pub read_percent: String,
}

impl CheckForm {
    /// The repository and its check plan, or every problem at once.
    pub fn parse(&self) -> Result<(i64, CheckPlan), Vec<FieldError>> {
        let mut errors = Vec::new();
        let repository_id = self.repository_id.trim().parse::<i64>().ok();
        if repository_id.is_none() {
            errors.push(FieldError::new(
                "repository_id",
                crate::tr!(validation.not_a_repository_id),
            ));
        }
        let kind = CheckKind::parse(self.kind.trim());
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                crate::tr!(validation.choose_the_structure_or_data_check),
            ));
        }
        let fields = ScheduleFields {
            schedule_mode: self.schedule_mode.clone(),
            cron_expression: self.cron_expression.clone(),
            cron_timezone: self.cron_timezone.clone(),
            first_start: self.first_start.clone(),
            period_value: self.period_value.clone(),
            period_unit: self.period_unit.clone(),
        };
        let schedule = fields.parse(&mut errors);
        let read_percent = match (kind, self.read_percent.trim()) {
            (Some(CheckKind::Structure), _) | (_, "") => Some(100),
            (_, text) => {
                let percent = text
                    .trim_end_matches('%')
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|p| (1..=100).contains(p));
                if percent.is_none() {
                    errors.push(FieldError::new(
                        "read_percent",
                        crate::tr!(validation.a_whole_number_of_percent_from),
                    ));
                }
                percent
            }
        };
        match (repository_id, kind, schedule, read_percent) {
            (Some(id), Some(kind), Some(schedule), Some(read_percent)) if errors.is_empty() => {
                Ok((
                    id,
                    CheckPlan {
                        kind,
                        schedule,
                        read_percent,
                    },
                ))
            }
            _ => Err(errors),
        }
    }
}

/// How a check run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckOutcome {
    Running,
    /// Nothing damaged in what it looked at.
    Clean,
    /// Damage found: the run names what and which points it breaks.
    Damaged,
    /// The check could not run (the repository unreachable or locked).
    Failed,
}

impl CheckOutcome {
    pub const ALL: [CheckOutcome; 4] = [
        CheckOutcome::Running,
        CheckOutcome::Clean,
        CheckOutcome::Damaged,
        CheckOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Running => "running",
            CheckOutcome::Clean => "clean",
            CheckOutcome::Damaged => "damaged",
            CheckOutcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str, mode: &str) -> CheckForm {
        CheckForm {
            repository_id: "2".into(),
            kind: kind.into(),
            schedule_mode: mode.into(),
            first_start: "2026-12-03T02:30".into(),
            period_value: "1".into(),
            period_unit: "days".into(),
            read_percent: "10".into(),
            ..CheckForm::default()
        }
    }

    #[test]
    fn a_data_check_every_day_reading_a_tenth() {
        let (id, plan) = form("data", "periodic").parse().unwrap();
        assert_eq!((id, plan.kind, plan.read_percent), (2, CheckKind::Data, 10));
        assert!(matches!(plan.schedule, Schedule::Periodic { .. }));
        assert_eq!(plan.to_form(2), form("data", "periodic"));
    }

    #[test]
    fn the_structure_check_reads_no_share_and_manual_means_by_hand() {
        let (_, plan) = form("structure", "manual").parse().unwrap();
        assert_eq!(plan, CheckPlan::unscheduled(CheckKind::Structure));
    }

    #[test]
    fn every_problem_is_named_at_once() {
        let mut bad = form("verify", "periodic");
        bad.repository_id = "x".into();
        bad.period_value = "0".into();
        bad.read_percent = "150".into();
        let errors = bad.parse().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["repository_id", "kind", "period_value", "read_percent"]
        );
        let mut bad = form("data", "periodic");
        bad.read_percent = "0".into();
        assert_eq!(bad.parse().unwrap_err()[0].field, "read_percent");
        bad.read_percent = "25 %".into();
        assert_eq!(bad.parse().unwrap().1.read_percent, 25);
    }
}
