//! MariaDB binary logs for point-in-time recovery: the server settings it
//! needs, the coordinates of a snapshot, the streamer that copies the logs
//! as they are written and the replayer that applies them to a target.
//!
//! The server's own tools do the parts where they are the reliable way
//! (`mariadb-binlog` streams and decodes), behind [`BinlogStreamer`] and
//! [`Replayer`], so a native client can replace them later.

pub mod events;
mod replay;
mod stream;

use sqlx::mysql::MySqlConnection;

pub use events::{Gtid, Scanner};
pub use replay::{ClientReplayer, ReplayRange, ReplayStats, Replayer};
pub use stream::BinlogStreamer;

use super::conn::{connect, my_error, MyLocation};
use crate::commands::precheck::{Outcome, PreCheck};
use crate::error::{EngineError, Result};

/// An option file (`--defaults-file`) holding `at`'s password for the
/// server's client programs: readable by this user only, and never on a
/// command line where `ps` shows it.
pub(crate) fn write_client_options(path: &std::path::Path, at: &MyLocation) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| EngineError::io(path, e))?;
    let password = at
        .password()
        .unwrap_or_default()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    writeln!(file, "[client]\npassword=\"{password}\"").map_err(|e| EngineError::io(path, e))
}

/// The server's binary logs, oldest first, with their sizes.
pub async fn binary_logs(
    conn: &mut MySqlConnection,
    at: &MyLocation,
) -> Result<Vec<(String, u64)>> {
    let rows: Vec<(String, u64)> = sqlx::query_as("SHOW BINARY LOGS")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| my_error(at, "list the binary logs of", e))?;
    Ok(rows)
}

/// Where the server is writing now: file and size.
pub async fn current_position(
    conn: &mut MySqlConnection,
    at: &MyLocation,
) -> Result<Option<(String, u64)>> {
    let logs = binary_logs(conn, at).await?;
    Ok(logs.into_iter().last())
}

/// Opens a connection for the archiver's own questions.
pub async fn open(at: &MyLocation) -> Result<MySqlConnection> {
    connect(at, false).await
}

async fn variable(
    conn: &mut MySqlConnection,
    at: &MyLocation,
    name: &str,
) -> Result<Option<String>> {
    let row: Option<(String, String)> =
        sqlx::query_as("SHOW GLOBAL VARIABLES WHERE Variable_name = ?")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| my_error(at, "read the settings of", e))?;
    Ok(row.map(|(_, v)| v))
}

/// What point-in-time recovery needs of the source server, each failing
/// item with the setting to change.
pub async fn archive_checks(at: &MyLocation) -> Vec<PreCheck> {
    let mut conn = match connect(at, false).await {
        Ok(conn) => conn,
        Err(err) => {
            return vec![PreCheck::new(
                "source reachable",
                Outcome::Fail,
                err.to_string(),
            )]
        }
    };
    match checks_on(&mut conn, at).await {
        Ok(checks) => checks,
        Err(err) => vec![PreCheck::new(
            "binary log settings",
            Outcome::Fail,
            err.to_string(),
        )],
    }
}

