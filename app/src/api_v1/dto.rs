//! The JSON bodies of `/api/v1`: its contract with scripts, kept apart from
//! the console's own types so the console can change without breaking it.
//! Each answer type is built from what the console's server functions read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::drills::DrillsPage;
use crate::api::restores::PointRow;
use crate::api::runs::{HistoryPage, LogLine, RunSummary};
use crate::api::tasks::TaskRow;
use crate::model::{JobProgress, Level, RecoveryStatus};

/// Every error answer: the status again, a stable code, a message for
/// people, and the fields at fault when the request body had problems.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub status: u16,
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `invalid`, `too_large`, `too_many_attempts`, `unavailable` or `internal`.
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldProblem>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// A backup task with its last run and its recovery position.
#[derive(Debug, Serialize, ToSchema)]
pub struct Task {
    pub id: i64,
    pub name: String,
    /// The data source's name.
    pub source: String,
    /// The repository's name.
    pub repository: String,
    /// The schedule in words: "Manual", "every 6 hours", a cron expression.
    pub schedule: String,
    /// The retention policy in words.
    pub retention: String,
    pub enabled: bool,
    pub running: bool,
    pub last_run: Option<LastRun>,
    pub next_run_at: Option<DateTime<Utc>>,
    /// A failed run is retried at this time.
    pub retry_at: Option<DateTime<Utc>>,
    pub recovery: Recovery,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastRun {
    /// `running`, `succeeded`, `failed`, `cancelled` or `interrupted`.
    pub state: String,
    pub at: DateTime<Utc>,
    pub error: Option<String>,
}

/// Recovery point and time objectives: how old the newest good point is,
/// and what the last passed restore drill proved.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recovery {
    pub newest_point_at: Option<DateTime<Utc>>,
    pub newest_point_age_secs: Option<f64>,
    pub rpo_target_secs: Option<u64>,
    /// A target is set and the newest good point is older (or there is none).
    pub rpo_exceeded: bool,
    pub proven_point: Option<String>,
    pub proven_point_at: Option<DateTime<Utc>>,
    pub proven_at: Option<DateTime<Utc>>,
    pub proven_rto_secs: Option<f64>,
    pub rto_target_secs: Option<u64>,
    /// A target is set and the last proven restore took longer.
    pub rto_exceeded: bool,
    pub last_drill_error: Option<String>,
}

impl Recovery {
    pub fn new(status: RecoveryStatus, now: DateTime<Utc>) -> Self {
        let rpo_exceeded = status.rpo_target_secs.is_some() && status.rpo_level(now) == Level::Red;
        let rto_exceeded = matches!(
            (status.proven_rto_secs, status.rto_target_secs),
            (Some(rto), Some(target)) if rto > target as f64
        );
        Recovery {
            newest_point_age_secs: status.point_age(now),
            newest_point_at: status.newest_point_at,
            rpo_target_secs: status.rpo_target_secs,
            rpo_exceeded,
            proven_point: status.proven_point,
            proven_point_at: status.proven_point_at,
            proven_at: status.proven_at,
            proven_rto_secs: status.proven_rto_secs,
            rto_target_secs: status.rto_target_secs,
            rto_exceeded,
            last_drill_error: status.last_drill_error,
        }
    }
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Self {
        let last_run = match (row.last_state, row.last_run_at) {
            (Some(state), Some(at)) => Some(LastRun {
                state,
                at,
                error: row.last_error,
            }),
            _ => None,
        };
        Task {
            id: row.id,
            name: row.name,
            source: row.source,
            repository: row.repository,
            schedule: row.schedule,
            retention: row.policy,
            enabled: row.enabled,
            running: row.running,
            last_run,
            next_run_at: row.next_run_at,
            retry_at: row.retry_at,
            recovery: Recovery::new(row.recovery, row.checked_at),
        }
    }
}

/// A backup run: queued by Back Up Now, the schedule or a retry.
#[derive(Debug, Serialize, ToSchema)]
pub struct Run {
    pub id: i64,
    pub task_id: i64,
    /// `manual`, `schedule` or `retry`.
    pub trigger: String,
    /// Started after its slot (the server was down or busy).
    pub late: bool,
    pub attempt: i64,
    /// `running`, `succeeded`, `failed`, `cancelled` or `interrupted`.
    pub state: String,
    /// `full` or `incremental`, once known.
    pub mode: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_secs: Option<f64>,
    /// The backup point it made.
    pub point: Option<String>,
    /// The run's directory in the repository.
    pub backup_path: Option<String>,
    pub objects: i64,
    pub bytes: i64,
    pub bytes_stored: i64,
    pub chunks: i64,
    pub new_chunks: i64,
    pub error: Option<String>,
    /// When a passed restore drill last proved its point.
    pub proven_at: Option<DateTime<Utc>>,
    /// Live figures while it runs.
    pub progress: Option<Progress>,
}

