//! Repository check plans (the scheduler's columns) and the history of
//! check runs.

use chrono::{DateTime, Utc};

use super::{to_i64, Catalog};
use crate::model::{CheckKind, CheckOutcome, CheckPlan, Schedule};

#[derive(Debug, Clone, sqlx::FromRow)]
struct PlanRow {
    repository_id: i64,
    kind: String,
    schedule: String,
    read_percent: i64,
    next_at: Option<DateTime<Utc>>,
    round: i64,
}

/// A repository's check plan with its scheduler state.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckPlanRecord {
    pub repository_id: i64,
    pub plan: CheckPlan,
    pub next_at: Option<DateTime<Utc>>,
    /// The data check's next round of the pack rotation.
    pub round: u64,
}

impl TryFrom<PlanRow> for CheckPlanRecord {
    type Error = sqlx::Error;

    fn try_from(row: PlanRow) -> Result<Self, sqlx::Error> {
        let decode = |what: &str| {
            sqlx::Error::Decode(
                format!("repository {} check plan: {what}", row.repository_id).into(),
            )
        };
        let kind = CheckKind::parse(&row.kind).ok_or_else(|| decode("kind"))?;
        let schedule: Schedule =
            serde_json::from_str(&row.schedule).map_err(|e| decode(&e.to_string()))?;
        Ok(CheckPlanRecord {
            repository_id: row.repository_id,
            plan: CheckPlan {
                kind,
                schedule,
                read_percent: u8::try_from(row.read_percent.clamp(1, 100)).unwrap_or(100),
            },
            next_at: row.next_at,
            round: u64::try_from(row.round).unwrap_or(0),
        })
    }
}

/// One check run, as the history shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CheckRunRecord {
    pub id: i64,
    pub repository_id: i64,
    /// [`CheckKind::as_str`].
    pub kind: String,
    /// `manual` or `schedule`.
    pub trigger: String,
    /// [`CheckOutcome::as_str`].
    pub outcome: String,
    pub read_percent: i64,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub points: i64,
    pub objects: i64,
    pub packs_total: i64,
    pub packs_read: i64,
    pub bytes_read: i64,
    /// JSON of the engine's `Problem` list.
    pub problems: String,
    pub error: Option<String>,
}

/// What a finished check found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckFindings {
    pub outcome: CheckOutcome,
    pub points: u64,
    pub objects: u64,
    pub packs_total: u64,
    pub packs_read: u64,
    pub bytes_read: u64,
    pub problems_json: String,
    pub error: Option<String>,
}

impl Catalog {
    /// A repository's plans, one per kind (unscheduled where none is saved).
    pub async fn check_plans(
        &self,
        repository_id: i64,
    ) -> Result<Vec<CheckPlanRecord>, sqlx::Error> {
        let rows: Vec<PlanRow> =
            sqlx::query_as("SELECT * FROM repository_check_plans WHERE repository_id = ?")
                .bind(repository_id)
                .fetch_all(self.pool())
                .await?;
        let saved: Vec<CheckPlanRecord> = rows
            .into_iter()
            .map(CheckPlanRecord::try_from)
            .collect::<Result<_, _>>()?;
        Ok(CheckKind::ALL
            .into_iter()
            .map(|kind| {
                saved
                    .iter()
                    .find(|r| r.plan.kind == kind)
                    .cloned()
                    .unwrap_or(CheckPlanRecord {
                        repository_id,
                        plan: CheckPlan::unscheduled(kind),
                        next_at: None,
                        round: 0,
                    })
            })
            .collect())
    }