async fn checks_on(conn: &mut MySqlConnection, at: &MyLocation) -> Result<Vec<PreCheck>> {
    let mut checks = Vec::new();
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| my_error(at, "read the version of", e))?;
    if !version.contains("MariaDB") {
        checks.push(PreCheck::new(
            "MariaDB server",
            Outcome::Fail,
            format!("{version} is MySQL: its consistent snapshot reports no binary log position, so a backup point cannot be matched to the log; point-in-time recovery needs MariaDB"),
        ));
        return Ok(checks);
    }
    checks.push(PreCheck::new("MariaDB server", Outcome::Pass, version));
    let get = |v: Option<String>| v.unwrap_or_default();
    let log_bin = get(variable(conn, at, "log_bin").await?);
    if log_bin != "ON" {
        checks.push(PreCheck::new(
            "binary logging",
            Outcome::Fail,
            "binary logging is off: set log_bin=mysql-bin (and a server_id) in the [mariadbd] section and restart the server",
        ));
        return Ok(checks);
    }
    checks.push(PreCheck::new(
        "binary logging",
        Outcome::Pass,
        "log_bin is ON",
    ));
    let server_id = get(variable(conn, at, "server_id").await?);
    checks.push(if server_id == "0" || server_id.is_empty() {
        PreCheck::new(
            "server id",
            Outcome::Fail,
            "server_id is 0: set server_id to a number unique among your servers",
        )
    } else {
        PreCheck::new(
            "server id",
            Outcome::Pass,
            format!("server_id = {server_id}"),
        )
    });
    let format = get(variable(conn, at, "binlog_format").await?);
    checks.push(if format == "ROW" {
        PreCheck::new("row format", Outcome::Pass, "binlog_format = ROW")
    } else {
        PreCheck::new(
            "row format",
            Outcome::Fail,
            format!("binlog_format is {format}: set binlog_format=ROW (SET GLOBAL binlog_format='ROW' and in the configuration file), so every change is logged as the rows it made"),
        )
    });
    let image = get(variable(conn, at, "binlog_row_image").await?);
    checks.push(if image == "FULL" {
        PreCheck::new("full row images", Outcome::Pass, "binlog_row_image = FULL")
    } else {
        PreCheck::new(
            "full row images",
            Outcome::Fail,
            format!("binlog_row_image is {image}: set binlog_row_image=FULL (SET GLOBAL binlog_row_image='FULL' and in the configuration file)"),
        )
    });
    let expire: u64 = get(variable(conn, at, "binlog_expire_logs_seconds").await?)
        .parse()
        .unwrap_or(0);
    checks.push(match expire {
        0 => PreCheck::new("log retention", Outcome::Pass, "binary logs are kept until purged (binlog_expire_logs_seconds = 0)"),
        s if s < 3600 => PreCheck::new(
            "log retention",
            Outcome::Fail,
            format!("binary logs are purged after {s} s: an archiver down for longer leaves a hole; set binlog_expire_logs_seconds to at least 86400"),
        ),
        s if s < 86400 => PreCheck::new(
            "log retention",
            Outcome::Warn,
            format!("binary logs are purged after {} h: an archiver down for longer leaves a hole; binlog_expire_logs_seconds = 86400 or more is safer", s / 3600),
        ),
        s => PreCheck::new("log retention", Outcome::Pass, format!("binary logs are kept {} days", s / 86400)),
    });
    let grants: Vec<String> = sqlx::query_scalar("SHOW GRANTS")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| my_error(at, "read the privileges on", e))?;
    checks.push(privilege_check(&grants, &at.user));
    Ok(checks)
}

/// What replaying row events into `target` needs: the decoder and client
/// programs, and BINLOG REPLAY (the `BINLOG` statements) for the account.
pub fn replay_checks(target: &MyLocation) -> PreCheck {
    for program in ["mariadb-binlog", "mariadb"] {
        let found = std::process::Command::new(program)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok();
        if !found {
            return PreCheck::new(
                "log replay",
                Outcome::Fail,
                format!("{program} is not installed (install mariadb-client)"),
            );
        }
    }
    let grants = crate::source::dbio::runtime().and_then(|rt| {
        rt.block_on(async {
            let mut conn = connect(target, false).await?;
            sqlx::query_scalar::<_, String>("SHOW GRANTS")
                .fetch_all(&mut conn)
                .await
                .map_err(|e| my_error(target, "read the privileges on", e))
        })
    });
    let grants = match grants {
        Ok(grants) => grants,
        Err(err) => return PreCheck::new("log replay", Outcome::Fail, err.to_string()),
    };
    let allowed = grants.iter().filter(|g| g.contains(" ON *.* ")).any(|g| {
        let g = g.to_uppercase();
        g.contains("ALL PRIVILEGES") || g.contains("BINLOG REPLAY") || g.contains("SUPER")
    });
    if allowed {
        PreCheck::new(
            "log replay",
            Outcome::Pass,
            format!("{} may apply row events", target.user),
        )
    } else {
        PreCheck::new(
            "log replay",
            Outcome::Fail,
            format!(
                "{} lacks BINLOG REPLAY, which applying the log's row events needs: GRANT BINLOG REPLAY ON *.* TO '{}'@'<host>'",
                target.user, target.user
            ),
        )
    }
}

