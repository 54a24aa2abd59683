//! Notifications on the real binary, to real receivers on loopback: a
//! webhook receiver that checks the HMAC-SHA256 signature with OpenSSL, a
//! real SMTP server (Debian's aiosmtpd, writing a maildir), and a dead hook
//! that accepts connections and never answers. A backup that succeeds and
//! then one that fails send exactly one message per subscribed channel, the
//! dead channel neither slows the backup nor the other channels, and it is
//! named on the dashboard with its retry pending.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::Server;

const KEY: &str = "a signing key with 'quotes' and spaces";

#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP receiver that records each POST and answers 204.
fn webhook_receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/tidemark", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&received);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Some(request) = read_request(&stream) {
                log.lock().unwrap().push(request);
            }
            let _ = (&stream).write_all(
                b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (url, received)
}

fn read_request(stream: &TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// Accepts connections and never answers (a hung receiver).
fn dead_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    url
}

/// Debian's aiosmtpd on a free port, delivering into a maildir.
struct Smtp {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Smtp {
    fn start(dir: &Path) -> Smtp {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = dir.join("maildir");
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd (Debian's python3-aiosmtpd; scripts/setup.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Smtp {
            child,
            port,
            maildir,
        }
    }

    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sha256=<hex>` as OpenSSL computes it: the signature's independent check.
fn openssl_hmac(key: &str, body: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", key, "-hex"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    format!("sha256={}", out.trim().rsplit(' ').next().unwrap())
}

fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run_state(server: &Server, run_id: u64) -> String {
    let run = server.post_api("/api/runs/get", &[("id", &run_id.to_string())]);
    let value: serde_json::Value = serde_json::from_str(&run.body).unwrap_or_default();
    value["run"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn create_channel(server: &Server, fields: &[(&str, &str)]) -> support::Response {
    let fields: Vec<(String, &str)> = fields
        .iter()
        .map(|(name, value)| (format!("form[{name}]"), *value))
        .collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    server.post_api("/api/notifications/create", &fields)
}

#[test]
fn a_failing_backup_reaches_the_webhook_and_the_inbox_once_and_a_dead_channel_delays_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("plant data");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a.csv"), "ts,v\n1,2\n").unwrap();
    let smtp = Smtp::start(dir.path());
    let (hook_url, hooks) = webhook_receiver();
    let dead_url = dead_receiver();
    let server = Server::start(&dir.path().join("data"));
    server.sign_in_admin();

    // Bad channels are refused by field, and nothing is stored.
    let bad = create_channel(
        &server,
        &[
            ("name", "x"),
            ("kind", "webhook"),
            ("url", "ftp://x"),
            ("events", "backup.failed"),
        ],
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("url"), "{}", bad.body);
    let bad = create_channel(
        &server,
        &[
            ("name", "x"),
            ("kind", "email"),
            ("smtp_host", "127.0.0.1"),
            ("mail_from", "tidemark@example.com"),
            ("mail_to", "<<not@an address>>"),
            ("events", "backup.failed"),
        ],
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("mail_to"), "{}", bad.body);

    let port = smtp.port.to_string();
    for fields in [
        vec![
            ("name", "ops \"hook\""),
            ("kind", "webhook"),
            ("url", hook_url.as_str()),
            ("secret", KEY),
            ("events", "backup.failed,backup.succeeded"),
        ],
        vec![
            ("name", "dba mail"),
            ("kind", "email"),
            ("smtp_host", "127.0.0.1"),
            ("smtp_port", port.as_str()),
            ("smtp_security", "none"),
            ("mail_from", "tidemark@example.com"),
            ("mail_to", "dba@example.com, Ops Team <ops@example.com>"),
            ("events", "backup.failed,restore.failed"),
        ],
        vec![
            ("name", "dead hook"),
            ("kind", "webhook"),
            ("url", dead_url.as_str()),
            ("events", "backup.failed"),
        ],
    ] {
        let created = create_channel(&server, &fields);
        assert_eq!(created.status, 200, "{}", created.body);
    }
    let again = create_channel(
        &server,
        &[
            ("name", "dead hook"),
            ("kind", "webhook"),
            ("url", dead_url.as_str()),
            ("events", "backup.failed"),
        ],
    );
    assert_eq!(
        again.status, 409,
        "a second channel of the same name: {}",
        again.body
    );
    assert!(again.body.contains("already used"), "{}", again.body);

    let saved = server.post_form(
        "/api/sources/save",
        &[
            ("form[name]", "tree"),
            ("form[kind]", "file-tree"),
            ("form[location]", tree.to_str().unwrap()),
        ],
    );
    assert_eq!(saved.status, 302, "{}", saved.body);
    let task = "plant 'north' line";
    let created = server.post_form(
        "/api/tasks/save",
        &[
            ("form[name]", task),
            ("form[source_id]", "2"),
            ("form[repository_id]", "1"),
            ("form[content_mode]", "all"),
            ("form[schedule_mode]", "manual"),
            ("form[notify]", "default"),
            ("form[enabled]", "on"),
        ],
    );
    assert_eq!(created.status, 302, "{}", created.body);

    let run = |expected: &str| -> Duration {
        let started = Instant::now();
        let answer = server.post_api("/api/tasks/run", &[("id", "1")]);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let run_id: u64 = answer.body.trim().parse().unwrap();
        wait_until("the run's end", 60, || {
            run_state(&server, run_id) == expected
        });
        started.elapsed()
    };
    run("succeeded");
    wait_until("the success webhook", 20, || {
        hooks.lock().unwrap().len() == 1
    });

    // The source goes away: the next backup fails.
    std::fs::remove_dir_all(&tree).unwrap();
    let failing_run = run("failed");
    wait_until("the failure webhook", 20, || {
        hooks.lock().unwrap().len() == 2
    });
    wait_until("the mail", 20, || smtp.messages().len() == 1);
    // The dead hook holds its attempt for 10 s: neither the backup nor the
    // other channels waited for it.
    assert!(failing_run < Duration::from_secs(8), "{failing_run:?}");

    // Nothing more arrives: one message per channel and event.
    std::thread::sleep(Duration::from_secs(3));
    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 2, "{hooks:#?}");
    assert_eq!(smtp.messages().len(), 1);

    for (hook, event) in hooks.iter().zip(["backup.succeeded", "backup.failed"]) {
        assert_eq!(hook.header("X-Tidemark-Event"), Some(event), "{hook:?}");
        assert_eq!(
            hook.header("X-Tidemark-Signature"),
            Some(openssl_hmac(KEY, &hook.body).as_str()),
            "{hook:?}"
        );
        let body: serde_json::Value = serde_json::from_str(&hook.body).unwrap();
        assert_eq!(body["event"], event);
        assert_eq!(body["task"]["name"], task);
        assert!(
            body["link"].as_str().unwrap().starts_with("/runs/"),
            "{body}"
        );
    }
    let failed: serde_json::Value = serde_json::from_str(&hooks[1].body).unwrap();
    assert_eq!(failed["severity"], "error");
    assert!(
        failed["detail"].as_str().unwrap().contains("plant data"),
        "{failed}"
    );

    let mail = &smtp.messages()[0];
    assert!(
        mail.contains("Subject: [Tidemark] Backup of \"plant 'north' line\" failed"),
        "{mail}"
    );
    assert!(
        mail.contains("dba@example.com") && mail.contains("ops@example.com"),
        "{mail}"
    );
    assert!(mail.contains("Task: plant 'north' line"), "{mail}");

    // The dead hook's attempt times out; its retry is pending and the
    // dashboard names it.
    wait_until("the dead hook's first attempt", 40, || {
        let view = server.post_api("/api/notifications", &[]);
        let view: serde_json::Value = serde_json::from_str(&view.body).unwrap_or_default();
        view["deliveries"].as_array().is_some_and(|rows| {
            rows.iter().any(|d| {
                d["channel"] == "dead hook" && d["state"] == "pending" && d["attempts"] == 1
            })
        })
    });
    let overview = server.post_api("/api/overview", &[]);
    let overview: serde_json::Value = serde_json::from_str(&overview.body).unwrap();
    let failing = overview["failing_channels"].as_array().unwrap();
    assert_eq!(failing.len(), 1, "{overview}");
    assert_eq!(failing[0]["channel"], "dead hook");
    assert!(
        failing[0]["error"].as_str().unwrap().contains("no answer"),
        "{overview}"
    );
    let view = server.post_api("/api/notifications", &[]);
    let view: serde_json::Value = serde_json::from_str(&view.body).unwrap();
    let delivered = view["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["state"] == "delivered")
        .count();
    assert_eq!(delivered, 3, "{view}");
}
