//! Restore tasks, the phases of each attempt, and their objects.

use chrono::{DateTime, Utc};

use super::{to_i64, Catalog, CatalogWriteError};
use crate::model::{RestoreSettings, RestoreState};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RestoreRow {
    pub id: i64,
    pub name: String,
    pub task_id: Option<i64>,
    pub point_id: String,
    pub settings: String,
    pub target: String,
    pub state: String,
    pub phase: Option<String>,
    pub attempt: i64,
    pub error: Option<String>,
    /// What kind of failure `error` is (`EngineError::kind`, `differs`, `timed_out`).
    pub error_kind: Option<String>,
    pub verified_fingerprint: Option<String>,
    pub checks: Option<String>,
    pub verify_outcome: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub bytes_total: i64,
    pub bytes_loaded: i64,
    pub rows_total: i64,
    pub rows_loaded: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// A restore to a second: the replay's result (`model::PitrResult` JSON).
    pub pitr_result: Option<String>,
}

/// A restore task with its settings decoded.
#[derive(Debug, Clone)]
pub struct RestoreRecord {
    pub row: RestoreRow,
    pub settings: RestoreSettings,
    pub state: RestoreState,
}

impl TryFrom<RestoreRow> for RestoreRecord {
    type Error = sqlx::Error;

