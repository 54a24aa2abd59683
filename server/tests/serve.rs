//! Starts the real `tidemark serve` binary on a random loopback port against
//! a temporary data directory and talks HTTP to it.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{run_expecting_failure, Server, BIN};

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
    // Signed out, a page sends to sign-in.
    let res = server.request("GET", "/");
    assert_eq!(res.status, 303, "{}", res.head);
    assert!(res.head.contains("location: /login?next=/"), "{}", res.head);
    // The query comes back too (a restore form's task and point are there).
    let res = server.request("GET", "/restores/new?task=1&point=p");
    assert!(
        res.head
            .contains("location: /login?next=/restores/new%3ftask%3d1%26point%3dp"),
        "{}",
        res.head
    );
    server.sign_in_admin();
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
    server.sign_in_admin();
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
    assert_eq!(res.status, 401, "signed out: {}", res.body);
    server.sign_in_admin();
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

#[test]
fn forms_work_without_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a.csv"), "ts,v\n1,2\n").unwrap();
    let server = Server::start(&dir.path().join("data"));
    server.sign_in_admin();

    // The demo source is there at first start (id 1); register a tree (id 2).
    let sources = server.request("POST", "/api/sources");
    assert!(sources.body.contains("demo-metrics"), "{}", sources.body);
    let saved = server.post_form(
        "/api/sources/save",
        &[
            ("form[name]", "tree"),
            ("form[kind]", "file-tree"),
            ("form[location]", tree.to_str().unwrap()),
        ],
    );
    assert_eq!(saved.status, 302, "{}", saved.body);

    // An invalid task goes back to the form with its errors in the URL.
    let invalid = server.post_form("/api/tasks/save", &[("form[name]", "")]);
    assert_eq!(invalid.status, 302);
    assert!(
        invalid.head.contains("location: http://") && invalid.head.contains("__err="),
        "{}",
        invalid.head
    );

    // A valid one lands on the task list, which lists it.
    let created = server.post_form(
        "/api/tasks/save",
        &[
            ("form[name]", "plain-form"),
            ("form[source_id]", "2"),
            ("form[repository_id]", "1"),
            ("form[content_mode]", "all"),
            ("form[schedule_mode]", "manual"),
            ("form[enabled]", "on"),
        ],
    );
    assert_eq!(created.status, 302, "{}", created.body);
    assert!(
        created.head.contains("location: /backups"),
        "{}",
        created.head
    );
    let list = server.request("GET", "/backups");
    assert!(
        list.body.contains("plain-form"),
        "the task list renders the new task"
    );

    // Back Up Now without JavaScript, then the history page shows the run.
    let run = server.post_form("/api/tasks/run", &[("id", "1")]);
    assert_eq!(run.status, 302, "{}", run.body);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let history = server.request("GET", "/backups/1/history");
        if history.body.contains("data-state=\"succeeded\"") {
            assert!(
                history.body.contains("/runs/plain-form_tree_"),
                "the backup path is shown"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not succeed: {}",
            history.body
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(server.terminate().success());
}
