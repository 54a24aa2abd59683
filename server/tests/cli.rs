//! The engine's commands through the real `tidemark` binary: the output
//! scripts rely on, and the exit codes (0 ok, 1 failure, 2 usage, 3 damage).

#[path = "../../engine/tests/support/mariadb.rs"]
#[allow(dead_code)]
mod mariadb;

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_tidemark");

fn tidemark(args: &[&str], passphrase: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("TIDEMARK_PASSPHRASE")
        .env("TIDEMARK_LOG", "warn");
    if let Some(p) = passphrase {
        cmd.env("TIDEMARK_PASSPHRASE", p);
    }
    cmd.output().expect("run tidemark")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn make_source(root: &Path) {
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("a.csv"), "ts,v\n".repeat(50_000)).unwrap();
    std::fs::write(root.join("sub/b.txt"), "bee").unwrap();
}

#[test]
fn init_backup_points_restore_verify_with_json_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    let src = dir.path().join("src");
    make_source(&src);
    let source = format!("file://{}", src.display());
    let pw = Some("correct horse battery");

    let out = tidemark(&["repo", "init", repo, "--encrypt", "--json"], pw);
    assert!(out.status.success(), "{}", text(&out));
    let init: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(init["encrypted"], true);

    let out = tidemark(
        &[
            "backup", "--repo", repo, "--source", &source, "--task", "nightly", "--json",
        ],
        pw,
    );
    assert!(out.status.success(), "{}", text(&out));
    let backup: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(backup["mode"], "full");
    let point = backup["point"].as_str().unwrap().to_owned();
    assert!(point.starts_with("nightly_src_"), "{point}");

    let out = tidemark(&["points", "--repo", repo, "--json"], pw);
    assert!(out.status.success(), "{}", text(&out));
    let points: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(points[0]["id"], point.as_str());

    let target = format!("file://{}", dir.path().join("out").display());
    let out = tidemark(
        &[
            "restore",
            "--repo",
            repo,
            "--point",
            "latest",
            "--target",
            &target,
            "--dry-run",
            "--json",
        ],
        pw,
    );
    assert!(out.status.success(), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["objects"].as_array().unwrap().len(), 3);
    assert!(!dir.path().join("out").exists(), "a dry run writes nothing");

    let out = tidemark(
        &[
            "restore", "--repo", repo, "--point", &point, "--target", &target,
        ],
        pw,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(dir.path().join("out/sub/b.txt")).unwrap(),
        b"bee"
    );

    // The same restore again: refused, nothing touched.
    let out = tidemark(
        &[
            "restore", "--repo", repo, "--point", &point, "--target", &target,
        ],
        pw,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("already exist"), "{}", text(&out));

    let out = tidemark(&["verify", "--repo", repo, "--read-data"], pw);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no problems found"));

    // Damage one pack: verify exits 3 and names it.
    let packs = dir.path().join(format!("repo/runs/{point}/packs"));
    let pack = std::fs::read_dir(&packs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    bytes[40] ^= 0xff;
    std::fs::write(&pack, bytes).unwrap();
    let out = tidemark(&["verify", "--repo", repo, "--read-data"], pw);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains(pack.file_name().unwrap().to_str().unwrap()),
        "{}",
        text(&out)
    );
}

#[test]
fn wrong_or_missing_passphrase_and_bad_input_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    assert!(tidemark(&["repo", "init", repo, "--encrypt"], Some("pw"))
        .status
        .success());

    let out = tidemark(&["points", "--repo", repo], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("is encrypted: give its passphrase"),
        "{}",
        text(&out)
    );
    let out = tidemark(&["points", "--repo", repo], Some("not it"));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("wrong passphrase"), "{}", text(&out));

    let out = tidemark(&["repo", "init", repo], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("already exists"), "{}", text(&out));

    let missing = dir.path().join("no-such-repo");
    let out = tidemark(&["points", "--repo", missing.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("no Tidemark repository at") && text(&out).contains("no-such-repo"),
        "{}",
        text(&out)
    );

    let out = tidemark(
        &["backup", "--repo", repo, "--source", "ftp://example/x"],
        Some("pw"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("unsupported scheme"), "{}", text(&out));

    let out = tidemark(
        &[
            "backup",
            "--repo",
            repo,
            "--source",
            "file:///tmp",
            "--pack-size",
            "lots",
        ],
        Some("pw"),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "usage errors exit 2: {}",
        text(&out)
    );

    let out = tidemark(
        &[
            "backup",
            "--repo",
            repo,
            "--source",
            "file:///tmp",
            "--limit-read",
            "1KiB",
        ],
        Some("pw"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("read limit") && text(&out).contains("at least 64 KiB/s"),
        "{}",
        text(&out)
    );
    let out = tidemark(&["points", "--repo", repo, "--json"], Some("pw"));
    assert!(text(&out).trim_start().starts_with('['), "{}", text(&out));
    assert!(
        !text(&out).contains("\"id\""),
        "nothing was backed up: {}",
        text(&out)
    );
}

#[test]
fn a_target_without_space_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    // Incompressible, so it needs its full size on the target.
    let mut x: u64 = 1;
    let big: Vec<u8> = (0..3_000_000)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            (x >> 56) as u8
        })
        .collect();
    std::fs::write(src.join("big.bin"), &big).unwrap();
    std::fs::write(src.join("small.txt"), "fits").unwrap();
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    assert!(tidemark(&["repo", "init", repo], None).status.success());
    let out = tidemark(
        &[
            "backup",
            "--repo",
            repo,
            "--source",
            &format!("file://{}", src.display()),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));

    // A real 1 MiB filesystem, in a private mount namespace.
    let tiny = dir.path().join("tiny");
    std::fs::create_dir(&tiny).unwrap();
    let t = tiny.display();
    let script = format!(
        "mount -t tmpfs -o size=1m tmpfs {t} && TIDEMARK_LOG=warn {BIN} restore --repo {repo} --point latest --target file://{t}/out; echo exit=$?; ls -A {t}/out"
    );
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .output()
        .unwrap();
    let all = text(&out);
    // The free-space pre-check refuses before anything is written.
    assert!(
        all.contains(" to write but only") && all.contains("free at file://"),
        "{all}"
    );
    assert!(all.contains("exit=1"), "{all}");
    assert!(
        all.contains("cannot access") && all.contains("tiny/out"),
        "the target directory was not even created: {all}"
    );
}

