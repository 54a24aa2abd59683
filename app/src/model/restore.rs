//! Restore tasks as the browser edits them and the server runs them: the
//! form, its validation, the states and phases a restore goes through, and
//! the live progress the browser draws.

use serde::{Deserialize, Serialize};

use super::extract::{ExtractForm, ExtractSettings};

use super::FieldError;

pub const MAX_RESTORE_NAME: usize = 64;
/// Longest a restore may run before it is stopped, in minutes (one week).
pub const MAX_TIMEOUT_MIN: u32 = 7 * 24 * 60;

/// One object of the recovery point in the data configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectChoice {
    pub name: String,
    pub selected: bool,
    /// The name restored under; the object's own name when unchanged.
    pub target_name: String,
    /// Time range for time-series tables (empty: all rows).
    pub since: String,
    pub until: String,
}

impl ObjectChoice {
    /// Restored under its own name, whole.
    pub fn is_as_backed_up(&self) -> bool {
        self.target_name.trim() == self.name
            && self.since.trim().is_empty()
            && self.until.trim().is_empty()
    }
}

/// The restore task form as edited.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RestoreForm {
    pub name: String,
    pub task_id: String,
    pub point_id: String,
    /// The repository the point is read from: the task's own or a copy
    /// job's destination holding it (empty: the task's own).
    pub repository_id: String,
    /// `all` or `custom`.
    pub objects_mode: String,
    pub objects: Vec<ObjectChoice>,
    /// `new` (a path) or `source` (a data source of the same kind).
    pub target_mode: String,
    pub target_path: String,
    pub target_source_id: String,
    /// Overwrite objects of the same name.
    pub force: bool,
    /// `stop` or `ignore` (reuse the existing table).
    pub structure: String,
    /// `stop`, `skip` or `rewrite` (delete then rewrite).
    pub data: String,
    pub lock: bool,
    /// `content`, `counts` or `off`: how the restore checks what it wrote
    /// (empty: content).
    pub verify: String,
    pub timeout_min: String,
    /// `point` (a backup point; empty means this) or `time` (a second
    /// between backups, MariaDB tasks with archived binary logs).
    pub recovery_method: String,
    /// The second to recover to, UTC: `YYYY-MM-DDTHH:MM:SS` (a
    /// datetime-local value) or `YYYY-MM-DD HH:MM:SS`.
    pub to_time: String,
    /// A PostgreSQL cluster recovered into a new data directory: start it
    /// on this port afterwards (empty: leave it stopped).
    pub start_port: String,
    /// A PostgreSQL cluster: afterwards, restore a database (or tables) of
    /// it into a data source.
    pub extract: ExtractForm,
}

/// `YYYY-MM-DD HH:MM:SS` of a recovery time typed or picked (UTC).
pub fn parse_recovery_time(text: &str) -> Option<String> {
    let text = text.trim();
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
    .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum RestoreTarget {
    /// A new directory or database file at this absolute path.
    NewPath(String),
    /// A registered data source (the original or another of the same kind).
    Source(i64),
}

/// A validated restore task, as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreSettings {
    pub name: String,
    pub task_id: i64,
    pub point_id: String,
    /// A copy job's destination the point is read from; None: the task's
    /// own repository. Left out of the JSON when none, like `to_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_id: Option<i64>,
    /// The chosen objects; empty means the whole point under its own names.
    pub objects: Vec<ObjectChoice>,
    pub target: RestoreTarget,
    pub force: bool,
    pub structure: String,
    pub data: String,
    pub lock: bool,
    /// How restored objects are read back and compared with the point
    /// (settings stored before this existed verify content).
    #[serde(default = "content_verification")]
    pub verify: String,
    pub timeout_min: u32,
    /// Point-in-time recovery to this second (`YYYY-MM-DD HH:MM:SS` UTC):
    /// the engine picks the base point and replays the binary logs. None:
    /// the backup point `point_id`. Left out of the JSON when none, so the
    /// fingerprints of settings stored before it stay the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_time: Option<String>,
    /// A recovered PostgreSQL cluster is started on this port (loopback
    /// and its own socket) and left running. Left out of the JSON when
    /// none, like `to_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_port: Option<u16>,
    /// A recovered PostgreSQL cluster's database (or tables), restored
    /// into a data source afterwards. Left out of the JSON when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<ExtractSettings>,
}

fn content_verification() -> String {
    "content".into()
}

pub const STRUCTURE_POLICIES: [&str; 2] = ["stop", "ignore"];
pub const VERIFY_MODES: [&str; 3] = ["content", "counts", "off"];
pub const DATA_POLICIES: [&str; 3] = ["stop", "skip", "rewrite"];

