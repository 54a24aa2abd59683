//! Console security against the real binary: every server function has a
//! role rule and enforces it, cross-site posts are refused, sign-in is rate
//! limited and gives no hint, a disabled user's session ends, a first start
//! without a given password forces a change, secrets never leave the server,
//! and every response carries the security headers.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::{Server, ADMIN_PASSWORD};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Access {
    Anyone,
    SignedIn,
    Viewer,
    Operator,
    Admin,
}
use Access::*;

/// Every server function: who may call it, and a body good enough to reach
/// the access check (ids that do not exist, so nothing changes).
const RULES: &[(&str, Access, &str)] = &[
    ("login", Anyone, "username=nobody&password=x"),
    ("logout", SignedIn, ""),
    ("me", Anyone, ""),
    ("account/password", SignedIn, "current=x&new=y&repeat=y"),
    ("account/theme", SignedIn, "theme=dark"),
    ("account/locale", SignedIn, "locale=zh-CN"),
    ("overview", Viewer, ""),
    ("sources", Viewer, ""),
    ("sources/save", Admin, "form[name]=x"),
    ("sources/delete", Admin, "id=999"),
    ("sources/test", Admin, "form[name]=x"),
    ("sources/objects", Viewer, "source_id=999"),
    ("sources/preview", Viewer, "form[name]=x"),
    ("repositories", Viewer, ""),
    ("repositories/create", Admin, "form[name]=&form[location]="),
    ("repositories/unlock", Admin, "id=999&passphrase=x"),
    (
        "repositories/passphrase",
        Admin,
        "id=999&encryption=generate&passphrase=&repeat=",
    ),
    ("repositories/export", Admin, "id=999&password=x"),
    (
        "repositories/settings",
        Admin,
        "id=999&limit_upload_mib=&s3_key=keep&access_key_id=&secret_access_key=",
    ),
    ("repositories/usage", Viewer, "id=999"),
    ("repositories/verify", Operator, "id=999&read_data=false"),
    ("repositories/checks", Viewer, "id=999"),
    ("repositories/checks/save", Admin, "form[repository_id]=999"),
    ("repositories/checks/run", Operator, "id=999&kind=data"),
    ("copies", Viewer, ""),
    ("copies/save", Admin, "form[name]="),
    ("copies/delete", Admin, "id=999"),
    ("copies/run", Operator, "id=999"),
    ("runs", Viewer, "task_id=999&page=1"),
    ("runs/get", Viewer, "id=999"),
    ("jobs", Viewer, ""),
    ("tasks", Viewer, ""),
    ("tasks/get", Viewer, "id=999"),
    ("tasks/cron", Viewer, "expression=0+3+*+*+*&timezone=UTC"),
    ("tasks/copy", Admin, "id=999"),
    ("tasks/save", Admin, "form[name]="),
    ("tasks/verify", Admin, "form[name]="),
    ("tasks/delete", Admin, "id=999&delete_files=false"),
    ("tasks/timeline", Viewer, "task_id=999"),
    ("tasks/run", Operator, "id=999"),
    ("tasks/enable", Admin, "id=999&enabled=true"),
    ("tasks/stop", Operator, "id=999"),
    ("drills", Viewer, "task_id=999"),
    ("drills/run", Operator, "task_id=999"),
    ("drills/retry", Operator, "run_id=999"),
    ("drills/stop", Operator, "task_id=999"),
    ("restores", Viewer, ""),
    ("restores/points", Viewer, "task_id=999"),
    ("points/diff", Viewer, "task_id=999&to=x"),
    ("users/downloads", Viewer, ""),
    ("users/downloads/set", Admin, "allowed=false"),
    (
        "points/browse",
        Viewer,
        "task_id=999&point_id=x&folder=&search=&page=1",
    ),
    ("restores/objects", Viewer, "task_id=999&point_id=x"),
    ("restores/targets", Viewer, "task_id=999"),
    ("restores/new", Operator, ""),
    ("restores/check", Operator, "form[name]="),
    ("restores/create", Operator, "form[name]="),
    ("restores/verify", Operator, "id=999"),
    ("restores/get", Viewer, "id=999"),
    (
        "restores/start",
        Operator,
        "id=999&acknowledge_warnings=false",
    ),
    (
        "restores/retry",
        Operator,
        "id=999&acknowledge_warnings=false",
    ),
    ("restores/cancel", Operator, "id=999"),
    ("restores/delete", Operator, "id=999"),
    ("notifications", Admin, ""),
    ("notifications/create", Admin, "form[name]="),
    ("notifications/enable", Admin, "id=999&enabled=true"),
    ("notifications/delete", Admin, "id=999"),
    ("notifications/test", Admin, "id=999"),
    ("users", Admin, ""),
    ("users/create", Admin, "username=&role=viewer&password="),
    ("users/role", Admin, "id=999&role=viewer"),
    ("users/disable", Admin, "id=999&disabled=true"),
    ("users/reset", Admin, "id=999&password=x"),
    ("tokens", Viewer, ""),
    ("tokens/create", Viewer, "name="),
    ("tokens/revoke", Viewer, "id=999"),
    ("audit", Viewer, "page=1"),
];