#[test]
fn drill_proves_a_point_and_exits_3_when_a_check_fails() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    let db = dir.path().join("shop.db");
    let conn = make_sqlite(&db);
    assert!(conn.status.success(), "{}", text(&conn));
    let scratch = dir.path().join("drills");
    let scratch = scratch.to_str().unwrap();
    assert!(tidemark(&["repo", "init", repo], None).status.success());
    let source = format!("sqlite://{}", db.display());
    let out = tidemark(
        &[
            "backup", "--repo", repo, "--source", &source, "--task", "shop",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));

    let drill = |checks: &[&str], json: bool| {
        let mut args = vec![
            "drill",
            "--repo",
            repo,
            "--task",
            "shop",
            "--point",
            "random",
            "--scratch-dir",
            scratch,
        ];
        for check in checks {
            args.extend(["--check", check]);
        }
        if json {
            args.push("--json");
        }
        tidemark(&args, None)
    };
    let out = drill(&["SELECT count(*) FROM \"it's\"=2"], true);
    assert!(out.status.success(), "{}", text(&out));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["passed"], true);
    assert!(stats["rto_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(stats["phases"].as_array().unwrap().len(), 4);

    let out = drill(&["SELECT max(name) FROM \"it's\"=zzz"], false);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("returned \"ünïcode\", expected \"zzz\""),
        "{}",
        text(&out)
    );
    // Not a check: refused before anything runs, exit 1.
    let out = drill(&["SELECT 1"], false);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("expected SQL=EXPECTED"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_dir(scratch).unwrap().count(), 0);
}

/// A small SQLite database made with the `sqlite3` shell.
fn make_sqlite(path: &Path) -> Output {
    Command::new("sqlite3")
        .arg(path)
        .arg("CREATE TABLE \"it's\" (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO \"it's\" (name) VALUES ('a'), ('ünïcode');")
        .output()
        .expect("run sqlite3")
}

