//! Continuous archiving under `tidemark serve`: one blocking thread per
//! continuous task runs the engine's archiver (which restarts its
//! `mariadb-binlog` streamer by itself). The supervisor starts them at
//! console start and when a task becomes continuous, restarts one whose
//! task, source or repository access changed, and stops one whose task
//! stopped being continuous, was deleted, or at shutdown. What the archiver
//! does is kept in the repository (the engine's status, read back through
//! the timeline); only what made it stop is kept here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tidemark_engine::archive::{plan_archive, run_archive, ArchiveOptions};
use tidemark_engine::{CancelToken, EngineError, NoProgress, SourceUrl};

use super::Jobs;
use crate::catalog::Catalog;
use crate::repo_access::RepoAccess;

/// How long after an error the archiver tries again.
pub const RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why a task's archiver is not archiving, as the task page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiverFault {
    pub message: String,
    pub at: DateTime<Utc>,
    pub retry_at: DateTime<Utc>,
}

/// What an archiver was started with: when any of it changes, it is
/// restarted. Holds the repository passphrase, so it has no `Debug`.
#[derive(Clone, PartialEq, Eq)]
struct Started {
    task: String,
    source_url: String,
    repository: String,
    passphrase: Option<String>,
}

struct Archiver {
    started: Started,
    cancel: CancelToken,
    fault: Arc<Mutex<Option<ArchiverFault>>>,
    ended: tokio::sync::watch::Receiver<bool>,
}

/// The supervisor's registry.
#[derive(Default)]
pub struct Archivers {
    running: Mutex<HashMap<i64, Archiver>>,
    /// `<data dir>/archive-spool`; set once at start-up.
    spool_root: OnceLock<PathBuf>,
    /// Serialises [`Jobs::sync_archivers`] (the scheduler and a task save
    /// may both ask at once).
    syncing: tokio::sync::Mutex<()>,
}

impl Archivers {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Archiver>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One continuous task's archiver as resolved from the catalog, or why it
/// cannot run.
async fn resolve(catalog: &Catalog, task_id: i64) -> Result<Option<(Started, RepoAccess)>, String> {
    let unavailable = |_| "the catalog is unavailable".to_owned();
    let Some(task) = catalog.task(task_id).await.map_err(unavailable)? else {
        return Ok(None);
    };
    if !task.settings.continuous {
        return Ok(None);
    }
    let source = catalog
        .source(task.settings.source_id)
        .await
        .map_err(unavailable)?
        .ok_or("its data source was deleted")?;
    let source_url = source
        .url()
        .ok_or("its data source has a kind this server cannot read")?;
    let repository = catalog
        .repository(task.settings.repository_id)
        .await
        .map_err(unavailable)?
        .ok_or("its repository was deleted")?;
    let access = repository.access();
    Ok(Some((
        Started {
            task: task.settings.name,
            source_url,
            repository: repository.location,
            passphrase: repository.passphrase,
        },
        access,
    )))
}

impl Jobs {
    fn archivers(&self) -> &Archivers {
        &self.0.archivers
    }

    /// Where archivers spool the logs they stream (`<data dir>/archive-spool`).
    pub fn set_archive_spool_dir(&self, dir: PathBuf) {
        let _ = self.archivers().spool_root.set(dir);
    }

    /// Why a task's archiver is not archiving, if it stopped on an error.
    pub fn archiver_fault(&self, task_id: i64) -> Option<ArchiverFault> {
        let running = self.archivers().running();
        let fault = running.get(&task_id)?.fault.lock().ok()?.clone();
        fault
    }

    pub fn archiver_running(&self, task_id: i64) -> bool {
        self.archivers().running().contains_key(&task_id)
    }

    /// Makes the running archivers match the catalog's continuous tasks.
    pub async fn sync_archivers(&self) -> Result<(), sqlx::Error> {
        let _one_at_a_time = self.archivers().syncing.lock().await;
        let closing = *self.0.closing.borrow();
        let wanted: Vec<i64> = if closing {
            Vec::new()
        } else {
            self.catalog()
                .continuous_tasks()
                .await?
                .into_iter()
                .map(|t| t.id)
                .collect()
        };
        let running: Vec<i64> = self.archivers().running().keys().copied().collect();
        for id in running.iter().filter(|id| !wanted.contains(id)) {
            self.stop_archiver_and_wait(*id).await;
        }
        for id in wanted {
            match resolve(self.catalog(), id).await {
                Ok(Some((started, access))) => {
                    let same = self
                        .archivers()
                        .running()
                        .get(&id)
                        .is_some_and(|a| a.started == started);
                    if !same {
                        self.stop_archiver_and_wait(id).await;
                        self.start_archiver(id, started, access);
                    }
                }
                Ok(None) => self.stop_archiver_and_wait(id).await,
                Err(why) => {
                    tracing::error!(task_id = id, "archiver not started: {why}");
                }
            }
        }
        Ok(())
    }

