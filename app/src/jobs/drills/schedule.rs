//! Drills that start by themselves (on their schedule, after n backups),
//! and the RPO watch that logs a breach once when it begins.

use chrono::{DateTime, Utc};

use super::DrillStartError;
use crate::catalog::{AuditEntry, DrillTrigger};
use crate::jobs::Jobs;
use crate::model::RecoveryStatus;

impl Jobs {
    /// Starts the drills due at `now` and moves each task's next drill;
    /// returns the tasks whose drill started.
    pub async fn tick_drills(&self, now: DateTime<Utc>) -> Result<Vec<i64>, sqlx::Error> {
        let mut started = Vec::new();
        for task in self.catalog().due_drills(now).await? {
            // Move on first: a slot is used once, whatever happens to it.
            let next = task.settings.recovery.drill.schedule().next_after(now);
            self.catalog().set_drill_next(task.id, next).await?;
            if self
                .start_drill_logged(task.id, DrillTrigger::Schedule)
                .await
            {
                started.push(task.id);
            }
        }
        Ok(started)
    }

    /// Starts a drill the scheduler decided on, audited like an operator's.
    pub(super) async fn start_drill_logged(&self, task_id: i64, trigger: DrillTrigger) -> bool {
        let started = self.start_drill(task_id, trigger, None).await;
        let (outcome, detail) = match &started {
            Ok(_) => ("success", String::new()),
            Err(err) => ("failure", err.to_string()),
        };
        let target = format!("task {task_id}");
        let entry = AuditEntry {
            username: Some("scheduler"),
            address: None,
            action: match trigger {
                DrillTrigger::AfterBackups => "drill after backups",
                _ => "scheduled drill",
            },
            target: &target,
            outcome,
            detail: &detail,
        };
        if let Err(err) = self.catalog().audit(&entry).await {
            tracing::error!(error = %err, "could not write the audit log");
        }
        match started {
            Ok(_) => true,
            Err(DrillStartError::AlreadyRunning(task)) => {
                tracing::warn!(%task, "drill skipped: the previous drill is still going");
                false
            }
            Err(err) => {
                tracing::warn!(task_id, error = %err, "restore drill did not start");
                false
            }
        }
    }

    /// Logs each task whose newest good point is older than its RPO
    /// target, once per breach; returns the tasks in breach.
    pub async fn watch_rpo(&self, now: DateTime<Utc>) -> Result<Vec<i64>, sqlx::Error> {
        let newest: std::collections::HashMap<i64, DateTime<Utc>> = self
            .catalog()
            .newest_good_points()
            .await?
            .into_iter()
            .collect();
        let mut breached = Vec::new();
        let mut newly = Vec::new();
        for task in self.catalog().list_tasks().await? {
            let status = RecoveryStatus {
                newest_point_at: newest.get(&task.id).copied(),
                rpo_target_secs: task.settings.recovery.rpo_target_secs,
                ..RecoveryStatus::default()
            };
            let problem = status
                .problems(now)
                .into_iter()
                .find(|p| p.starts_with("RPO"));
            let mut logged = self
                .drills()
                .rpo_breached
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match problem {
                Some(problem) => {
                    breached.push(task.id);
                    if logged.insert(task.id) {
                        tracing::warn!(task = %task.settings.name, "{problem}");
                        newly.push((task.id, task.settings.name.clone(), problem));
                    }
                }
                None => {
                    logged.remove(&task.id);
                }
            }
        }
        for (task_id, name, problem) in newly {
            let event = crate::notify::Event::new(
                crate::model::EventKind::RpoExceeded,
                format!("Task {name:?} is past its RPO target"),
            )
            .task(task_id)
            .detail(problem)
            .link(format!("/backups/{task_id}/history"));
            self.notifier().emit(event).await;
        }
        Ok(breached)
    }
}
