//! `/api/v1` on the real server, driven as a script drives it: bearer
//! tokens only, JSON in and out. A backup of a file tree with awkward names
//! is started and followed, its point listed, a restore created (after
//! refused attempts: bad JSON, a wrong field, an unknown task, a taken
//! name, a path outside an operator's reach), started, followed to the
//! end, and its tree compared with `diff -r`. The document is checked by an
//! independent validator, and every answer against the schema it declares
//! for that operation and status.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::Server;

/// An answer with its body parsed.
struct Answer {
    status: u16,
    head: String,
    body: Value,
}

/// Calls the API and keeps each answer for the schema check at the end.
struct Script<'a> {
    server: &'a Server,
    token: String,
    answers: Vec<Value>,
}

impl<'a> Script<'a> {
    fn new(server: &'a Server, token: &str) -> Self {
        Script {
            server,
            token: token.to_owned(),
            answers: Vec::new(),
        }
    }

    fn as_token(&mut self, token: &str) {
        self.token = token.to_owned();
    }

    /// `template` is the document's path (`/tasks/{id}`), `id` fills it.
    fn call(&mut self, method: &str, template: &str, id: &str, body: Option<&str>) -> Answer {
        let path = format!("/api/v1{}", template.replace("{id}", id));
        let answer = send(self.server, &self.token, method, &path, body);
        self.answers.push(json!({
            "method": method,
            "path": format!("/api/v1{template}"),
            "status": answer.status,
            "body": answer.body,
        }));
        answer
    }

    fn get(&mut self, template: &str, id: &str) -> Answer {
        self.call("GET", template, id, None)
    }

    fn post(&mut self, template: &str, id: &str, body: Value) -> Answer {
        self.call("POST", template, id, Some(&body.to_string()))
    }
}

fn send(server: &Server, token: &str, method: &str, path: &str, body: Option<&str>) -> Answer {
    server.headers.borrow_mut().clear();
    if !token.is_empty() {
        server
            .headers
            .borrow_mut()
            .push(("Authorization".into(), format!("Bearer {token}")));
    }
    let response = match body {
        Some(body) => server.post_raw(path, "application/json", body.as_bytes().to_vec(), false),
        None => server.request(method, path),
    };
    server.headers.borrow_mut().clear();
    let body = serde_json::from_str(&response.body)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", response.body));
    Answer {
        status: response.status,
        head: response.head,
        body,
    }
}

fn expect(answer: &Answer, status: u16, what: &str) {
    assert_eq!(answer.status, status, "{what}: {:#}", answer.body);
}

/// The checker's programs from scripts/setup.sh's virtual environment.
fn tool(variable: &str, name: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        format!("{home}/.cache/tidemark/venv/bin/{name}")
    })
}