    /// Stops a task's archiver (if one runs) and waits until it has ended.
    pub async fn stop_archiver_and_wait(&self, task_id: i64) {
        let Some(archiver) = self.archivers().running().remove(&task_id) else {
            return;
        };
        archiver.cancel.cancel();
        let mut ended = archiver.ended;
        let _ = ended.wait_for(|e| *e).await;
        tracing::info!(task = %archiver.started.task, "archiver stopped");
    }

    /// Stops every archiver (server shutdown).
    pub async fn shutdown_archivers(&self) {
        let ids: Vec<i64> = self.archivers().running().keys().copied().collect();
        for id in ids {
            self.stop_archiver_and_wait(id).await;
        }
    }

    fn start_archiver(&self, task_id: i64, started: Started, access: RepoAccess) {
        let spool_root = self
            .archivers()
            .spool_root
            .get()
            .cloned()
            .unwrap_or_else(|| std::env::temp_dir().join("tidemark-archive-spool"));
        let cancel = CancelToken::new();
        let fault = Arc::new(Mutex::new(None));
        let (ended_tx, ended) = tokio::sync::watch::channel(false);
        let work = ArchiverWork {
            task: started.task.clone(),
            source_url: started.source_url.clone(),
            access,
            spool_dir: spool_root.join(task_id.to_string()),
            cancel: cancel.clone(),
            fault: Arc::clone(&fault),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("archiver-{task_id}"))
            .spawn(move || {
                work.run();
                let _ = ended_tx.send(true);
            });
        if let Err(err) = spawned {
            tracing::error!(task = %started.task, error = %err, "could not start the archiver thread");
            return;
        }
        tracing::info!(task = %started.task, "archiver started");
        self.archivers().running().insert(
            task_id,
            Archiver {
                started,
                cancel,
                fault,
                ended,
            },
        );
    }
}

/// One archiver's thread.
struct ArchiverWork {
    task: String,
    source_url: String,
    access: RepoAccess,
    spool_dir: PathBuf,
    cancel: CancelToken,
    fault: Arc<Mutex<Option<ArchiverFault>>>,
}

impl ArchiverWork {
    fn run(&self) {
        while !self.cancel.is_cancelled() {
            let result = self.archive_once();
            if self.cancel.is_cancelled() {
                break;
            }
            let message = match result {
                Ok(()) => "the archiver stopped by itself".to_owned(),
                Err(message) => message,
            };
            tracing::error!(task = %self.task, "archiver: {message}; retrying in {} s", RETRY_AFTER.as_secs());
            let now = Utc::now();
            self.set_fault(Some(ArchiverFault {
                message,
                at: now,
                retry_at: now + chrono::Duration::from_std(RETRY_AFTER).unwrap_or_default(),
            }));
            let until = Instant::now() + RETRY_AFTER;
            while Instant::now() < until && !self.cancel.is_cancelled() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    fn set_fault(&self, fault: Option<ArchiverFault>) {
        match self.fault.lock() {
            Ok(mut slot) => *slot = fault,
            Err(poisoned) => *poisoned.into_inner() = fault,
        }
    }

    /// Runs the engine's archiver until cancelled; Err is what retrying
    /// later may fix (a locked repository, failing checks, a reset server).
    fn archive_once(&self) -> Result<(), String> {
        let repo = self.access.open().map_err(|err| match err {
            EngineError::PassphraseRequired { .. } | EngineError::WrongPassphrase { .. } => {
                format!("unlock the repository to archive ({err})")
            }
            other => other.to_string(),
        })?;
        let source = SourceUrl::parse(&self.source_url).map_err(|e| e.to_string())?;
        let options = ArchiveOptions::new(&self.task, self.spool_dir.clone());
        let plan = plan_archive(&repo, &source, &options).map_err(|e| e.to_string())?;
        if let Some(check) = plan.blocked() {
            return Err(format!("{}: {}", check.name, check.detail));
        }
        // Running: an earlier fault no longer holds.
        self.set_fault(None);
        run_archive(&repo, &source, &plan, &options, &NoProgress, &self.cancel)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}