impl RestoreForm {
    /// Every problem of the form at once, or the settings.
    pub fn parse(&self) -> Result<RestoreSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() {
            errors.push(FieldError::new(
                "name",
                crate::tr!(validation.give_the_restore_task_a_name),
            ));
        } else if name.chars().count() > MAX_RESTORE_NAME {
            errors.push(FieldError::new(
                "name",
                crate::tr!(validation.at_most_chars, max = MAX_RESTORE_NAME),
            ));
        } else if name.chars().any(char::is_control) {
            errors.push(FieldError::new("name", crate::tr!(validation.no_control)));
        }
        let task_id = self.task_id.trim().parse::<i64>().ok();
        if task_id.is_none() {
            errors.push(FieldError::new(
                "task_id",
                crate::tr!(validation.choose_the_backup_task_to_restore),
            ));
        }
        let to_time = match self.recovery_method.as_str() {
            "" | "point" => None,
            "time" => match parse_recovery_time(&self.to_time) {
                Some(time) => Some(time),
                None => {
                    errors.push(FieldError::new(
                        "to_time",
                        crate::tr!(validation.give_the_second_to_recover_to),
                    ));
                    Some(String::new())
                }
            },
            _ => {
                errors.push(FieldError::new(
                    "recovery_method",
                    crate::tr!(validation.choose_a_backup_point_or_a),
                ));
                None
            }
        };
        // A point in time: the engine chooses the base point.
        let point_id = if to_time.is_some() {
            ""
        } else {
            self.point_id.trim()
        };
        if point_id.is_empty() && to_time.is_none() {
            errors.push(FieldError::new(
                "point_id",
                crate::tr!(validation.choose_a_recovery_point),
            ));
        }
        let repository_id = match self.repository_id.trim() {
            "" => None,
            text => text.parse::<i64>().map(Some).unwrap_or_else(|_| {
                errors.push(FieldError::new(
                    "repository_id",
                    crate::tr!(validation.choose_the_repository_the_point_is),
                ));
                None
            }),
        };
        let custom = match self.objects_mode.as_str() {
            "all" => false,
            "custom" => true,
            _ => {
                errors.push(FieldError::new(
                    "objects_mode",
                    crate::tr!(validation.choose_all_objects_or_a_selection),
                ));
                false
            }
        };
        let chosen: Vec<ObjectChoice> = self
            .objects
            .iter()
            .filter(|o| !custom || o.selected)
            .map(|o| ObjectChoice {
                name: o.name.clone(),
                selected: true,
                target_name: o.target_name.trim().to_owned(),
                since: o.since.trim().to_owned(),
                until: o.until.trim().to_owned(),
            })
            .collect();
        if custom && to_time.is_some() {
            errors.push(FieldError::new(
                "objects_mode",
                crate::tr!(validation.a_point_in_time_recovery_restores),
            ));
        } else if custom && chosen.is_empty() {
            errors.push(FieldError::new(
                "objects",
                crate::tr!(validation.select_at_least_one_object_to),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for object in &chosen {
            if object.target_name.is_empty() {
                errors.push(FieldError::new(
                    "objects",
                    crate::tr!(validation.target_name_empty, name = &object.name),
                ));
            } else if !names.insert(object.target_name.clone()) {
                errors.push(FieldError::new(
                    "objects",
                    crate::tr!(validation.two_objects_as, name = &object.target_name),
                ));
            }
        }
        let target = match self.target_mode.as_str() {
            "new" => {
                let path = self.target_path.trim();
                if !path.starts_with('/') {
                    errors.push(FieldError::new(
                        "target_path",
                        crate::tr!(validation.give_an_absolute_path_on_the),
                    ));
                }
                Some(RestoreTarget::NewPath(
                    path.trim_end_matches('/').to_owned(),
                ))
            }
            "source" => match self.target_source_id.trim().parse::<i64>() {
                Ok(id) => Some(RestoreTarget::Source(id)),
                Err(_) => {
                    errors.push(FieldError::new(
                        "target_source_id",
                        crate::tr!(validation.choose_a_data_source),
                    ));
                    None
                }
            },
            _ => {
                errors.push(FieldError::new(
                    "target_mode",
                    crate::tr!(validation.choose_where_to_restore_to),
                ));
                None
            }
        };
        if !STRUCTURE_POLICIES.contains(&self.structure.as_str()) {
            errors.push(FieldError::new(
                "structure",
                crate::tr!(validation.choose_stop_or_ignore),
            ));
        }
        if !DATA_POLICIES.contains(&self.data.as_str()) {
            errors.push(FieldError::new(
                "data",
                crate::tr!(validation.choose_stop_skip_or_rewrite),
            ));
        }
        let verify = match self.verify.trim() {
            "" => content_verification(),
            mode if VERIFY_MODES.contains(&mode) => mode.to_owned(),
            _ => {
                errors.push(FieldError::new(
                    "verify",
                    crate::tr!(validation.choose_content_counts_or_off),
                ));
                String::new()
            }
        };
        let timeout_min = match self.timeout_min.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_TIMEOUT_MIN).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "timeout_min",
                    crate::tr!(validation.minutes_1_to, max = MAX_TIMEOUT_MIN),
                ));
                0
            }
        };
        let start_port = match self.start_port.trim() {
            "" => None,
            text => match text.parse::<u16>() {
                Ok(port) if port >= 1024 => Some(port),
                _ => {
                    errors.push(FieldError::new(
                        "start_port",
                        crate::tr!(validation.a_port_from_1024_to_65535),
                    ));
                    None
                }
            },
        };
        let extract = self.extract.parse(&mut errors);
        if extract.as_ref().is_some_and(|e| e.remove_cluster) && start_port.is_some() {
            errors.push(FieldError::new(
                "extract_remove",
                crate::tr!(validation.a_cluster_started_on_a_port),
            ));
        }
        let (Some(task_id), Some(target), true) = (task_id, target, errors.is_empty()) else {
            return Err(errors);
        };
        // The whole point under its own names is stored as "everything".
        let plain = !custom
            && chosen
                .iter()
                .all(|o| o.target_name == o.name && o.since.is_empty() && o.until.is_empty());
        Ok(RestoreSettings {
            name: name.to_owned(),
            task_id,
            point_id: point_id.to_owned(),
            repository_id,
            objects: if plain { Vec::new() } else { chosen },
            target,
            force: self.force,
            structure: self.structure.clone(),
            data: self.data.clone(),
            lock: self.lock,
            verify,
            timeout_min,
            to_time,
            start_port,
            extract,
        })
    }
}

