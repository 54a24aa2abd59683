//! Restore pre-checks: each item passes, warns or fails, and any failure
//! blocks the restore before anything at the target changes.

use serde::Serialize;

use super::restore::ConflictPolicy;
use crate::repo::manifest::Manifest;
use crate::source::{DuplicatePolicy, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreCheck {
    pub name: &'static str,
    pub outcome: Outcome,
    pub detail: String,
}

impl PreCheck {
    pub(crate) fn new(name: &'static str, outcome: Outcome, detail: impl Into<String>) -> Self {
        PreCheck {
            name,
            outcome,
            detail: detail.into(),
        }
    }
}

/// Checks the target can be reached and written, and is the kind and
/// version the backup can go to.
pub fn target_checks(manifest: &Manifest, target: &dyn Target) -> Vec<PreCheck> {
    let mut checks = Vec::new();
    let version = match target.server_version() {
        Ok(version) => {
            let detail = match &version {
                Some(v) => format!("{} answers (server version {v})", target.url()),
                None => format!("{} is usable", target.url()),
            };
            checks.push(PreCheck::new("target reachable", Outcome::Pass, detail));
            version
        }
        Err(err) => {
            checks.push(PreCheck::new(
                "target reachable",
                Outcome::Fail,
                err.to_string(),
            ));
            return checks;
        }
    };
    match target.check_writable() {
        Some(Ok(())) => checks.push(PreCheck::new(
            "target writable",
            Outcome::Pass,
            "the restore can create and write files there",
        )),
        Some(Err(err)) => checks.push(PreCheck::new(
            "target writable",
            Outcome::Fail,
            err.to_string(),
        )),
        None => {}
    }
    let backup_kind = manifest.source.kind.as_str();
    if backup_kind == target.kind() {
        checks.push(PreCheck::new(
            "same kind",
            Outcome::Pass,
            format!("{backup_kind} into {backup_kind}"),
        ));
    } else {
        checks.push(PreCheck::new(
            "same kind",
            Outcome::Fail,
            format!(
                "the backup is of a {backup_kind} source and cannot be restored into a {} target",
                target.kind()
            ),
        ));
    }
    if let (Some(backup), Some(target_version)) = (&manifest.source.server_version, &version) {
        if version_key(target_version) < version_key(backup) {
            checks.push(PreCheck::new(
                "server version",
                Outcome::Fail,
                format!("target is {} {target_version}, backup is from {backup}: the target must be the same version or newer", target.kind()),
            ));
        } else {
            checks.push(PreCheck::new(
                "server version",
                Outcome::Pass,
                format!("{target_version} ≥ {backup}"),
            ));
        }
    }
    checks
}

/// What existing objects mean under the chosen policy, and free space.
pub fn plan_checks(
    target: &dyn Target,
    conflicts: &[String],
    (policy, duplicates): (ConflictPolicy, DuplicatePolicy),
    target_empty: bool,
    bytes: u64,
) -> Vec<PreCheck> {
    let mut checks = Vec::new();
    let listed = || {
        let mut names = conflicts
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if conflicts.len() > 5 {
            names.push_str(", ...");
        }
        names
    };
    checks.push(match (policy, conflicts.is_empty()) {
        (ConflictPolicy::Stop, false) => PreCheck::new(
            "existing objects",
            Outcome::Fail,
            format!(
                "{} object(s) already exist at {}: {}, and existing objects stop the restore: overwrite them (force), load into them, skip them, or restore under other names",
                conflicts.len(),
                target.url(),
                listed()
            ),
        ),
        // Nothing clashes, but the restore lands beside other data.
        (ConflictPolicy::Stop, true) if !target_empty => PreCheck::new(
            "existing objects",
            Outcome::Warn,
            format!("target {} already holds other objects; the restored ones are added beside them (no name is the same)", target.url()),
        ),
        (_, true) => PreCheck::new("existing objects", Outcome::Pass, "nothing at the target has the same name"),
        (ConflictPolicy::Skip, false) => PreCheck::new(
            "existing objects",
            Outcome::Warn,
            format!("{} object(s) exist and will be left as they are: {}", conflicts.len(), listed()),
        ),
        (ConflictPolicy::Merge, false) if !target.can_merge() => PreCheck::new(
            "existing objects",
            Outcome::Fail,
            format!(
                "{} object(s) exist at {}: {}; loading into existing tables is not supported for {} targets: use Force (overwrite) or another name",
                conflicts.len(),
                target.url(),
                listed(),
                target.kind()
            ),
        ),
        (ConflictPolicy::Merge, false) => PreCheck::new(
            "existing objects",
            Outcome::Warn,
            match duplicates {
                DuplicatePolicy::Rewrite => format!(
                    "{} object(s) keep their structure and have their rows deleted and rewritten from the backup: {}; data written to them after the backup point is lost",
                    conflicts.len(),
                    listed()
                ),
                DuplicatePolicy::Skip => format!(
                    "{} object(s) exist and the backup's rows are added to them, leaving out rows whose key exists: {}",
                    conflicts.len(),
                    listed()
                ),
                DuplicatePolicy::Stop => format!(
                    "{} object(s) exist and the backup's rows are added to them; a row whose key exists fails the restore: {}",
                    conflicts.len(),
                    listed()
                ),
            },
        ),
        (ConflictPolicy::Overwrite, false) => PreCheck::new(
            "existing objects",
            Outcome::Warn,
            format!(
                "{} object(s) will be overwritten: {}; data written to them after the backup point is lost",
                conflicts.len(),
                listed()
            ),
        ),
    });
    checks.push(match target.free_space() {
        Some(free) if free < bytes => PreCheck::new(
            "free space",
            Outcome::Fail,
            format!(
                "{} to write but only {} free at {}",
                size(bytes),
                size(free),
                target.url()
            ),
        ),
        Some(free) => PreCheck::new(
            "free space",
            Outcome::Pass,
            format!("{} to write, {} free", size(bytes), size(free)),
        ),
        None => PreCheck::new(
            "free space",
            Outcome::Warn,
            "cannot be known for this target; make sure the server has room",
        ),
    });
    checks
}

/// Whether the target can restore only a time range of these tables.
pub fn range_check(target: &dyn Target, ranged: &[&str]) -> Option<PreCheck> {
    if ranged.is_empty() {
        return None;
    }
    Some(if target.can_filter_time() {
        PreCheck::new(
            "time range",
            Outcome::Pass,
            format!(
                "only the chosen time range of {} is restored",
                ranged.join(", ")
            ),
        )
    } else {
        PreCheck::new(
            "time range",
            Outcome::Fail,
            format!(
                "{} targets cannot restore a time range of a table yet ({}); restore the whole table",
                target.kind(),
                ranged.join(", ")
            ),
        )
    })
}

/// Whether the target can be kept from others during the restore.
pub fn lock_check(target: &dyn Target) -> PreCheck {
    if target.can_lock() {
        PreCheck::new(
            "lock target",
            Outcome::Pass,
            match target.kind() {
                "postgres" => "the database refuses new connections until the restore ends (sessions already open stay)",
                "mysql" => "the accounts with privileges on this database cannot connect until the restore ends (ACCOUNT LOCK; sessions already open stay; accounts with privileges on every database are not locked)",
                _ => "other writers wait until the restore commits",
            },
        )
    } else {
        PreCheck::new(
            "lock target",
            Outcome::Warn,
            format!(
                "{} targets cannot be locked: others can keep writing there during the restore",
                target.kind()
            ),
        )
    }
}

/// A size as an administrator reads it, in binary units.
fn size(bytes: u64) -> String {
    humansize::format_size(bytes, humansize::BINARY)
}

/// `15.18 (Debian 15.18-0+deb12u1)` → [15, 18], compared numerically.
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .next()
        .unwrap_or("")
        .split('.')
        .filter_map(|part| part.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::version_key;

    #[test]
    fn versions_compare_numerically() {
        assert!(version_key("15.18 (Debian 15.18-0+deb12u1)") > version_key("15.2"));
        assert!(version_key("9.6.24") < version_key("10.1"));
        assert!(version_key("10.11.6-MariaDB") > version_key("10.6.5-MariaDB"));
    }
}
