//! Repositories on S3-compatible storage: a real server (moto, from PyPI,
//! installed by scripts/setup.sh) on a free loopback port.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{assert_same_tree, make_tree, Fixture};
use tidemark_engine::backup::BackupOptions;
use tidemark_engine::restore::RestoreOptions;
use tidemark_engine::{BackupMode, EngineError, RepoLocation, Repository};

struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    fn start() -> S3Server {
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} ({e}); run scripts/setup.sh"));
        let server = S3Server { child, port };
        // A listening port is not yet a server that answers: moto can accept
        // and then reset connections while it is still importing, so wait for
        // a whole HTTP response.
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.request("GET / HTTP/1.1").is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // moto accepts any credentials; OpenDAL needs some to sign with.
        std::env::set_var("AWS_ACCESS_KEY_ID", "tidemark-test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "tidemark-test-secret");
        server
    }

    /// Sends one request line with no body and returns the whole response.
    fn request(&self, line: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            stream,
            "{line}\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        if response.starts_with("HTTP/1.") {
            Ok(response)
        } else {
            Err(std::io::Error::other(format!("not HTTP: {response:?}")))
        }
    }

    fn create_bucket(&self, bucket: &str) {
        let response = self
            .request(&format!("PUT /{bucket} HTTP/1.1"))
            .unwrap_or_else(|e| panic!("creating bucket {bucket}: {e}"));
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    fn location(&self, bucket: &str, prefix: &str) -> RepoLocation {
        RepoLocation::parse(&format!(
            "s3://{bucket}/{prefix}?endpoint=http://127.0.0.1:{}&region=us-east-1",
            self.port
        ))
        .unwrap()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn full_and_incremental_round_trip_through_s3() {
    let s3 = S3Server::start();
    s3.create_bucket("backups");
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let location = s3.location("backups", "site-a/repo");
    let repo = Repository::init(&location, Some("pw")).unwrap();
    assert!(matches!(
        Repository::init(&location, None),
        Err(EngineError::RepositoryExists { .. })
    ));

    let first = fx.backup(
        &repo,
        &BackupOptions {
            pack_size: 256 * 1024,
            ..Default::default()
        },
    );
    std::fs::write(fx.path("src/series/new.csv"), b"ts,v\n1,2\n").unwrap();
    let second = fx.backup(&repo, &BackupOptions::default());
    assert_eq!(second.mode, BackupMode::Incremental);
    assert!(second.bytes_read < 100, "{second:?}");

    let reopened = Repository::open(&location, Some("pw")).unwrap();
    assert_eq!(reopened.points().unwrap().0.len(), 2);
    fx.restore(&reopened, &second.point, "out", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&fx.path("src"), &fx.path("out"));
    fx.restore(
        &reopened,
        &first.point,
        "out-first",
        &RestoreOptions::default(),
    )
    .unwrap();
    assert!(!fx.path("out-first/series/new.csv").exists());
    let report = support::assert_verifies_clean(&reopened);
    assert!(report.packs_read > 1);
}

#[test]
fn a_missing_bucket_or_server_is_named() {
    let s3 = S3Server::start();
    let err = Repository::open(&s3.location("no-such-bucket", "x"), None).unwrap_err();
    assert!(err.to_string().contains("s3://no-such-bucket/x"), "{err}");

    let dead_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let location =
        RepoLocation::parse(&format!("s3://b/p?endpoint=http://127.0.0.1:{dead_port}")).unwrap();
    let err = Repository::open(&location, None).unwrap_err();
    assert!(matches!(err, EngineError::Storage { .. }), "{err}");
    assert!(err.to_string().contains("s3://b/p"), "{err}");
}

/// The typical copy: a local repository to S3, under another key; the
/// copy restores the same tree and verifies clean, and a second copy after
/// a new backup moves only the new point.
#[test]
fn points_copy_from_a_local_repository_to_s3() {
    use tidemark_engine::copy::{plan_copy, run_copy, CopyOptions};
    use tidemark_engine::CancelToken;
    let s3 = S3Server::start();
    s3.create_bucket("offsite");
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let local = fx.repo(Some("local pw"));
    let first = fx.backup(&local, &BackupOptions::default());
    let remote = Repository::init(&s3.location("offsite", "site-a"), Some("remote pw")).unwrap();
    let copy = |from: &Repository, to: &Repository| {
        let options = CopyOptions::default();
        let plan = plan_copy(from, to, &options).unwrap();
        run_copy(
            from,
            to,
            plan,
            &options,
            &tidemark_engine::NoProgress,
            &CancelToken::new(),
        )
        .unwrap()
    };
    let stats = copy(&local, &remote);
    assert_eq!(stats.copied, std::slice::from_ref(&first.point));

    std::fs::write(fx.path("src/series/new.csv"), support::series_csv(3, 5_000)).unwrap();
    let second = fx.backup(&local, &BackupOptions::default());
    let again = copy(&local, &remote);
    assert_eq!(again.copied, std::slice::from_ref(&second.point));
    assert_eq!(again.present, std::slice::from_ref(&first.point));
    assert!(again.chunks_present > 0 && again.chunks_written < stats.chunks_written);

    let reopened = Repository::open(&s3.location("offsite", "site-a"), Some("remote pw")).unwrap();
    support::assert_verifies_clean(&reopened);
    fx.restore(&reopened, &second.point, "out", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&fx.path("src"), &fx.path("out"));
}
