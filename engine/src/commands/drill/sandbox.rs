//! Drill sandboxes: where a drill restores, never the source or a
//! production target. Each is recorded (`<scratch>/drill-<id>.json`)
//! before anything is created, so a sweep after a crash finds and removes
//! it: a scratch directory, a throwaway server, a scratch database.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::mariadb_server;
use super::pg_server::{self, PgBinaries, PgServer, ServerRecord};
use super::sql_check::{query_mysql, query_postgres, query_sqlite};
use super::SandboxChoice;
use crate::commands::precheck::{Outcome, PreCheck};
use crate::error::{EngineError, Result};
use crate::progress::CancelToken;
use crate::repo::lock::{hostname, process_is_gone};
use crate::repo::manifest::Manifest;
use crate::repo::random_hex;
use crate::source::{
    FileTreeTarget, InfluxLocation, InfluxTarget, MyLocation, MySqlTarget, PgLocation,
    PostgresTarget, SourceUrl, SqliteTarget, Target,
};

/// The sandbox a plan chose.
#[derive(Debug, Clone)]
pub(super) enum SandboxKind {
    /// A file tree restored into a scratch directory.
    Tree,
    /// A SQLite database restored into a scratch file.
    SqliteFile,
    /// A PostgreSQL server started for the drill.
    PgThrowaway(PgBinaries),
    /// A scratch database created on a PostgreSQL drill server.
    PgScratch(PgLocation),
    /// A scratch database created on an InfluxDB drill server.
    InfluxScratch(InfluxLocation),
    /// A MariaDB server started for the drill.
    MyThrowaway((u32, u32)),
    /// A scratch database created on a MariaDB/MySQL drill server.
    MyScratch(MyLocation),
    /// No sandbox can be had here: why.
    Unavailable(String),
}

