//! An S3 repository with its own access key, against an S3 API that checks
//! signatures (moto with IAM authentication on): the server's environment
//! holds another account's key, which the storage refuses; the repository's
//! own key (entered in the form) opens and initialises it, and the secret
//! is never sent back nor stored in the clear. Afterwards an administrator
//! replaces the key in the repository's settings: a key the storage refuses
//! (or the environment's) changes nothing; a second key of the account is
//! tried, then stored, with an upload limit.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::Server;

/// moto with authentication: the first `FREE` requests are not checked
/// (they create the user, its two keys and policy, and the bucket).
struct AuthS3 {
    child: Child,
    port: u16,
}

const FREE: u32 = 5;

impl AuthS3 {
    fn start() -> AuthS3 {
        let bin = std::env::var("MOTO_SERVER").unwrap_or_else(|_| {
            let home = std::env::var("HOME").unwrap_or_default();
            format!("{home}/.cache/tidemark/venv/bin/moto_server")
        });
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", FREE.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} ({e}); run scripts/setup.sh"));
        let s3 = AuthS3 { child, port };
        // Wait until it accepts connections (a request would use up one of
        // the unchecked ones).
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(500));
        s3
    }

    /// One request; `service` picks moto's backend by the signature scope.
    fn call(&self, method: &str, path: &str, service: &str, body: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let attempt = (|| -> std::io::Result<String> {
                let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
                write!(
                    stream,
                    "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
                     Authorization: AWS4-HMAC-SHA256 Credential=setup/20261203/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00\r\n\
                     Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                    self.port,
                    body.len()
                )?;
                let mut response = String::new();
                stream.read_to_string(&mut response)?;
                Ok(response)
            })();
            match attempt {
                Ok(response) if response.starts_with("HTTP/1.1 200") => return response,
                Ok(response) => panic!("{method} {path}: {response}"),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Err(e) => panic!("{method} {path}: {e}"),
            }
        }
    }

    /// A user allowed everything on S3, two keys of it, and a bucket.
    fn account(&self, bucket: &str) -> [(String, String); 2] {
        self.call(
            "POST",
            "/",
            "iam",
            "Action=CreateUser&UserName=backup&Version=2010-05-08",
        );
        let new_key = || {
            let key = self.call(
                "POST",
                "/",
                "iam",
                "Action=CreateAccessKey&UserName=backup&Version=2010-05-08",
            );
            let field = |name: &str| {
                let start = key.find(&format!("<{name}>")).unwrap() + name.len() + 2;
                let end = key[start..].find('<').unwrap() + start;
                key[start..end].to_owned()
            };
            (field("AccessKeyId"), field("SecretAccessKey"))
        };
        let keys = [new_key(), new_key()];
        let policy = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";
        self.call(
            "POST",
            "/",
            "iam",
            &format!("Action=PutUserPolicy&UserName=backup&PolicyName=s3&PolicyDocument={policy}&Version=2010-05-08"),
        );
        self.call("PUT", &format!("/{bucket}"), "s3", "");
        keys
    }
}