/// Every `#[server(endpoint = "...")]` in the console's source.
fn declared_endpoints() -> BTreeSet<String> {
    let api = Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src/api");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(api).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in text.split("#[server(endpoint = \"").skip(1) {
            found.insert(part.split('"').next().unwrap().to_owned());
        }
    }
    found
}

fn post(server: &support::Client, endpoint: &str, body: &str) -> support::Response {
    let fields: Vec<(&str, &str)> = body
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    server.post_api(&format!("/api/{endpoint}"), &fields)
}

/// Creates a user with `role` and a changed password; returns its password.
fn user(server: &Server, name: &str, role: &str) -> String {
    server.sign_in_admin();
    let initial = format!("{name}-initial-password");
    let created = post(
        server,
        "users/create",
        &format!("username={name}&role={role}&password={initial}"),
    );
    assert!(created.status < 400, "{}", created.body);
    server.sign_out_locally();
    assert_eq!(server.sign_in(name, &initial).status, 200);
    let password = format!("{name}-changed-password");
    let changed = post(
        server,
        "account/password",
        &format!("current={initial}&new={password}&repeat={password}"),
    );
    assert!(changed.status < 400, "{}", changed.body);
    server.sign_out_locally();
    password
}

#[test]
fn every_server_function_has_a_role_rule_and_enforces_it() {
    let declared = declared_endpoints();
    let ruled: BTreeSet<String> = RULES.iter().map(|r| r.0.to_owned()).collect();
    let missing: Vec<_> = declared.difference(&ruled).collect();
    assert!(
        missing.is_empty(),
        "server functions without a rule here: {missing:?}"
    );
    let stale: Vec<_> = ruled.difference(&declared).collect();
    assert!(
        stale.is_empty(),
        "rules for server functions that no longer exist: {stale:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("TIDEMARK_LOGIN_ATTEMPTS", "1000")]);
    let users = [
        (Viewer, "vera", user(&server, "vera", "viewer")),
        (Operator, "otto", user(&server, "otto", "operator")),
        (Admin, "admin", ADMIN_PASSWORD.to_owned()),
    ];
    for (endpoint, access, body) in RULES {
        if *access > Anyone {
            server.sign_out_locally();
            let res = post(&server, endpoint, body);
            assert_eq!(res.status, 401, "anonymous {endpoint}: {}", res.body);
        }
        for (role, name, password) in &users {
            if *endpoint == "logout" {
                continue; // ends the session the loop relies on; checked below
            }
            server.sign_out_locally();
            assert_eq!(server.sign_in(name, password).status, 200);
            let res = post(&server, endpoint, body);
            if *access <= *role {
                assert!(
                    res.status != 401 && res.status != 403,
                    "{name} ({role:?}) {endpoint}: {} {}",
                    res.status,
                    res.body
                );
            } else {
                assert_eq!(
                    res.status, 403,
                    "{name} ({role:?}) {endpoint}: {}",
                    res.body
                );
                assert!(res.body.contains("needs the"), "{}", res.body);
            }
        }
    }
    // Signing out ends the session on the server, not only in the browser.
    server.sign_out_locally();
    server.sign_in_admin();
    let cookie_holder = post(&server, "tasks", "");
    assert_eq!(cookie_holder.status, 200);
    assert!(post(&server, "logout", "").status < 400);
    assert_eq!(post(&server, "tasks", "").status, 401);
}

#[test]
fn cross_site_posts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.sign_in_admin();
    server
        .headers
        .borrow_mut()
        .push(("Origin".into(), "http://evil.example".into()));
    let res = post(&server, "tasks/stop", "id=1");
    assert_eq!(res.status, 403, "{}", res.body);
    assert!(res.body.contains("cross-site"), "{}", res.body);
    server.headers.borrow_mut().clear();
    server
        .headers
        .borrow_mut()
        .push(("Sec-Fetch-Site".into(), "cross-site".into()));
    assert_eq!(post(&server, "tasks/stop", "id=1").status, 403);
    server.headers.borrow_mut().clear();
    let origin = format!("http://{}", server.addr);
    server.headers.borrow_mut().push(("Origin".into(), origin));
    assert_eq!(post(&server, "tasks/stop", "id=1").status, 200);
}

