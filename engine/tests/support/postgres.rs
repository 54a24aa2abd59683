//! A real PostgreSQL server for tests: Debian's binaries, a fresh cluster
//! in a temporary directory, a free loopback port, password authentication,
//! stopped (and removed) when dropped, whatever the test did.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PASSWORD: &str = "tidemark-test-pw";

pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/setup.sh installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version with initdb")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a server tool, as the `postgres` user when the tests run as root
/// (PostgreSQL refuses to run as root).
fn run(program: &Path, args: &[&str]) -> Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args).output().expect("run a PostgreSQL tool")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgServer {
    pub fn start() -> PgServer {
        Self::start_with("")
    }

    /// A server started with more `-c name=value` settings.
    pub fn start_with(settings: &str) -> PgServer {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("tidemark-pg-")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let out = run(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--pwfile",
                pwfile.to_str().unwrap(),
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut last = String::new();
        // A port can be taken between choosing and binding: try a few.
        for _ in 0..5 {
            let port = free_port();
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off {settings}",
                dir.path().display()
            );
            let out = run(
                &bin.join("pg_ctl"),
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-l",
                    dir.path().join("log").to_str().unwrap(),
                    "-o",
                    &options,
                    "-w",
                    "start",
                ],
            );
            if out.status.success() {
                return PgServer { dir, bin, port };
            }
            last = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        }
        panic!("PostgreSQL did not start: {last}");
    }

    /// Connections the server accepted so far (the test turns on
    /// `log_connections` first): how a test proves nobody connected.
    pub fn connections(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("log"))
            .unwrap_or_default()
            .matches("connection authorized")
            .count()
    }

    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    fn env(&self, db: &str) -> Vec<(&'static str, String)> {
        vec![
            ("PGHOST", "127.0.0.1".into()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", "postgres".into()),
            ("PGPASSWORD", PASSWORD.into()),
            ("PGDATABASE", db.into()),
        ]
    }

    /// Runs SQL with psql: its output, or its error message.
    pub fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .envs(self.env(db))
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// Runs SQL with psql (stopping at the first error) and returns its
    /// unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .envs(self.env(db))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// `pg_dump --schema-only` without the lines that differ by nature
    /// (psql's per-dump restrict keys).
    pub fn schema(&self, db: &str) -> String {
        let out = Command::new("pg_dump")
            .args(["--schema-only", "--no-owner", "--no-privileges"])
            .envs(self.env(db))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A checksum of a table's whole content, independent of row order.
    pub fn checksum(&self, db: &str, table: &str) -> String {
        self.psql(
            db,
            &format!("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM {table} t"),
        )
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap_or(""),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

/// A time-series table of 6 000 rows, one a minute from 2026-11-01 UTC,
/// for the policy and range tests.
pub const READINGS: &str = "
CREATE TABLE readings (id int PRIMARY KEY, ts timestamptz NOT NULL, value double precision);
INSERT INTO readings SELECT i, '2026-11-01 00:00:00+00'::timestamptz + i * interval '1 minute', i * 0.5
FROM generate_series(1, 6000) i;
";

/// A merge of `public.readings` only, with `on_duplicate`.
pub fn readings_only(
    on_duplicate: tidemark_engine::DuplicatePolicy,
) -> tidemark_engine::restore::RestoreOptions {
    tidemark_engine::restore::RestoreOptions {
        objects: vec![("public.readings".into(), None)],
        on_conflict: tidemark_engine::restore::ConflictPolicy::Merge,
        on_duplicate,
        ..Default::default()
    }
}
