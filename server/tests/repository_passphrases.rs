//! A repository passphrase, against the real binary: sealed in the catalog,
//! in no response, page, audit entry or log line (at debug level), except
//! the answer to an administrator's re-authenticated export.

mod support;

use support::{Server, ADMIN_PASSWORD};

fn post(server: &support::Client, endpoint: &str, body: &str) -> support::Response {
    let fields: Vec<(&str, &str)> = body
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    server.post_api(&format!("/api/{endpoint}"), &fields)
}

#[test]
fn a_repository_passphrase_never_leaves_the_server_but_by_an_export() {
    const SECRET: &str = "Repo-Passphrase-Value-8Kz";
    const ROTATED: &str = "Rotated-Passphrase-Value-3Wq";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let server = Server::start_logged(&data, &[("TIDEMARK_LOG", "debug,sqlx=debug")], Some(&log));
    server.sign_in_admin();
    let vault = dir.path().join("vault");
    let created = post(
        &server,
        "repositories/create",
        &format!(
            "form[name]=vault&form[location]={}&form[encryption]=passphrase&form[passphrase]={SECRET}&form[repeat]={SECRET}",
            vault.display()
        ),
    );
    assert!(created.status < 400, "{}", created.body);
    assert!(
        created.body.contains(r#""encrypted":true"#),
        "{}",
        created.body
    );
    let config = std::fs::read_to_string(vault.join("config.json")).unwrap();
    assert!(config.contains("wrapped_key"), "{config}");
    let mut bodies = vec![created.body.clone()];
    for (endpoint, body) in [
        ("repositories", ""),
        ("repositories/usage", "id=2"),
        ("repositories/verify", "id=2&read_data=true"),
        ("repositories/usage", "id=1"),
    ] {
        let res = post(&server, endpoint, body);
        assert!(res.status < 400, "{endpoint}: {}", res.body);
        bodies.push(res.body);
    }
    let rotated = post(
        &server,
        "repositories/passphrase",
        &format!("id=2&encryption=passphrase&passphrase={ROTATED}&repeat={ROTATED}"),
    );
    assert!(rotated.status < 400, "{}", rotated.body);
    bodies.push(rotated.body);
    bodies.push(post(&server, "repositories/usage", "id=2").body);
    bodies.push(post(&server, "audit", "page=1").body);
    bodies.push(server.request("GET", "/repositories").body);
    bodies.push(server.request("GET", "/audit").body);
    for body in &bodies {
        assert!(
            !body.contains(SECRET) && !body.contains(ROTATED),
            "a response holds the passphrase: {body}"
        );
    }
    // The default repository is encrypted under a generated passphrase.
    assert!(bodies[4].contains(r#""encrypted":true"#), "{}", bodies[4]);

    // The recovery path answers with it, to an admin giving the password.
    let refused = post(&server, "repositories/export", "id=2&password=wrong");
    assert!(
        refused.status >= 400 && !refused.body.contains(ROTATED),
        "{}",
        refused.body
    );
    let exported = post(
        &server,
        "repositories/export",
        &format!("id=2&password={ADMIN_PASSWORD}"),
    );
    assert!(exported.body.contains(ROTATED), "{}", exported.body);
    let default = post(
        &server,
        "repositories/export",
        &format!("id=1&password={ADMIN_PASSWORD}"),
    );
    let generated = default
        .body
        .split(r#""passphrase":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no passphrase in {}", default.body))
        .to_owned();
    assert!(generated.len() >= 24, "{generated}");
    let audit = post(&server, "audit", "page=1").body;
    assert!(audit.contains("export repository passphrase"), "{audit}");
    let listed = post(&server, "repositories", "").body;
    assert!(
        listed.contains(r#""passphrase_exported_by":"admin""#),
        "{listed}"
    );

    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    let catalog = std::fs::read(data.join("catalog.db")).unwrap();
    let wal = std::fs::read(data.join("catalog.db-wal")).unwrap_or_default();
    for secret in [SECRET, ROTATED, generated.as_str()] {
        assert!(!logged.contains(secret), "the log holds a passphrase");
        for bytes in [&catalog, &wal] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "stored in plain text"
            );
        }
    }
}