#[test]
fn sign_in_gives_no_hint_and_is_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("TIDEMARK_LOGIN_ATTEMPTS", "3")]);
    let unknown = server.sign_in("nobody", "whatever-password");
    let wrong = server.sign_in("admin", "wrong-password-here");
    assert_ne!(unknown.status, 200);
    assert!(
        unknown
            .body
            .contains("the user name or the password is wrong"),
        "{}",
        unknown.body
    );
    assert_eq!(unknown.body, wrong.body, "the same answer for both");
    assert_eq!(server.sign_in("admin", ADMIN_PASSWORD).status, 200);
    let limited = server.sign_in("admin", ADMIN_PASSWORD);
    assert!(limited.body.contains("TooManyAttempts"), "{}", limited.body);
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(
        limited.head.contains("\r\nretry-after: "),
        "{}",
        limited.head
    );
    // The audit log recorded each attempt with its outcome.
    let fresh = Server::start_with(&dir.path().join("second"), &[]);
    fresh.sign_in_admin();
    let audit = post(&fresh, "audit", "page=1&action=sign-in");
    assert!(
        audit.body.contains("\"outcome\":\"success\""),
        "{}",
        audit.body
    );
}

#[test]
fn a_disabled_users_session_ends_and_tokens_carry_the_role() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let password = user(&server, "olga", "operator");
    assert_eq!(server.sign_in("olga", &password).status, 200);
    let token = post(&server, "tokens/create", "name=nightly-script");
    let token = token.body.trim_matches('"').to_owned();
    assert!(token.starts_with("tm_"), "{token}");
    let olga_session = post(&server, "tasks", "");
    assert_eq!(olga_session.status, 200);

    // A script with the token acts as olga, with olga's role.
    server.sign_out_locally();
    server
        .headers
        .borrow_mut()
        .push(("Authorization".into(), format!("Bearer {token}")));
    assert_eq!(post(&server, "tasks", "").status, 200);
    assert_eq!(post(&server, "users", "").status, 403);
    server.headers.borrow_mut().clear();

    // Disabled: the session and the token stop working at the next request.
    assert_eq!(server.sign_in("olga", &password).status, 200);
    let olga_cookie_works = post(&server, "tasks", "");
    assert_eq!(olga_cookie_works.status, 200);
    // The admin acts on the same server, in a second client.
    let admin = support::Client::new(server.addr);
    admin.sign_in_admin();
    let users = post(&admin, "users", "");
    let id = users
        .body
        .split("{\"id\":")
        .skip(1)
        .find(|u| u.contains("\"username\":\"olga\""))
        .and_then(|u| u.split(',').next())
        .unwrap()
        .to_owned();
    assert!(post(&admin, "users/disable", &format!("id={id}&disabled=true")).status < 400);
    assert_eq!(post(&server, "tasks", "").status, 401);
    server.sign_out_locally();
    server
        .headers
        .borrow_mut()
        .push(("Authorization".into(), format!("Bearer {token}")));
    assert_eq!(post(&server, "tasks", "").status, 401);
}

#[test]
fn a_generated_first_password_is_printed_once_and_must_be_changed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = Server::start_logged(
        &dir.path().join("data"),
        &[("TIDEMARK_ADMIN_PASSWORD", "")],
        Some(&log),
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let password = text
        .split("one-time password ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("the generated password is in the log")
        .to_owned();
    assert_eq!(text.matches(&password).count(), 1, "printed once");
    assert_eq!(server.sign_in("admin", &password).status, 200);
    let res = post(&server, "tasks", "");
    assert_eq!(res.status, 403);
    assert!(
        res.body.contains("change your password first"),
        "{}",
        res.body
    );
    let page = server.request("GET", "/backups");
    assert!(
        page.head.contains("location: /account/password"),
        "{}",
        page.head
    );
    let new = "a much longer new password";
    assert!(
        post(
            &server,
            "account/password",
            &format!("current={password}&new={new}&repeat={new}")
        )
        .status
            < 400
    );
    assert_eq!(post(&server, "tasks", "").status, 200);
    drop(server);
    // A given password is never printed.
    let log2 = dir.path().join("server2.log");
    let _given = Server::start_logged(&dir.path().join("data2"), &[], Some(&log2));
    assert!(!std::fs::read_to_string(&log2)
        .unwrap()
        .contains(ADMIN_PASSWORD));
}

#[test]
fn a_source_password_never_leaves_the_server() {
    const SECRET: &str = "Pg-Secret-Value-7Qx";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let server = Server::start_logged(&data, &[("TIDEMARK_LOG", "debug,sqlx=debug")], Some(&log));
    server.sign_in_admin();
    let saved = post(
        &server,
        "sources/save",
        &format!("form[name]=pg&form[kind]=postgres&form[location]=postgres://backup@127.0.0.1:1/metrics&form[password]={SECRET}"),
    );
    let mut bodies = vec![saved.body.clone()];
    for (endpoint, body) in [("sources", ""), ("sources/test", "id=2&form[name]=pg&form[kind]=postgres&form[location]=postgres://backup@127.0.0.1:1/metrics"), ("sources/objects", "source_id=2"), ("audit", "page=1"), ("overview", "")] {
        bodies.push(post(&server, endpoint, body).body);
    }
    bodies.push(server.request("GET", "/sources").body);
    bodies.push(server.request("GET", "/audit").body);
    for body in &bodies {
        assert!(
            !body.contains(SECRET),
            "a response holds the secret: {body}"
        );
    }
    assert!(bodies[1].contains("\"name\":\"pg\""), "{}", bodies[1]);
    drop(server);
    assert!(
        !std::fs::read_to_string(&log).unwrap().contains(SECRET),
        "the log holds the secret"
    );
    let catalog = std::fs::read(data.join("catalog.db")).unwrap();
    let wal = std::fs::read(data.join("catalog.db-wal")).unwrap_or_default();
    for bytes in [&catalog, &wal] {
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "stored in plain text"
        );
    }
}