fn run_checker(program: &str, args: &[&Path]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (scripts/setup.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{program}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A signed-in user's new API token (the user changes a first password).
fn token_of(server: &Server, username: &str, password: &str, first: bool) -> String {
    assert_eq!(server.sign_in(username, password).status, 200, "{username}");
    if first {
        let changed = server.post_api(
            "/api/account/password",
            &[
                ("current", password),
                ("new", "a changed password for scripts"),
                ("repeat", "a changed password for scripts"),
            ],
        );
        assert!(changed.status < 400, "{}", changed.body);
    }
    let token = server.post_api("/api/tokens/create", &[("name", "scripts")]);
    server.sign_out_locally();
    let token = token.body.trim_matches('"').to_owned();
    assert!(token.starts_with("tm_"), "{token}");
    token
}

fn user_with_token(server: &Server, username: &str, role: &str) -> String {
    server.sign_in_admin();
    let password = "a first password of eighteen";
    let created = server.post_api(
        "/api/users/create",
        &[
            ("username", username),
            ("role", role),
            ("password", password),
        ],
    );
    assert!(created.status < 400, "{}", created.body);
    server.sign_out_locally();
    token_of(server, username, password, true)
}

/// Polls `template` until `state_of` its body leaves `active`.
fn follow(script: &mut Script, template: &str, id: &str, state_of: fn(&Value) -> &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let answer = script.get(template, id);
        expect(&answer, 200, template);
        let state = state_of(&answer.body).as_str().unwrap_or("").to_owned();
        if !["new", "pending", "running"].contains(&state.as_str()) {
            return answer.body;
        }
        assert!(
            Instant::now() < deadline,
            "still {state}: {:#}",
            answer.body
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn awkward_tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub dir/数据 \"quoted\"")).unwrap();
    std::fs::create_dir_all(root.join("empty folder")).unwrap();
    std::fs::write(root.join("a b.csv"), "ts,v\n1,2\n").unwrap();
    std::fs::write(root.join("it's.txt"), "apostrophe\n").unwrap();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    std::fs::write(root.join("sub dir/数据 \"quoted\"/binary.bin"), bytes).unwrap();
    std::fs::write(root.join("sub dir/empty"), "").unwrap();
}

#[test]
fn a_script_backs_up_and_restores_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    awkward_tree(&tree);
    let server = Server::start(&dir.path().join("data"));

    // The document is public and valid OpenAPI, by a validator we did not write.
    let doc = send(&server, "", "GET", "/api/v1/openapi.json", None);
    expect(&doc, 200, "openapi.json");
    let spec = dir.path().join("openapi.json");
    std::fs::write(&spec, doc.body.to_string()).unwrap();
    run_checker(
        &tool("OPENAPI_SPEC_VALIDATOR", "openapi-spec-validator"),
        &[&spec],
    );

    // Everything else needs a token: not none, not a bogus one, not a session.
    let mut script = Script::new(&server, "");
    let refused = script.get("/tasks", "");
    expect(&refused, 401, "no token");
    assert!(
        refused.head.contains("www-authenticate: bearer"),
        "{}",
        refused.head
    );
    assert_eq!(refused.body["error"]["code"], "unauthorized");
    script.as_token("tm_not-a-token");
    expect(&script.get("/tasks", ""), 401, "bogus token");
    server.sign_in_admin();
    let with_cookie = server.request("GET", "/api/v1/tasks");
    assert_eq!(with_cookie.status, 401, "a session is not a token");

    // The admin sets up a task through the console's forms, named awkwardly.
    let saved = server.post_form(
        "/api/sources/save",
        &[
            ("form[name]", "tree"),
            ("form[kind]", "file-tree"),
            ("form[location]", tree.to_str().unwrap()),
        ],
    );
    assert_eq!(saved.status, 302, "{}", saved.body);
    let task_name = "夜间 \"north\" line's tree";
    let saved = server.post_form(
        "/api/tasks/save",
        &[
            ("form[name]", task_name),
            ("form[source_id]", "2"),
            ("form[repository_id]", "1"),
            ("form[content_mode]", "all"),
            ("form[schedule_mode]", "manual"),
            ("form[enabled]", "on"),
        ],
    );
    assert_eq!(saved.status, 302, "{}", saved.body);
    server.sign_out_locally();
    let admin = token_of(&server, "admin", support::ADMIN_PASSWORD, false);
    let viewer = user_with_token(&server, "dashboards", "viewer");
    let operator = user_with_token(&server, "night-shift", "operator");

    // A viewer reads but does not start anything.
    script.as_token(&viewer);
    let tasks = script.get("/tasks", "");
    expect(&tasks, 200, "viewer lists tasks");
    assert_eq!(tasks.body[0]["name"], task_name);
    assert!(tasks.body[0]["last_run"].is_null());
    let forbidden = script.post("/tasks/{id}/runs", "1", json!({}));
    expect(&forbidden, 403, "viewer starts a backup");
    assert_eq!(forbidden.body["error"]["code"], "forbidden");

    // The operator starts the backup and follows its run to the end.
    script.as_token(&operator);
    expect(&script.get("/tasks/{id}", "99"), 404, "unknown task");
    expect(
        &script.get("/runs/{id}", "abc"),
        400,
        "an id that is not one",
    );
    let started = script.call("POST", "/tasks/{id}/runs", "1", None);
    expect(&started, 202, "start a backup");
    let run_id = started.body["id"].as_i64().expect("run id").to_string();
    assert!(
        started
            .head
            .contains(&format!("location: /api/v1/runs/{run_id}")),
        "{}",
        started.head
    );
    let run = follow(&mut script, "/runs/{id}", &run_id, |b| &b["run"]["state"]);
    assert_eq!(run["run"]["state"], "succeeded", "{run:#}");
    assert_eq!(run["task_name"], task_name);
    assert!(run["run"]["objects"].as_i64().unwrap() >= 4, "{run:#}");
    let history = script.get("/tasks/{id}/runs", "1");
    expect(&history, 200, "history");
    assert_eq!(
        history.body["runs"][0]["id"].as_i64().unwrap().to_string(),
        run_id
    );
    let points = script.get("/tasks/{id}/points", "1");
    expect(&points, 200, "points");
    let point = points.body[0]["id"].as_str().expect("a point").to_owned();
    assert_eq!(Some(point.as_str()), run["run"]["point"].as_str());
    expect(&script.get("/tasks/{id}/drills", "1"), 200, "drills");
    expect(&script.get("/tasks/{id}", "1"), 200, "the task");

    // Restores that are refused, each with the reason where it belongs.
    let elsewhere = dir.path().join("restored tree");
    let outside_roots = elsewhere.to_str().unwrap();
    let restored = dir.path().join("data/restores/restored tree");
    let target = restored.to_str().unwrap();
    let bad = script.call("POST", "/restores", "", Some("{\"task_id\": 1,"));
    expect(&bad, 400, "not JSON");
    let wrong = script.post(
        "/restores",
        "",
        json!({"task_id": "one", "target": {"path": target}}),
    );
    expect(&wrong, 422, "a string for an id");
    assert_eq!(wrong.body["error"]["fields"][0]["field"], "task_id");
    let unknown = script.post(
        "/restores",
        "",
        json!({"task_id": 1, "target": {"path": target}, "forse": true}),
    );
    expect(&unknown, 422, "an unknown field");
    assert!(unknown.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("forse"));
    expect(
        &script.post(
            "/restores",
            "",
            json!({"task_id": 42, "target": {"path": target}}),
        ),
        404,
        "an unknown task",
    );
    let outside = script.post(
        "/restores",
        "",
        json!({"task_id": 1, "target": {"path": outside_roots}}),
    );
    expect(
        &outside,
        422,
        "an operator's path outside the restore roots",
    );
    assert_eq!(
        outside.body["error"]["fields"][0]["field"], "target.path",
        "{:#}",
        outside.body
    );
    assert!(!elsewhere.exists());

    // Below the restore root it may: created with its pre-check, then started.
    let request = json!({
        "task_id": 1,
        "name": "api restore \"one\"",
        "point_id": point,
        "target": {"path": target},
    });
    let created = script.post("/restores", "", request.clone());
    expect(&created, 201, "create a restore");
    let restore_id = created.body["summary"]["id"].as_i64().unwrap().to_string();
    assert!(created
        .head
        .contains(&format!("location: /api/v1/restores/{restore_id}")));
    assert_eq!(created.body["summary"]["state"], "new");
    assert_eq!(
        created.body["precheck"]["outcome"], "pass",
        "{:#}",
        created.body
    );
    let taken = script.post("/restores", "", request);
    expect(&taken, 409, "the same name again");
    assert_eq!(taken.body["error"]["fields"][0]["field"], "name");
    assert!(!restored.exists(), "nothing written before Start");

    let started = script.call("POST", "/restores/{id}/start", &restore_id, None);
    expect(&started, 202, "start the restore");
    let done = follow(&mut script, "/restores/{id}", &restore_id, |b| {
        &b["summary"]["state"]
    });
    assert_eq!(done["summary"]["state"], "finished", "{done:#}");
    let diff = Command::new("diff")
        .arg("-r")
        .arg(&tree)
        .arg(&restored)
        .output()
        .unwrap();
    assert!(
        diff.status.success(),
        "diff -r: {}{}",
        String::from_utf8_lossy(&diff.stdout),
        String::from_utf8_lossy(&diff.stderr)
    );
    assert!(restored.join("empty folder").is_dir());
    expect(
        &script.post("/restores/{id}/start", &restore_id, json!({})),
        409,
        "a finished restore again",
    );
    script.as_token(&admin);
    let restores = script.get("/restores", "");
    expect(&restores, 200, "the restores");
    assert_eq!(restores.body[0]["name"], "api restore \"one\"");
    let task = script.get("/tasks/{id}", "1");
    assert_eq!(
        task.body["last_run"]["state"], "succeeded",
        "{:#}",
        task.body
    );

    // Unknown routes answer in JSON too.
    let missing = send(&server, &admin, "GET", "/api/v1/nothing-here", None);
    assert_eq!(
        (missing.status, &missing.body["error"]["code"]),
        (404, &json!("not_found"))
    );

    // The audit log names the token's user and the console's actions.
    server.sign_in_admin();
    let audit = server.request("GET", "/audit?user=night-shift");
    assert_eq!(audit.status, 200);
    for action in ["create restore task", "start restore", "restore 1"] {
        assert!(audit.body.contains(action), "{action} in {}", audit.body);
    }
    server.sign_out_locally();

    // Every answer matches what the document says of its operation and status.
    let cases = dir.path().join("answers.json");
    std::fs::write(&cases, Value::Array(script.answers).to_string()).unwrap();
    let checker = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/openapi_check.py");
    let python = tool("TOOLS_PYTHON", "python");
    run_checker(&python, &[&checker, &spec, &cases]);
}