impl SandboxKind {
    pub fn for_point(point: &Manifest, choice: &SandboxChoice) -> Result<Self> {
        let kind = point.source.kind.as_str();
        Ok(match (kind, choice) {
            ("file-tree", SandboxChoice::Auto) => SandboxKind::Tree,
            ("sqlite", SandboxChoice::Auto) => SandboxKind::SqliteFile,
            ("file-tree" | "sqlite", SandboxChoice::Server(_)) => {
                return Err(EngineError::invalid(
                    "sandbox",
                    format!("{kind} points are drilled in a scratch directory; give no drill server"),
                ))
            }
            ("postgres", SandboxChoice::Auto) => {
                let major = point.source.server_version.as_deref().and_then(pg_server::major_of);
                match pg_server::binaries_for(major) {
                    Ok(bin) => SandboxKind::PgThrowaway(bin),
                    Err(why) => SandboxKind::Unavailable(why),
                }
            }
            ("postgres", SandboxChoice::Server(url)) => match SourceUrl::parse(url)? {
                SourceUrl::Postgres(at) => SandboxKind::PgScratch(at),
                _ => {
                    return Err(EngineError::invalid(
                        "drill server",
                        "a PostgreSQL point needs a postgres:// drill server",
                    ))
                }
            },
            ("mysql", SandboxChoice::Auto) => {
                let version = point.source.server_version.as_deref().unwrap_or("");
                match (mariadb_server::mariadb_version(version), mariadb_server::installed_version()) {
                    (_, Err(why)) => SandboxKind::Unavailable(why),
                    (None, Ok(_)) => SandboxKind::Unavailable(format!(
                        "the point was taken from MySQL {version}; a MariaDB sandbox cannot prove it (give a MySQL drill server)"
                    )),
                    (Some(backup), Ok(installed)) if installed < backup => SandboxKind::Unavailable(format!(
                        "the point was taken from MariaDB {}.{}; the installed server is {}.{} (install a newer mariadb-server, or give a drill server)",
                        backup.0, backup.1, installed.0, installed.1
                    )),
                    (Some(_), Ok(installed)) => SandboxKind::MyThrowaway(installed),
                }
            }
            ("mysql", SandboxChoice::Server(url)) => match SourceUrl::parse(url)? {
                SourceUrl::MySql(at) => SandboxKind::MyScratch(at),
                _ => {
                    return Err(EngineError::invalid(
                        "drill server",
                        "a MariaDB/MySQL point needs a mysql:// drill server",
                    ))
                }
            },
            ("influxdb", SandboxChoice::Auto) => SandboxKind::Unavailable(
                "InfluxDB points are drilled in a scratch database on a drill server: give its URL (influxdb://…)".into(),
            ),
            ("influxdb", SandboxChoice::Server(url)) => match SourceUrl::parse(url)? {
                SourceUrl::Influx(at) => SandboxKind::InfluxScratch(at),
                _ => {
                    return Err(EngineError::invalid(
                        "drill server",
                        "an InfluxDB point needs an influxdb:// drill server",
                    ))
                }
            },
            (other, _) => SandboxKind::Unavailable(format!(
                "drills of {other} points are not supported"
            )),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            SandboxKind::Tree => "a scratch directory".into(),
            SandboxKind::SqliteFile => "a scratch SQLite file".into(),
            SandboxKind::PgThrowaway(bin) => format!(
                "a throwaway PostgreSQL {} server ({}) on a free loopback port",
                bin.major,
                bin.bin.display()
            ),
            SandboxKind::PgScratch(at) => {
                format!(
                    "a scratch database on the drill server {}",
                    at.with_database("…").display()
                )
            }
            SandboxKind::MyThrowaway((major, minor)) => format!(
                "a throwaway MariaDB {major}.{minor} server ({}) on a free loopback port",
                mariadb_server::SERVER
            ),
            SandboxKind::InfluxScratch(at) => format!(
                "a scratch database on the drill server {}",
                at.with_database("…").display()
            ),
            SandboxKind::MyScratch(at) => format!(
                "a scratch database on the drill server {}",
                at.with_database("…").display()
            ),
            SandboxKind::Unavailable(why) => format!("none: {why}"),
        }
    }

    pub fn runs_sql(&self) -> bool {
        !matches!(self, SandboxKind::Tree)
    }

    pub fn prechecks(&self, point: &Manifest) -> Vec<PreCheck> {
        let mut checks = Vec::new();
        match self {
            SandboxKind::Unavailable(why) => {
                checks.push(PreCheck::new("sandbox", Outcome::Fail, why.clone()))
            }
            SandboxKind::PgThrowaway(bin) => checks.push(PreCheck::new(
                "sandbox",
                Outcome::Pass,
                format!(
                    "PostgreSQL {} is installed for a point taken from {}",
                    bin.major,
                    point
                        .source
                        .server_version
                        .as_deref()
                        .unwrap_or("an unrecorded version")
                ),
            )),
            other => checks.push(PreCheck::new("sandbox", Outcome::Pass, other.describe())),
        }
        checks
    }
}

/// What a sweep needs to remove a sandbox whose drill died.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SandboxRecord {
    owner_host: String,
    pub(super) owner_pid: u32,
    created_at: DateTime<Utc>,
    /// Scratch files (tree, SQLite file).
    dir: Option<PathBuf>,
    server: Option<ServerRecord>,
    #[serde(default)]
    mariadb: Option<mariadb_server::ServerRecord>,
    /// The scratch database, with credentials (the record is 0600).
    scratch_database: Option<String>,
}

/// A sandbox that exists.
pub(super) struct Sandbox {
    pub(super) record_path: PathBuf,
    pub(super) record: SandboxRecord,
    target: SandboxTarget,
}

enum SandboxTarget {
    Tree(PathBuf),
    Sqlite(PathBuf),
    Postgres(PgLocation),
    MySql(MyLocation),
    Influx(InfluxLocation),
}

