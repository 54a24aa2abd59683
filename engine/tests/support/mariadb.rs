//! A real MariaDB server for tests: Debian's binaries, a fresh data
//! directory, a free loopback port, a user with a password; stopped when
//! dropped, whatever the test did.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "tidemark";
pub const PASSWORD: &str = "tidemark-test-pw";

pub struct MariaDb {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl MariaDb {
    pub fn start() -> MariaDb {
        Self::start_with(&["--skip-log-bin"])
    }

    /// A server keeping a binary log (row format, full images), as
    /// point-in-time recovery needs.
    pub fn start_with_binlog() -> MariaDb {
        Self::start_with(&["--log-bin=binlog", "--server-id=1", "--binlog-format=ROW"])
    }

    pub fn start_with(extra: &[&str]) -> MariaDb {
        let dir = tempfile::Builder::new()
            .prefix("tidemark-mariadb-")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        // Each server its own temporary directory: servers sharing /tmp
        // can pick the same temporary table names while bootstrapping.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "mysql:mysql"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
            install.arg("--user=mysql");
        }
        let out = install
            .output()
            .expect("mariadb-install-db (scripts/setup.sh installs mariadb-server)");
        assert!(
            out.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Command::new("/usr/sbin/mariadbd");
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!("--log-error={}", dir.path().join("log").display()))
            .arg(format!("--port={port}"))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--bind-address=127.0.0.1",
                "--innodb-buffer-pool-size=128M",
                "--innodb-flush-log-at-trx-commit=0",
                // Rows with BLOBs larger than the 16 MiB default.
                "--max-allowed-packet=64M",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            server.arg("--user=mysql");
        }
        let child = server.spawn().expect("start mariadbd");
        let db = MariaDb { dir, child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while db.root_sql("SELECT 1").is_err() {
            assert!(
                Instant::now() < deadline,
                "MariaDB did not start: {}",
                std::fs::read_to_string(db.dir.path().join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        db.root_sql(&format!(
            "CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'; GRANT ALL ON *.* TO '{USER}'@'127.0.0.1'"
        ))
        .unwrap();
        db
    }

    pub fn root_sql(&self, sql: &str) -> Result<String, String> {
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!(
                "--socket={}",
                self.dir.path().join("sock").display()
            ))
            .args(["-uroot", "-N", "-B", "-e", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    pub fn url(&self, db: &str) -> String {
        format!("mysql://{USER}:{PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL as the test user over TCP, in `db` when given.
    pub fn sql(&self, db: Option<&str>, sql: &str) -> String {
        let mut cmd = Command::new("mariadb");
        cmd.arg("--no-defaults")
            .args([
                "-h",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
                "-u",
                USER,
                "-N",
                "-B",
            ])
            .env("MYSQL_PWD", PASSWORD);
        if let Some(db) = db {
            cmd.args(["-D", db]);
        }
        let out = cmd.args(["-e", sql]).output().unwrap();
        assert!(
            out.status.success(),
            "mariadb {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Runs SQL given as bytes (text in any character set) on the client's
    /// standard input, as the test user in `db`.
    pub fn sql_bytes(&self, db: &str, sql: &[u8]) -> String {
        use std::io::Write;
        let mut child = Command::new("mariadb")
            .arg("--no-defaults")
            .args(["-h", "127.0.0.1", "-P", &self.port.to_string()])
            .args(["-u", USER, "-N", "-B", "-D", db])
            .env("MYSQL_PWD", PASSWORD)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(sql).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "mariadb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `mariadb-dump --no-data` without what differs by nature (dates,
    /// the database name, auto-increment counters).
    pub fn schema(&self, db: &str) -> String {
        let out = Command::new("mariadb-dump")
            .arg("--no-defaults")
            .args([
                "-h",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
                "-u",
                USER,
                "--no-data",
                "--skip-comments",
                "--skip-dump-date",
                db,
            ])
            .env("MYSQL_PWD", PASSWORD)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mariadb-dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                l.split(" AUTO_INCREMENT=")
                    .next()
                    .map(|head| {
                        if l.contains(" AUTO_INCREMENT=") {
                            format!("{head} [auto-increment]")
                        } else {
                            l.to_owned()
                        }
                    })
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `mariadb-dump --hex-blob --routines --events --triggers` of one
    /// database (structure, data, programs), without the dump date and
    /// with the database's name replaced by `DB`.
    pub fn dump(&self, db: &str) -> String {
        self.dump_raw(db).replace(&format!("`{db}`"), "`DB`")
    }

    /// [`MariaDb::dump`] as the server prints it, the name left in.
    pub fn dump_raw(&self, db: &str) -> String {
        let out = Command::new("mariadb-dump")
            .arg("--no-defaults")
            .args([
                "-h",
                "127.0.0.1",
                "-P",
                &self.port.to_string(),
                "-u",
                USER,
                "--hex-blob",
                "--routines",
                "--events",
                "--triggers",
                "--skip-dump-date",
                "--skip-comments",
                "--skip-extended-insert",
                "--order-by-primary",
                "--max-allowed-packet=64M",
                db,
            ])
            .env("MYSQL_PWD", PASSWORD)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mariadb-dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).replace(&format!("`{db}`"), "`DB`")
    }

    /// `CHECKSUM TABLE`'s value for one table.
    pub fn checksum(&self, db: &str, table: &str) -> String {
        let line = self.sql(Some(db), &format!("CHECKSUM TABLE `{table}`"));
        line.split('\t').nth(1).unwrap_or("").to_owned()
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Ok(None) = self.child.try_wait() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