impl RestoreForm {
    /// The form as sent: only the choices the server reads, so that a point
    /// of 100 000 files fits a request. A selection sends its chosen
    /// objects; "all" sends none (every object, as the point holds it)
    /// unless one is renamed or limited in time, and then all of them.
    pub fn compact(&self) -> RestoreForm {
        let objects = match self.objects_mode.as_str() {
            "custom" => self
                .objects
                .iter()
                .filter(|c| c.selected)
                .cloned()
                .collect(),
            "all" if self.objects.iter().all(ObjectChoice::is_as_backed_up) => Vec::new(),
            _ => self.objects.clone(),
        };
        RestoreForm {
            objects,
            ..self.clone()
        }
    }

    /// A selection: only `names` and, for folders, what lies below them.
    pub fn select_only(&mut self, names: &[&str]) {
        self.objects_mode = "custom".into();
        for choice in &mut self.objects {
            choice.selected = names.iter().any(|n| {
                choice.name == *n
                    || choice
                        .name
                        .strip_prefix(n)
                        .is_some_and(|rest| rest.starts_with('/'))
            });
        }
    }
}

impl RestoreSettings {
    /// A fingerprint of everything Verify looked at: Start needs a Verify
    /// of exactly these settings.
    #[cfg(feature = "ssr")]
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        // FNV-1a: stable across builds, and no cryptography is needed here.
        let hash = json.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("{hash:016x}")
    }

    pub fn to_form(&self) -> RestoreForm {
        RestoreForm {
            name: self.name.clone(),
            task_id: self.task_id.to_string(),
            point_id: self.point_id.clone(),
            repository_id: self
                .repository_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            objects_mode: if self.objects.is_empty() {
                "all"
            } else {
                "custom"
            }
            .into(),
            objects: self.objects.clone(),
            target_mode: match self.target {
                RestoreTarget::NewPath(_) => "new",
                RestoreTarget::Source(_) => "source",
            }
            .into(),
            target_path: match &self.target {
                RestoreTarget::NewPath(path) => path.clone(),
                RestoreTarget::Source(_) => String::new(),
            },
            target_source_id: match self.target {
                RestoreTarget::Source(id) => id.to_string(),
                RestoreTarget::NewPath(_) => String::new(),
            },
            force: self.force,
            structure: self.structure.clone(),
            data: self.data.clone(),
            lock: self.lock,
            verify: self.verify.clone(),
            timeout_min: self.timeout_min.to_string(),
            recovery_method: if self.to_time.is_some() {
                "time"
            } else {
                "point"
            }
            .into(),
            to_time: self
                .to_time
                .as_deref()
                .map(|t| t.replace(' ', "T"))
                .unwrap_or_default(),
            start_port: self.start_port.map(|p| p.to_string()).unwrap_or_default(),
            extract: self
                .extract
                .as_ref()
                .map(ExtractSettings::to_form)
                .unwrap_or_default(),
        }
    }
}

mod job_state;
pub use job_state::{
    PhaseTimes, RestoreProgress, RestoreState, EXTRACT_PHASE, LOG_PHASES, PHASES, WAL_PHASE,
};

#[cfg(test)]
mod tests;
