//! `GET /metrics` on the real server: refused without an API token (a
//! session cookie is not one), and with a token of the lowest role the
//! exposition passes Prometheus' own checker (`promtool check metrics`)
//! and says what happened: a backup of a task whose name has quotes and a
//! space, then a failed one, each with its time, and the repository's
//! points.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Server;

fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/setup.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The value of the sample `name{labels}` (labels exactly as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Waits until the task's newest run is in `state`.
fn wait_for_run(server: &Server, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let history = server.request("GET", "/backups/1/history");
        if history.body.contains(&format!("data-state=\"{state}\"")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {state} run: {}",
            history.body
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn metrics_need_a_token_and_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a.csv"), "ts,v\n1,2\n").unwrap();
    let server = Server::start(&dir.path().join("data"));

    // Without a token: 401, and a session cookie is not a token.
    let refused = server.request("GET", "/metrics");
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(
        refused
            .head
            .to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{}",
        refused.head
    );
    server.sign_in_admin();
    assert_eq!(server.request("GET", "/metrics").status, 401);
    server
        .headers
        .borrow_mut()
        .push(("Authorization".into(), "Bearer tm_not-a-token".into()));
    assert_eq!(server.request("GET", "/metrics").status, 401);
    server.headers.borrow_mut().clear();

    // A viewer's token is enough.
    let created = server.post_api(
        "/api/users/create",
        &[
            ("username", "grafana"),
            ("role", "viewer"),
            ("password", "grafana-initial-password"),
        ],
    );
    assert!(created.status < 400, "{}", created.body);

    // A task named with quotes and a space; one backup succeeds.
    let saved = server.post_form(
        "/api/sources/save",
        &[
            ("form[name]", "tree"),
            ("form[kind]", "file-tree"),
            ("form[location]", tree.to_str().unwrap()),
        ],
    );
    assert_eq!(saved.status, 302, "{}", saved.body);
    let task = r#"plant "north" line"#;
    let created = server.post_form(
        "/api/tasks/save",
        &[
            ("form[name]", task),
            ("form[source_id]", "2"),
            ("form[repository_id]", "1"),
            ("form[content_mode]", "all"),
            ("form[schedule_mode]", "manual"),
            ("form[enabled]", "on"),
        ],
    );
    assert_eq!(created.status, 302, "{}", created.body);
    let before = chrono::Utc::now().timestamp() as f64;
    assert_eq!(
        server.post_form("/api/tasks/run", &[("id", "1")]).status,
        302
    );
    wait_for_run(&server, "succeeded");
    // Then the source goes away: the next backup fails.
    std::fs::remove_dir_all(&tree).unwrap();
    assert_eq!(
        server.post_form("/api/tasks/run", &[("id", "1")]).status,
        302
    );
    wait_for_run(&server, "failed");
    server.sign_out_locally();

    assert_eq!(
        server.sign_in("grafana", "grafana-initial-password").status,
        200
    );
    let changed = server.post_api(
        "/api/account/password",
        &[
            ("current", "grafana-initial-password"),
            ("new", "grafana-changed-password"),
            ("repeat", "grafana-changed-password"),
        ],
    );
    assert!(changed.status < 400, "{}", changed.body);
    let token = server.post_api("/api/tokens/create", &[("name", "prometheus")]);
    let token = token.body.trim_matches('"').to_owned();
    assert!(token.starts_with("tm_"), "{token}");
    server.sign_out_locally();
    server
        .headers
        .borrow_mut()
        .push(("Authorization".into(), format!("Bearer {token}")));
    let scraped = server.request("GET", "/metrics");
    assert_eq!(scraped.status, 200, "{}", scraped.body);
    assert!(
        scraped.head.contains("text/plain; version=0.0.4"),
        "{}",
        scraped.head
    );
    let text = &scraped.body;
    let (ok, said) = promtool_check(text);
    assert!(ok, "promtool: {said}\n{text}");

    let label = r#"{task="plant \"north\" line"}"#;
    let success = sample(
        text,
        &format!("tidemark_task_last_success_timestamp_seconds{label}"),
    )
    .unwrap_or_else(|| panic!("no last success for {label}:\n{text}"));
    let failure = sample(
        text,
        &format!("tidemark_task_last_failure_timestamp_seconds{label}"),
    )
    .unwrap_or_else(|| panic!("no last failure:\n{text}"));
    assert!(
        before - 1.0 <= success && success <= failure,
        "{success} {failure}"
    );
    assert_eq!(
        sample(text, &format!("tidemark_task_points{label}")),
        Some(1.0),
        "{text}"
    );
    let age = sample(
        text,
        &format!("tidemark_task_newest_point_age_seconds{label}"),
    )
    .unwrap();
    assert!((0.0..120.0).contains(&age), "{age}");
    assert_eq!(
        sample(
            text,
            r#"tidemark_repository_up{repository="local-default"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            text,
            r#"tidemark_repository_packs{repository="local-default"}"#
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(sample(text, r#"tidemark_restores{state="new"}"#), Some(0.0));
    assert!(text.contains("tidemark_build_info{version="), "{text}");
}