/// Continuous archiving and point-in-time recovery through the binary:
/// archive, timeline, restore --to-time, and the refusals scripts see.
#[test]
fn archive_timeline_and_restore_to_a_second_with_their_refusals() {
    let db = mariadb::MariaDb::start_with_binlog();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    db.sql(None, "CREATE DATABASE shop");
    db.sql(Some("shop"), "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(20), at DATETIME NOT NULL)");
    let source = db.url("shop");
    assert!(tidemark(&["repo", "init", repo], None).status.success());
    let out = tidemark(
        &[
            "backup", "--repo", repo, "--source", &source, "--task", "shop",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let mut times = Vec::new();
    for i in 0..3 {
        times.push(db.sql(
            Some("shop"),
            &format!("SET time_zone = '+00:00'; INSERT INTO orders (item, at) VALUES ('item {i}', NOW()); SELECT MAX(at) FROM orders"),
        ));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let spool = dir.path().join("spool");
    let out = tidemark(
        &[
            "archive",
            "--repo",
            repo,
            "--source",
            &source,
            "--task",
            "shop",
            "--until-caught-up",
            "--upload-every",
            "0.2",
            "--spool-dir",
            spool.to_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(stats["transactions"].as_u64().unwrap() >= 3, "{stats}");

    let out = tidemark(
        &["timeline", "--repo", repo, "--task", "shop", "--json"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["ranges"].as_array().unwrap().len(), 1, "{line}");
    let out = tidemark(&["timeline", "--repo", repo, "--task", "shop"], None);
    assert!(text(&out).contains("recoverable "), "{}", text(&out));

    let target = db.url("shop_then");
    let out = tidemark(
        &[
            "restore",
            "--repo",
            repo,
            "--task",
            "shop",
            "--to-time",
            &times[1],
            "--target",
            &target,
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        done["replay"]["transactions"].as_u64().unwrap() >= 2,
        "{done}"
    );
    assert_eq!(
        db.sql(
            Some("shop_then"),
            "SELECT GROUP_CONCAT(item ORDER BY id) FROM orders"
        ),
        "item 0,item 1"
    );

    // Refusals: each names the reason, and nothing is created.
    let out = tidemark(
        &[
            "restore",
            "--repo",
            repo,
            "--task",
            "shop",
            "--to-time",
            "yesterday",
            "--target",
            &target,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("expected YYYY-MM-DD"), "{}", text(&out));
    let out = tidemark(
        &[
            "restore",
            "--repo",
            repo,
            "--to-time",
            &times[1],
            "--target",
            &target,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--task"), "{}", text(&out));
    let early = db.url("shop_early");
    let out = tidemark(
        &[
            "restore",
            "--repo",
            repo,
            "--task",
            "shop",
            "--to-time",
            "2001-01-01 00:00:00",
            "--target",
            &early,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("before the first archived transaction"),
        "{}",
        text(&out)
    );
    assert_eq!(db.sql(None, "SHOW DATABASES LIKE 'shop_early'"), "");
    let out = tidemark(
        &[
            "archive",
            "--repo",
            repo,
            "--source",
            "file:///tmp",
            "--task",
            "shop",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("mysql://"), "{}", text(&out));

    // An account that may not read the log: the dry run shows why, the
    // archiver refuses to start.
    db.root_sql("CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'weak-pw'; GRANT SELECT ON shop.* TO 'weak'@'127.0.0.1'").unwrap();
    let weak = format!("mysql://weak:weak-pw@127.0.0.1:{}/shop", db.port);
    let out = tidemark(
        &[
            "archive",
            "--repo",
            repo,
            "--source",
            &weak,
            "--task",
            "shop",
            "--dry-run",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("FAIL privileges: weak lacks REPLICATION SLAVE and BINLOG MONITOR"),
        "{}",
        text(&out)
    );
    let out = tidemark(
        &[
            "archive", "--repo", repo, "--source", &weak, "--task", "shop",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.*"),
        "{}",
        text(&out)
    );
    // ... nor may it apply row events: refused before the base restore.
    db.root_sql("GRANT ALL ON `shop_weak`.* TO 'weak'@'127.0.0.1'")
        .unwrap();
    let weak_target = format!("mysql://weak:weak-pw@127.0.0.1:{}/shop_weak", db.port);
    let out = tidemark(
        &[
            "restore",
            "--repo",
            repo,
            "--task",
            "shop",
            "--to-time",
            &times[1],
            "--target",
            &weak_target,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("lacks BINLOG REPLAY"), "{}", text(&out));
    assert_eq!(db.sql(None, "SHOW DATABASES LIKE 'shop_weak'"), "");
}

#[test]
fn diff_lists_what_changed_between_two_points() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    let src = dir.path().join("src");
    make_source(&src);
    let source = format!("file://{}", src.display());
    assert!(tidemark(&["repo", "init", repo], None).status.success());
    let backup = || {
        let out = tidemark(
            &[
                "backup", "--repo", repo, "--source", &source, "--task", "t", "--json",
            ],
            None,
        );
        assert!(out.status.success(), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["point"].as_str().unwrap().to_owned()
    };
    let first = backup();
    // A first point has nothing before it: said, exit 1.
    let out = tidemark(&["diff", "--repo", repo, &first], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("first point"), "{}", text(&out));

    std::fs::write(src.join("sub/b.txt"), "bees").unwrap();
    std::fs::write(src.join("new file 'x'.txt"), "new").unwrap();
    let second = backup();
    let out = tidemark(&["diff", "--repo", repo, &second], None);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("+  new file 'x'.txt"), "{listing}");
    assert!(listing.contains("M  sub/b.txt  3 B → 4 B"), "{listing}");
    assert!(
        listing.contains("1 added, 0 removed, 1 changed"),
        "{listing}"
    );

    let out = tidemark(&["diff", "--repo", repo, &first, &second, "--json"], None);
    assert!(out.status.success(), "{}", text(&out));
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (diff["from"].as_str(), diff["to"].as_str()),
        (Some(first.as_str()), Some(second.as_str()))
    );
    assert_eq!(diff["changed"], 1);
    assert_eq!(diff["objects"][1]["differs"][0], "content");
    let out = tidemark(&["diff", "--repo", repo, "no_such_point", &second], None);
    assert!(
        !out.status.success() && text(&out).contains("no_such_point"),
        "{}",
        text(&out)
    );
}
