//! A real InfluxDB 1.x server for tests: Debian's `influxd` with a config
//! file in a temporary directory (meta, data and WAL inside it), its HTTP
//! and RPC addresses on free loopback ports, nothing else listening, no
//! usage reporting; stopped when dropped, whatever the test did. Queries
//! for checks go through Debian's `influx` client, not Tidemark's code.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "tidemark-test-pw";

pub struct InfluxDb {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
    /// Authentication is on (with [`ADMIN`] / [`PASSWORD`]).
    pub auth: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl InfluxDb {
    pub fn start() -> InfluxDb {
        Self::launch(false)
    }

    /// With authentication on and one admin user.
    pub fn start_with_auth() -> InfluxDb {
        let server = Self::launch(true);
        // The first user can be created without credentials.
        let out = Command::new("influx")
            .args(["-host", "127.0.0.1", "-port", &server.port.to_string()])
            .arg("-execute")
            .arg(format!(
                "CREATE USER {ADMIN} WITH PASSWORD '{PASSWORD}' WITH ALL PRIVILEGES"
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "influx CREATE USER: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server
    }

    fn launch(auth: bool) -> InfluxDb {
        let dir = tempfile::Builder::new()
            .prefix("tidemark-influxdb-")
            .tempdir()
            .unwrap();
        let (port, rpc) = (free_port(), free_port());
        let path = |p: &str| dir.path().join(p).display().to_string();
        let config = format!(
            r#"reporting-enabled = false
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{meta}"
[data]
  dir = "{data}"
  wal-dir = "{wal}"
  query-log-enabled = false
  wal-fsync-delay = "100ms"
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[ifql]
  enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  auth-enabled = {auth}
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
"#,
            meta = path("meta"),
            data = path("data"),
            wal = path("wal"),
        );
        std::fs::write(dir.path().join("influxdb.conf"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("influxd")
            .arg("run")
            .arg("-config")
            .arg(dir.path().join("influxdb.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("influxd (scripts/setup.sh installs Debian's influxdb)");
        let mut server = InfluxDb {
            dir,
            child,
            port,
            auth,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.http("GET", "/ping", b"").map(|(status, _)| status) != Ok(204) {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("influxd exited ({status}): {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "InfluxDB did not start: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// `influxdb://` URL of a database (with the admin's credentials when
    /// authentication is on).
    pub fn url(&self, db: &str) -> String {
        if self.auth {
            format!("influxdb://{ADMIN}:{PASSWORD}@127.0.0.1:{}/{db}", self.port)
        } else {
            format!("influxdb://127.0.0.1:{}/{db}", self.port)
        }
    }

    /// A bare HTTP/1.1 request (for loading fixtures and waiting for the
    /// server): status and body.
    fn http(&self, method: &str, path: &str, body: &[u8]) -> Result<(u16, String), String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        let auth = if self.auth {
            let token = base64(format!("{ADMIN}:{PASSWORD}").as_bytes());
            format!("Authorization: Basic {token}\r\n")
        } else {
            String::new()
        };
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .map_err(|e| e.to_string())?;
        stream.write_all(body).map_err(|e| e.to_string())?;
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .map_err(|e| e.to_string())?;
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad answer {answer:?}"))?;
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// Writes points of line protocol (nanosecond timestamps) into `db`.
    pub fn write(&self, db: &str, points: &[String]) {
        for batch in points.chunks(20_000) {
            let body = batch.join("\n");
            let (status, answer) = self
                .http(
                    "POST",
                    &format!("/write?db={db}&precision=ns"),
                    body.as_bytes(),
                )
                .unwrap();
            assert_eq!(status, 204, "write: {answer}");
        }
    }

    /// Writes a raw body of line protocol (any bytes); the server's status
    /// and answer.
    pub fn write_raw(&self, db: &str, body: &[u8]) -> (u16, String) {
        self.http("POST", &format!("/write?db={db}&precision=ns"), body)
            .unwrap()
    }

    /// Runs InfluxQL with Debian's `influx` client; JSON, nanosecond times.
    pub fn influx(&self, db: Option<&str>, q: &str) -> String {
        self.influx_as(db, q, "json", "ns")
    }

    /// Runs InfluxQL with Debian's `influx` client in an output `format`
    /// (json, csv, column) and time `precision` (ns, rfc3339).
    pub fn influx_as(&self, db: Option<&str>, q: &str, format: &str, precision: &str) -> String {
        let mut cmd = Command::new("influx");
        cmd.args([
            "-host",
            "127.0.0.1",
            "-port",
            &self.port.to_string(),
            "-format",
            format,
            "-precision",
            precision,
        ]);
        if self.auth {
            cmd.args(["-username", ADMIN, "-password", PASSWORD]);
        }
        if let Some(db) = db {
            cmd.args(["-database", db]);
        }
        let out = cmd.arg("-execute").arg(q).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && !text.contains("\"error\""),
            "influx {q}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    /// What the server prints for a measurement, its series and keys.
    pub fn snapshot(&self, db: &str, measurement: &str) -> String {
        let m = format!(
            "\"{}\"",
            measurement.replace('\\', "\\\\").replace('"', "\\\"")
        );
        [
            format!("SELECT * FROM {m} GROUP BY *"),
            format!("SHOW SERIES FROM {m}"),
            format!("SHOW FIELD KEYS FROM {m}"),
            format!("SHOW TAG KEYS FROM {m}"),
        ]
        .iter()
        .map(|q| self.influx(Some(db), q))
        .collect::<Vec<_>>()
        .join("\n")
    }

    /// Rows of the server's answer (with `COUNT` each field counts apart,
    /// so points are counted as rows of `SELECT *`).
    pub fn rows(&self, db: &str, q: &str) -> usize {
        let answer: serde_json::Value = serde_json::from_str(&self.influx(Some(db), q)).unwrap();
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        results
            .iter()
            .flat_map(|r| r["series"].as_array().cloned().unwrap_or_default())
            .map(|s| s["values"].as_array().map_or(0, Vec::len))
            .sum()
    }

    /// Points of a measurement: one row each in `SELECT *`.
    pub fn count(&self, db: &str, measurement: &str) -> usize {
        self.rows(db, &format!("SELECT * FROM \"{measurement}\""))
    }

    /// The first value of the first row, as an integer's text, or "".
    pub fn scalar(&self, db: &str, q: &str) -> String {
        let answer: serde_json::Value = serde_json::from_str(&self.influx(Some(db), q)).unwrap();
        answer["results"][0]["series"][0]["values"][0][1]
            .as_i64()
            .map(|n| n.to_string())
            .unwrap_or_default()
    }
}

/// Panics with the text around the first difference.
pub fn assert_same(a: &str, b: &str, what: &str) {
    if a != b {
        let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let around = |s: &str| {
            s.get(at.saturating_sub(200)..(at + 200).min(s.len()))
                .unwrap_or("")
                .to_owned()
        };
        panic!(
            "{what} differs at byte {at} ({} and {} bytes):\n{}\n---\n{}",
            a.len(),
            b.len(),
            around(a),
            around(b)
        );
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Drop for InfluxDb {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Ok(None) = self.child.try_wait() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