#[test]
fn responses_carry_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let login = server.request("GET", "/login");
    assert_eq!(login.status, 200);
    assert!(
        login.head.contains("x-frame-options: deny"),
        "{}",
        login.head
    );
    assert!(login.head.contains("referrer-policy: same-origin"));
    let csp = login
        .head
        .lines()
        .find(|l| l.starts_with("content-security-policy:"))
        .expect("a CSP")
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|n| n.split('\'').next())
        .expect("a nonce");
    assert!(
        login.body.contains(&format!("nonce=\"{nonce}\""))
            || login
                .body
                .to_ascii_lowercase()
                .contains(&format!("nonce=\"{nonce}\"")),
        "the inline script carries the nonce"
    );
    assert!(
        !csp.contains("unsafe-inline'; script")
            && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    let api = server.request("POST", "/api/tasks");
    assert!(
        api.head
            .contains("content-security-policy: default-src 'none'"),
        "{}",
        api.head
    );
}

#[test]
fn sessions_end_when_idle_and_at_their_maximum_age() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[
            ("TIDEMARK_SESSION_IDLE_SECS", "2"),
            ("TIDEMARK_SESSION_MAX_SECS", "5"),
        ],
    );
    // Idle for longer than the limit: signed out.
    server.sign_in_admin();
    assert_eq!(post(&server, "tasks", "").status, 200);
    std::thread::sleep(std::time::Duration::from_millis(3200));
    assert_eq!(post(&server, "tasks", "").status, 401, "idle session ended");

    // Active all along, but past the maximum age: signed out too.
    server.sign_in_admin();
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(4500) {
        assert_eq!(post(&server, "tasks", "").status, 200);
        std::thread::sleep(std::time::Duration::from_millis(700));
    }
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(
        post(&server, "tasks", "").status,
        401,
        "session past its maximum age"
    );
}

#[test]
fn the_session_cookie_is_http_only_strict_and_secure_behind_tls() {
    let dir = tempfile::tempdir().unwrap();
    let plain = Server::start(&dir.path().join("plain"));
    let res = plain.sign_in("admin", ADMIN_PASSWORD);
    let cookie = res
        .head
        .lines()
        .find(|l| l.starts_with("set-cookie: tidemark_session="))
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("httponly") && cookie.contains("samesite=strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("secure"), "{cookie}");
    let behind_tls = Server::start_with(
        &dir.path().join("tls"),
        &[("TIDEMARK_SECURE_COOKIES", "true")],
    );
    let res = behind_tls.sign_in("admin", ADMIN_PASSWORD);
    let cookie = res
        .head
        .lines()
        .find(|l| l.starts_with("set-cookie: tidemark_session="))
        .unwrap()
        .to_owned();
    assert!(cookie.contains("; secure"), "{cookie}");
}

#[test]
fn downloads_need_a_session_and_viewers_need_an_admins_leave() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("TIDEMARK_LOGIN_ATTEMPTS", "1000")]);
    let vera = user(&server, "vera", "viewer");
    let path = "/api/points/download?task=999&point=x&name=y";
    assert_eq!(server.request("GET", path).status, 401, "signed out");
    assert_eq!(server.sign_in("vera", &vera).status, 200);
    let refused = server.request("GET", path);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("administrator allows"),
        "{}",
        refused.body
    );
    server.sign_out_locally();

    server.sign_in_admin();
    assert!(post(&server, "users/downloads/set", "allowed=true").status < 400);
    assert_eq!(post(&server, "users/downloads", "").body.trim(), "true");
    server.sign_out_locally();
    assert_eq!(server.sign_in("vera", &vera).status, 200);
    // Past the permission: the task does not exist.
    let allowed = server.request("GET", path);
    assert_eq!(allowed.status, 404, "{}", allowed.body);
    let malformed = server.request("GET", "/api/points/download?task=abc");
    assert_eq!(malformed.status, 400, "{}", malformed.body);
}