impl Sandbox {
    pub fn create(kind: &SandboxKind, scratch: &Path, cancel: &CancelToken) -> Result<Sandbox> {
        crate::storage::local::prepare_local_dir(scratch)?;
        let id = format!("{}-{}", Utc::now().format("%Y%m%dT%H%M%S"), random_hex(4));
        let mut sandbox = Sandbox {
            record_path: scratch.join(format!("drill-{id}.json")),
            record: SandboxRecord {
                owner_host: hostname(),
                owner_pid: std::process::id(),
                created_at: Utc::now(),
                dir: None,
                server: None,
                mariadb: None,
                scratch_database: None,
            },
            target: SandboxTarget::Tree(PathBuf::new()),
        };
        let result = sandbox.build(kind, scratch, &id, cancel);
        match result {
            Ok(()) => Ok(sandbox),
            Err(err) => {
                if let Err(cleanup) = sandbox.remove() {
                    tracing::warn!(%cleanup, "could not remove a drill sandbox that failed to start");
                }
                Err(err)
            }
        }
    }

    fn build(
        &mut self,
        kind: &SandboxKind,
        scratch: &Path,
        id: &str,
        cancel: &CancelToken,
    ) -> Result<()> {
        match kind {
            SandboxKind::Tree | SandboxKind::SqliteFile => {
                let dir = scratch.join(format!("drill-{id}"));
                self.record.dir = Some(dir.clone());
                self.save()?;
                std::fs::create_dir(&dir).map_err(|e| EngineError::io(&dir, e))?;
                self.target = match kind {
                    SandboxKind::Tree => SandboxTarget::Tree(dir.join("tree")),
                    _ => SandboxTarget::Sqlite(dir.join("restored.sqlite")),
                };
            }
            SandboxKind::PgThrowaway(bin) => {
                let record = ServerRecord {
                    bin: bin.bin.clone(),
                    dir: temp_dir(id)?,
                };
                self.record.server = Some(record.clone());
                self.save()?;
                let server = PgServer::start(record, cancel)?;
                self.target =
                    SandboxTarget::Postgres(crate::source::parse_pg_url(&server.url("drill"))?);
            }
            SandboxKind::PgScratch(server) => {
                let at = self.scratch_database(server, id, |at| {
                    PostgresTarget::open(at.clone())?.database_exists()
                })?;
                self.target = SandboxTarget::Postgres(at);
            }
            SandboxKind::MyThrowaway(_) => {
                let record = mariadb_server::ServerRecord { dir: temp_dir(id)? };
                self.record.mariadb = Some(record.clone());
                self.save()?;
                let url = mariadb_server::start(&record, "drill", cancel)?;
                self.target = SandboxTarget::MySql(crate::source::parse_my_url(&url)?);
            }
            SandboxKind::InfluxScratch(server) => {
                let at = self.scratch_database(server, id, |at| {
                    InfluxTarget::open(at.clone())?.scratch_database(false)
                })?;
                self.target = SandboxTarget::Influx(at);
            }
            SandboxKind::MyScratch(server) => {
                let at = self.scratch_database(server, id, |at| {
                    MySqlTarget::open(at.clone())?.scratch_database(false)
                })?;
                self.target = SandboxTarget::MySql(at);
            }
            SandboxKind::Unavailable(why) => {
                return Err(EngineError::invalid("sandbox", why.clone()))
            }
        }
        Ok(())
    }

    /// Names the scratch database on a drill server and records it (so a
    /// sweep can drop it) before anything is created; refuses one that
    /// exists (the restore creates it).
    fn scratch_database(
        &mut self,
        server: &crate::source::DbLocation,
        id: &str,
        exists: impl FnOnce(&crate::source::DbLocation) -> Result<bool>,
    ) -> Result<crate::source::DbLocation> {
        let at = server.with_database(&scratch_name(id));
        self.record.scratch_database = Some(at.secret_url());
        self.save()?;
        if exists(&at)? {
            return Err(EngineError::Conflict(format!(
                "the drill's scratch database {} already exists",
                at.display()
            )));
        }
        Ok(at)
    }

    fn save(&self) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let bytes = serde_json::to_vec_pretty(&self.record)
            .map_err(|e| EngineError::invalid("drill record", e.to_string()))?;
        let tmp = self.record_path.with_extension("json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| EngineError::io(&tmp, e))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| EngineError::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.record_path).map_err(|e| EngineError::io(&self.record_path, e))
    }