impl Drop for AuthS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_s3_repository_opens_with_its_own_key_and_keeps_the_secret() {
    let s3 = AuthS3::start();
    let [(key_id, secret), (second_id, second_secret)] = s3.account("offsite");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a b.csv"), "ts,v\n1,2\n".repeat(1000)).unwrap();
    let data = dir.path().join("data");
    // The server's environment: another account's key.
    let server = Server::start_with(
        &data,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAOTHERACCOUNT0000"),
            ("AWS_SECRET_ACCESS_KEY", "not-this-accounts-secret"),
        ],
    );
    server.sign_in_admin();
    let location = format!(
        "s3://offsite/tidemark?endpoint=http://127.0.0.1:{}&region=us-east-1",
        s3.port
    );
    let create = |key: &str, secret: &str, location: &str| {
        server.post_api(
            "/api/repositories/create",
            &[
                ("form[name]", "offsite"),
                ("form[location]", location),
                ("form[encryption]", "generate"),
                ("form[access_key_id]", key),
                ("form[secret_access_key]", secret),
            ],
        )
    };

    // The environment's key is refused by the storage; nothing is added.
    let refused = create("", "", &location);
    assert!(refused.status >= 400, "{}", refused.body);
    assert!(!refused.body.contains("not-this-accounts-secret"));
    // Half a key, or a key for a local path, is refused beside its field.
    let half = create(&key_id, "", &location);
    assert_eq!(half.status, 422, "{}", half.body);
    assert!(half.body.contains("secret_access_key"), "{}", half.body);
    let local = dir.path().join("local repo");
    let local = create(&key_id, &secret, local.to_str().unwrap());
    assert_eq!(local.status, 422, "{}", local.body);
    assert!(
        local.body.contains("only an S3 repository"),
        "{}",
        local.body
    );
    let listed = server.post_api("/api/repositories", &[]);
    assert!(!listed.body.contains("offsite"), "{}", listed.body);

    // Its own key opens it; the answer names the key id, never the secret.
    let created = create(&key_id, &secret, &location);
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains(&key_id));
    assert!(!created.body.contains(&secret));
    let summary: serde_json::Value = serde_json::from_str(&created.body).unwrap();

    // Opening it signed with its own key: creating it read `config.json`
    // and wrote the new repository's files. (Backups and listings go the same
    // way; they are not exercised here because moto's signature check
    // rejects listings with a prefix: `SignatureDoesNotMatch`, a moto quirk
    // that real S3 does not share. The copy-jobs browser test backs up to
    // S3 with the environment's key.)
    assert_eq!(summary["kind"], "s3");
    assert_eq!(summary["encrypted"], true);

    // The secret is sealed at rest: not in the catalog's files.
    let listed = server.post_api("/api/repositories", &[]);
    assert!(listed.body.contains(&key_id) && !listed.body.contains(&secret));

    // Settings: a key the storage refuses, or the environment's, changes
    // nothing; the second key is tried and stored, with an upload limit.
    let id = summary["id"].as_i64().unwrap().to_string();
    let settings = |limit: &str, mode: &str, key: &str, secret: &str| {
        server.post_api(
            "/api/repositories/settings",
            &[
                ("id", id.as_str()),
                ("limit_upload_mib", limit),
                ("s3_key", mode),
                ("access_key_id", key),
                ("secret_access_key", secret),
            ],
        )
    };
    let wrong = settings("", "own", "AKIANOSUCHKEY0000000", "wrong secret");
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(
        wrong.body.contains("access_key_id") && wrong.body.contains("nothing was changed"),
        "{}",
        wrong.body
    );
    let environment = settings("", "environment", "", "");
    assert_eq!(environment.status, 422, "{}", environment.body);
    assert!(environment.body.contains("s3_key"), "{}", environment.body);
    let limit = settings("0", "keep", "", "");
    assert_eq!(limit.status, 422, "{}", limit.body);
    assert!(limit.body.contains("limit_upload_mib"), "{}", limit.body);
    let listed = server.post_api("/api/repositories", &[]);
    assert!(listed.body.contains(&key_id), "unchanged: {}", listed.body);
    let replaced = settings("5", "own", &second_id, &second_secret);
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    let replaced: serde_json::Value = serde_json::from_str(&replaced.body).unwrap();
    assert_eq!(replaced["s3_access_key_id"], second_id.as_str());
    assert_eq!(replaced["limit_upload_mib"], 5);
    let listed = server.post_api("/api/repositories", &[]);
    assert!(!listed.body.contains(&second_secret));

    // The CLI: `--s3-key-file` (key id, then secret) instead of the
    // environment's key, which the storage refuses.
    let cli_location = location.replace("tidemark?", "cli?");
    let key_file = dir.path().join("offsite key");
    std::fs::write(&key_file, format!("{second_id}\n{second_secret}\n")).unwrap();
    let init = |extra: &[&str], location: &str| {
        Command::new(support::BIN)
            .args(["repo", "init", location])
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", "AKIAOTHERACCOUNT0000")
            .env("AWS_SECRET_ACCESS_KEY", "not-this-accounts-secret")
            .env_remove("TIDEMARK_S3_KEY_FILE")
            .output()
            .unwrap()
    };
    let refused = init(&[], &cli_location);
    assert!(
        !refused.status.success(),
        "the environment's key is refused"
    );
    let half = dir.path().join("half key");
    std::fs::write(&half, format!("{second_id}\n")).unwrap();
    let out = init(&["--s3-key-file", half.to_str().unwrap()], &cli_location);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("secret on its second"),
        "{stderr}"
    );
    let local = dir.path().join("local cli repo");
    let out = init(
        &["--s3-key-file", key_file.to_str().unwrap()],
        local.to_str().unwrap(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("is for an s3:// repository"),
        "{stderr}"
    );
    assert!(!local.exists());
    let out = init(
        &["--s3-key-file", key_file.to_str().unwrap(), "--json"],
        &cli_location,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&second_secret));

    for name in ["catalog.db", "catalog.db-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(name)) {
            let text = String::from_utf8_lossy(&bytes);
            for secret in [&secret, &second_secret] {
                assert!(
                    !text.contains(secret.as_str()),
                    "{name} holds a secret in the clear"
                );
            }
        }
    }
}
