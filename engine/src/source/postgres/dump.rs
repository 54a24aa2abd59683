//! The structure of a database, as `pg_dump` writes it, in the snapshot.

use std::io::Read;
use std::process::{Child, ChildStdout, Command, Stdio};

use super::conn::{PgAccess, PgLocation};
use crate::error::{EngineError, Result};

/// pg_dump's standard output; its exit status is checked at the end, so a
/// failed dump is an error, never a short structure.
pub struct PgDump {
    child: Child,
    stdout: ChildStdout,
    section: &'static str,
    at: String,
}

impl PgDump {
    pub fn start(at: &PgLocation, snapshot: &str, section: &'static str) -> Result<Self> {
        let mut child = Command::new("pg_dump")
            .args([
                "--schema-only",
                "--no-owner",
                "--no-privileges",
                "--section",
                section,
                "--snapshot",
                snapshot,
            ])
            .envs(at.libpq_env())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| EngineError::io("pg_dump (install PostgreSQL's client tools)", e))?;
        let stdout = child.stdout.take().ok_or_else(|| EngineError::Database {
            what: format!("dump the structure of {}", at.display()),
            detail: "pg_dump gave no output stream".into(),
        })?;
        Ok(PgDump {
            child,
            stdout,
            section,
            at: at.display(),
        })
    }
}

impl Read for PgDump {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.stdout.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let mut stderr = String::new();
            if let Some(mut err) = self.child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            let status = self.child.wait()?;
            if !status.success() {
                return Err(std::io::Error::other(format!(
                    "pg_dump --section {} of {} failed ({status}): {}",
                    self.section,
                    self.at,
                    stderr.trim()
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for PgDump {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
