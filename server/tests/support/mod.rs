//! The real `tidemark serve` binary on a random loopback port against a
//! temporary data directory, and a small HTTP client that keeps the
//! session cookie.
#![allow(dead_code)]

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The first admin's password in tests (given through the environment).
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub const BIN: &str = env!("CARGO_BIN_EXE_tidemark");

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    client: Client,
}

/// An HTTP client for one server that keeps its session cookie.
pub struct Client {
    pub addr: SocketAddr,
    /// The cookies the server set (the session, the console's language),
    /// by name.
    cookies: RefCell<std::collections::BTreeMap<String, String>>,
    /// Extra request headers (e.g. Origin, Authorization).
    pub headers: RefCell<Vec<(String, String)>>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Client {
            addr,
            cookies: RefCell::default(),
            headers: RefCell::new(Vec::new()),
        }
    }
}

impl std::ops::Deref for Server {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_logged(data_dir, env, None)
    }

    /// Starts with its log (stderr) written to `log` when given.
    pub fn start_logged(data_dir: &Path, env: &[(&str, &str)], log: Option<&Path>) -> Server {
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("TIDEMARK_LOG", "warn")
            .env("TIDEMARK_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
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
        Server {
            child,
            client: Client::new(addr),
        }
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn terminate(mut self) -> ExitStatus {
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

impl Client {
    pub fn request(&self, method: &str, path: &str) -> Response {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 0\r\nAccept: */*\r\n{}\r\n",
            self.addr,
            self.extra_headers()
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
        self.keep_cookie(head);
        Response {
            status,
            head: head.to_ascii_lowercase(),
            body: body.to_owned(),
        }
    }

    /// Posts a URL-encoded form the way a browser without JavaScript does.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.post(path, fields, true)
    }

    /// Calls a server function the way a script does: answers are JSON.
    pub fn post_api(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.post(path, fields, false)
    }

    fn post(&self, path: &str, fields: &[(&str, &str)], as_browser_form: bool) -> Response {
        let encode = |text: &str| -> String {
            text.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let browser = if as_browser_form {
            format!(
                "Accept: text/html\r\nReferer: http://{}/form\r\n",
                self.addr
            )
        } else {
            "Accept: application/json\r\n".to_owned()
        };
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{browser}\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n{}\r\n{body}",
            body.len(),
            self.extra_headers(),
            addr = self.addr
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read response");
        let (head, body) = raw.split_once("\r\n\r\n").expect("header/body separator");
        self.keep_cookie(head);
        Response {
            status: head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("status"),
            head: head.to_ascii_lowercase(),
            body: body.to_owned(),
        }
    }

    fn extra_headers(&self) -> String {
        let mut lines = String::new();
        let cookies = self.cookies.borrow();
        if !cookies.is_empty() {
            let pairs: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            lines.push_str(&format!("Cookie: {}\r\n", pairs.join("; ")));
        }
        for (name, value) in self.headers.borrow().iter() {
            lines.push_str(&format!("{name}: {value}\r\n"));
        }
        lines
    }

    fn keep_cookie(&self, head: &str) {
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("set-cookie: ") {
                let pair = line[line.len() - value.len()..]
                    .split(';')
                    .next()
                    .unwrap_or("");
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                if value.is_empty() {
                    self.cookies.borrow_mut().remove(name);
                } else {
                    self.cookies
                        .borrow_mut()
                        .insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    /// Signs in through the login server function (200 when it worked).
    pub fn sign_in(&self, username: &str, password: &str) -> Response {
        self.post_api(
            "/api/login",
            &[("username", username), ("password", password)],
        )
    }

    pub fn sign_in_admin(&self) {
        let res = self.sign_in("admin", ADMIN_PASSWORD);
        assert_eq!(res.status, 200, "sign-in failed: {}", res.body);
    }

    pub fn sign_out_locally(&self) {
        self.cookies.borrow_mut().clear();
    }

    /// Sets a cookie as a browser holding it would send it.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .borrow_mut()
            .insert(name.to_owned(), value.to_owned());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
}

pub fn run_expecting_failure(args: &[&str]) -> Output {
    let output = Command::new(BIN).args(args).output().expect("run tidemark");
    assert!(!output.status.success(), "expected failure for {args:?}");
    output
}

impl Client {
    /// Posts `body` as it is, with `content_type` (none when empty), in
    /// chunks when `chunked`. The body is written on its own thread while
    /// the answer is read: a server that refuses a large body answers
    /// before reading all of it.
    pub fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        chunked: bool,
    ) -> Response {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let content_type = if content_type.is_empty() {
            String::new()
        } else {
            format!("Content-Type: {content_type}\r\n")
        };
        let framing = if chunked {
            "Transfer-Encoding: chunked\r\n".to_owned()
        } else {
            format!("Content-Length: {}\r\n", body.len())
        };
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Accept: application/json\r\n{content_type}{framing}{}\r\n",
            self.extra_headers(),
            addr = self.addr
        )
        .unwrap();
        let mut writer = stream.try_clone().expect("clone stream");
        let sender = std::thread::spawn(move || {
            // The server may stop reading once it has refused the body.
            if chunked {
                for chunk in body.chunks(64 * 1024) {
                    if write!(writer, "{:x}\r\n", chunk.len()).is_err()
                        || writer.write_all(chunk).is_err()
                        || writer.write_all(b"\r\n").is_err()
                    {
                        return;
                    }
                }
                let _ = writer.write_all(b"0\r\n\r\n");
            } else {
                let _ = writer.write_all(&body);
            }
        });
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read response");
        let _ = sender.join();
        let raw = String::from_utf8_lossy(&raw);
        let (head, body) = raw.split_once("\r\n\r\n").expect("header/body separator");
        self.keep_cookie(head);
        Response {
            status: head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("status"),
            head: head.to_ascii_lowercase(),
            body: body.to_owned(),
        }
    }
}
