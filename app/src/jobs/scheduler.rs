//! The scheduler: starts periodic tasks at their next run time and failed
//! runs at their retry time. Times live in the catalog, so a restart loses
//! nothing; a run missed while the server was down runs once at start-up,
//! marked late. Restore drills, repository checks and copy jobs are started here too.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Jobs, StartError};
use crate::catalog::{TaskRecord, Trigger};

/// A scheduled run starting this much after its time counts as late.
const LATE_AFTER: chrono::Duration = chrono::Duration::seconds(60);
/// The longest the scheduler sleeps without looking at the catalog.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// What one look at the catalog started.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub started: Vec<(i64, Trigger, bool)>,
    /// Slots skipped because the task was still running.
    pub skipped: Vec<i64>,
}

impl Jobs {
    /// Starts whatever is due at `now`, and moves each task's next run.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, sqlx::Error> {
        let mut report = TickReport::default();
        for task in self.catalog().due_tasks(now).await? {
            let retry_due = task.retry_at.is_some_and(|at| at <= now);
            let slot_due = task.next_run_at.filter(|at| *at <= now);
            if let Some(slot) = slot_due {
                // Move on first: a slot is used once, whatever happens to it.
                self.catalog()
                    .set_next_run(task.id, task.settings.schedule.next_after(now))
                    .await?;
                let late = now - slot > LATE_AFTER;
                if retry_due {
                    // The scheduled run replaces the pending retry.
                    self.catalog().set_retry(task.id, None).await?;
                }
                self.start_logged(&task, Trigger::Schedule, late, 1, &mut report)
                    .await;
            } else if retry_due {
                self.catalog().set_retry(task.id, None).await?;
                let attempt = task.retry_attempt.max(2);
                self.start_logged(&task, Trigger::Retry, false, attempt, &mut report)
                    .await;
            }
        }
        Ok(report)
    }

    async fn start_logged(
        &self,
        task: &TaskRecord,
        trigger: Trigger,
        late: bool,
        attempt: u32,
        report: &mut TickReport,
    ) {
        let started = self.start(task.id, trigger, late, attempt).await;
        // The scheduler's own starts are audited like a user's Back Up Now.
        let (outcome, detail) = match &started {
            Ok(_) => ("success", String::new()),
            Err(err) => ("failure", err.to_string()),
        };
        let entry = crate::catalog::AuditEntry {
            username: Some("scheduler"),
            address: None,
            action: if trigger == crate::catalog::Trigger::Retry {
                "retry backup"
            } else {
                "scheduled backup"
            },
            target: &task.settings.name,
            outcome,
            detail: &detail,
        };
        if let Err(err) = self.catalog().audit(&entry).await {
            tracing::error!(error = %err, "could not write the audit log");
        }
        match started {
            Ok(_) => report.started.push((task.id, trigger, late)),
            Err(StartError::AlreadyRunning(_)) => {
                tracing::warn!(task = %task.settings.name, "scheduled run skipped: the previous run is still going");
                report.skipped.push(task.id);
                let event = crate::notify::Event::new(
                    crate::model::EventKind::BackupSkipped,
                    format!("Backup of {:?} skipped", task.settings.name),
                )
                .task(task.id)
                .detail("a scheduled slot came while the previous run was still going")
                .link(format!("/backups/{}/history", task.id));
                self.notifier().emit(event).await;
            }
            Err(err) => {
                tracing::error!(task = %task.settings.name, error = %err, "scheduled run did not start")
            }
        }
    }

    /// Runs the scheduler until `stop` resolves.
    pub async fn run_scheduler(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let now = Utc::now();
            if let Err(err) = self.tick(now).await {
                tracing::error!(error = %err, "scheduler could not read the catalog");
            }
            if let Err(err) = self.tick_drills(now).await {
                tracing::error!(error = %err, "scheduler could not read the drill plans");
            }
            if let Err(err) = self.tick_repository_checks(now).await {
                tracing::error!(error = %err, "scheduler could not read the repository check plans");
            }
            if let Err(err) = self.tick_copy_jobs(now).await {
                tracing::error!(error = %err, "scheduler could not read the copy jobs");
            }
            if let Err(err) = self.sync_archivers().await {
                tracing::error!(error = %err, "scheduler could not read the continuous tasks");
            }
            if let Err(err) = self.watch_rpo(now).await {
                tracing::error!(error = %err, "scheduler could not check the RPO targets");
            }
            let others = [
                self.catalog().next_check_at().await.ok().flatten(),
                self.catalog().next_copy_at().await.ok().flatten(),
            ];
            let next = self
                .catalog()
                .next_due_at()
                .await
                .map(|at| at.into_iter().chain(others.into_iter().flatten()).min());
            let sleep = match next {
                Ok(Some(at)) => (at - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_SLEEP),
                _ => MAX_SLEEP,
            };
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(sleep.max(Duration::from_millis(200))) => {}
                _ = self.0.wake.notified() => {}
            }
        }
    }
}