    /// Saves a plan with its next slot; the rotation goes on where it was.
    pub async fn save_check_plan(
        &self,
        repository_id: i64,
        plan: &CheckPlan,
        next_at: Option<DateTime<Utc>>,
    ) -> Result<(), sqlx::Error> {
        let schedule =
            serde_json::to_string(&plan.schedule).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO repository_check_plans (repository_id, kind, schedule, read_percent, next_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (repository_id, kind) DO UPDATE SET \
             schedule = excluded.schedule, read_percent = excluded.read_percent, \
             next_at = excluded.next_at",
        )
        .bind(repository_id)
        .bind(plan.kind.as_str())
        .bind(schedule)
        .bind(i64::from(plan.read_percent))
        .bind(next_at)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// Plans whose slot has come.
    pub async fn due_check_plans(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<CheckPlanRecord>, sqlx::Error> {
        let rows: Vec<PlanRow> = sqlx::query_as(
            "SELECT * FROM repository_check_plans WHERE next_at IS NOT NULL AND next_at <= ? \
             ORDER BY next_at",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(CheckPlanRecord::try_from).collect()
    }

    /// Moves a plan to its next slot and its rotation to the next round,
    /// only if it is still at `slot` (so a slot is used once).
    pub async fn advance_check_plan(
        &self,
        repository_id: i64,
        kind: CheckKind,
        slot: DateTime<Utc>,
        next_at: Option<DateTime<Utc>>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE repository_check_plans SET next_at = ?, round = round + 1 \
             WHERE repository_id = ? AND kind = ? AND next_at = ?",
        )
        .bind(next_at)
        .bind(repository_id)
        .bind(kind.as_str())
        .bind(slot)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A data check run by hand moves the rotation on, so that the next
    /// scheduled run reads other packs.
    pub async fn bump_check_round(
        &self,
        repository_id: i64,
        kind: CheckKind,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE repository_check_plans SET round = round + 1 \
             WHERE repository_id = ? AND kind = ?",
        )
        .bind(repository_id)
        .bind(kind.as_str())
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// The earliest scheduled check.
    pub async fn next_check_at(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        sqlx::query_scalar("SELECT MIN(next_at) FROM repository_check_plans")
            .fetch_one(self.pool())
            .await
    }

    /// Records a running check, or None while the repository has one.
    pub async fn start_check_run(
        &self,
        repository_id: i64,
        kind: CheckKind,
        trigger: &str,
        read_percent: u8,
    ) -> Result<Option<CheckRunRecord>, sqlx::Error> {
        let inserted = sqlx::query_as(
            "INSERT INTO repository_check_runs \
             (repository_id, kind, trigger, outcome, read_percent, started_at) \
             VALUES (?, ?, ?, 'running', ?, ?) RETURNING *",
        )
        .bind(repository_id)
        .bind(kind.as_str())
        .bind(trigger)
        .bind(i64::from(read_percent))
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await;
        match inserted {
            Ok(run) => Ok(Some(run)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn finish_check_run(
        &self,
        id: i64,
        findings: &CheckFindings,
    ) -> Result<CheckRunRecord, sqlx::Error> {
        sqlx::query_as(
            "UPDATE repository_check_runs SET outcome = ?, finished_at = ?, points = ?, \
             objects = ?, packs_total = ?, packs_read = ?, bytes_read = ?, problems = ?, \
             error = ? WHERE id = ? RETURNING *",
        )
        .bind(findings.outcome.as_str())
        .bind(Utc::now())
        .bind(to_i64(findings.points))
        .bind(to_i64(findings.objects))
        .bind(to_i64(findings.packs_total))
        .bind(to_i64(findings.packs_read))
        .bind(to_i64(findings.bytes_read))
        .bind(&findings.problems_json)
        .bind(&findings.error)
        .bind(id)
        .fetch_one(self.pool())
        .await
    }

    /// A repository's newest check runs first.
    pub async fn check_runs(
        &self,
        repository_id: i64,
        limit: u32,
    ) -> Result<Vec<CheckRunRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT * FROM repository_check_runs WHERE repository_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(repository_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
    }

    /// Checks left running by a console that stopped are failed at start-up.
    pub async fn fail_interrupted_checks(&self) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE repository_check_runs SET outcome = 'failed', finished_at = ?, \
             error = 'the console stopped during the check' WHERE outcome = 'running'",
        )
        .bind(Utc::now())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