/// REPLICATION SLAVE to stream the logs, BINLOG MONITOR to list them.
fn privilege_check(grants: &[String], user: &str) -> PreCheck {
    let global: Vec<String> = grants
        .iter()
        .filter(|g| g.contains(" ON *.* "))
        .map(|g| g.to_uppercase())
        .collect();
    let has = |p: &str| {
        global
            .iter()
            .any(|g| g.contains("ALL PRIVILEGES") || g.contains(p))
    };
    let mut missing = Vec::new();
    if !has("REPLICATION SLAVE") {
        missing.push("REPLICATION SLAVE");
    }
    if !(has("BINLOG MONITOR") || has("REPLICATION CLIENT") || has("SUPER")) {
        missing.push("BINLOG MONITOR");
    }
    if missing.is_empty() {
        PreCheck::new(
            "privileges",
            Outcome::Pass,
            format!("{user} may read the binary logs"),
        )
    } else {
        PreCheck::new(
            "privileges",
            Outcome::Fail,
            format!(
                "{user} lacks {}: GRANT {} ON *.* TO '{user}'@'<host>'",
                missing.join(" and "),
                missing.join(", ")
            ),
        )
    }
}

/// The coordinates of the snapshot `conn` has open: the binary log file
/// and offset that match it exactly, and the GTID state there. `None`
/// when the server keeps no binary log or is not MariaDB.
pub async fn snapshot_position(
    conn: &mut MySqlConnection,
    at: &MyLocation,
) -> Result<Option<(String, u64, String)>> {
    let rows: Vec<(String, String)> = sqlx::query_as("SHOW STATUS LIKE 'binlog_snapshot_%'")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| my_error(at, "read the snapshot position of", e))?;
    let find = |name: &str| {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let (Some(file), Some(pos)) = (
        find("Binlog_snapshot_file"),
        find("Binlog_snapshot_position"),
    ) else {
        return Ok(None);
    };
    if file.is_empty() {
        return Ok(None);
    }
    let pos: u64 = pos.parse().map_err(|_| EngineError::Database {
        what: format!("read the snapshot position of {}", at.display()),
        detail: format!("Binlog_snapshot_position is {pos:?}"),
    })?;
    let gtid: Option<String> = sqlx::query_scalar("SELECT BINLOG_GTID_POS(?, ?)")
        .bind(&file)
        .bind(pos)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| my_error(at, "read the GTID position of", e))?;
    Ok(Some((file, pos, gtid.unwrap_or_default())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileges_name_the_grant_to_give() {
        let ok = privilege_check(&["GRANT ALL PRIVILEGES ON *.* TO `a`@`%`".into()], "a");
        assert_eq!(ok.outcome, Outcome::Pass);
        let part = privilege_check(
            &["GRANT SELECT, REPLICATION SLAVE ON *.* TO `a`@`%`".into()],
            "a",
        );
        assert_eq!(part.outcome, Outcome::Fail);
        assert!(
            part.detail.contains("GRANT BINLOG MONITOR ON *.*"),
            "{}",
            part.detail
        );
        let db_only = privilege_check(&["GRANT ALL PRIVILEGES ON `shop`.* TO `a`@`%`".into()], "a");
        assert!(
            db_only.detail.contains("REPLICATION SLAVE, BINLOG MONITOR"),
            "{}",
            db_only.detail
        );
    }
}
