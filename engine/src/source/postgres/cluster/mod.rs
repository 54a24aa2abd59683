//! A whole PostgreSQL cluster, copied physically for point-in-time
//! recovery: base backups with `pg_basebackup`, the write-ahead log
//! streamed with `pg_receivewal`, and recovery by the server itself into a
//! new data directory (see `commands::restore::pg_recovery`).
//!
//! The source URL is `postgres-cluster://user:pass@host:port[/database]`
//! (the database is only where the checks' SQL runs).

pub mod base;
pub mod datadir;
pub mod wal;

use std::io::Read;
use std::sync::{Arc, Mutex};

use sqlx::Row;

use super::binaries::{self, PgBinaries};
use super::conn::{pg_error, PgAccess, PgLocation};
use crate::commands::precheck::{Outcome, PreCheck};
use crate::error::{EngineError, Result};
use crate::repo::manifest::{LogPosition, ObjectEntry, ObjectKind};
use crate::source::dbio::runtime;
use crate::source::{Source, SourceDescription};
use base::{BaseBackupStream, BaseInfo};

/// The source kind recorded in manifests.
pub const KIND: &str = "postgres-cluster";
/// The one object of a cluster point: the base backup as a tar archive.
pub const BASE_OBJECT: &str = "base.tar";
/// The base object's format: pg_basebackup's tar stream.
pub const BASE_FORMAT: &str = "pg_basebackup-tar";

pub fn parse_url(text: &str) -> Result<PgLocation> {
    // The database is optional: the checks' SQL runs in `postgres`.
    let names_database = text
        .split_once("://")
        .is_some_and(|(_, rest)| rest.split(['?', '#']).next().unwrap_or("").contains('/'));
    if names_database {
        PgLocation::parse(text, KIND, &[], 5432, "postgres")
    } else {
        let (base, query) = text.split_at(text.find('?').unwrap_or(text.len()));
        PgLocation::parse(
            &format!("{base}/postgres{query}"),
            KIND,
            &[],
            5432,
            "postgres",
        )
    }
}

/// The replication slot a task streams through.
pub fn slot_name(task: &str) -> String {
    let clean: String = task
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = blake3::hash(task.as_bytes()).to_hex();
    format!("tidemark_{}_{}", &clean[..clean.len().min(40)], &hash[..8])
}

/// What the server says about itself, read once.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    pub version: String,
    pub major: u32,
    pub system_id: u64,
}

pub async fn server_facts(at: &PgLocation) -> Result<ServerFacts> {
    let mut conn = at.connect().await?;
    let row = sqlx::query(
        "SELECT current_setting('server_version'), current_setting('server_version_num')::int, \
         (SELECT system_identifier::text FROM pg_control_system())",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| pg_error(at, "read the settings of", e))?;
    let version: String = row.get(0);
    let num: i32 = row.get(1);
    let sysid: String = row.get(2);
    Ok(ServerFacts {
        version,
        major: (num / 10000) as u32,
        system_id: sysid.parse().unwrap_or(0),
    })
}

/// Creates the task's replication slot unless it exists, reserving WAL at
/// once: from then on the server keeps every segment until the archiver
/// has streamed it, so a base backup taken after this call is always
/// followed by its WAL, and a streamer that starts later (or restarts from
/// a segment it had begun) still finds it. (`pg_receivewal --create-slot`
/// does not reserve: its slot holds nothing until the first stream.)
pub async fn reserve_slot(at: &PgLocation, slot: &str) -> Result<()> {
    async fn exists(conn: &mut sqlx::PgConnection, slot: &str) -> sqlx::Result<bool> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
        )
        .bind(slot)
        .fetch_one(conn)
        .await
    }
    let mut conn = at.connect().await?;
    let doing = format!("create the replication slot {slot} on");
    if exists(&mut conn, slot)
        .await
        .map_err(|e| pg_error(at, &doing, e))?
    {
        return Ok(());
    }
    let created = sqlx::query("SELECT pg_create_physical_replication_slot($1, true)")
        .bind(slot)
        .execute(&mut conn)
        .await;
    match created {
        Ok(_) => Ok(()),
        // Created meanwhile by the archiver or a backup of the same task.
        Err(_) if exists(&mut conn, slot).await.unwrap_or(false) => Ok(()),
        Err(e) => Err(pg_error(at, &doing, e)),
    }
}

