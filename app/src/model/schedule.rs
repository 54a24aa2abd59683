//! Schedules: a first start and a period, for backups and drills alike.

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Schedule {
    Manual,
    Periodic {
        first_start: DateTime<Utc>,
        every: Period,
    },
}

impl Schedule {
    /// The first slot of the schedule strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Schedule::Periodic { first_start, every } = *self else {
            return None;
        };
        if first_start > after {
            return Some(first_start);
        }
        let step = every.duration().num_seconds().max(1);
        let passed = (after - first_start).num_seconds() / step + 1;
        Some(first_start + Duration::seconds(passed * step))
    }
}
