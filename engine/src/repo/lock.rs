//! The writer lock: one file per holder under `locks/`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{random_hex, Repository};
use crate::error::{EngineError, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LockFile {
    hostname: String,
    pid: u32,
    command: String,
    created_at: DateTime<Utc>,
}

impl LockFile {
    fn describe(&self, path: &str) -> String {
        format!(
            "`{}` (pid {} on {}, since {}; lock file {path})",
            self.command,
            self.pid,
            self.hostname,
            self.created_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }

    /// A lock of this host whose process no longer exists.
    fn is_stale(&self) -> bool {
        self.hostname == hostname() && process_is_gone(self.pid)
    }
}

/// Whether no process of this host has the id `pid`.
pub(crate) fn process_is_gone(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// The lock files under `locks/`; other files there (the probe of
/// [`Repository::check_writable`]) are not locks and must not block a writer.
fn lock_files(repo: &Repository) -> Result<Vec<String>> {
    let mut files = repo.backend().list("locks")?;
    files.retain(|path| path.ends_with(".json"));
    Ok(files)
}

/// Held while a command writes; released on drop.
#[derive(Debug)]
pub struct RepoLock<'r> {
    repo: &'r Repository,
    path: String,
    /// Stale locks of dead processes that were removed, explained.
    pub removed_stale: Vec<String>,
}

impl<'r> RepoLock<'r> {
    pub fn acquire(repo: &'r Repository, command: &str) -> Result<Self> {
        let mut removed_stale = Vec::new();
        for path in lock_files(repo)? {
            let Ok(bytes) = repo.backend().read(&path) else {
                continue;
            };
            match serde_json::from_slice::<LockFile>(&bytes) {
                Ok(lock) if lock.is_stale() => {
                    tracing::warn!(lock = %path, "removing stale lock of a process that no longer runs");
                    repo.backend().delete(&path)?;
                    removed_stale.push(format!("removed stale lock of {} (the process no longer runs)", lock.describe(&path)));
                }
                Ok(lock) => {
                    return Err(EngineError::Locked {
                        location: repo.location().to_owned(),
                        holder: lock.describe(&path),
                    })
                }
                Err(_) => {
                    return Err(EngineError::Locked {
                        location: repo.location().to_owned(),
                        holder: format!("an unreadable lock file {path} (delete it if no tidemark command is running)"),
                    })
                }
            }
        }
        let me = LockFile {
            hostname: hostname(),
            pid: std::process::id(),
            command: command.to_owned(),
            created_at: Utc::now(),
        };
        // Names sort by creation time, so two racing writers agree on who won.
        let path = format!(
            "locks/{}-{}-{}.json",
            me.created_at.format("%Y%m%dT%H%M%S%6f"),
            me.pid,
            random_hex(4)
        );
        let bytes = serde_json::to_vec_pretty(&me)
            .map_err(|e| EngineError::invalid("lock", e.to_string()))?;
        repo.backend().write(&path, bytes)?;
        let lock = RepoLock {
            repo,
            path,
            removed_stale,
        };
        let mut others = lock_files(repo)?;
        others.sort();
        if let Some(first) = others.first() {
            if *first != lock.path {
                let holder = repo
                    .backend()
                    .read(first)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<LockFile>(&b).ok())
                    .map(|l| l.describe(first))
                    .unwrap_or_else(|| first.clone());
                return Err(EngineError::Locked {
                    location: repo.location().to_owned(),
                    holder,
                });
            }
        }
        Ok(lock)
    }
}

impl Drop for RepoLock<'_> {
    fn drop(&mut self) {
        if let Err(err) = self.repo.backend().delete(&self.path) {
            tracing::warn!(%err, lock = %self.path, "could not remove the repository lock");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::RepoLocation;

    #[test]
    fn a_second_writer_is_refused_and_a_dead_holder_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(&RepoLocation::Local(dir.path().to_owned()), None).unwrap();
        let first = RepoLock::acquire(&repo, "backup").unwrap();
        let err = RepoLock::acquire(&repo, "prune").unwrap_err();
        assert!(matches!(err, EngineError::Locked { .. }), "{err}");
        assert!(err.to_string().contains("`backup`"), "{err}");
        drop(first);

        // A lock left by a process that has exited.
        let dead = LockFile {
            hostname: hostname(),
            pid: u32::MAX - 1,
            command: "backup".into(),
            created_at: Utc::now(),
        };
        repo.backend()
            .write("locks/dead.json", serde_json::to_vec(&dead).unwrap())
            .unwrap();
        let lock = RepoLock::acquire(&repo, "backup").unwrap();
        assert_eq!(lock.removed_stale.len(), 1);
        assert!(lock.removed_stale[0].contains("no longer runs"));
        drop(lock);
        assert!(repo.backend().list("locks").unwrap().is_empty());
    }
}
