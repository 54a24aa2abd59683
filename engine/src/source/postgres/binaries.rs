//! The machine's PostgreSQL server binaries (`/usr/lib/postgresql/N/bin`),
//! and running them as the `postgres` user when Tidemark runs as root
//! (PostgreSQL refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::error::{EngineError, Result};

pub(crate) const INSTALL_ROOT: &str = "/usr/lib/postgresql";

/// An installed PostgreSQL version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgBinaries {
    pub major: u32,
    pub bin: PathBuf,
}

/// The installed versions with `initdb` and `pg_ctl`, oldest first.
pub(crate) fn installed() -> Vec<PgBinaries> {
    let mut found: Vec<PgBinaries> = std::fs::read_dir(INSTALL_ROOT)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let entry = e.ok()?;
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists())
                .then_some(PgBinaries { major, bin })
        })
        .collect();
    found.sort_by_key(|b| b.major);
    found
}

/// The major version in `server_version` (`16.4 (Debian 16.4-1)` → 16).
pub(crate) fn major_of(version: &str) -> Option<u32> {
    version
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok())
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a server tool; as the `postgres` user when running as root
/// (PostgreSQL refuses to run as root).
pub(crate) fn run_as_server(program: &Path, args: &[&str]) -> Result<Output> {
    server_command(program)
        .args(args)
        .output()
        .map_err(|e| EngineError::io(program, e))
}

/// The installed binaries of exactly `major`: a physical copy of a cluster
/// runs only on the major version that wrote it.
pub(crate) fn exact(major: u32) -> std::result::Result<PgBinaries, String> {
    let all = installed();
    let have: Vec<String> = all.iter().map(|b| b.major.to_string()).collect();
    all.into_iter().find(|b| b.major == major).ok_or_else(|| {
        format!(
            "a physical copy of a PostgreSQL {major} cluster needs PostgreSQL {major}'s own binaries; installed under {INSTALL_ROOT}: {} (install postgresql-{major})",
            if have.is_empty() { "none".to_owned() } else { have.join(", ") }
        )
    })
}

/// A command running `program` as the server's user (`postgres` when
/// this process is root).
pub(crate) fn server_command(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}
