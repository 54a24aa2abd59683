//! Applies archived binary log events to a target database:
//! `mariadb-binlog` decodes the files (row events as `BINLOG` statements,
//! exact images of the rows), the `mariadb` client runs them.
//!
//! The events' GTIDs and server id are not replayed: the target logs the
//! replay as its own new transactions, so its GTID history and its
//! replicas stay consistent (and no SUPER privilege is needed).

use std::io::{BufRead, BufReader, Write};
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

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplayStats {
    pub transactions: u64,
    /// Row changes applied (inserted, updated and deleted rows).
    pub rows: u64,
    /// Per table: rows inserted minus rows deleted.
    pub net_rows: std::collections::BTreeMap<String, i64>,
    #[serde(skip)]
    tables: std::collections::HashMap<u64, String>,
    #[serde(skip)]
    pending: Option<(i64, u64)>,
}

/// Something that applies a range of binary log events to a target.
pub trait Replayer {
    fn replay(
        &self,
        range: &ReplayRange,
        target: &MyLocation,
        cancel: &CancelToken,
    ) -> Result<ReplayStats>;
}

/// `mariadb-binlog … | mariadb`, with the GTID session settings dropped.
pub struct ClientReplayer {
    /// A directory for the client's option file (holds the password).
    pub work_dir: PathBuf,
}

impl Replayer for ClientReplayer {
    fn replay(
        &self,
        range: &ReplayRange,
        target: &MyLocation,
        cancel: &CancelToken,
    ) -> Result<ReplayStats> {
        let cnf = self.work_dir.join("replay.cnf");
        super::write_client_options(&cnf, target)?;

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
            .map_err(|e| {
                EngineError::invalid(
                    "mariadb-binlog",
                    format!("cannot start it ({e}): install mariadb-client"),
                )
            })?;
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
            .map_err(|e| {
                EngineError::invalid(
                    "mariadb",
                    format!("cannot start it ({e}): install mariadb-client"),
                )
            })?;

        let (Some(out), Some(input)) = (decoder.stdout.take(), client.stdin.take()) else {
            return Err(EngineError::invalid(
                "replay",
                "the decoder's pipes are missing",
            ));
        };
        // One write per line would be a system call per line of decoded log.
        let mut input = std::io::BufWriter::with_capacity(1 << 20, input);
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
            // The events must name the target database, whatever the
            // decoder did with the rename: stop before one that does not.
            if let Some(named) = database_named(&line) {
                if named != database {
                    copied = Err(format!(
                        "an event names database {named}, not the target {database}; stopped before applying it"
                    ));
                    let _ = client.kill();
                    break;
                }
            }
            if let Err(e) = input.write_all(&line) {
                copied = Err(e.to_string());
                break;
            }
        }
        if copied.is_ok() && !cancel.is_cancelled() {
            if let Err(e) = input.flush() {
                copied = Err(e.to_string());
            }
        }
        drop(input);
        if cancel.is_cancelled() {
            let _ = decoder.kill();
            let _ = client.kill();
        }
        let decoded = decoder
            .wait_with_output()
            .map_err(|e| EngineError::invalid("mariadb-binlog", e.to_string()))?;
        let applied = client
            .wait_with_output()
            .map_err(|e| EngineError::invalid("mariadb", e.to_string()))?;
        cancel.check()?;
        let failed = |what: &str, err: &[u8]| EngineError::RestoreFailed {
            object: format!("binary log replay into {}", target.display()),
            message: format!("{what}: {}", String::from_utf8_lossy(err).trim()),
        };
        if !applied.status.success() {
            return Err(failed("the target refused an event", &applied.stderr));
        }
        if !decoded.status.success() {
            return Err(failed(
                "mariadb-binlog could not decode the archived logs",
                &decoded.stderr,
            ));
        }
        if let Err(e) = copied {
            return Err(failed("the replay stopped", e.as_bytes()));
        }
        Ok(stats)
    }
}

/// The database a `Table_map` comment or a `use` statement names.
fn database_named(line: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?.trim_end();
    let quoted = if let Some(rest) = text.strip_prefix("use `") {
        rest.strip_suffix("`/*!*/;")?
    } else if text.starts_with('#') {
        let (_, map) = text.split_once("\tTable_map: `")?;
        map.split_once("`.`")?.0
    } else {
        return None;
    };
    Some(quoted.replace("``", "`"))
}