impl Run {
    pub fn new(summary: RunSummary, progress: Option<JobProgress>) -> Self {
        Run {
            duration_secs: summary.duration_secs(),
            id: summary.id,
            task_id: summary.task_id,
            trigger: summary.trigger,
            late: summary.late,
            attempt: summary.attempt,
            state: summary.state,
            mode: summary.mode,
            started_at: summary.started_at,
            finished_at: summary.finished_at,
            point: summary.point,
            backup_path: summary.backup_path,
            objects: summary.objects,
            bytes: summary.bytes,
            bytes_stored: summary.bytes_stored,
            chunks: summary.chunks,
            new_chunks: summary.new_chunks,
            error: summary.error,
            proven_at: summary.proven_at,
            progress: progress.map(Progress::from),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    /// What the engine is doing: "planning", "backing up", "pruning"...
    pub step: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub items_done: u64,
    pub items_total: u64,
    pub elapsed_secs: f64,
    /// 0–100.
    pub percent: f64,
}

impl From<JobProgress> for Progress {
    fn from(p: JobProgress) -> Self {
        Progress {
            percent: p.percent(),
            step: p.step,
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
            items_done: p.items_done,
            items_total: p.items_total,
            elapsed_secs: p.elapsed_secs,
        }
    }
}

/// A run with its log.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    pub run: Run,
    pub task_name: String,
    pub log: Vec<LogEntry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub level: String,
    pub message: String,
}

impl From<LogLine> for LogEntry {
    fn from(l: LogLine) -> Self {
        LogEntry {
            at: l.at,
            level: l.level,
            message: l.message,
        }
    }
}

/// One page of a task's runs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunPage {
    pub task_id: i64,
    pub task_name: String,
    pub runs: Vec<Run>,
    pub total: u64,
    pub page: u32,
    pub pages: u32,
}

impl From<HistoryPage> for RunPage {
    fn from(h: HistoryPage) -> Self {
        RunPage {
            task_id: h.task_id,
            task_name: h.task_name,
            runs: h.runs.into_iter().map(|r| Run::new(r, None)).collect(),
            total: h.total,
            page: h.page,
            pages: h.pages,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Only runs in this state (`succeeded`, `failed`, ...); all by default.
    pub state: Option<String>,
    /// The page, from 1; 20 runs per page.
    pub page: Option<u32>,
}

/// A backup point of a task, as the repository holds it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Point {
    pub id: String,
    /// `full` or `incremental`.
    pub mode: String,
    pub finished_at: DateTime<Utc>,
    /// The full point this point's chain starts from.
    pub chain_start: String,
    pub chain_length: u64,
    pub objects: u64,
    pub bytes: u64,
    /// MariaDB: the binary log position of its snapshot.
    pub log_position: Option<String>,
    /// The repositories holding it: the task's own first, then the
    /// destinations of copy jobs from it.
    pub locations: Vec<PointLocation>,
}

/// A repository holding a point.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointLocation {
    pub repository_id: i64,
    pub repository_name: String,
    /// A copy job's destination rather than the task's own repository.
    pub copy: bool,
}

impl From<PointRow> for Point {
    fn from(p: PointRow) -> Self {
        Point {
            id: p.id,
            mode: p.mode,
            finished_at: p.finished_at,
            chain_start: p.chain_start,
            chain_length: p.chain_length as u64,
            objects: p.objects,
            bytes: p.bytes,
            log_position: p.log_position,
            locations: p
                .locations
                .into_iter()
                .map(|l| PointLocation {
                    repository_id: l.repository_id,
                    repository_name: l.repository_name,
                    copy: l.copy,
                })
                .collect(),
        }
    }
}

/// A task's restore drills and what they proved.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrillReport {
    pub task_id: i64,
    pub task_name: String,
    /// The drill plan in words ("after every 3 backups").
    pub plan: String,
    pub recovery: Recovery,
    /// Newest first, at most 20.
    pub drills: Vec<Drill>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Drill {
    pub id: i64,
    pub trigger: String,
    /// `running`, `passed` or `failed`.
    pub status: String,
    pub point: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub rto_secs: Option<f64>,
    pub bytes: i64,
    pub rows: i64,
    pub objects: i64,
    pub checks: Vec<DrillCheck>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DrillCheck {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

impl From<DrillsPage> for DrillReport {
    fn from(page: DrillsPage) -> Self {
        DrillReport {
            task_id: page.task_id,
            task_name: page.task_name,
            plan: page.plan,
            recovery: Recovery::new(page.recovery, page.checked_at),
            drills: page
                .runs
                .into_iter()
                .map(|d| Drill {
                    id: d.id,
                    trigger: d.trigger,
                    status: d.status,
                    point: d.point,
                    started_at: d.started_at,
                    finished_at: d.finished_at,
                    rto_secs: d.rto_seconds,
                    bytes: d.bytes,
                    rows: d.rows,
                    objects: d.objects,
                    checks: d
                        .checks
                        .into_iter()
                        .map(|c| DrillCheck {
                            name: c.name,
                            passed: c.passed,
                            detail: c.detail,
                        })
                        .collect(),
                    error: d.error,
                })
                .collect(),
        }
    }
}

/// Whether a cancel found something to stop.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelResult {
    pub cancelled: bool,
    /// The run asked to stop.
    pub run_id: Option<i64>,
}
