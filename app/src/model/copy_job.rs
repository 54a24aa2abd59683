//! Copy jobs: keep the points of one repository (all, or one task's) in a
//! second repository too, on a schedule, with the destination's own
//! retention.

use serde::{Deserialize, Serialize};

use super::schedule::{Schedule, ScheduleFields};
use super::task::{name_problem, parse_in};
use super::FieldError;

/// A copy job's settings, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyJobSettings {
    pub name: String,
    pub from_repository_id: i64,
    pub to_repository_id: i64,
    /// Only this task's points; every point when none.
    pub task: Option<String>,
    pub schedule: Schedule,
    /// After each copy, keep the newest N points of each task in the
    /// destination; keep all when none.
    pub keep_last: Option<u32>,
    pub enabled: bool,
}

/// The copy job form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CopyJobForm {
    pub name: String,
    pub from_repository_id: String,
    pub to_repository_id: String,
    /// A task name; empty: every task.
    pub task: String,
    /// `manual`, `periodic` or `cron`.
    pub schedule_mode: String,
    pub cron_expression: String,
    pub cron_timezone: String,
    pub first_start: String,
    pub period_value: String,
    pub period_unit: String,
    /// Empty: keep every point in the destination.
    pub keep_last: String,
    /// Present ("on") when the enabled box is ticked.
    pub enabled: Option<String>,
}

impl CopyJobForm {
    /// Every problem at once; the server adds those that need the catalog
    /// (the repositories exist, the name is free).
    pub fn parse(&self) -> Result<CopyJobSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if let Some(problem) = name_problem(&name, "copy job") {
            errors.push(FieldError::new("name", problem));
        }
        let repository = |text: &str, field: &str, errors: &mut Vec<FieldError>| {
            let id = text.trim().parse::<i64>().ok();
            if id.is_none() {
                errors.push(FieldError::new(
                    field,
                    crate::tr!(validation.choose_a_repository),
                ));
            }
            id
        };
        let from = repository(&self.from_repository_id, "from_repository_id", &mut errors);
        let to = repository(&self.to_repository_id, "to_repository_id", &mut errors);
        if from.is_some() && from == to {
            errors.push(FieldError::new(
                "to_repository_id",
                crate::tr!(validation.the_copy_must_go_to_another),
            ));
        }
        let task = Some(self.task.trim().to_owned()).filter(|t| !t.is_empty());
        let fields = ScheduleFields {
            schedule_mode: self.schedule_mode.clone(),
            cron_expression: self.cron_expression.clone(),
            cron_timezone: self.cron_timezone.clone(),
            first_start: self.first_start.clone(),
            period_value: self.period_value.clone(),
            period_unit: self.period_unit.clone(),
        };
        let schedule = fields.parse(&mut errors);
        let keep_last = match self.keep_last.trim() {
            "" => Some(None),
            text => match parse_in(text, 1, 100_000) {
                Some(n) => Some(Some(n)),
                None => {
                    errors.push(FieldError::new(
                        "keep_last",
                        crate::tr!(validation.a_whole_number_from_1_to),
                    ));
                    None
                }
            },
        };
        match (from, to, schedule, keep_last) {
            (Some(from), Some(to), Some(schedule), Some(keep_last)) if errors.is_empty() => {
                Ok(CopyJobSettings {
                    name,
                    from_repository_id: from,
                    to_repository_id: to,
                    task,
                    schedule,
                    keep_last,
                    enabled: self.enabled.is_some(),
                })
            }
            _ => Err(errors),
        }
    }
}

impl CopyJobSettings {
    pub fn to_form(&self) -> CopyJobForm {
        let fields = ScheduleFields::of(&self.schedule);
        CopyJobForm {
            name: self.name.clone(),
            from_repository_id: self.from_repository_id.to_string(),
            to_repository_id: self.to_repository_id.to_string(),
            task: self.task.clone().unwrap_or_default(),
            schedule_mode: fields.schedule_mode,
            cron_expression: fields.cron_expression,
            cron_timezone: fields.cron_timezone,
            first_start: fields.first_start,
            period_value: fields.period_value,
            period_unit: fields.period_unit,
            keep_last: self.keep_last.map(|n| n.to_string()).unwrap_or_default(),
            enabled: self.enabled.then(|| "on".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> CopyJobForm {
        CopyJobForm {
            name: "offsite \"s3\" copy".into(),
            from_repository_id: "1".into(),
            to_repository_id: "2".into(),
            schedule_mode: "cron".into(),
            cron_expression: "0 4 * * *".into(),
            keep_last: "30".into(),
            enabled: Some("on".into()),
            ..CopyJobForm::default()
        }
    }

    #[test]
    fn a_nightly_copy_of_every_task_keeping_thirty() {
        let settings = form().parse().unwrap();
        assert_eq!(settings.task, None);
        assert_eq!(settings.keep_last, Some(30));
        assert_eq!(settings.schedule.label(), "cron 0 4 * * * (UTC)");
        let mut again = settings.to_form();
        again.cron_timezone.clear();
        assert_eq!(again.parse().unwrap().name, settings.name);
    }

    #[test]
    fn the_same_repository_twice_and_bad_numbers_are_named() {
        let mut bad = form();
        bad.to_repository_id = "1".into();
        bad.keep_last = "0".into();
        bad.name = " ".into();
        let errors = bad.parse().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "to_repository_id", "keep_last"]);
    }
}
