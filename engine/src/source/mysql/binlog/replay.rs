//! Applies archived binary log events to a target database:
//! `mariadb-binlog` decodes the files (row events as `BINLOG` statements,
//! exact images of the rows), the `mariadb` client runs them.
//!
//! The events' GTIDs and server id are not replayed: the target logs the
//! replay as its own new transactions, so its GTID history and its
//! replicas stay consistent (and no SUPER privilege is needed).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::super::conn::MyLocation;
use crate::error::{EngineError, Result};
use crate::progress::CancelToken;

/// What to replay: `files` in order, from `start` in the first to just
/// before `stop` in the last, only the events of `database`.
#[derive(Debug, Clone)]
pub struct ReplayRange {
    pub files: Vec<PathBuf>,
    pub start: u64,
    pub stop: u64,
    pub database: String,
    /// Apply them to this database instead (a restore under a new name).
    pub rewrite_to: Option<String>,
    /// Only this table's row events.
    pub table: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub transactions: u64,
    pub rows: u64,
}

/// Something that applies a range of binary log events to a target.
pub trait Replayer {
    fn replay(&self, range: &ReplayRange, target: &MyLocation, cancel: &CancelToken) -> Result<ReplayStats>;
}

/// `mariadb-binlog … | mariadb`, with the GTID session settings dropped.
pub struct ClientReplayer {
    /// A directory for the client's option file (holds the password).
    pub work_dir: PathBuf,
}

impl Replayer for ClientReplayer {
    fn replay(&self, range: &ReplayRange, target: &MyLocation, cancel: &CancelToken) -> Result<ReplayStats> {
        let cnf = self.work_dir.join("replay.cnf");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&cnf)
            .map_err(|e| EngineError::io(&cnf, e))?;
        let password = target.password().unwrap_or_default().replace('\\', "\\\\").replace('"', "\\\"");
        writeln!(file, "[client]\npassword=\"{password}\"").map_err(|e| EngineError::io(&cnf, e))?;
        drop(file);

        let mut decode = Command::new("mariadb-binlog");
        decode
            .arg("--no-defaults")
            .arg(format!("--start-position={}", range.start))
            .arg(format!("--stop-position={}", range.stop))
            .arg(format!("--database={}", range.database));
        if let Some(to) = &range.rewrite_to {
            decode.arg(format!("--rewrite-db={}->{to}", range.database));
        }
        if let Some(table) = &range.table {
            decode.arg(format!("--table={table}"));
        }
        let mut decoder = decode
            .args(&range.files)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| EngineError::invalid("mariadb-binlog", format!("cannot start it ({e}): install mariadb-client")))?;
        let database = range.rewrite_to.as_deref().unwrap_or(&range.database);
        let mut client = Command::new("mariadb")
            .arg(format!("--defaults-file={}", cnf.display()))
            .arg(format!("--host={}", target.host))
            .arg(format!("--port={}", target.port))
            .arg(format!("--user={}", target.user))
            .arg(format!("--database={database}"))
            .args(["--binary-mode", "--batch", "--silent"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| EngineError::invalid("mariadb", format!("cannot start it ({e}): install mariadb-client")))?;

        let (Some(out), Some(mut input)) = (decoder.stdout.take(), client.stdin.take()) else {
            return Err(EngineError::invalid("replay", "the decoder's pipes are missing"));
        };
        let mut stats = ReplayStats::default();
        let mut copied = Ok(());
        let mut reader = BufReader::with_capacity(1 << 20, out);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    copied = Err(e.to_string());
                    break;
                }
            }
            if cancel.is_cancelled() {
                break;
            }
            count(&line, &mut stats);
            if is_gtid_setting(&line) {
                continue;
            }
            if let Err(e) = input.write_all(&line) {
                copied = Err(e.to_string());
                break;
            }
        }
        drop(input);
        if cancel.is_cancelled() {
            let _ = decoder.kill();
            let _ = client.kill();
        }
        let decoded = decoder.wait_with_output().map_err(|e| EngineError::invalid("mariadb-binlog", e.to_string()))?;
        let applied = client.wait_with_output().map_err(|e| EngineError::invalid("mariadb", e.to_string()))?;
        cancel.check()?;
        let failed = |what: &str, err: &[u8]| EngineError::RestoreFailed {
            object: format!("binary log replay into {}", target.display()),
            message: format!("{what}: {}", String::from_utf8_lossy(err).trim()),
        };
        if !applied.status.success() {
            return Err(failed("the target refused an event", &applied.stderr));
        }
        if !decoded.status.success() {
            return Err(failed("mariadb-binlog could not decode the archived logs", &decoded.stderr));
        }
        if let Err(e) = copied {
            return Err(failed("the replay stopped", e.as_bytes()));
        }
        Ok(stats)
    }
}

/// `SET @@session.gtid_seq_no=…` and its siblings, as mariadb-binlog prints them.
fn is_gtid_setting(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    let text = text.trim_end();
    ["gtid_domain_id=", "server_id=", "gtid_seq_no="].iter().any(|name| {
        text.strip_prefix("/*M!100001 SET @@session.")
            .and_then(|rest| rest.strip_prefix(name))
            .and_then(|rest| rest.strip_suffix("*//*!*/;"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn count(line: &[u8], stats: &mut ReplayStats) {
    if line.starts_with(b"#") {
        if line.windows(6).any(|w| w == b"\tGTID ") {
            stats.transactions += 1;
        } else if let Some(rest) = line.strip_prefix(b"# Number of rows: ") {
            stats.rows += std::str::from_utf8(rest)
                .ok()
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_gtid_settings_are_dropped() {
        assert!(is_gtid_setting(b"/*M!100001 SET @@session.gtid_seq_no=7*//*!*/;\n"));
        assert!(is_gtid_setting(b"/*M!100001 SET @@session.server_id=7*//*!*/;\n"));
        assert!(!is_gtid_setting(b"/*M!100101 SET @@session.skip_parallel_replication=0*//*!*/;\n"));
        assert!(!is_gtid_setting(b"/*M!100001 SET @@session.gtid_seq_no=7; DROP TABLE x*//*!*/;\n"));
        let mut stats = ReplayStats::default();
        count(b"#261201 18:05:41 server id 7  end_log_pos 1252 CRC32 0x02993d8a \tGTID 0-7-7 trans\n", &mut stats);
        count(b"# Number of rows: 2\n", &mut stats);
        assert_eq!(stats, ReplayStats { transactions: 1, rows: 2 });
    }
}