/// The machine's tools for this server's major version.
pub fn tools_for(major: u32) -> Result<PgBinaries> {
    binaries::exact(major).map_err(|m| EngineError::invalid("PostgreSQL tools", m))
}

/// What physical backups and WAL streaming need of a server; each failing
/// item says what to change.
pub async fn cluster_checks(at: &PgLocation) -> Vec<PreCheck> {
    let mut checks = Vec::new();
    let fail = |name, detail: String| PreCheck::new(name, Outcome::Fail, detail);
    let facts = match server_facts(at).await {
        Ok(f) => f,
        Err(e) => return vec![fail("connection", e.to_string())],
    };
    checks.push(PreCheck::new(
        "connection",
        Outcome::Pass,
        format!("{} answers (PostgreSQL {})", at.display(), facts.version),
    ));
    let settings = async {
        let mut conn = at.connect().await?;
        let row = sqlx::query(
            "SELECT current_setting('wal_level'), current_setting('max_wal_senders')::int, \
             current_setting('max_replication_slots')::int, \
             (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user), \
             (SELECT count(*) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global'))",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| pg_error(at, "read the settings of", e))?;
        Ok::<_, EngineError>((
            row.get::<String, _>(0),
            row.get::<i32, _>(1),
            row.get::<i32, _>(2),
            row.get::<Option<bool>, _>(3).unwrap_or(false),
            row.get::<i64, _>(4),
        ))
    }
    .await;
    let (wal_level, senders, slots, replication, tablespaces) = match settings {
        Ok(s) => s,
        Err(e) => {
            checks.push(fail("settings", e.to_string()));
            return checks;
        }
    };
    checks.push(if wal_level == "replica" || wal_level == "logical" {
        PreCheck::new("wal_level", Outcome::Pass, format!("wal_level is {wal_level}"))
    } else {
        fail(
            "wal_level",
            format!("wal_level is {wal_level}: set wal_level = replica in postgresql.conf and restart the server"),
        )
    });
    checks.push(if senders >= 2 {
        PreCheck::new("max_wal_senders", Outcome::Pass, format!("max_wal_senders is {senders}"))
    } else {
        fail(
            "max_wal_senders",
            format!("max_wal_senders is {senders}: the WAL stream and a base backup need two; set max_wal_senders = 10 and restart the server"),
        )
    });
    checks.push(if slots >= 1 {
        PreCheck::new(
            "max_replication_slots",
            Outcome::Pass,
            format!("max_replication_slots is {slots}"),
        )
    } else {
        fail(
            "max_replication_slots",
            "max_replication_slots is 0: set max_replication_slots = 10 and restart the server"
                .into(),
        )
    });
    checks.push(if replication {
        PreCheck::new(
            "privileges",
            Outcome::Pass,
            format!("{} may replicate", at.user),
        )
    } else {
        fail(
            "privileges",
            format!(
                "{0} may not open replication connections: ALTER ROLE {0} REPLICATION",
                super::conn::quote_ident(&at.user)
            ),
        )
    });
    checks.push(if tablespaces == 0 {
        PreCheck::new("tablespaces", Outcome::Pass, "the cluster keeps its data in its data directory")
    } else {
        fail(
            "tablespaces",
            format!("the cluster has {tablespaces} tablespace(s) outside its data directory: a streamed base backup holds one; physical recovery of clusters with tablespaces is not supported"),
        )
    });
    match tools_for(facts.major) {
        Err(e) => checks.push(fail("tools", e.to_string())),
        Ok(bin) => {
            let missing: Vec<&str> = ["pg_basebackup", "pg_receivewal", "pg_waldump", "psql"]
                .into_iter()
                .filter(|t| !bin.bin.join(t).exists())
                .collect();
            if !missing.is_empty() {
                checks.push(fail(
                    "tools",
                    format!(
                        "{} missing from {}: install postgresql-{}",
                        missing.join(", "),
                        bin.bin.display(),
                        facts.major
                    ),
                ));
            } else {
                checks.push(PreCheck::new(
                    "tools",
                    Outcome::Pass,
                    format!("PostgreSQL {} tools in {}", facts.major, bin.bin.display()),
                ));
                checks.push(replication_connection(&bin, at));
            }
        }
    }
    checks
}

