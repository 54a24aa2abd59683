//! A throwaway MariaDB server for drills: the machine's `mariadb-install-db`
//! and `mariadbd`, a fresh data directory in a temporary directory, a free
//! loopback port, a random password. Stopped and deleted after the drill,
//! or by the next sweep if the drill's process died (the server outlives a
//! killed parent: the sweep finds it by its pid file).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

pub(super) const SERVER: &str = "/usr/sbin/mariadbd";
const USER: &str = "tidemark_drill";

/// `10.11.6-MariaDB-0+deb12u1` → (10, 11); MySQL's `8.0.36` → None, as
/// a MariaDB sandbox cannot stand in for MySQL.
pub(super) fn mariadb_version(version: &str) -> Option<(u32, u32)> {
    if !version.contains("MariaDB") {
        return None;
    }
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The installed server's version, or why there is none.
pub(super) fn installed_version() -> std::result::Result<(u32, u32), String> {
    let out = Command::new(SERVER)
        .arg("--version")
        .output()
        .map_err(|_| {
            format!(
                "no MariaDB server at {SERVER} (install mariadb-server, or give a drill server)"
            )
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu ...`
    text.split_whitespace()
        .find_map(mariadb_version)
        .ok_or_else(|| format!("cannot read the version of {SERVER}: {}", text.trim()))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ServerRecord {
    /// The temporary directory: data, socket, pid file, log.
    pub dir: PathBuf,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn path_arg(flag: &str, path: &Path) -> String {
    format!("--{flag}={}", path.display())
}

/// Installs and starts a server in `record.dir`; returns its URL for
/// `database`, with the drill user's password.
pub(super) fn start(
    record: &ServerRecord,
    database: &str,
    cancel: &crate::CancelToken,
) -> Result<String> {
    let dir = &record.dir;
    let (data, tmp) = (dir.join("data"), dir.join("tmp"));
    std::fs::create_dir(&tmp).map_err(|e| EngineError::io(&tmp, e))?;
    let mut install = Command::new("mariadb-install-db");
    install
        .arg("--no-defaults")
        .arg(path_arg("datadir", &data))
        .arg(path_arg("tmpdir", &tmp))
        .args(["--auth-root-authentication-method=socket", "--skip-test-db"]);
    if is_root() {
        chown_to_mysql(dir)?;
        install.arg("--user=mysql");
    }
    let out = install
        .output()
        .map_err(|e| EngineError::io("mariadb-install-db", e))?;
    if !out.status.success() {
        return Err(EngineError::Database {
            what: "create the drill's MariaDB data directory (mariadb-install-db)".into(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| EngineError::io("127.0.0.1:0", e))?;
    let mut server = Command::new(SERVER);
    server
        .arg("--no-defaults")
        .arg(path_arg("datadir", &data))
        .arg(path_arg("socket", &dir.join("sock")))
        .arg(path_arg("pid-file", &dir.join("pid")))
        .arg(path_arg("log-error", &dir.join("log")))
        .arg(path_arg("tmpdir", &tmp))
        .arg(format!("--port={port}"))
        .args([
            "--bind-address=127.0.0.1",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            "--max-allowed-packet=1G",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if is_root() {
        server.arg("--user=mysql");
    }
    // Not waited for: the sweep or `stop_and_remove` ends it by pid file.
    let _child = server.spawn().map_err(|e| EngineError::io(SERVER, e))?;
    let password = crate::repo::random_hex(16);
    let grant = format!(
        "CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{password}'; GRANT ALL ON *.* TO '{USER}'@'127.0.0.1'"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        cancel.check()?;
        match root_sql(dir, &grant) {
            Ok(()) => break,
            Err(last) if Instant::now() > deadline => {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or(last);
                return Err(EngineError::Database {
                    what: "start the drill's MariaDB server".into(),
                    detail: log.lines().last().unwrap_or("no log").to_owned(),
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    Ok(format!(
        "mysql://{USER}:{password}@127.0.0.1:{port}/{database}"
    ))
}

fn chown_to_mysql(dir: &Path) -> Result<()> {
    let out = Command::new("chown")
        .args(["-R", "mysql:mysql"])
        .arg(dir)
        .output()
        .map_err(|e| EngineError::io("chown", e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EngineError::Database {
            what: "prepare the drill directory".into(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// SQL as the server's root over its socket (root authenticates by socket).
fn root_sql(dir: &Path, sql: &str) -> std::result::Result<(), String> {
    let out = Command::new("mariadb")
        .arg("--no-defaults")
        .arg(path_arg("socket", &dir.join("sock")))
        .args(["-uroot", "-e", sql])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Kills the server (its data is thrown away), and anything else running
/// from its directory, then deletes the directory.
pub(super) fn stop_and_remove(record: &ServerRecord) -> Result<()> {
    super::processes::kill_all_naming(&record.dir);
    match std::fs::remove_dir_all(&record.dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(EngineError::io(&record.dir, e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mariadb_versions_are_read() {
        assert_eq!(mariadb_version("10.11.6-MariaDB-0+deb12u1"), Some((10, 11)));
        assert_eq!(mariadb_version("11.4.2-MariaDB"), Some((11, 4)));
        assert_eq!(mariadb_version("8.0.36"), None);
    }
}
