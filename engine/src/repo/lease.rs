//! Read leases: a restore or drill reading a point holds a lease on it, and
//! prune keeps every point with a live lease (and the data it needs).
//!
//! A lease is a file in the repository itself (`leases/<point>/<name>.json`),
//! so it holds across processes and, on S3, across machines. Its holder
//! renews it while reading; a lease whose holder died expires: at once when
//! the holder was a process of this host that no longer runs, otherwise
//! when its expiry time passes without a renewal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lock::{hostname, process_is_gone};
use super::manifest::manifest_path;
use super::{random_hex, Repository};
use crate::error::{EngineError, Result};

/// How long a lease lives without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(120);
/// How often a holder renews its lease (well inside [`LEASE_TTL`]).
const RENEW_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LeaseFile {
    hostname: String,
    pid: u32,
    command: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl LeaseFile {
    fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at && !(self.hostname == hostname() && process_is_gone(self.pid))
    }

    fn describe(&self) -> String {
        format!(
            "being read by `{}` (pid {} on {}, since {})",
            self.command,
            self.pid,
            self.hostname,
            self.created_at.format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

fn lease_dir(point: &str) -> String {
    format!("leases/{point}")
}

/// The live leases of every point: point id → who reads it. Leases that
/// have expired are deleted on the way (best effort: another prune may be
/// doing the same).
pub fn live_leases(repo: &Repository) -> Result<Vec<(String, String)>> {
    let now = Utc::now();
    let mut live = Vec::new();
    for path in repo.backend().list("leases")? {
        let Some(point) = point_of(&path) else {
            continue;
        };
        let Ok(bytes) = repo.backend().read(&path) else {
            // Deleted between listing and reading: its holder finished.
            continue;
        };
        match serde_json::from_slice::<LeaseFile>(&bytes) {
            Ok(lease) if lease.is_live(now) => live.push((point.to_owned(), lease.describe())),
            Ok(_) => {
                if let Err(err) = repo.backend().delete(&path) {
                    tracing::warn!(%err, lease = %path, "could not remove an expired lease");
                }
            }
            // A lease being written, or damaged: keep its point, to be safe.
            Err(_) => live.push((point.to_owned(), format!("an unreadable lease {path}"))),
        }
    }
    Ok(live)
}

/// `leases/<point>/<name>.json` → `<point>`.
fn point_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("leases/")?;
    let (point, name) = rest.split_once('/')?;
    (name.ends_with(".json") && !name.contains('/')).then_some(point)
}

/// A lease held on one point; released on drop.
#[derive(Debug)]
pub struct PointLease<'r> {
    repo: &'r Repository,
    path: String,
    lease: LeaseFile,
    /// False when the first write failed: nothing to delete on drop.
    written: bool,
}

impl<'r> PointLease<'r> {
    /// Takes a lease on `point`, then confirms the point still exists: a
    /// prune that removes it after this either saw the lease or had already
    /// removed the manifest, which this check then finds missing. A
    /// repository this process cannot write (a read-only mount or bucket
    /// policy) is read without a lease, with a warning: no prune can run
    /// through such access either.
    pub fn acquire(repo: &'r Repository, point: &str, command: &str) -> Result<Option<Self>> {
        let now = Utc::now();
        let lease = LeaseFile {
            hostname: hostname(),
            pid: std::process::id(),
            command: command.to_owned(),
            created_at: now,
            expires_at: now + LEASE_TTL,
        };
        let path = format!(
            "{}/{}-{}-{}.json",
            lease_dir(point),
            now.format("%Y%m%dT%H%M%S%6f"),
            lease.pid,
            random_hex(4)
        );
        let mut held = PointLease {
            repo,
            path,
            lease,
            written: true,
        };
        let held = match held.write() {
            Ok(()) => Some(held),
            Err(err) => {
                tracing::warn!(%err, %point, "cannot write a read lease: reading the point without one (a prune elsewhere could remove it meanwhile)");
                held.written = false;
                None
            }
        };
        if !repo.backend().exists(&manifest_path(point))? {
            // Removed (by a prune) after the reader found it.
            return Err(EngineError::PointNotFound {
                point: point.to_owned(),
                location: repo.location().to_owned(),
            });
        }
        Ok(held)
    }

    fn write(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.lease)
            .map_err(|e| EngineError::invalid("lease", e.to_string()))?;
        self.repo.backend().write(&self.path, bytes)
    }

    /// Pushes the expiry forward.
    pub fn renew(&mut self) -> Result<()> {
        self.lease.expires_at = Utc::now() + LEASE_TTL;
        self.write()
    }
}

