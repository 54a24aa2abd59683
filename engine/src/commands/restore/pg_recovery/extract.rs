//! Extraction: chosen tables (or all) of one database of the recovered
//! cluster, restored into another server with the logical restore.
//!
//! The recovered cluster is started again on the recovery's private
//! socket; the database is backed up logically into a scratch repository
//! beside it and restored from there with the ordinary restore, so the
//! target gets the same pre-checks, conflict rules and read-back (every
//! row's digest) as any restore of a logical point. The scratch copy is
//! removed afterwards; the task's repository is not touched.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use super::server::PrivateServer;
use super::{refuse, PgRecoveryPlan};
use crate::commands::backup::{plan_backup, run_backup, BackupOptions};
use crate::commands::restore::{
    plan_restore, run_restore, selects, ConflictPolicy, RestoreOptions, RestoreStats, VerifyMode,
};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Phase, Progress};
use crate::repo::manifest::Selection;
use crate::repo::Repository;
use crate::source::dbio::runtime;
use crate::source::postgres::{PgAccess, PgLocation, PostgresSource, PostgresTarget};
use crate::source::{DuplicatePolicy, Target};
use crate::storage::RepoLocation;

/// The title of every step of an extraction starts with this.
pub const EXTRACT_TITLE: &str = "extracting";

/// What to take out of the recovered cluster, and where it goes.
#[derive(Debug, Clone)]
pub struct PgExtract {
    /// The database of the recovered cluster.
    pub database: String,
    /// The database it is restored into, on another (running) server.
    pub target: PgLocation,
    /// Tables (`schema.table`), each optionally under a new name; empty:
    /// the whole database.
    pub tables: Vec<(String, Option<String>)>,
    pub on_conflict: ConflictPolicy,
    pub on_duplicate: DuplicatePolicy,
    pub lock: bool,
    pub verify: VerifyMode,
    /// Remove the recovered data directory once the extraction is done.
    pub remove_cluster: bool,
}

/// The extraction as planned, before the recovery starts.
#[derive(Debug, Clone, Serialize)]
pub struct ExtractPlan {
    pub database: String,
    pub target: String,
    /// `(table, restored as)`; empty: every table of the database.
    pub tables: Vec<(String, String)>,
    pub remove_cluster: bool,
}