/// Opens a replication connection (what pg_hba.conf must allow, besides
/// the normal one) and asks the server who it is.
fn replication_connection(bin: &PgBinaries, at: &PgLocation) -> PreCheck {
    let out = std::process::Command::new(bin.bin.join("psql"))
        .envs(at.libpq_env())
        .args([
            "-X",
            "-A",
            "-t",
            "-w",
            "-d",
            "replication=true",
            "-c",
            "IDENTIFY_SYSTEM",
        ])
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => PreCheck::new(
            "replication connection",
            Outcome::Pass,
            "the server accepts replication connections from here",
        ),
        Ok(out) => PreCheck::new(
            "replication connection",
            Outcome::Fail,
            format!(
                "the server refused a replication connection ({}): add a line `host replication {} <this host>/32 scram-sha-256` to pg_hba.conf and reload",
                String::from_utf8_lossy(&out.stderr).trim(),
                at.user
            ),
        ),
        Err(e) => PreCheck::new("replication connection", Outcome::Fail, format!("cannot run psql: {e}")),
    }
}

/// A cluster as a backup source: one object, the base backup.
pub struct PgClusterSource {
    at: PgLocation,
    facts: ServerFacts,
    bin: PgBinaries,
    found: Arc<Mutex<Option<BaseInfo>>>,
}

impl PgClusterSource {
    pub fn new(at: PgLocation) -> Result<Self> {
        let facts = runtime()?.block_on(server_facts(&at))?;
        let bin = tools_for(facts.major)?;
        Ok(PgClusterSource {
            at,
            facts,
            bin,
            found: Arc::new(Mutex::new(None)),
        })
    }
}

impl Source for PgClusterSource {
    fn url(&self) -> String {
        self.at.display()
    }

    fn name(&self) -> String {
        format!("cluster-{}", self.at.port)
    }

    fn describe(&self) -> Result<SourceDescription> {
        let size = runtime()?.block_on(async {
            let mut conn = self.at.connect().await?;
            sqlx::query_scalar::<_, i64>(
                "SELECT sum(pg_database_size(oid))::bigint FROM pg_database",
            )
            .fetch_one(&mut conn)
            .await
            .map_err(|e| pg_error(&self.at, "measure", e))
        })?;
        let mut entry = ObjectEntry::new(BASE_OBJECT, ObjectKind::File);
        // An estimate: the tar is measured as pg_basebackup writes it.
        entry.size = size.max(0) as u64;
        entry.format = Some(BASE_FORMAT.into());
        Ok(SourceDescription {
            kind: KIND.into(),
            server_version: Some(self.facts.version.clone()),
            objects: vec![entry],
        })
    }

    fn final_log_position(&self) -> Result<Option<LogPosition>> {
        let found = self.found.lock().ok().and_then(|f| f.clone());
        match found {
            Some(info) => info
                .position(Some(self.facts.system_id))
                .map(Some)
                .ok_or_else(|| {
                    EngineError::corrupt(
                        format!("base backup of {}", self.at.display()),
                        "its backup_label or backup_manifest gives no WAL range",
                    )
                }),
            None => Ok(None),
        }
    }

    fn open(&self, object: &ObjectEntry) -> Result<Box<dyn Read + Send + '_>> {
        if object.name != BASE_OBJECT {
            return Err(EngineError::invalid(
                format!("object {}", object.name),
                "a cluster has one object, base.tar",
            ));
        }
        Ok(Box::new(BaseBackupStream::start(
            &self.bin.bin.join("pg_basebackup"),
            &self.at,
            self.found.clone(),
        )?))
    }
}

/// A free loopback port for a private server.
pub fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| EngineError::io("127.0.0.1:0", e))
}
