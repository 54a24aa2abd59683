//! Copies a server's binary logs as they are written:
//! `mariadb-binlog --read-from-remote-server --raw --stop-never`, which
//! connects as a replica and writes each file under its own name into a
//! spool directory, flushed as events arrive.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::super::conn::MyLocation;
use crate::error::{EngineError, Result};

pub const PROGRAM: &str = "mariadb-binlog";

/// A running streamer. Dropping it stops the process.
pub struct BinlogStreamer {
    child: Child,
    log: PathBuf,
}

impl BinlogStreamer {
    /// Starts streaming from the beginning of `file` into `spool`.
    /// `replica_id` is the server id it presents: unique per stream, or
    /// the server drops the older connection.
    pub fn start(at: &MyLocation, file: &str, spool: &Path, replica_id: u32) -> Result<Self> {
        let defaults = spool.join(".client.cnf");
        super::write_client_options(&defaults, at)?;
        let log = spool.join(".streamer.log");
        let stderr = std::fs::File::create(&log).map_err(|e| EngineError::io(&log, e))?;
        let child = Command::new(PROGRAM)
            .arg(format!("--defaults-file={}", defaults.display()))
            .args([
                "--read-from-remote-server",
                "--raw",
                "--stop-never",
                "--verify-binlog-checksum",
            ])
            .arg(format!("--host={}", at.host))
            .arg(format!("--port={}", at.port))
            .arg(format!("--user={}", at.user))
            .arg(format!("--stop-never-slave-server-id={replica_id}"))
            // With --raw, a prefix for the files' names: the spool directory.
            .arg(format!("--result-file={}/", spool.display()))
            .arg(file)
            .current_dir(spool)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                EngineError::invalid(
                    PROGRAM,
                    format!("cannot start it ({e}): install mariadb-client"),
                )
            })?;
        Ok(BinlogStreamer { child, log })
    }

    /// `Some(reason)` once the process has ended.
    pub fn ended(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(self.reason(&status.to_string())),
            Err(e) => Some(e.to_string()),
        }
    }

    fn reason(&self, status: &str) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        if last.is_empty() {
            format!("{PROGRAM} stopped ({status})")
        } else {
            format!("{PROGRAM} stopped ({status}): {}", last.trim())
        }
    }

    pub fn stop(&mut self) {
        crate::source::dbio::terminate(&mut self.child);
    }
}

impl Drop for BinlogStreamer {
    fn drop(&mut self) {
        self.stop();
    }
}