impl ExtractPlan {
    /// "database shop (public.orders as public.orders at T)", as plans say it.
    pub fn describe(&self) -> String {
        let tables = if self.tables.is_empty() {
            "every table".to_owned()
        } else {
            self.tables
                .iter()
                .map(|(name, to)| match name == to {
                    true => name.clone(),
                    false => format!("{name} as {to}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("database {} ({tables})", self.database)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtractStats {
    pub database: String,
    pub target: String,
    /// The logical restore into the target, with each table's read-back.
    pub restore: RestoreStats,
    pub seconds: f64,
    /// The recovered data directory was removed afterwards.
    pub removed_cluster: bool,
}

/// Checks what can be checked before anything is recovered: the target
/// answers with these credentials, and what would be written there does
/// not clash with what it holds (unless the policy says what to do).
pub(super) fn plan_extract(extract: &PgExtract, port: Option<u16>) -> Result<ExtractPlan> {
    if extract.remove_cluster && port.is_some() {
        return Err(EngineError::invalid(
            "extraction",
            "a recovered cluster cannot both be started on a port and removed afterwards",
        ));
    }
    if extract.database.trim().is_empty() {
        return Err(EngineError::invalid(
            "extraction",
            "name the database of the cluster to extract",
        ));
    }
    let target = PostgresTarget::open(extract.target.clone())?;
    target.server_version()?;
    let tables: Vec<(String, String)> = extract
        .tables
        .iter()
        .map(|(name, rename)| (name.clone(), rename.clone().unwrap_or_else(|| name.clone())))
        .collect();
    if extract.on_conflict == ConflictPolicy::Stop {
        let names: Vec<&str> = tables.iter().map(|(_, to)| to.as_str()).collect();
        let clashes = if names.is_empty() {
            if target.is_empty()? {
                Vec::new()
            } else {
                vec!["its tables".to_owned()]
            }
        } else {
            target.existing(&names)?
        };
        if !clashes.is_empty() {
            return Err(refuse(format!(
                "{} already holds {}: extract under new names, or choose to overwrite or merge",
                extract.target.display(),
                clashes.join(", ")
            )));
        }
    }
    Ok(ExtractPlan {
        database: extract.database.clone(),
        target: extract.target.display(),
        tables,
        remove_cluster: extract.remove_cluster,
    })
}

/// Runs the extraction from the recovered (stopped) cluster of `plan`;
/// `work` is the recovery's private directory.
pub(super) fn run_extract(
    plan: &PgRecoveryPlan,
    extract: &PgExtract,
    work: &Path,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<ExtractStats> {
    let started = Instant::now();
    let database = &extract.database;
    let titled = Titled {
        inner: progress,
        prefix: format!("{EXTRACT_TITLE} {database}"),
    };
    titled.set_title("starting the recovered cluster");
    let server = PrivateServer::start(&plan.bin, &plan.data_dir, work, cancel)?;
    let source_at = recovered_database(plan, work, server.port, database)?;
    titled.set_title("reading the recovered database");
    let selection = Selection {
        include: extract
            .tables
            .iter()
            .map(|(name, _)| name.clone())
            .collect(),
        ..Selection::default()
    };
    let source = PostgresSource::new(source_at, &selection)?;
    let scratch = Repository::init(&RepoLocation::Local(work.join("extract-repo")), None)?;
    let options = BackupOptions {
        task: "extract".into(),
        full: true,
        selection,
        ..BackupOptions::default()
    };
    let backup = plan_backup(&scratch, &source, &options)?;
    let copied = run_backup(&scratch, &source, backup, &options, &titled, cancel)?;
    drop(source);
    drop(server);
    let point = scratch.point(&copied.point)?;
    // The structure with the tables: created where the target has none,
    // kept where it has (renamed tables take the shape of the original).
    let objects = if extract.tables.is_empty() {
        Vec::new()
    } else {
        let mut objects = vec![(crate::source::postgres::STRUCTURE_DIR.to_owned(), None)];
        objects.extend(extract.tables.iter().cloned());
        objects.retain(|(name, _)| point.objects.iter().any(|o| selects(name, &o.name)));
        objects
    };
    for (table, _) in &extract.tables {
        if !point.objects.iter().any(|o| o.name == *table) {
            return Err(refuse(format!(
                "database {database:?} of the recovered cluster has no table {table}"
            )));
        }
    }
    let mut target = PostgresTarget::open(extract.target.clone())?;
    let options = RestoreOptions {
        objects,
        on_conflict: extract.on_conflict,
        on_duplicate: extract.on_duplicate,
        ranges: Vec::new(),
        stop_on_failure: true,
        lock: extract.lock,
        verify: extract.verify,
    };
    let restore = plan_restore(&point, &target, &options)?;
    if let Some(reason) = &restore.blocked {
        return Err(refuse(format!(
            "the extraction into {} was refused before writing: {reason}",
            extract.target.display()
        )));
    }
    titled.set_title(&format!("restoring into {}", extract.target.display()));
    let restored = run_restore(&scratch, &restore, &mut target, &titled, cancel)?;
    if let Some((object, message)) = restored.failed.first() {
        return Err(EngineError::RestoreFailed {
            object: object.clone(),
            message: message.clone(),
        });
    }
    drop(scratch);
    let _ = std::fs::remove_dir_all(work.join("extract-repo"));
    Ok(ExtractStats {
        database: database.clone(),
        target: extract.target.display(),
        restore: restored,
        seconds: started.elapsed().as_secs_f64(),
        removed_cluster: false,
    })
}

/// The database on the private server, as its bootstrap superuser (the
/// socket's `pg_hba.conf` trusts local connections; the task's own user
/// may not read every table).
fn recovered_database(
    plan: &PgRecoveryPlan,
    work: &Path,
    port: u16,
    database: &str,
) -> Result<PgLocation> {
    let mut at = crate::source::postgres::parse_url(&format!(
        "postgres://{}@localhost:{port}/template1",
        url::form_urlencoded::byte_serialize(plan.cluster_user.as_bytes()).collect::<String>()
    ))?;
    at.host = work.display().to_string();
    let (superuser, databases) = runtime()?.block_on(async {
        let mut conn = at.connect().await?;
        let fail = |e| crate::source::postgres::pg_error(&at, "read the roles and databases of", e);
        let superuser: String =
            sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE oid = 10")
                .fetch_one(&mut conn)
                .await
                .map_err(fail)?;
        let databases: Vec<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1",
        )
        .fetch_all(&mut conn)
        .await
        .map_err(fail)?;
        Ok::<_, EngineError>((superuser, databases))
    })?;
    if !databases.iter().any(|d| d == database) {
        return Err(refuse(format!(
            "the recovered cluster has no database {database:?} (it has {})",
            databases.join(", ")
        )));
    }
    at.user = superuser;
    Ok(at.with_database(database))
}

/// The logical backup's and restore's steps under the extraction's
/// title; their figures and phases are not the recovery's (whose totals
/// a caller shows), so only the titles go through.
struct Titled<'a> {
    inner: &'a dyn Progress,
    prefix: String,
}

impl Progress for Titled<'_> {
    fn set_title(&self, title: &str) {
        self.inner.set_title(&format!("{}: {title}", self.prefix));
    }
    fn set_length(&self, _bytes: u64, _items: u64) {}
    fn inc(&self, _bytes: u64, _items: u64) {}
    fn finish(&self) {}
    fn phase(&self, _phase: Phase, _done: bool) {}
}
