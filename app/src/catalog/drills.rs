//! Restore drill runs, the figures the RPO/RTO views read, and the drill
//! scheduler's columns.

use chrono::{DateTime, Utc};

use super::tasks::TaskRecord;
use super::{to_i64, Catalog};

/// What started a drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillTrigger {
    Manual,
    Schedule,
    AfterBackups,
    Retry,
}

impl DrillTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            DrillTrigger::Manual => "manual",
            DrillTrigger::Schedule => "schedule",
            DrillTrigger::AfterBackups => "after_backups",
            DrillTrigger::Retry => "retry",
        }
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DrillRunRecord {
    pub id: i64,
    pub task_id: i64,
    pub trigger: String,
    /// `running`, `passed` or `failed`.
    pub status: String,
    pub point: Option<String>,
    pub point_finished_at: Option<DateTime<Utc>>,
    pub sandbox: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub rto_seconds: Option<f64>,
    pub seconds: Option<f64>,
    pub bytes: i64,
    pub rows: i64,
    pub objects: i64,
    /// JSON of the engine's `DrillPhase` list.
    pub phases: String,
    /// JSON of the engine's `DrillCheck` list.
    pub checks: String,
    pub error: Option<String>,
}

/// How a drill ended, as recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrillOutcome {
    pub passed: bool,
    pub rto_seconds: Option<f64>,
    pub seconds: Option<f64>,
    pub bytes: u64,
    pub rows: u64,
    pub objects: u64,
    pub phases_json: String,
    pub checks_json: String,
    pub error: Option<String>,
}

impl Catalog {
    /// Records a running drill, or None while the task already has one
    /// (the unique index decides, so racing clicks start one drill).
    pub async fn start_drill_run(
        &self,
        task_id: i64,
        trigger: DrillTrigger,
    ) -> Result<Option<DrillRunRecord>, sqlx::Error> {
        let inserted = sqlx::query_as(
            "INSERT INTO drill_runs (task_id, trigger, status, started_at) \
             VALUES (?, ?, 'running', ?) RETURNING *",
        )
        .bind(task_id)
        .bind(trigger.as_str())
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await;
        match inserted {
            Ok(run) => Ok(Some(run)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records the point and sandbox the drill's plan chose.
    pub async fn set_drill_plan(
        &self,
        id: i64,
        point: &str,
        point_finished_at: DateTime<Utc>,
        sandbox: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE drill_runs SET point = ?, point_finished_at = ?, sandbox = ? WHERE id = ?",
        )
        .bind(point)
        .bind(point_finished_at)
        .bind(sandbox)
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    pub async fn finish_drill_run(
        &self,
        id: i64,
        outcome: &DrillOutcome,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE drill_runs SET status = ?, finished_at = ?, rto_seconds = ?, seconds = ?, \
             bytes = ?, rows = ?, objects = ?, phases = ?, checks = ?, error = ? WHERE id = ?",
        )
        .bind(if outcome.passed { "passed" } else { "failed" })
        .bind(Utc::now())
        .bind(outcome.rto_seconds)
        .bind(outcome.seconds)
        .bind(to_i64(outcome.bytes))
        .bind(to_i64(outcome.rows))
        .bind(to_i64(outcome.objects))
        .bind(&outcome.phases_json)
        .bind(&outcome.checks_json)
        .bind(&outcome.error)
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// Drills left "running" by a console that stopped are failed at start-up.
    pub async fn fail_interrupted_drills(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE drill_runs SET status = 'failed', finished_at = ?, \
             error = 'the console stopped during the drill' WHERE status = 'running'",
        )
        .bind(Utc::now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn drill_run(&self, id: i64) -> Result<Option<DrillRunRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM drill_runs WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// A task's newest drills first.
    pub async fn drill_runs(
        &self,
        task_id: i64,
        limit: u32,
    ) -> Result<Vec<DrillRunRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM drill_runs WHERE task_id = ? ORDER BY id DESC LIMIT ?")
            .bind(task_id)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
    }

    /// Each task's newest passed drill.
    pub async fn last_passed_drills(&self) -> Result<Vec<DrillRunRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT * FROM drill_runs WHERE id IN \
             (SELECT MAX(id) FROM drill_runs WHERE status = 'passed' GROUP BY task_id)",
        )
        .fetch_all(self.pool())
        .await
    }

    /// Each task's newest finished drill, passed or not.
    pub async fn last_finished_drills(&self) -> Result<Vec<DrillRunRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT * FROM drill_runs WHERE id IN \
             (SELECT MAX(id) FROM drill_runs WHERE status != 'running' GROUP BY task_id)",
        )
        .fetch_all(self.pool())
        .await
    }

    /// The points of a task that passed drills proved, with when the
    /// newest such drill finished.
    pub async fn proven_points(
        &self,
        task_id: i64,
    ) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT point, MAX(finished_at) FROM drill_runs \
             WHERE task_id = ? AND status = 'passed' AND point IS NOT NULL GROUP BY point",
        )
        .bind(task_id)
        .fetch_all(self.pool())
        .await
    }

    /// When each task's newest successful backup finished.
    pub async fn newest_good_points(&self) -> Result<Vec<(i64, DateTime<Utc>)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT task_id, MAX(finished_at) FROM runs \
             WHERE state = 'succeeded' AND finished_at IS NOT NULL GROUP BY task_id",
        )
        .fetch_all(self.pool())
        .await
    }

    /// Successful backups of the task since its newest drill started (all
    /// of them when it has none).
    pub async fn backups_since_last_drill(&self, task_id: i64) -> Result<u64, sqlx::Error> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM runs WHERE task_id = ? AND state = 'succeeded' \
             AND finished_at > COALESCE((SELECT MAX(started_at) FROM drill_runs WHERE task_id = ?), '')",
        )
        .bind(task_id)
        .bind(task_id)
        .fetch_one(self.pool())
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Enabled tasks with a scheduled drill due at `now`.
    pub async fn due_drills(&self, now: DateTime<Utc>) -> Result<Vec<TaskRecord>, sqlx::Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM tasks WHERE enabled AND drill_next_at <= ? ORDER BY id",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        let mut tasks = Vec::new();
        for id in ids {
            tasks.extend(self.task(id).await?);
        }
        Ok(tasks)
    }

    pub async fn set_drill_next(
        &self,
        task_id: i64,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE tasks SET drill_next_at = ? WHERE id = ?")
            .bind(next)
            .bind(task_id)
            .execute(self.pool())
            .await
            .map(drop)
    }

    /// Marks (or unmarks) a source as a drill server.
    pub async fn set_source_drill_server(&self, id: i64, on: bool) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sources SET drill_server = ? WHERE id = ?")
            .bind(on)
            .bind(id)
            .execute(self.pool())
            .await
            .map(drop)
    }
}