    pub fn target(&self) -> Result<Box<dyn Target>> {
        Ok(match &self.target {
            SandboxTarget::Tree(dir) => Box::new(FileTreeTarget::new(dir.clone())),
            SandboxTarget::Sqlite(path) => Box::new(SqliteTarget::open(path.clone())?),
            SandboxTarget::Postgres(at) => Box::new(PostgresTarget::open(at.clone())?),
            SandboxTarget::MySql(at) => Box::new(MySqlTarget::open(at.clone())?),
            SandboxTarget::Influx(at) => Box::new(InfluxTarget::open(at.clone())?),
        })
    }

    /// Runs an administrator's check, read-only.
    pub fn query(&self, sql: &str) -> Result<String> {
        match &self.target {
            SandboxTarget::Tree(_) => Err(EngineError::invalid("check", "a file tree has no SQL")),
            SandboxTarget::Sqlite(path) => query_sqlite(path, sql),
            SandboxTarget::Postgres(at) => query_postgres(at, sql),
            SandboxTarget::MySql(at) => query_mysql(at, sql),
            SandboxTarget::Influx(at) => InfluxTarget::open(at.clone())?.check_value(sql),
        }
    }

    /// Removes everything the sandbox made, then its record.
    pub fn remove(&self) -> Result<()> {
        remove_recorded(&self.record)?;
        remove_file(&self.record_path)
    }
}

/// A fresh temporary directory for a throwaway server (kept: the sandbox's
/// record says when to delete it).
fn temp_dir(id: &str) -> Result<PathBuf> {
    Ok(tempfile::Builder::new()
        .prefix(&format!("tidemark-drill-{id}-"))
        .tempdir()
        .map_err(|e| EngineError::io(std::env::temp_dir(), e))?
        .keep())
}

/// A scratch database's name: unique, and plainly a drill's.
fn scratch_name(id: &str) -> String {
    format!("tidemark_drill_{}", id.replace('-', "_").to_lowercase())
}

fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(EngineError::io(path, e)),
        _ => Ok(()),
    }
}

fn remove_recorded(record: &SandboxRecord) -> Result<()> {
    if let Some(server) = &record.server {
        pg_server::stop_and_remove(server)?;
    }
    if let Some(server) = &record.mariadb {
        mariadb_server::stop_and_remove(server)?;
    }
    if let Some(url) = &record.scratch_database {
        match SourceUrl::parse(url)? {
            SourceUrl::Postgres(at) => PostgresTarget::open(at)?.drop_database()?,
            SourceUrl::MySql(at) => {
                MySqlTarget::open(at)?.scratch_database(true)?;
            }
            SourceUrl::Influx(at) => {
                InfluxTarget::open(at)?.scratch_database(true)?;
            }
            _ => {}
        }
    }
    if let Some(dir) = &record.dir {
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(EngineError::io(dir, e))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Removes the sandboxes of drills whose process is gone (killed, or the
/// machine restarted): servers stopped, scratch databases dropped, files
/// deleted. Returns what was removed, in words. Sandboxes of drills still
/// running are left alone.
pub fn sweep_sandboxes(scratch: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(scratch) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(scratch, e)),
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("drill-") {
            continue;
        }
        if name.ends_with(".json.tmp") {
            remove_file(&path)?;
            continue;
        }
        if !name.ends_with(".json") {
            continue;
        }
        let record: SandboxRecord = match std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            Some(record) => record,
            None => {
                tracing::warn!(record = %path.display(), "unreadable drill record left alone");
                continue;
            }
        };
        let alive = record.owner_host != hostname() || !process_is_gone(record.owner_pid);
        if alive {
            continue;
        }
        remove_recorded(&record)?;
        remove_file(&path)?;
        removed.push(format!(
            "the sandbox of a drill started {} by process {}, which no longer runs",
            record.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
            record.owner_pid
        ));
    }
    Ok(removed)
}
