//! Starts the real `tidemark serve` binary on a random loopback port against
//! a temporary data directory and talks HTTP to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tidemark");

/// A running server, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("TIDEMARK_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tidemark");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read stdout");
        let addr = line
            .trim()
            .strip_prefix("Tidemark console listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .expect("address");
        Server { child, addr }
    }

    fn request(&self, method: &str, path: &str) -> Response {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 0\r\nAccept: */*\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read response");
        let (head, body) = raw.split_once("\r\n\r\n").expect("header/body separator");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        Response {
            status,
            head: head.to_ascii_lowercase(),
            body: body.to_owned(),
        }
    }

    /// Sends SIGTERM and waits for the process to end.
    fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    head: String,
    body: String,
}

fn run_expecting_failure(args: &[&str]) -> Output {
    let output = Command::new(BIN).args(args).output().expect("run tidemark");
    assert!(!output.status.success(), "expected failure for {args:?}");
    output
}

#[test]
fn healthz_reports_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let res = server.request("GET", "/healthz");
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(
        res.head.contains("content-type: application/json"),
        "{}",
        res.head
    );
    assert!(res.body.contains(r#""status":"ok""#), "{}", res.body);
    assert!(res.body.contains(r#""catalog":"ok""#), "{}", res.body);
}

#[test]
fn first_start_creates_catalog_and_default_repository() {
    let dir = tempfile::tempdir().unwrap();
    let _server = Server::start(dir.path());
    assert!(dir.path().join("catalog.db").is_file());
    assert!(dir.path().join("repositories/local-default").is_dir());
}

#[test]
fn dashboard_renders_in_the_console_shell() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let res = server.request("GET", "/");
    assert_eq!(res.status, 200);
    for needle in [
        r#"data-testid="dashboard""#,
        r#"data-testid="console-nav""#,
        "Backup Management",
        "Restoration Management",
        "Audit Log",
        "/pkg/tidemark.js",
    ] {
        assert!(res.body.contains(needle), "missing {needle}");
    }
}

#[test]
fn unknown_route_gets_the_console_404_page() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let res = server.request("GET", "/no/such/page");
    assert_eq!(res.status, 404);
    assert!(
        res.body.contains(r#"data-testid="not-found""#),
        "{}",
        res.body
    );
    assert!(res.body.contains(r#"data-testid="console-nav""#));
}

#[test]
fn server_function_reads_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let res = server.request("POST", "/api/repositories");
    assert_eq!(res.status, 200, "{}", res.body);
    assert!(
        res.body.contains(r#""name":"local-default""#),
        "{}",
        res.body
    );
    assert!(res.body.contains(r#""kind":"local""#), "{}", res.body);
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    assert_eq!(server.request("GET", "/healthz").status, 200);
    let status = server.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[test]
fn unparseable_listen_address_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let out = run_expecting_failure(&[
        "serve",
        "--listen",
        "localhost-3000",
        "--data-dir",
        data_dir,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid listen address"), "{stderr}");
    assert!(stderr.contains("--listen / TIDEMARK_LISTEN"), "{stderr}");
    assert!(stderr.contains("localhost-3000"), "{stderr}");
}

#[test]
fn listen_address_from_the_environment_is_validated_too() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .env("TIDEMARK_LISTEN", "127.0.0.1:99999")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TIDEMARK_LISTEN") && stderr.contains("99999"),
        "{stderr}"
    );
}

#[test]
fn unusable_data_dir_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let below = file.join("data");
    let out = run_expecting_failure(&["serve", "--data-dir", below.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid data directory"), "{stderr}");
    assert!(
        stderr.contains("--data-dir / TIDEMARK_DATA_DIR"),
        "{stderr}"
    );
    assert!(stderr.contains("not-a-dir"), "{stderr}");
}

#[test]
fn a_corrupt_catalog_stops_start_up_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.db");
    let garbage = b"this is not an SQLite database, and it must not be overwritten".repeat(100);
    std::fs::write(&catalog, &garbage).unwrap();
    let out = run_expecting_failure(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("catalog"), "{stderr}");
    assert!(stderr.contains(catalog.to_str().unwrap()), "{stderr}");
    assert_eq!(
        std::fs::read(&catalog).unwrap(),
        garbage,
        "the catalog file was modified"
    );
}

#[test]
fn a_bad_log_filter_names_the_setting() {
    let out = run_expecting_failure(&["--log", "info,=[", "serve"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--log / TIDEMARK_LOG"), "{stderr}");
}
