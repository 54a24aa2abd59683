//! The JSON bodies of `/api/v1/restores`: the request that creates a
//! restore (the console's form, typed), and a restore with its pre-check,
//! phases and per-object outcome.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::restores::{RestoreDetail, RestoreRow};
use crate::model::{ExtractForm, ObjectChoice, RestoreForm};

/// A restore to create. The same settings as the console's form, checked by
/// the same validation and pre-check; unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    pub task_id: i64,
    /// A unique name; by default `<task>-restore`, numbered when taken.
    pub name: Option<String>,
    /// The backup point; by default the task's newest. Leave it out with
    /// `to_time`.
    pub point_id: Option<String>,
    /// The repository the point is read from: the task's own by default, or
    /// the destination of a copy job from it that holds the point.
    pub repository_id: Option<i64>,
    /// Recover to this second instead of a point (`YYYY-MM-DD HH:MM:SS`,
    /// UTC): MariaDB with archived binary logs, PostgreSQL clusters with WAL.
    pub to_time: Option<String>,
    pub target: TargetRequest,
    /// Only these objects, optionally renamed or limited in time; every
    /// object under its own name by default.
    pub objects: Option<Vec<ObjectRequest>>,
    /// Overwrite objects of the same name in the target.
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub structure: StructurePolicy,
    #[serde(default)]
    pub data: DataPolicy,
    /// Lock the target's tables while loading.
    #[serde(default)]
    pub lock: bool,
    #[serde(default)]
    pub verify: VerifyMode,
    /// Stop the restore after this many minutes (1 to 10080; 1440 by default).
    pub timeout_min: Option<u32>,
    /// A PostgreSQL cluster: start the recovered cluster on this port.
    pub start_port: Option<u16>,
    /// A PostgreSQL cluster: then restore one of its databases into a data source.
    pub extract: Option<ExtractRequest>,
}

/// Where to restore to: a new path (file trees, SQLite, PostgreSQL
/// clusters), or a registered data source of the same kind.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetRequest {
    /// An absolute path on the server that does not exist yet (operators:
    /// below a restore root).
    Path(String),
    /// A data source's id.
    SourceId(i64),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectRequest {
    /// The object's name in the point (`schema.table`, a file path).
    pub name: String,
    /// The name to restore it under; its own by default.
    pub target_name: Option<String>,
    /// Time-series tables: only rows from this time on.
    pub since: Option<String>,
    /// Time-series tables: only rows before this time.
    pub until: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    /// The PostgreSQL data source to restore into.
    pub source_id: i64,
    /// The database of the recovered cluster.
    pub database: String,
    /// `schema.table` or `schema.table=schema.new`; every table by default.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Remove the recovered data directory afterwards.
    #[serde(default)]
    pub remove_cluster: bool,
}

/// When a table of the point exists in the target: stop, or reuse it.
#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StructurePolicy {
    #[default]
    Stop,
    Ignore,
}

/// When the target already holds rows: stop, skip the object, or delete
/// them and write the point's.
#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataPolicy {
    #[default]
    Stop,
    Skip,
    Rewrite,
}

/// How the restore reads back what it wrote: every value, counts, or not.
#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerifyMode {
    #[default]
    Content,
    Counts,
    Off,
}

/// Where in a `RestoreRequest` the console form's field `field` lives: the
/// shared validation names form fields, a script should see its own.
pub fn request_field(field: &str) -> &str {
    match field {
        "target_path" => "target.path",
        "target_source_id" => "target.source_id",
        "target_mode" => "target",
        "objects_mode" => "objects",
        "recovery_method" => "to_time",
        "extract_source_id" => "extract.source_id",
        "extract_database" => "extract.database",
        "extract_tables" => "extract.tables",
        "extract_remove" => "extract.remove_cluster",
        other => other,
    }
}

impl RestoreRequest {
    /// The console's form with these settings, on top of the defaults the
    /// form would show (`base`) and the point chosen.
    pub fn into_form(self, mut base: RestoreForm, point_id: String) -> RestoreForm {
        if let Some(name) = self.name {
            base.name = name;
        }
        base.task_id = self.task_id.to_string();
        base.point_id = point_id;
        base.repository_id = self
            .repository_id
            .map(|id| id.to_string())
            .unwrap_or_default();
        match self.to_time {
            Some(time) => {
                base.recovery_method = "time".into();
                base.to_time = time;
            }
            None => base.recovery_method = "point".into(),
        }
        match self.target {
            TargetRequest::Path(path) => {
                base.target_mode = "new".into();
                base.target_path = path;
            }
            TargetRequest::SourceId(id) => {
                base.target_mode = "source".into();
                base.target_source_id = id.to_string();
            }
        }
        match self.objects {
            None => {
                base.objects_mode = "all".into();
                base.objects = Vec::new();
            }
            Some(objects) => {
                base.objects_mode = "custom".into();
                base.objects = objects
                    .into_iter()
                    .map(|o| ObjectChoice {
                        target_name: o.target_name.unwrap_or_else(|| o.name.clone()),
                        name: o.name,
                        selected: true,
                        since: o.since.unwrap_or_default(),
                        until: o.until.unwrap_or_default(),
                    })
                    .collect();
            }
        }
        base.force = self.force;
        base.structure = match self.structure {
            StructurePolicy::Stop => "stop",
            StructurePolicy::Ignore => "ignore",
        }
        .into();
        base.data = match self.data {
            DataPolicy::Stop => "stop",
            DataPolicy::Skip => "skip",
            DataPolicy::Rewrite => "rewrite",
        }
        .into();
        base.lock = self.lock;
        base.verify = match self.verify {
            VerifyMode::Content => "content",
            VerifyMode::Counts => "counts",
            VerifyMode::Off => "off",
        }
        .into();
        if let Some(minutes) = self.timeout_min {
            base.timeout_min = minutes.to_string();
        }
        base.start_port = self.start_port.map(|p| p.to_string()).unwrap_or_default();
        base.extract = match self.extract {
            None => ExtractForm::default(),
            Some(e) => ExtractForm {
                source_id: e.source_id.to_string(),
                database: e.database,
                tables: e.tables.join("\n"),
                remove_cluster: e.remove_cluster,
            },
        };
        base
    }
}