    fn try_from(row: RestoreRow) -> Result<Self, Self::Error> {
        let settings =
            serde_json::from_str(&row.settings).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let state = RestoreState::parse(&row.state).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown restore state {:?}", row.state).into())
        })?;
        Ok(RestoreRecord {
            row,
            settings,
            state,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PhaseRow {
    pub phase: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RestoreObjectRow {
    pub name: String,
    pub target_name: String,
    pub action: String,
    pub bytes: i64,
    pub rows: Option<i64>,
    pub state: String,
    pub error: Option<String>,
    pub check_result: Option<String>,
    pub check_detail: Option<String>,
}

impl Catalog {
    pub async fn create_restore(
        &self,
        settings: &RestoreSettings,
        target: &str,
    ) -> Result<i64, CatalogWriteError> {
        let json = serde_json::to_string(settings)
            .map_err(|e| CatalogWriteError::Db(sqlx::Error::Encode(Box::new(e))))?;
        sqlx::query_scalar(
            "INSERT INTO restores (name, task_id, point_id, settings, target, state, created_at) \
             VALUES (?, ?, ?, ?, ?, 'new', ?) RETURNING id",
        )
        .bind(&settings.name)
        .bind(settings.task_id)
        .bind(&settings.point_id)
        .bind(json)
        .bind(target)
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))
    }

    pub async fn restore_name_taken(&self, name: &str) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM restores WHERE name = ?)")
            .bind(name)
            .fetch_one(self.pool())
            .await
    }

    pub async fn restore(&self, id: i64) -> Result<Option<RestoreRecord>, sqlx::Error> {
        let row: Option<RestoreRow> = sqlx::query_as("SELECT * FROM restores WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(RestoreRecord::try_from).transpose()
    }

    /// Newest first.
    pub async fn list_restores(&self) -> Result<Vec<RestoreRecord>, sqlx::Error> {
        let rows: Vec<RestoreRow> =
            sqlx::query_as("SELECT * FROM restores ORDER BY id DESC LIMIT 1000")
                .fetch_all(self.pool())
                .await?;
        rows.into_iter().map(RestoreRecord::try_from).collect()
    }

    pub async fn record_restore_verify(
        &self,
        id: i64,
        fingerprint: &str,
        checks_json: &str,
        outcome: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE restores SET verified_fingerprint = ?, checks = ?, verify_outcome = ?, \
             verified_at = ? WHERE id = ?",
        )
        .bind(fingerprint)
        .bind(checks_json)
        .bind(outcome)
        .bind(Utc::now())
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// Moves the task to pending for a new attempt if it is in one of
    /// `from`; false when it is not (another click won, or it finished).
    pub async fn begin_restore_attempt(
        &self,
        id: i64,
        from: &[RestoreState],
    ) -> Result<bool, sqlx::Error> {
        let states: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let done = sqlx::query(&format!(
            "UPDATE restores SET state = 'pending', phase = 'pending', attempt = attempt + 1, \
             error = NULL, started_at = ?, finished_at = NULL, bytes_loaded = 0, rows_loaded = 0, \
             pitr_result = NULL WHERE id = ? AND state IN ({})",
            states.join(",")
        ))
        .bind(Utc::now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that `phase` of the current attempt began or ended.
    pub async fn restore_phase(
        &self,
        id: i64,
        attempt: i64,
        phase: &str,
        done: bool,
    ) -> Result<(), sqlx::Error> {
        let now = Utc::now();
        if done {
            sqlx::query(
                "UPDATE restore_phases SET finished_at = ? \
                 WHERE restore_id = ? AND attempt = ? AND phase = ?",
            )
            .bind(now)
            .bind(id)
            .bind(attempt)
            .bind(phase)
            .execute(self.pool())
            .await?;
            return Ok(());
        }
        sqlx::query(
            "INSERT OR REPLACE INTO restore_phases (restore_id, attempt, phase, started_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(attempt)
        .bind(phase)
        .bind(now)
        .execute(self.pool())
        .await?;
        let state = if phase == "pending" {
            "pending"
        } else {
            "running"
        };
        sqlx::query("UPDATE restores SET phase = ?, state = ? WHERE id = ? AND state IN ('pending', 'running')")
            .bind(phase)
            .bind(state)
            .bind(id)
            .execute(self.pool())
            .await
            .map(drop)
    }

    pub async fn restore_phases(
        &self,
        id: i64,
        attempt: i64,
    ) -> Result<Vec<PhaseRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT phase, started_at, finished_at FROM restore_phases \
             WHERE restore_id = ? AND attempt = ? ORDER BY started_at, rowid",
        )
        .bind(id)
        .bind(attempt)
        .fetch_all(self.pool())
        .await
    }

    /// The plan's objects for this attempt; objects already done in an
    /// earlier attempt stay done.
    pub async fn set_restore_objects(
        &self,
        id: i64,
        objects: &[RestoreObjectRow],
        bytes_total: u64,
        rows_total: u64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM restore_objects WHERE restore_id = ? AND state <> 'done'")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for o in objects {
            sqlx::query(
                "INSERT OR IGNORE INTO restore_objects \
                 (restore_id, name, target_name, action, bytes, rows, state, error) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(&o.name)
            .bind(&o.target_name)
            .bind(&o.action)
            .bind(o.bytes)
            .bind(o.rows)
            .bind(&o.state)
            .bind(&o.error)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE restores SET bytes_total = ?, rows_total = ? WHERE id = ?")
            .bind(to_i64(bytes_total))
            .bind(to_i64(rows_total))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    pub async fn set_restore_object_state(
        &self,
        id: i64,
        name: &str,
        state: &str,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE restore_objects SET state = ?, error = ? WHERE restore_id = ? AND name = ?",
        )
        .bind(state)
        .bind(error)
        .bind(id)
        .bind(name)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// How a restored object compared with the point when read back.
    pub async fn set_restore_object_check(
        &self,
        id: i64,
        name: &str,
        result: &str,
        detail: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE restore_objects SET check_result = ?, check_detail = ? WHERE restore_id = ? AND name = ?",
        )
        .bind(result)
        .bind(detail)
        .bind(id)
        .bind(name)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// After a rolled-back attempt nothing it loaded remains.
    pub async fn reset_restore_objects(&self, id: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE restore_objects SET state = 'pending' WHERE restore_id = ? AND state = 'done'",
        )
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    pub async fn restore_objects(&self, id: i64) -> Result<Vec<RestoreObjectRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT name, target_name, action, bytes, rows, state, error, check_result, check_detail FROM restore_objects \
             WHERE restore_id = ? ORDER BY name",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn finish_restore(
        &self,
        id: i64,
        state: RestoreState,
        error: Option<(&str, &str)>,
        bytes_loaded: u64,
        rows_loaded: u64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE restores SET state = ?, error_kind = ?, error = ?, finished_at = ?, \
             bytes_loaded = ?, rows_loaded = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(error.map(|(kind, _)| kind))
        .bind(error.map(|(_, message)| message))
        .bind(Utc::now())
        .bind(to_i64(bytes_loaded))
        .bind(to_i64(rows_loaded))
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// Records what the replay of a restore to a second did.
    pub async fn set_restore_pitr_result(&self, id: i64, result: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE restores SET pitr_result = ? WHERE id = ?")
            .bind(result)
            .bind(id)
            .execute(self.pool())
            .await
            .map(drop)
    }

    /// Deletes a restore task unless it is pending or running.
    pub async fn delete_restore(&self, id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM restores WHERE id = ? AND state NOT IN ('pending', 'running')",
        )
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Restores a stopped server left active are failed at start-up.
    pub async fn fail_interrupted_restores(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE restores SET state = 'failed', finished_at = ?, \
             error = 'the server stopped while this restore ran; the target was rolled back where it can be: Retry it' \
             WHERE state IN ('pending', 'running')",
        )
        .bind(Utc::now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
