//! Copy jobs: one run copies the points the destination lacks (only the
//! chunks it does not hold, re-encrypted for it, read back before each
//! point is published), then applies the destination's retention, and is
//! recorded in the job's history. The destination's writer lock keeps a
//! copy and a backup or prune of that repository from writing at once.

use chrono::{DateTime, Utc};
use tidemark_engine::copy::{plan_copy, run_copy, CopyOptions, CopyStats};
use tidemark_engine::prune::{plan_prune, run_prune, PruneOptions};
use tidemark_engine::{CancelToken, NoProgress};

use super::repo_checks::CheckTrigger;
use super::Jobs;
use crate::catalog::{AuditEntry, CopyJobRecord, CopyOutcome, CopyRunRecord};
use crate::error::{blocking, AppError};

impl Jobs {
    /// Runs the copy job now and waits for it.
    pub async fn run_copy_job(
        &self,
        job_id: i64,
        trigger: CheckTrigger,
    ) -> Result<CopyRunRecord, AppError> {
        let job = self
            .catalog()
            .copy_job(job_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("copy job {job_id}")))?;
        let s = &job.settings;
        let repository = |id: i64| async move {
            self.catalog()
                .repository(id)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("repository {id}")))
        };
        let from = repository(s.from_repository_id).await?.access();
        let to = repository(s.to_repository_id).await?;
        let limit_upload = to.upload_limit();
        let to = to.access();
        let run = self
            .catalog()
            .start_copy_run(job_id, trigger.as_str())
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!("copy job {:?} is running already", s.name))
            })?;
        let task = s.task.clone();
        let keep_last = s.keep_last;
        let done = blocking(move || {
            let from = from.open_for_request()?;
            let to = to.open_for_request()?;
            let options = CopyOptions {
                task: task.clone(),
                newest: keep_last.map(|n| n as usize),
                limit_upload,
                ..CopyOptions::default()
            };
            let plan = plan_copy(&from, &to, &options)?;
            let stats = run_copy(&from, &to, plan, &options, &NoProgress, &CancelToken::new())?;
            let pruned = match keep_last {
                Some(keep) => {
                    let prune = PruneOptions {
                        keep_last: Some(keep as usize),
                        task,
                        ..PruneOptions::default()
                    };
                    let plan = plan_prune(&to, &prune)?;
                    run_prune(&to, &plan, &NoProgress, &CancelToken::new())?.points_removed
                }
                None => 0,
            };
            Ok((stats, pruned))
        })
        .await;
        let outcome = match &done {
            Ok((stats, pruned)) => outcome(stats, *pruned),
            Err(err) => CopyOutcome {
                error: Some(err.to_string()),
                ..CopyOutcome::default()
            },
        };
        if let Err(err) = &done {
            tracing::warn!(job = %s.name, error = %err, "copy job failed");
            let event = crate::notify::Event::new(
                crate::model::EventKind::CopyFailed,
                format!("Copy job {:?} failed", s.name),
            )
            .detail(format!(
                "{err}\nthe destination keeps the points it held; the next run copies what is missing"
            ))
            .link("/copies");
            self.notifier().emit(event).await;
        }
        Ok(self.catalog().finish_copy_run(run.id, &outcome).await?)
    }

    /// Starts the copy jobs whose slot has come, each in the background.
    pub async fn tick_copy_jobs(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, sqlx::Error> {
        let mut started = Vec::new();
        for job in self.catalog().due_copy_jobs(now).await? {
            let Some(slot) = job.next_at else { continue };
            let next = job.settings.schedule.next_after(now);
            if !self.catalog().advance_copy_job(job.id, slot, next).await? {
                continue;
            }
            let jobs = self.clone();
            started.push(tokio::spawn(async move { jobs.scheduled_copy(job).await }));
        }
        Ok(started)
    }

    async fn scheduled_copy(&self, job: CopyJobRecord) {
        let done = self.run_copy_job(job.id, CheckTrigger::Schedule).await;
        let (outcome, detail) = match &done {
            Ok(run) if run.state == "succeeded" => ("success", format!("copied {}", run.copied)),
            Ok(run) => ("failure", run.error.clone().unwrap_or_default()),
            Err(err) => ("failure", err.to_string()),
        };
        let entry = AuditEntry {
            username: Some("scheduler"),
            address: None,
            action: "scheduled copy",
            target: &job.settings.name,
            outcome,
            detail: &detail,
        };
        if let Err(err) = self.catalog().audit(&entry).await {
            tracing::error!(error = %err, "could not write the audit log");
        }
    }
}

fn outcome(stats: &CopyStats, pruned: u64) -> CopyOutcome {
    CopyOutcome {
        succeeded: true,
        copied: stats.copied.clone(),
        points_present: stats.present.len() as u64,
        chunks_written: stats.chunks_written,
        chunks_present: stats.chunks_present,
        bytes_written: stats.bytes_written,
        points_pruned: pruned,
        error: None,
    }
}
