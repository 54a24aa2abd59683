//! A throwaway PostgreSQL server for drills: the machine's installed
//! binaries (`initdb`, `pg_ctl`), a fresh cluster in a temporary directory,
//! a free loopback port, a random password. Stopped and deleted after the
//! drill, or by the next sweep if the drill's process died.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::source::postgres::binaries::{installed, is_root, run_as_server as run, INSTALL_ROOT};
pub(super) use crate::source::postgres::binaries::{major_of, PgBinaries};

/// The oldest installed version that can load a backup of `backup_major`
/// (the same or newer), or why there is none.
pub(super) fn binaries_for(backup_major: Option<u32>) -> std::result::Result<PgBinaries, String> {
    let all = installed();
    let newest = all.last().map(|b| b.major);
    all.into_iter()
        .find(|b| backup_major.is_none_or(|m| b.major >= m))
        .ok_or_else(|| match (newest, backup_major) {
            (None, _) => format!(
                "no PostgreSQL server binaries under {INSTALL_ROOT} (install the postgresql package, or give a drill server)"
            ),
            (Some(newest), Some(m)) => format!(
                "the point was taken from PostgreSQL {m}; the newest installed here is {newest} (install postgresql-{m} or newer, or give a drill server)"
            ),
            (Some(_), None) => unreachable!("any version fits when the backup's is unknown"),
        })
}

/// What a sweep needs to stop a server whose drill died.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ServerRecord {
    pub bin: PathBuf,
    /// The temporary directory: the cluster in `data/`, the socket, the log.
    pub dir: PathBuf,
}

/// A running throwaway server.
pub(super) struct PgServer {
    pub port: u16,
    pub password: String,
}

fn text(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| {
        EngineError::invalid(
            "drill directory",
            format!("{} is not UTF-8", path.display()),
        )
    })
}

fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| EngineError::io("127.0.0.1:0", e))
}

impl PgServer {
    /// Creates the cluster in `record.dir` (which exists and is empty) and
    /// starts it.
    pub fn start(record: ServerRecord, cancel: &crate::CancelToken) -> Result<PgServer> {
        let password = crate::repo::random_hex(16);
        let data = record.dir.join("data");
        let pwfile = record.dir.join("pw");
        std::fs::write(&pwfile, &password).map_err(|e| EngineError::io(&pwfile, e))?;
        if is_root() {
            let out = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&record.dir)
                .output()
                .map_err(|e| EngineError::io("chown", e))?;
            if !out.status.success() {
                return Err(failed("prepare the drill directory", &out));
            }
        }
        let out = run(
            &record.bin.join("initdb"),
            &[
                "-D",
                text(&data)?,
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--pwfile",
                text(&pwfile)?,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        let _ = std::fs::remove_file(&pwfile);
        if !out.status.success() {
            return Err(failed(
                "create the drill's PostgreSQL cluster (initdb)",
                &out,
            ));
        }
        let log = record.dir.join("log");
        let mut last = String::new();
        // A port can be taken between choosing and binding: try a few.
        for _ in 0..5 {
            cancel.check()?;
            let port = free_port()?;
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                text(&record.dir)?
            );
            let out = run(
                &record.bin.join("pg_ctl"),
                &[
                    "-D",
                    text(&data)?,
                    "-l",
                    text(&log)?,
                    "-o",
                    &options,
                    "-w",
                    "start",
                ],
            )?;
            if out.status.success() {
                return Ok(PgServer { port, password });
            }
            last = std::fs::read_to_string(&log).unwrap_or_default();
        }
        Err(EngineError::Database {
            what: "start the drill's PostgreSQL server".into(),
            detail: last.lines().last().unwrap_or("no log").to_owned(),
        })
    }

    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }
}

fn failed(what: &str, out: &Output) -> EngineError {
    EngineError::Database {
        what: what.into(),
        detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    }
}

/// Stops the server (immediately: its data is thrown away) and deletes its
/// directory, after ending anything else still running from it (an
/// `initdb` a killed drill left). A server that is not running is fine.
pub(super) fn stop_and_remove(record: &ServerRecord) -> Result<()> {
    let data = record.dir.join("data");
    if data.join("postmaster.pid").exists() {
        // A clean immediate stop first; whatever stays is killed below.
        let _ = run(
            &record.bin.join("pg_ctl"),
            &["-D", text(&data)?, "-m", "immediate", "-w", "stop"],
        );
    }
    super::processes::kill_all_naming(&record.dir);
    match std::fs::remove_dir_all(&record.dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(EngineError::io(&record.dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_server_version() {
        assert_eq!(major_of("16.4 (Debian 16.4-1.pgdg120+1)"), Some(16));
        assert_eq!(major_of("9.6.24"), Some(9));
        assert_eq!(major_of("devel"), None);
    }
}