/// Acknowledging the pre-check's warnings, when starting a restore.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StartRequest {
    /// Start although the pre-check warned (it must not have failed).
    pub acknowledge_warnings: bool,
}

/// A restore as the list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RestoreSummary {
    pub id: i64,
    pub name: String,
    /// None when the backup task was deleted since.
    pub task_id: Option<i64>,
    pub task_name: String,
    pub point_id: String,
    pub target: String,
    /// `new`, `pending`, `running`, `finished`, `failed` or `cancelled`.
    pub state: String,
    /// The phase reached: `pending`, `preparing`, `downloading`, `loading`,
    /// `committing`, `verifying` (and the replay phases of a recovery to a second).
    pub phase: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub bytes_total: u64,
    pub bytes_loaded: u64,
}

impl From<RestoreRow> for RestoreSummary {
    fn from(r: RestoreRow) -> Self {
        RestoreSummary {
            id: r.id,
            name: r.name,
            task_id: r.task_id,
            task_name: r.task_name,
            point_id: r.point_id,
            target: r.target,
            state: r.state,
            phase: r.phase,
            created_at: r.created_at,
            finished_at: r.finished_at,
            error: r.error,
            bytes_total: r.bytes_total,
            bytes_loaded: r.bytes_loaded,
        }
    }
}

/// A restore with its pre-check, its phases and each object's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Restore {
    pub summary: RestoreSummary,
    /// The repository the point is read from: the task's own when none,
    /// else a copy job's destination.
    pub repository_id: Option<i64>,
    /// Its name, "(copy)" after a copy's.
    pub read_from: String,
    pub attempt: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub timeout_min: u32,
    pub precheck: Precheck,
    pub phases: Vec<Phase>,
    pub objects: Vec<RestoreObject>,
    pub rows_total: u64,
    pub rows_loaded: u64,
    /// Live figures while it runs.
    pub progress: Option<RestoreProgress>,
}

/// The engine's pre-check of the restore's current settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct Precheck {
    /// `pass`, `warn` or `fail`: the worst item; none before any check.
    pub outcome: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
    /// The check saw exactly the current settings (Start needs it).
    pub current: bool,
    pub items: Vec<CheckItem>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckItem {
    pub name: String,
    /// `pass`, `warn` or `fail`.
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Phase {
    pub phase: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RestoreObject {
    pub name: String,
    pub target_name: String,
    /// `create`, `overwrite`, `load into existing` or `skip`.
    pub action: String,
    pub bytes: u64,
    pub rows: Option<u64>,
    pub state: String,
    pub error: Option<String>,
    /// How it compared with the point when read back: `content`,
    /// `rows_present`, `counts`, `not_checked` or `differs`.
    pub check_result: Option<String>,
    pub check_detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RestoreProgress {
    pub phase: String,
    pub bytes_total: u64,
    pub bytes_fetched: u64,
    pub bytes_loaded: u64,
    pub rows_total: u64,
    pub rows_loaded: u64,
    pub objects_total: u64,
    pub objects_done: u64,
    pub elapsed_secs: f64,
}

impl From<RestoreDetail> for Restore {
    fn from(d: RestoreDetail) -> Self {
        Restore {
            summary: d.row.into(),
            repository_id: d.form.repository_id.parse().ok(),
            read_from: d.read_from,
            attempt: d.attempt,
            started_at: d.started_at,
            timeout_min: d.timeout_min,
            precheck: Precheck {
                outcome: d.verify_outcome,
                checked_at: d.verified_at,
                current: d.verified_current,
                items: d
                    .checks
                    .into_iter()
                    .map(|c| CheckItem {
                        name: c.name,
                        outcome: c.outcome,
                        detail: c.detail,
                    })
                    .collect(),
            },
            phases: d
                .phases
                .into_iter()
                .map(|p| Phase {
                    phase: p.phase,
                    started_at: p.started_at,
                    finished_at: p.finished_at,
                })
                .collect(),
            objects: d
                .objects
                .into_iter()
                .map(|o| RestoreObject {
                    name: o.name,
                    target_name: o.target_name,
                    action: o.action,
                    bytes: o.bytes,
                    rows: o.rows,
                    state: o.state,
                    error: o.error,
                    check_result: o.check_result,
                    check_detail: o.check_detail,
                })
                .collect(),
            rows_total: d.rows_total,
            rows_loaded: d.rows_loaded,
            progress: d.live.map(|l| RestoreProgress {
                phase: l.phase,
                bytes_total: l.bytes_total,
                bytes_fetched: l.bytes_fetched,
                bytes_loaded: l.bytes_loaded,
                rows_total: l.rows_total,
                rows_loaded: l.rows_loaded,
                objects_total: l.objects_total,
                objects_done: l.objects_done,
                elapsed_secs: l.elapsed_secs,
            }),
        }
    }
}
