//! Run records (the history of each task) and their log lines.

use chrono::{DateTime, Utc};

use super::{to_i64, Catalog};
use crate::model::{JobText, RunState};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunRecord {
    pub id: i64,
    pub task_id: i64,
    pub trigger: String,
    pub late: bool,
    pub attempt: i64,
    pub state: String,
    pub mode: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub point: Option<String>,
    pub backup_path: Option<String>,
    pub objects: i64,
    pub bytes: i64,
    pub bytes_stored: i64,
    pub chunks: i64,
    pub new_chunks: i64,
    pub error: Option<String>,
    /// What kind of failure `error` is (`EngineError::kind`).
    pub error_kind: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunLogLine {
    pub at: DateTime<Utc>,
    pub level: String,
    pub message: String,
    pub message_key: Option<String>,
    pub message_args: Option<String>,
}

/// Why a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Manual,
    Schedule,
    Retry,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
            Trigger::Retry => "retry",
        }
    }
}

/// What a finished run produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOutcome {
    pub objects: u64,
    pub bytes: u64,
    pub bytes_stored: u64,
    pub chunks: u64,
    pub new_chunks: u64,
}

impl Catalog {
    /// Records a new running run, or returns None when the task already
    /// has one (the catalog's unique index decides, so two clicks racing
    /// each other cannot both start a run).
    pub async fn start_run(
        &self,
        task_id: i64,
        trigger: Trigger,
        late: bool,
        attempt: u32,
    ) -> Result<Option<RunRecord>, sqlx::Error> {
        let inserted = sqlx::query_as(
            "INSERT INTO runs (task_id, trigger, late, attempt, state, started_at) \
             VALUES (?, ?, ?, ?, 'running', ?) RETURNING *",
        )
        .bind(task_id)
        .bind(trigger.as_str())
        .bind(late)
        .bind(i64::from(attempt))
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await;
        match inserted {
            Ok(run) => Ok(Some(run)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records what the plan decided: full or incremental, and the point.
    pub async fn set_run_plan(
        &self,
        run_id: i64,
        mode: &str,
        point: &str,
        backup_path: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE runs SET mode = ?, point = ?, backup_path = ? WHERE id = ?")
            .bind(mode)
            .bind(point)
            .bind(backup_path)
            .bind(run_id)
            .execute(self.pool())
            .await
            .map(drop)
    }

    pub async fn finish_run(
        &self,
        run_id: i64,
        state: RunState,
        outcome: &RunOutcome,
        error: Option<(&str, &str)>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE runs SET state = ?, finished_at = ?, objects = ?, bytes = ?, bytes_stored = ?, \
             chunks = ?, new_chunks = ?, error_kind = ?, error = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(Utc::now())
        .bind(to_i64(outcome.objects))
        .bind(to_i64(outcome.bytes))
        .bind(to_i64(outcome.bytes_stored))
        .bind(to_i64(outcome.chunks))
        .bind(to_i64(outcome.new_chunks))
        .bind(error.map(|(kind, _)| kind))
        .bind(error.map(|(_, message)| message))
        .bind(run_id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// Runs left "running" by a server that stopped are failed at start-up.
    pub async fn fail_interrupted_runs(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE runs SET state = 'failed', finished_at = ?, \
             error = 'the server stopped while this run was in progress' WHERE state = 'running'",
        )
        .bind(Utc::now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn add_run_log(
        &self,
        run_id: i64,
        level: &str,
        message: &str,
        text: Option<&JobText>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO run_logs (run_id, at, level, message, message_key, message_args) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(run_id)
        .bind(Utc::now())
        .bind(level)
        .bind(message)
        .bind(text.map(|t| t.key.as_str()))
        .bind(text.map(JobText::args_json))
        .execute(self.pool())
        .await
        .map(drop)
    }

    pub async fn run_logs(&self, run_id: i64) -> Result<Vec<RunLogLine>, sqlx::Error> {
        sqlx::query_as(
            "SELECT at, level, message, message_key, message_args FROM run_logs \
             WHERE run_id = ? ORDER BY id",
        )
        .bind(run_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn run(&self, id: i64) -> Result<Option<RunRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM runs WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// One page of a task's history, newest first, and the number of runs
    /// matching the filter.
    pub async fn task_runs(
        &self,
        task_id: i64,
        state: Option<RunState>,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<RunRecord>, u64), sqlx::Error> {
        let state = state.map(RunState::as_str);
        let rows = sqlx::query_as(
            "SELECT * FROM runs WHERE task_id = ? AND (? IS NULL OR state = ?) \
             ORDER BY id DESC LIMIT ? OFFSET ?",
        )
        .bind(task_id)
        .bind(state)
        .bind(state)
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(self.pool())
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM runs WHERE task_id = ? AND (? IS NULL OR state = ?)",
        )
        .bind(task_id)
        .bind(state)
        .bind(state)
        .fetch_one(self.pool())
        .await?;
        Ok((rows, u64::try_from(total).unwrap_or(0)))
    }

    /// The newest run of every task that has one.
    pub async fn last_runs(&self) -> Result<Vec<RunRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs GROUP BY task_id)")
            .fetch_all(self.pool())
            .await
    }

    /// The newest run in `state` of every task that has one.
    pub async fn last_runs_in(&self, state: RunState) -> Result<Vec<RunRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT * FROM runs WHERE id IN \
             (SELECT MAX(id) FROM runs WHERE state = ? GROUP BY task_id)",
        )
        .bind(state.as_str())
        .fetch_all(self.pool())
        .await
    }

    /// The newest failed runs of all tasks, for the dashboard.
    pub async fn recent_failures(&self, limit: u32) -> Result<Vec<RunRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM runs WHERE state = 'failed' ORDER BY id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
    }

    /// How many successful incremental runs followed the task's newest
    /// successful full run; None when it has none (the next must be full).
    pub async fn incrementals_since_full(&self, task_id: i64) -> Result<Option<u32>, sqlx::Error> {
        let last_full: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(id) FROM runs WHERE task_id = ? AND state = 'succeeded' AND mode = 'full'",
        )
        .bind(task_id)
        .fetch_one(self.pool())
        .await?;
        let Some(last_full) = last_full else {
            return Ok(None);
        };
        let since: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM runs WHERE task_id = ? AND state = 'succeeded' \
             AND mode = 'incremental' AND id > ?",
        )
        .bind(task_id)
        .bind(last_full)
        .fetch_one(self.pool())
        .await?;
        Ok(Some(u32::try_from(since).unwrap_or(u32::MAX)))
    }
}
