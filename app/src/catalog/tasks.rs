//! Backup task records. A task's settings are stored whole (as JSON of
//! `model::TaskSettings`); the columns beside them are what lists and the
//! scheduler query on.

use chrono::{DateTime, Utc};

use super::{Catalog, CatalogWriteError};
use crate::model::{Schedule, TaskSettings};

/// A task's `next_run_at` and `retry_at` columns.
type NextRun = Option<DateTime<Utc>>;
type RetryAt = Option<DateTime<Utc>>;

#[derive(Debug, Clone, sqlx::FromRow)]
struct TaskRow {
    id: i64,
    name: String,
    source_id: i64,
    repository_id: i64,
    settings: String,
    next_run_at: Option<DateTime<Utc>>,
    retry_at: Option<DateTime<Utc>>,
    retry_attempt: i64,
    drill_next_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: i64,
    pub settings: TaskSettings,
    pub next_run_at: Option<DateTime<Utc>>,
    pub retry_at: Option<DateTime<Utc>>,
    /// The attempt number the pending retry will be.
    pub retry_attempt: u32,
    /// The next scheduled drill.
    pub drill_next_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<TaskRow> for TaskRecord {
    type Error = sqlx::Error;

    fn try_from(row: TaskRow) -> Result<Self, sqlx::Error> {
        let mut settings: TaskSettings = serde_json::from_str(&row.settings)
            .map_err(|e| sqlx::Error::Decode(format!("task {} settings: {e}", row.id).into()))?;
        // The columns are authoritative for what SQL constraints guard.
        settings.name = row.name;
        settings.source_id = row.source_id;
        settings.repository_id = row.repository_id;
        Ok(TaskRecord {
            id: row.id,
            settings,
            next_run_at: row.next_run_at,
            retry_at: row.retry_at,
            retry_attempt: u32::try_from(row.retry_attempt).unwrap_or(0),
            drill_next_at: row.drill_next_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn settings_json(settings: &TaskSettings) -> Result<String, CatalogWriteError> {
    serde_json::to_string(settings)
        .map_err(|e| CatalogWriteError::Db(sqlx::Error::Encode(Box::new(e))))
}

fn decode(rows: Vec<TaskRow>) -> Result<Vec<TaskRecord>, sqlx::Error> {
    rows.into_iter().map(TaskRecord::try_from).collect()
}

impl Catalog {
    pub async fn list_tasks(&self) -> Result<Vec<TaskRecord>, sqlx::Error> {
        let rows: Vec<TaskRow> = sqlx::query_as("SELECT * FROM tasks ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        decode(rows)
    }

    pub async fn task(&self, id: i64) -> Result<Option<TaskRecord>, sqlx::Error> {
        let row: Option<TaskRow> = sqlx::query_as("SELECT * FROM tasks WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(TaskRecord::try_from).transpose()
    }

    pub async fn task_name_taken(
        &self,
        name: &str,
        except: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM tasks WHERE name = ? AND id IS NOT ?")
                .bind(name)
                .bind(except)
                .fetch_optional(self.pool())
                .await?;
        Ok(found.is_some())
    }

    /// Inserts a task; its first run time follows from its schedule.
    pub async fn insert_task(
        &self,
        settings: &TaskSettings,
    ) -> Result<TaskRecord, CatalogWriteError> {
        let now = Utc::now();
        let row: TaskRow = sqlx::query_as(
            "INSERT INTO tasks (name, source_id, repository_id, settings, periodic, enabled, \
             next_run_at, drill_next_at, continuous, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(&settings.name)
        .bind(settings.source_id)
        .bind(settings.repository_id)
        .bind(settings_json(settings)?)
        .bind(!matches!(settings.schedule, Schedule::Manual))
        .bind(settings.enabled)
        .bind(first_run(settings, now))
        .bind(first_drill(settings, now))
        .bind(settings.continuous)
        .bind(now)
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))?;
        Ok(TaskRecord::try_from(row)?)
    }

    /// Replaces a task's settings; the next run is recomputed and a
    /// pending retry dropped, since it was for the old settings.
    pub async fn update_task(
        &self,
        id: i64,
        settings: &TaskSettings,
    ) -> Result<Option<TaskRecord>, CatalogWriteError> {
        let now = Utc::now();
        let row: Option<TaskRow> = sqlx::query_as(
            "UPDATE tasks SET name = ?, source_id = ?, repository_id = ?, settings = ?, periodic = ?, \
             enabled = ?, next_run_at = ?, drill_next_at = ?, continuous = ?, retry_at = NULL, \
             retry_attempt = 0, updated_at = ? WHERE id = ? RETURNING *",
        )
        .bind(&settings.name)
        .bind(settings.source_id)
        .bind(settings.repository_id)
        .bind(settings_json(settings)?)
        .bind(!matches!(settings.schedule, Schedule::Manual))
        .bind(settings.enabled)
        .bind(first_run(settings, now))
        .bind(first_drill(settings, now))
        .bind(settings.continuous)
        .bind(now)
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))?;
        Ok(row.map(TaskRecord::try_from).transpose()?)
    }

    pub async fn set_task_enabled(
        &self,
        id: i64,
        enabled: bool,
    ) -> Result<Option<TaskRecord>, sqlx::Error> {
        let Some(mut task) = self.task(id).await? else {
            return Ok(None);
        };
        task.settings.enabled = enabled;
        let next = first_run(&task.settings, Utc::now());
        let json =
            serde_json::to_string(&task.settings).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query("UPDATE tasks SET enabled = ?, settings = ?, next_run_at = ?, drill_next_at = ?, updated_at = ? WHERE id = ?")
            .bind(enabled)
            .bind(json)
            .bind(next)
            .bind(first_drill(&task.settings, Utc::now()))
            .bind(Utc::now())
            .bind(id)
            .execute(self.pool())
            .await?;
        self.task(id).await
    }

    pub async fn delete_task(&self, id: i64) -> Result<bool, sqlx::Error> {
        let deleted = sqlx::query("DELETE FROM tasks WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    /// Tasks whose binary logs are archived continuously (enabled or not:
    /// archiving is what makes the time between backups recoverable).
    pub async fn continuous_tasks(&self) -> Result<Vec<TaskRecord>, sqlx::Error> {
        let rows: Vec<TaskRow> = sqlx::query_as("SELECT * FROM tasks WHERE continuous ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        decode(rows)
    }

    /// Enabled tasks with a scheduled run or a retry due at `now`.
    pub async fn due_tasks(&self, now: DateTime<Utc>) -> Result<Vec<TaskRecord>, sqlx::Error> {
        let rows: Vec<TaskRow> = sqlx::query_as(
            "SELECT * FROM tasks WHERE enabled AND ((periodic AND next_run_at <= ?) OR retry_at <= ?) \
             ORDER BY id",
        )
        .bind(now)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        decode(rows)
    }

    /// The earliest time any enabled task is due, for the scheduler's sleep.
    pub async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        let rows: Vec<(NextRun, RetryAt, NextRun)> = sqlx::query_as(
            "SELECT CASE WHEN periodic THEN next_run_at END, retry_at, drill_next_at FROM tasks \
             WHERE enabled AND (periodic OR retry_at IS NOT NULL OR drill_next_at IS NOT NULL)",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .flat_map(|(a, b, c)| [a, b, c])
            .flatten()
            .min())
    }

    /// Moves a task's next scheduled run.
    pub async fn set_next_run(
        &self,
        id: i64,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE tasks SET next_run_at = ? WHERE id = ?")
            .bind(next)
            .bind(id)
            .execute(self.pool())
            .await
            .map(drop)
    }

    /// Schedules (or with `None` clears) a retry of a failed run.
    pub async fn set_retry(
        &self,
        id: i64,
        retry: Option<(DateTime<Utc>, u32)>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE tasks SET retry_at = ?, retry_attempt = ? WHERE id = ?")
            .bind(retry.map(|r| r.0))
            .bind(retry.map_or(0, |r| i64::from(r.1)))
            .bind(id)
            .execute(self.pool())
            .await
            .map(drop)
    }
}

/// The first scheduled drill of a task whose settings were saved at `now`.
fn first_drill(settings: &TaskSettings, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    first_slot(settings.enabled, &settings.recovery.drill.schedule(), now)
}

/// The first scheduled run of a task whose settings were saved at `now`.
fn first_run(settings: &TaskSettings, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    first_slot(settings.enabled, &settings.schedule, now)
}

fn first_slot(enabled: bool, schedule: &Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if !enabled {
        return None;
    }
    match schedule {
        Schedule::Manual => None,
        Schedule::Periodic { first_start, .. } if *first_start >= now => Some(*first_start),
        schedule => schedule.next_after(now),
    }
}