impl Drop for PointLease<'_> {
    fn drop(&mut self) {
        if !self.written {
            return;
        }
        if let Err(err) = self.repo.backend().delete(&self.path) {
            tracing::warn!(%err, lease = %self.path, "could not remove a read lease (it expires on its own)");
        }
    }
}

/// Runs `body` while holding a lease on `point`, renewed in the background.
pub fn while_leased<T>(
    repo: &Repository,
    point: &str,
    command: &str,
    body: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let Some(mut lease) = PointLease::acquire(repo, point, command)? else {
        return body();
    };
    let done = &AtomicBool::new(false);
    let (wake, sleep) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let renewer = scope.spawn(move || {
            while !done.load(Ordering::Acquire) {
                if sleep.recv_timeout(RENEW_EVERY).is_ok() {
                    break;
                }
                if let Err(err) = lease.renew() {
                    tracing::warn!(%err, "could not renew a read lease");
                }
            }
            lease
        });
        let result = body();
        done.store(true, Ordering::Release);
        let _ = wake.send(());
        // The lease is dropped (deleted) once the renewer hands it back.
        drop(renewer.join());
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::RepoLocation;

    fn write_lease(repo: &Repository, point: &str, lease: &LeaseFile) {
        repo.backend()
            .write(
                &format!("leases/{point}/x.json"),
                serde_json::to_vec(lease).unwrap(),
            )
            .unwrap();
    }

    #[test]
    fn dead_and_expired_leases_are_not_live_and_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(&RepoLocation::Local(dir.path().to_owned()), None).unwrap();
        let now = Utc::now();
        let alive = LeaseFile {
            hostname: hostname(),
            pid: std::process::id(),
            command: "restore".into(),
            created_at: now,
            expires_at: now + LEASE_TTL,
        };
        write_lease(&repo, "p-live", &alive);
        let dead = LeaseFile {
            pid: u32::MAX - 1,
            ..alive.clone()
        };
        write_lease(&repo, "p-dead", &dead);
        // Another machine's lease that was not renewed in time.
        let expired = LeaseFile {
            hostname: "elsewhere".into(),
            expires_at: now - chrono::Duration::seconds(1),
            ..alive.clone()
        };
        write_lease(&repo, "p-expired", &expired);
        let elsewhere = LeaseFile {
            hostname: "elsewhere".into(),
            pid: u32::MAX - 1,
            ..alive
        };
        write_lease(&repo, "p-elsewhere", &elsewhere);

        let mut live: Vec<String> = live_leases(&repo)
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        live.sort();
        assert_eq!(live, ["p-elsewhere", "p-live"]);
        let mut left = repo.backend().list("leases").unwrap();
        left.sort();
        assert_eq!(left, ["leases/p-elsewhere/x.json", "leases/p-live/x.json"]);
    }

    #[test]
    fn a_repository_that_cannot_be_written_is_read_without_a_lease() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(&RepoLocation::Local(dir.path().to_owned()), None).unwrap();
        repo.backend()
            .write(&manifest_path("p"), b"{}".to_vec())
            .unwrap();
        let leases = dir.path().join("leases");
        std::fs::create_dir(&leases).unwrap();
        // Immutable: even root cannot create files in it (a read-only mount
        // or bucket policy, as far as the reader can tell).
        let chattr = |flag: &str| {
            let status = std::process::Command::new("chattr")
                .arg(flag)
                .arg(&leases)
                .status()
                .expect("run chattr (e2fsprogs)");
            assert!(status.success(), "chattr {flag} (needs root on ext4)");
        };
        chattr("+i");
        let read = while_leased(&repo, "p", "restore", || repo.backend().list("leases"));
        chattr("-i");
        assert_eq!(
            read.unwrap(),
            Vec::<String>::new(),
            "the body ran, with no lease"
        );
    }

    #[test]
    fn a_lease_on_a_missing_point_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(&RepoLocation::Local(dir.path().to_owned()), None).unwrap();
        let err = PointLease::acquire(&repo, "gone", "restore").unwrap_err();
        assert!(matches!(err, EngineError::PointNotFound { .. }), "{err}");
        assert!(repo.backend().list("leases").unwrap().is_empty());
    }
}
