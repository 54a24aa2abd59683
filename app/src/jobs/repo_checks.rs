//! Repository checks: one run of the structure or data check, by hand or on
//! its schedule, recorded in the repository's check history; damage found
//! is an event for the notification channels. Checks only read, so they run
//! beside backups; one check per repository runs at a time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tidemark_engine::verify::{verify, Problem, ReadSubset, VerifyOptions, VerifyReport};
use tidemark_engine::{CancelToken, NoProgress};

use super::Jobs;
use crate::catalog::{
    AuditEntry, CheckFindings, CheckPlanRecord, CheckRunRecord, RepositoryRecord,
};
use crate::error::{blocking, AppError};
use crate::model::{CheckKind, CheckOutcome, EventKind};

/// What asked for a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckTrigger {
    Manual,
    Schedule,
}

impl CheckTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckTrigger::Manual => "manual",
            CheckTrigger::Schedule => "schedule",
        }
    }
}

/// A check that ran: its history row, and the engine's report or why
/// there is none.
#[derive(Debug)]
pub struct CheckDone {
    pub run: CheckRunRecord,
    pub report: Result<VerifyReport, AppError>,
    pub seconds: f64,
}

impl Jobs {
    /// Runs `kind` on the repository now and records it. A data check reads
    /// `read_percent` of the packs, the `round`-th share of the rotation.
    pub async fn check_repository(
        &self,
        repository_id: i64,
        kind: CheckKind,
        read_percent: u8,
        round: u64,
        trigger: CheckTrigger,
    ) -> Result<CheckDone, AppError> {
        let record = self
            .catalog()
            .repository(repository_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("repository {repository_id}")))?;
        let read_percent = match kind {
            CheckKind::Structure => 100,
            CheckKind::Data => read_percent.clamp(1, 100),
        };
        let run = self
            .catalog()
            .start_check_run(repository_id, kind, trigger.as_str(), read_percent)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "a check of repository {:?} is running; wait for it to finish",
                    record.name
                ))
            })?;
        let options = VerifyOptions {
            point: None,
            read_data: kind == CheckKind::Data,
            read_subset: (kind == CheckKind::Data && read_percent < 100).then_some(ReadSubset {
                percent: read_percent,
                round,
            }),
        };
        let access = record.access();
        let started = std::time::Instant::now();
        let report = blocking(move || {
            let repo = access.open_for_request()?;
            Ok(verify(&repo, &options, &NoProgress, &CancelToken::new())?)
        })
        .await;
        let seconds = started.elapsed().as_secs_f64();
        let findings = findings(&report);
        let run = self.catalog().finish_check_run(run.id, &findings).await?;
        if let Ok(report) = &report {
            if !report.problems.is_empty() {
                notify_damage(self, &record, kind, &report.problems).await;
            }
        }
        Ok(CheckDone {
            run,
            report,
            seconds,
        })
    }

    /// Starts the checks whose slot has come in the background, one after
    /// another per repository (one check of a repository runs at a time);
    /// the handles let a caller (a test) wait for them.
    pub async fn tick_repository_checks(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, sqlx::Error> {
        let mut by_repository: BTreeMap<i64, Vec<CheckPlanRecord>> = BTreeMap::new();
        for due in self.catalog().due_check_plans(now).await? {
            let Some(slot) = due.next_at else { continue };
            // Move on first: a slot is used once, whatever happens to it.
            let next = due.plan.schedule.next_after(now);
            let kind = due.plan.kind;
            if self
                .catalog()
                .advance_check_plan(due.repository_id, kind, slot, next)
                .await?
            {
                by_repository
                    .entry(due.repository_id)
                    .or_default()
                    .push(due);
            }
        }
        let started = by_repository
            .into_values()
            .map(|checks| {
                let jobs = self.clone();
                tokio::spawn(async move {
                    for due in checks {
                        jobs.scheduled_check(due).await;
                    }
                })
            })
            .collect();
        Ok(started)
    }

    async fn scheduled_check(&self, due: CheckPlanRecord) {
        let plan = &due.plan;
        let done = self
            .check_repository(
                due.repository_id,
                plan.kind,
                plan.read_percent,
                due.round,
                CheckTrigger::Schedule,
            )
            .await;
        let (outcome, detail) = match &done {
            Ok(CheckDone { run, .. }) => (
                "success",
                format!("{}: {}", plan.kind.as_str(), run.outcome),
            ),
            Err(err) => ("failure", err.to_string()),
        };
        if let Err(err) = &done {
            tracing::warn!(repository = due.repository_id, error = %err, "scheduled repository check did not run");
        }
        let target = format!("repository {}", due.repository_id);
        let entry = AuditEntry {
            username: Some("scheduler"),
            address: None,
            action: "scheduled repository check",
            target: &target,
            outcome,
            detail: &detail,
        };
        if let Err(err) = self.catalog().audit(&entry).await {
            tracing::error!(error = %err, "could not write the audit log");
        }
    }
}

fn findings(report: &Result<VerifyReport, AppError>) -> CheckFindings {
    match report {
        Ok(report) => CheckFindings {
            outcome: if report.is_clean() {
                CheckOutcome::Clean
            } else {
                CheckOutcome::Damaged
            },
            points: report.points,
            objects: report.objects,
            packs_total: report.packs_total,
            packs_read: report.packs_read,
            bytes_read: report.bytes_read,
            problems_json: serde_json::to_string(&report.problems).unwrap_or_else(|_| "[]".into()),
            error: None,
        },
        Err(err) => CheckFindings {
            outcome: CheckOutcome::Failed,
            points: 0,
            objects: 0,
            packs_total: 0,
            packs_read: 0,
            bytes_read: 0,
            problems_json: "[]".into(),
            error: Some(err.to_string()),
        },
    }
}

/// Damage found by a check is an event for the channels.
async fn notify_damage(
    jobs: &Jobs,
    repository: &RepositoryRecord,
    kind: CheckKind,
    problems: &[Problem],
) {
    let mut affected: Vec<&str> = problems
        .iter()
        .flat_map(|p| p.affects.iter().map(String::as_str))
        .collect();
    affected.sort_unstable();
    affected.dedup();
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.what, p.detail))
        .collect();
    let event = crate::notify::Event::new(
        EventKind::VerifyDamage,
        format!(
            "Repository {:?}: {} problem(s) found by the {}",
            repository.name,
            problems.len(),
            kind.label().to_lowercase()
        ),
    )
    .detail(format!(
        "{}\naffected points: {}",
        lines.join("\n"),
        if affected.is_empty() {
            "none".to_owned()
        } else {
            affected.join(", ")
        }
    ))
    .link(format!("/repositories/{}/checks", repository.id));
    jobs.notifier().emit(event).await;
}
