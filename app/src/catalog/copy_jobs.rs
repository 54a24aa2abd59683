//! Copy jobs (settings stored whole as JSON, with the columns the
//! scheduler and the foreign keys need) and the history of copy runs.

use chrono::{DateTime, Utc};

use super::{to_i64, Catalog, CatalogWriteError};
use crate::model::CopyJobSettings;

#[derive(Debug, Clone, sqlx::FromRow)]
struct JobRow {
    id: i64,
    name: String,
    from_repository_id: i64,
    to_repository_id: i64,
    settings: String,
    enabled: bool,
    next_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CopyJobRecord {
    pub id: i64,
    pub settings: CopyJobSettings,
    pub next_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<JobRow> for CopyJobRecord {
    type Error = sqlx::Error;

    fn try_from(row: JobRow) -> Result<Self, sqlx::Error> {
        let mut settings: CopyJobSettings = serde_json::from_str(&row.settings).map_err(|e| {
            sqlx::Error::Decode(format!("copy job {} settings: {e}", row.id).into())
        })?;
        settings.name = row.name;
        settings.from_repository_id = row.from_repository_id;
        settings.to_repository_id = row.to_repository_id;
        settings.enabled = row.enabled;
        Ok(CopyJobRecord {
            id: row.id,
            settings,
            next_at: row.next_at,
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CopyRunRecord {
    pub id: i64,
    pub job_id: i64,
    /// `manual` or `schedule`.
    pub trigger: String,
    /// `running`, `succeeded` or `failed`.
    pub state: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// JSON list of the point ids copied.
    pub copied: String,
    pub points_present: i64,
    pub chunks_written: i64,
    pub chunks_present: i64,
    pub bytes_written: i64,
    pub points_pruned: i64,
    pub error: Option<String>,
}

/// How a copy run ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CopyOutcome {
    pub succeeded: bool,
    pub copied: Vec<String>,
    pub points_present: u64,
    pub chunks_written: u64,
    pub chunks_present: u64,
    pub bytes_written: u64,
    pub points_pruned: u64,
    pub error: Option<String>,
}

fn json(settings: &CopyJobSettings) -> Result<String, CatalogWriteError> {
    serde_json::to_string(settings)
        .map_err(|e| CatalogWriteError::Db(sqlx::Error::Encode(Box::new(e))))
}

/// Where a job's schedule puts its next run, seen at `now`.
fn next_run(settings: &CopyJobSettings, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    settings
        .enabled
        .then(|| settings.schedule.next_after(now))
        .flatten()
}

impl Catalog {
    pub async fn insert_copy_job(
        &self,
        settings: &CopyJobSettings,
    ) -> Result<CopyJobRecord, CatalogWriteError> {
        let now = Utc::now();
        let row: JobRow = sqlx::query_as(
            "INSERT INTO copy_jobs (name, from_repository_id, to_repository_id, settings, enabled, \
             next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(&settings.name)
        .bind(settings.from_repository_id)
        .bind(settings.to_repository_id)
        .bind(json(settings)?)
        .bind(settings.enabled)
        .bind(next_run(settings, now))
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))?;
        Ok(CopyJobRecord::try_from(row)?)
    }

    pub async fn update_copy_job(
        &self,
        id: i64,
        settings: &CopyJobSettings,
    ) -> Result<Option<CopyJobRecord>, CatalogWriteError> {
        let row: Option<JobRow> = sqlx::query_as(
            "UPDATE copy_jobs SET name = ?, from_repository_id = ?, to_repository_id = ?, \
             settings = ?, enabled = ?, next_at = ? WHERE id = ? RETURNING *",
        )
        .bind(&settings.name)
        .bind(settings.from_repository_id)
        .bind(settings.to_repository_id)
        .bind(json(settings)?)
        .bind(settings.enabled)
        .bind(next_run(settings, Utc::now()))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))?;
        Ok(row.map(CopyJobRecord::try_from).transpose()?)
    }

    pub async fn copy_jobs(&self) -> Result<Vec<CopyJobRecord>, sqlx::Error> {
        let rows: Vec<JobRow> = sqlx::query_as("SELECT * FROM copy_jobs ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(CopyJobRecord::try_from).collect()
    }

    /// The repositories copy jobs fill from repository `from` with points
    /// of task `task`, by name: where a restore of the task may also read.
    pub async fn copy_destinations(
        &self,
        from: i64,
        task: &str,
    ) -> Result<Vec<super::RepositoryRecord>, sqlx::Error> {
        let mut ids: Vec<i64> = self
            .copy_jobs()
            .await?
            .into_iter()
            .filter(|job| job.settings.from_repository_id == from)
            .filter(|job| job.settings.task.as_deref().is_none_or(|t| t == task))
            .map(|job| job.settings.to_repository_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.repository(id).await?);
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    pub async fn copy_job(&self, id: i64) -> Result<Option<CopyJobRecord>, sqlx::Error> {
        let row: Option<JobRow> = sqlx::query_as("SELECT * FROM copy_jobs WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(CopyJobRecord::try_from).transpose()
    }

    pub async fn delete_copy_job(&self, id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM copy_jobs WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Enabled jobs whose slot has come.
    pub async fn due_copy_jobs(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<CopyJobRecord>, sqlx::Error> {
        let rows: Vec<JobRow> = sqlx::query_as(
            "SELECT * FROM copy_jobs WHERE enabled AND next_at IS NOT NULL AND next_at <= ? \
             ORDER BY next_at",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(CopyJobRecord::try_from).collect()
    }

    /// Moves a job to its next slot, only if it is still at `slot`.
    pub async fn advance_copy_job(
        &self,
        id: i64,
        slot: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE copy_jobs SET next_at = ? WHERE id = ? AND next_at = ?")
            .bind(next)
            .bind(id)
            .bind(slot)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn next_copy_at(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        sqlx::query_scalar("SELECT MIN(next_at) FROM copy_jobs WHERE enabled")
            .fetch_one(self.pool())
            .await
    }

    /// Records a running copy, or None while the job has one.
    pub async fn start_copy_run(
        &self,
        job_id: i64,
        trigger: &str,
    ) -> Result<Option<CopyRunRecord>, sqlx::Error> {
        let inserted = sqlx::query_as(
            "INSERT INTO copy_runs (job_id, trigger, state, started_at) \
             VALUES (?, ?, 'running', ?) RETURNING *",
        )
        .bind(job_id)
        .bind(trigger)
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await;
        match inserted {
            Ok(run) => Ok(Some(run)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn finish_copy_run(
        &self,
        id: i64,
        outcome: &CopyOutcome,
    ) -> Result<CopyRunRecord, sqlx::Error> {
        let copied = serde_json::to_string(&outcome.copied).unwrap_or_else(|_| "[]".into());
        sqlx::query_as(
            "UPDATE copy_runs SET state = ?, finished_at = ?, copied = ?, points_present = ?, \
             chunks_written = ?, chunks_present = ?, bytes_written = ?, points_pruned = ?, \
             error = ? WHERE id = ? RETURNING *",
        )
        .bind(if outcome.succeeded {
            "succeeded"
        } else {
            "failed"
        })
        .bind(Utc::now())
        .bind(copied)
        .bind(to_i64(outcome.points_present))
        .bind(to_i64(outcome.chunks_written))
        .bind(to_i64(outcome.chunks_present))
        .bind(to_i64(outcome.bytes_written))
        .bind(to_i64(outcome.points_pruned))
        .bind(&outcome.error)
        .bind(id)
        .fetch_one(self.pool())
        .await
    }

    /// A job's newest runs first.
    pub async fn copy_runs(
        &self,
        job_id: i64,
        limit: u32,
    ) -> Result<Vec<CopyRunRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM copy_runs WHERE job_id = ? ORDER BY id DESC LIMIT ?")
            .bind(job_id)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
    }

    /// Copies left running by a console that stopped are failed at start-up.
    pub async fn fail_interrupted_copies(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE copy_runs SET state = 'failed', finished_at = ?, \
             error = 'the console stopped during the copy; the next run completes it' \
             WHERE state = 'running'",
        )
        .bind(Utc::now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