/// `SET @@session.gtid_seq_no=…` and its siblings, as mariadb-binlog prints them.
fn is_gtid_setting(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    let text = text.trim_end();
    ["gtid_domain_id=", "server_id=", "gtid_seq_no="]
        .iter()
        .any(|name| {
            text.strip_prefix("/*M!100001 SET @@session.")
                .and_then(|rest| rest.strip_prefix(name))
                .and_then(|rest| rest.strip_suffix("*//*!*/;"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Reads mariadb-binlog's comments: GTIDs, table maps, row events and
/// their row counts.
fn count(line: &[u8], stats: &mut ReplayStats) {
    if !line.starts_with(b"#") {
        return;
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return;
    };
    let text = text.trim_end();
    if let Some(rest) = text.strip_prefix("# Number of rows: ") {
        let rows: u64 = rest.trim().parse().unwrap_or(0);
        stats.rows += rows;
        if let Some((sign, id)) = stats.pending.take() {
            if let Some(table) = stats.tables.get(&id) {
                *stats.net_rows.entry(table.clone()).or_default() += sign * rows as i64;
            }
        }
        return;
    }
    let Some((_, event)) = text.split_once('\t') else {
        return;
    };
    if event.starts_with("GTID ") {
        stats.transactions += 1;
    } else if let Some(map) = event.strip_prefix("Table_map: `") {
        // `db`.`table` mapped to number 18
        if let Some((name, id)) = map.rsplit_once("` mapped to number ") {
            let table = name.split_once("`.`").map_or(name, |(_, t)| t);
            if let Ok(id) = id.trim().parse() {
                stats.tables.insert(id, table.to_owned());
            }
        }
    } else if let Some((kind, rest)) = event.split_once(": table id ") {
        let sign = if kind.starts_with("Write_rows") {
            1
        } else if kind.starts_with("Delete_rows") {
            -1
        } else {
            0
        };
        let id = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        stats.pending = id.map(|id| (sign, id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_gtid_settings_are_dropped() {
        assert!(is_gtid_setting(
            b"/*M!100001 SET @@session.gtid_seq_no=7*//*!*/;\n"
        ));
        assert!(is_gtid_setting(
            b"/*M!100001 SET @@session.server_id=7*//*!*/;\n"
        ));
        assert!(!is_gtid_setting(
            b"/*M!100101 SET @@session.skip_parallel_replication=0*//*!*/;\n"
        ));
        assert!(!is_gtid_setting(
            b"/*M!100001 SET @@session.gtid_seq_no=7; DROP TABLE x*//*!*/;\n"
        ));
        assert_eq!(
            database_named(b"#261201 18:05:41 server id 7  end_log_pos 1371 CRC32 0x1 \tTable_map: `c d`.`t` mapped to number 18\n"),
            Some("c d".into())
        );
        assert_eq!(database_named(b"use `a``b`/*!*/;\n"), Some("a`b".into()));
        assert_eq!(database_named(b"INSERT INTO t VALUES (1)\n"), None);
        let mut stats = ReplayStats::default();
        for line in [
            "#261201 18:05:41 server id 7  end_log_pos 1252 CRC32 0x02993d8a \tGTID 0-7-7 trans\n",
            "#261201 18:05:41 server id 7  end_log_pos 1371 CRC32 0x1 \tTable_map: `a`.`t w` mapped to number 18\n",
            "#261201 18:05:41 server id 7  end_log_pos 1428 CRC32 0x83f37dac \tWrite_rows: table id 18 flags: STMT_END_F\n",
            "# Number of rows: 2\n",
            "#261201 18:05:41 server id 7  end_log_pos 1428 CRC32 0x83f37dac \tDelete_rows: table id 18 flags: STMT_END_F\n",
            "# Number of rows: 1\n",
        ] {
            count(line.as_bytes(), &mut stats);
        }
        assert_eq!((stats.transactions, stats.rows), (1, 3));
        assert_eq!(stats.net_rows.get("t w"), Some(&1));
    }
}
