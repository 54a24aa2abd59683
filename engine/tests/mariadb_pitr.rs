//! Point-in-time recovery of MariaDB against a real server keeping a
//! binary log: a workload writes rows with their commit time while the
//! archiver copies the log; a restore to a chosen second must hold exactly
//! the rows committed by then, checked with `CHECKSUM TABLE`.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tidemark_engine::archive::{plan_archive, run_archive, ArchiveOptions, ArchiveStats};
use tidemark_engine::restore::to_time::{
    plan_restore_to_time, run_restore_to_time, RecoveryTarget,
};
use tidemark_engine::restore::RestoreOptions;
use tidemark_engine::timeline::timeline;
use tidemark_engine::{CancelToken, EngineError, NoProgress, Repository, SourceUrl};

use support::mariadb::MariaDb;
use support::{backup_url, Fixture};

const TASK: &str = "shop pitr";

const SCHEMA: &str = r#"
CREATE TABLE `event log` (
  id INT AUTO_INCREMENT PRIMARY KEY,
  `it's` VARCHAR(64) CHARACTER SET utf8mb4 NOT NULL,
  payload BLOB,
  amount DECIMAL(20,6),
  doc JSON,
  at DATETIME NOT NULL
) ENGINE=InnoDB;
CREATE TABLE counters (name VARCHAR(16) PRIMARY KEY, n BIGINT NOT NULL, at DATETIME NOT NULL) ENGINE=InnoDB;
INSERT INTO counters VALUES ('steps', 0, UTC_TIMESTAMP());
"#;

fn location(db: &MariaDb, name: &str) -> SourceUrl {
    SourceUrl::parse(&db.url(name)).unwrap()
}

/// One step of the workload, each statement committing on its own: a row
/// stamped with its statement's time, then the counter. Returns the
/// counter's value, the time the server gave it and that update's GTID.
fn step(db: &MariaDb, i: u64) -> (u64, String, String) {
    let out = db.sql(
        Some("shop"),
        &format!(
            "SET NAMES utf8mb4; SET time_zone = '+00:00'; \
             INSERT INTO `event log` (`it's`, payload, amount, doc, at) VALUES \
               (CONCAT('row ', {i}, ' ünï 🐟 ''q'''), UNHEX(SHA2({i}, 256)), {i}.125 * -1, JSON_OBJECT('i', {i}, 's', 'x\"y'), NOW()); \
             UPDATE counters SET n = n + 1, at = NOW() WHERE name = 'steps'; \
             SELECT n, at, @@last_gtid FROM counters WHERE name = 'steps'"
        ),
    );
    let fields: Vec<&str> = out.split('\t').collect();
    (
        fields[0].parse().unwrap(),
        fields[1].to_owned(),
        fields[2].to_owned(),
    )
}

/// A MariaDB keeping a binary log, with the `shop` database of [`SCHEMA`].
fn shop_server() -> (MariaDb, Fixture) {
    let db = MariaDb::start_with_binlog();
    db.sql(None, "CREATE DATABASE shop CHARACTER SET utf8mb4");
    db.sql(Some("shop"), SCHEMA);
    (db, Fixture::new())
}

/// A restore to `to` that must be refused; its error.
fn refused(
    repo: &Repository,
    db: &MariaDb,
    to: &RecoveryTarget,
    into: &str,
    work: &std::path::Path,
) -> EngineError {
    let err = restore_to(repo, db, to, into, work).unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    assert_eq!(
        db.sql(None, &format!("SHOW DATABASES LIKE '{into}'")),
        "",
        "{into} was created"
    );
    err
}

/// Runs the archiver on its own thread until `cancel`.
fn archiver(
    repo_path: std::path::PathBuf,
    at: SourceUrl,
    spool: std::path::PathBuf,
    cancel: CancelToken,
) -> std::thread::JoinHandle<tidemark_engine::Result<ArchiveStats>> {
    std::thread::spawn(move || {
        let repo = Repository::open(&tidemark_engine::RepoLocation::Local(repo_path), None)?;
        let mut options = ArchiveOptions::new(TASK, spool);
        options.upload_every = Duration::from_millis(200);
        let plan = plan_archive(&repo, &at, &options)?;
        assert!(plan.blocked().is_none(), "{:?}", plan.checks);
        run_archive(&repo, &at, &plan, &options, &NoProgress, &cancel)
    })
}

/// Waits until the archive holds everything the server has written.
fn wait_synced(repo: &Repository, after: chrono::DateTime<chrono::Utc>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = timeline(repo, TASK).unwrap();
        if t.archiver
            .as_ref()
            .and_then(|a| a.synced_at)
            .is_some_and(|s| s > after)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the archive never caught up: {t:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn restore_to(
    repo: &Repository,
    db: &MariaDb,
    to: &RecoveryTarget,
    into: &str,
    work: &std::path::Path,
) -> tidemark_engine::Result<tidemark_engine::restore::to_time::PitrStats> {
    let target = SourceUrl::parse(&db.url(into))?;
    let plan = plan_restore_to_time(repo, TASK, &target, &RestoreOptions::default(), to)?;
    run_restore_to_time(repo, &plan, work, &NoProgress, &CancelToken::new())
}

/// The rows of `shop` committed at or before `t`, copied into `expect`,
/// to compare checksums with.
fn expected_at(db: &MariaDb, t: &str) {
    db.sql(
        None,
        &format!(
            "DROP DATABASE IF EXISTS expect; CREATE DATABASE expect; \
             CREATE TABLE expect.`event log` LIKE shop.`event log`; \
             INSERT INTO expect.`event log` SELECT * FROM shop.`event log` WHERE at <= '{t}'"
        ),
    );
}

#[test]
fn a_database_comes_back_as_it_was_at_a_chosen_second() {
    let (db, fx) = shop_server();
    let repo = fx.repo(None);

    let checks =
        tidemark_engine::archive::source_checks(&SourceUrl::parse(&db.url("shop")).unwrap());
    assert!(
        checks
            .iter()
            .all(|c| c.outcome != tidemark_engine::restore::Outcome::Fail),
        "{checks:?}"
    );

    let mut counters = Vec::new();
    for i in 0..5 {
        counters.push(step(&db, i));
    }
    let base = backup_url(&repo, &db.url("shop"), TASK).unwrap();
    let manifest = repo.point(&base.point).unwrap();
    let position = manifest
        .log_position
        .clone()
        .expect("the point records its binary log position");
    assert!(position.file.starts_with("binlog."), "{position:?}");
    assert!(!position.gtid.is_empty(), "{position:?}");

    let cancel = CancelToken::new();
    let handle = archiver(
        fx.path("repo"),
        location(&db, "shop"),
        fx.path("spool"),
        cancel.clone(),
    );
    // Writes over several seconds, and a rotation in the middle.
    for i in 5..40 {
        counters.push(step(&db, i));
        if i == 20 {
            db.sql(None, "FLUSH BINARY LOGS");
        }
        std::thread::sleep(Duration::from_millis(120));
    }
    wait_synced(&repo, chrono::Utc::now());
    cancel.cancel();
    let stats = handle.join().unwrap().unwrap();
    assert!(stats.files >= 1 && stats.transactions >= 35, "{stats:?}");
    assert!(stats.gaps.is_empty(), "{stats:?}");

    let line = timeline(&repo, TASK).unwrap();
    assert_eq!(line.ranges.len(), 1, "{line:?}");
    assert_eq!(line.ranges[0].base_points, vec![base.point.clone()]);
    assert!(line.gaps.is_empty(), "{line:?}");

    // A second in the middle of the writes after the base point.
    let (_, chosen, _) = counters[22].clone();
    let expected_n = counters
        .iter()
        .filter(|(_, at, _)| *at <= chosen)
        .map(|(n, _, _)| *n)
        .max()
        .unwrap();
    let to = RecoveryTarget::time(&chosen).unwrap();
    let done = restore_to(&repo, &db, &to, "shop_at_t", fx.dir.path()).unwrap();
    assert!(done.replay.transactions > 0, "{done:?}");
    assert!(
        done.counts_checked.iter().any(|(t, _)| t == "event log"),
        "{done:?}"
    );

    expected_at(&db, &chosen);
    assert_eq!(
        db.checksum("shop_at_t", "event log"),
        db.checksum("expect", "event log")
    );
    let rows = db.sql(
        Some("shop_at_t"),
        &format!("SELECT COUNT(*) FROM `event log` WHERE at > '{chosen}'"),
    );
    assert_eq!(rows, "0");
    let n = db.sql(Some("shop_at_t"), "SELECT n FROM counters");
    assert_eq!(n, expected_n.to_string());
    // The replay is logged as the server's own new transactions: the
    // source's GTIDs are not logged again (which would break replicas).
    let seq = |pos: String| pos.rsplit('-').next().unwrap().parse::<u64>().unwrap();
    let before = seq(counters.last().unwrap().2.clone());
    let after = seq(db.sql(None, "SELECT @@gtid_binlog_pos"));
    assert!(
        after >= before + done.replay.transactions,
        "{before} -> {after}"
    );

    // Up to and including one transaction, by its GTID.
    let (n, _, gtid) = counters[30].clone();
    restore_to(
        &repo,
        &db,
        &RecoveryTarget::gtid(&gtid).unwrap(),
        "shop_at_gtid",
        fx.dir.path(),
    )
    .unwrap();
    assert_eq!(
        db.sql(Some("shop_at_gtid"), "SELECT n FROM counters"),
        n.to_string()
    );
    assert_eq!(
        db.sql(Some("shop_at_gtid"), "SELECT COUNT(*) FROM `event log`"),
        (n).to_string()
    );
    let err = refused(
        &repo,
        &db,
        &RecoveryTarget::gtid("0-1-999999").unwrap(),
        "shop_nowhere",
        fx.dir.path(),
    );
    assert!(
        err.to_string().contains("not in the archived binary logs"),
        "{err}"
    );

    // Restore to the last archived moment: every row.
    let latest = restore_to(
        &repo,
        &db,
        &RecoveryTarget::time(&counters.last().unwrap().1).unwrap(),
        "shop_latest",
        fx.dir.path(),
    )
    .unwrap();
    assert!(latest.replay.rows >= 35, "{latest:?}");
    assert_eq!(
        db.checksum("shop_latest", "event log"),
        db.checksum("shop", "event log")
    );

    // A rename the replay cannot express is refused before anything starts.
    let err = refused(&repo, &db, &to, "shop at t", fx.dir.path());
    assert!(err.to_string().contains("--rewrite-db"), "{err}");

    // Before the base point, nothing can be recovered to the second.
    refused(
        &repo,
        &db,
        &RecoveryTarget::time("2001-01-01 00:00:00").unwrap(),
        "shop_early",
        fx.dir.path(),
    );
    // After the archive's end: refused, naming the end.
    let err = refused(
        &repo,
        &db,
        &RecoveryTarget::time("2099-01-01 00:00:00").unwrap(),
        "shop_late",
        fx.dir.path(),
    );
    assert!(
        err.to_string().contains("after the end of the archive"),
        "{err}"
    );
}

/// Tries to connect as the application while the replay runs.
struct AppLockedOut<'a> {
    db: &'a MariaDb,
    refused: std::sync::Mutex<Option<String>>,
}

impl tidemark_engine::Progress for AppLockedOut<'_> {
    fn set_title(&self, title: &str) {
        if title == "replaying binary logs" {
            let out = std::process::Command::new("mariadb")
                .args([
                    "--no-defaults",
                    "-h",
                    "127.0.0.1",
                    "-P",
                    &self.db.port.to_string(),
                ])
                .args(["-u", "app", "shop", "-e", "SELECT 1"])
                .env("MYSQL_PWD", "app-pw")
                .output()
                .unwrap();
            *self.refused.lock().unwrap() = Some(String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    fn set_length(&self, _: u64, _: u64) {}
    fn inc(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}

/// The classic accident: a DELETE without WHERE. The database is restored
/// in place to the second before it, with the application locked out
/// during the restore and let back in afterwards.
#[test]
fn an_accidental_delete_is_undone_in_place_with_the_application_locked_out() {
    let (db, fx) = shop_server();
    db.root_sql(
        "CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app-pw'; GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO 'app'@'127.0.0.1'",
    )
    .unwrap();
    let repo = fx.repo(None);
    for i in 0..3 {
        step(&db, i);
    }
    backup_url(&repo, &db.url("shop"), TASK).unwrap();
    let cancel = CancelToken::new();
    let handle = archiver(
        fx.path("repo"),
        location(&db, "shop"),
        fx.path("spool"),
        cancel.clone(),
    );
    let mut last = String::new();
    for i in 3..8 {
        last = step(&db, i).1;
    }
    std::thread::sleep(Duration::from_millis(1100));
    db.sql(Some("shop"), "DELETE FROM `event log`");
    let expected = db.sql(
        None,
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'",
    );
    wait_synced(&repo, chrono::Utc::now());
    cancel.cancel();
    handle.join().unwrap().unwrap();

    let target = SourceUrl::parse(&db.url("shop")).unwrap();
    let options = RestoreOptions {
        on_conflict: tidemark_engine::restore::ConflictPolicy::Overwrite,
        lock: true,
        ..Default::default()
    };
    let to = RecoveryTarget::time(&last).unwrap();
    let plan = plan_restore_to_time(&repo, TASK, &target, &options, &to).unwrap();
    assert!(plan.base.blocked.is_none(), "{:?}", plan.base.checks);
    let watcher = AppLockedOut {
        db: &db,
        refused: Default::default(),
    };
    let done =
        run_restore_to_time(&repo, &plan, fx.dir.path(), &watcher, &CancelToken::new()).unwrap();
    let refused = watcher.refused.lock().unwrap().clone().unwrap_or_default();
    assert!(
        refused.contains("locked"),
        "the application connected during the restore: {refused:?} {:?}",
        done.notes
    );
    assert!(
        done.notes.iter().any(|n| n.contains("'app'@'127.0.0.1'")),
        "{:?}",
        done.notes
    );

    assert_eq!(
        db.sql(Some("shop"), "SELECT COUNT(*) FROM `event log`"),
        "8"
    );
    assert_eq!(
        db.sql(
            None,
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'"
        ),
        expected
    );
    // The application is let back in.
    let out = std::process::Command::new("mariadb")
        .args([
            "--no-defaults",
            "-h",
            "127.0.0.1",
            "-P",
            &db.port.to_string(),
        ])
        .args([
            "-u",
            "app",
            "shop",
            "-N",
            "-e",
            "SELECT COUNT(*) FROM `event log`",
        ])
        .env("MYSQL_PWD", "app-pw")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "8");
}

/// The streamer killed with SIGKILL is restarted and loses no event; logs
/// purged while the archiver is down show as a gap, and a restore into the
/// gap is refused with the reason.
#[test]
fn a_killed_streamer_loses_nothing_and_purged_logs_are_a_refused_gap() {
    let (db, fx) = shop_server();
    let repo = fx.repo(None);
    let base = backup_url(&repo, &db.url("shop"), TASK).unwrap();

    let cancel = CancelToken::new();
    let spool = fx.path("spool");
    let handle = archiver(
        fx.path("repo"),
        location(&db, "shop"),
        spool.clone(),
        cancel.clone(),
    );
    let writing = Arc::new(AtomicBool::new(true));
    let mut last = String::new();
    for i in 0..30 {
        last = step(&db, i).1;
        if i == 10 {
            // Kill the running mariadb-binlog under the archiver.
            let killed = kill_streamer(&spool);
            assert!(
                killed,
                "no mariadb-binlog streaming into {}",
                spool.display()
            );
        }
        std::thread::sleep(Duration::from_millis(80));
    }
    writing.store(false, Ordering::SeqCst);
    wait_synced(&repo, chrono::Utc::now());
    cancel.cancel();
    let stats = handle.join().unwrap().unwrap();
    assert!(stats.restarts >= 1, "{stats:?}");
    let done = restore_to(
        &repo,
        &db,
        &RecoveryTarget::time(&last).unwrap(),
        "after_kill",
        fx.dir.path(),
    )
    .unwrap();
    assert_eq!(
        db.checksum("after_kill", "event log"),
        db.checksum("shop", "event log"),
        "{done:?}"
    );

    // The archiver is down: the server writes, rotates and purges.
    let mut during = String::new();
    for i in 30..35 {
        during = step(&db, i).1;
    }
    std::thread::sleep(Duration::from_millis(1100));
    db.sql(None, "FLUSH BINARY LOGS; FLUSH BINARY LOGS");
    let current = db.root_sql("SHOW MASTER STATUS").unwrap();
    let current = current.split('\t').next().unwrap().to_owned();
    // The server keeps a log a replica connection still reads: wait for
    // the streamers' connections to end.
    let deadline = Instant::now() + Duration::from_secs(30);
    while db
        .root_sql(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'",
        )
        .unwrap()
        != "0"
    {
        assert!(
            Instant::now() < deadline,
            "the streamers' connections never ended"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // ... and for InnoDB's checkpoint to pass the old logs (until then
    // the server keeps them for crash recovery, with only a warning).
    loop {
        db.root_sql(&format!("PURGE BINARY LOGS TO '{current}'"))
            .unwrap();
        let logs = db.root_sql("SHOW BINARY LOGS").unwrap();
        if logs.starts_with(&current) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server kept its logs: {logs}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(1100));
    // A full point after the hole (incrementals are never bases: their
    // rows assume append-only tables).
    let source = tidemark_engine::open_source(&location(&db, "shop"), &Default::default()).unwrap();
    let full = tidemark_engine::backup::BackupOptions {
        task: TASK.into(),
        full: true,
        ..Default::default()
    };
    let base_after = support::backup_source(&repo, source.as_ref(), &full).unwrap();
    drop(source);
    let mut after = String::new();
    for i in 35..40 {
        after = step(&db, i).1;
    }

    let cancel = CancelToken::new();
    let handle = archiver(
        fx.path("repo"),
        location(&db, "shop"),
        spool,
        cancel.clone(),
    );
    wait_synced(&repo, chrono::Utc::now());
    cancel.cancel();
    let stats = handle.join().unwrap().unwrap();
    assert_eq!(stats.gaps.len(), 1, "{stats:?}");
    assert!(stats.gaps[0].contains("purged"), "{stats:?}");

    let line = timeline(&repo, TASK).unwrap();
    assert_eq!(line.gaps.len(), 1, "{line:?}");
    assert_eq!(line.ranges.len(), 2, "{line:?}");
    assert_eq!(line.ranges[0].base_points, vec![base.point.clone()]);
    assert_eq!(line.ranges[1].base_points, vec![base_after.point.clone()]);

    let err = refused(
        &repo,
        &db,
        &RecoveryTarget::time(&during).unwrap(),
        "in_the_gap",
        fx.dir.path(),
    );
    assert!(
        err.to_string().contains("hole") && err.to_string().contains("purged"),
        "{err}"
    );
    // After the gap, the newer point is the base.
    restore_to(
        &repo,
        &db,
        &RecoveryTarget::time(&after).unwrap(),
        "after_gap",
        fx.dir.path(),
    )
    .unwrap();
    assert_eq!(
        db.checksum("after_gap", "event log"),
        db.checksum("shop", "event log")
    );

    // Retention: once the older point is pruned, the logs only it needed go
    // too, with the hole before the kept point.
    use tidemark_engine::prune::{plan_prune, run_prune, PruneOptions};
    let options = PruneOptions {
        keep_last: Some(1),
        task: Some(TASK.into()),
        ..Default::default()
    };
    let plan = plan_prune(&repo, &options).unwrap();
    assert!(plan.remove.contains(&base.point), "{plan:?}");
    assert!(
        plan.log_files_to_delete
            .iter()
            .any(|(_, f)| f == "binlog.000001"),
        "{plan:?}"
    );
    let pruned = run_prune(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert!(pruned.log_files_deleted >= 1, "{pruned:?}");
    let line = timeline(&repo, TASK).unwrap();
    assert!(line.gaps.is_empty(), "{line:?}");
    assert_eq!(line.ranges.len(), 1, "{line:?}");
    assert_eq!(line.ranges[0].base_points, vec![base_after.point.clone()]);
}

/// SIGKILLs the mariadb-binlog process writing into `spool`.
fn kill_streamer(spool: &std::path::Path) -> bool {
    let needle = format!("--result-file={}/", spool.display());
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.first().is_some_and(|a| a.ends_with("mariadb-binlog")) && args.contains(&needle) {
            // SAFETY: a signal to a process the test found.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return true;
        }
    }
    false
}

/// A million row events replayed, to a moment after them, into a new
/// database while the source keeps writing.
#[test]
fn a_million_row_events_replay_while_the_source_keeps_writing() {
    let (db, fx) = shop_server();
    db.sql(
        Some("shop"),
        "CREATE TABLE readings (id INT PRIMARY KEY, sensor VARCHAR(20) NOT NULL, v DOUBLE, note TEXT CHARACTER SET utf8mb4) ENGINE=InnoDB",
    );
    let repo = fx.repo(Some("pitr secret"));
    let base = backup_url(&repo, &db.url("shop"), TASK).unwrap();

    let cancel = CancelToken::new();
    let handle = std::thread::spawn({
        let (path, at, spool, cancel) = (
            fx.path("repo"),
            location(&db, "shop"),
            fx.path("spool"),
            cancel.clone(),
        );
        move || {
            let repo = Repository::open(
                &tidemark_engine::RepoLocation::Local(path),
                Some("pitr secret"),
            )?;
            let mut options = ArchiveOptions::new(TASK, spool);
            options.upload_every = Duration::from_millis(500);
            let plan = plan_archive(&repo, &at, &options)?;
            run_archive(&repo, &at, &plan, &options, &NoProgress, &cancel)
        }
    });
    for chunk in 0..10 {
        db.sql(
            Some("shop"),
            &format!(
                "INSERT INTO readings SELECT seq, CONCAT('s-', seq % 97), seq / 7, IF(seq % 3, NULL, 'ëß ☃') \
                 FROM seq_{}_to_{}",
                chunk * 100_000 + 1,
                (chunk + 1) * 100_000
            ),
        );
    }
    db.sql(
        Some("shop"),
        "DELETE FROM readings WHERE id % 10 = 0; UPDATE readings SET v = -v WHERE id % 10 = 1",
    );
    std::thread::sleep(Duration::from_millis(1100));
    let (_, chosen, _) = step(&db, 0);
    // Later writes commit in a later second than the chosen one.
    std::thread::sleep(Duration::from_millis(1100));

    // The source keeps writing while the restore runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = std::thread::spawn({
        let stop = stop.clone();
        let url = db.url("shop");
        move || {
            let mut i = 1;
            while !stop.load(Ordering::SeqCst) {
                let out = std::process::Command::new("mariadb")
                    .args(["--no-defaults", "-h", "127.0.0.1"])
                    .arg(format!(
                        "-P{}",
                        url.rsplit(':').next().unwrap().split('/').next().unwrap()
                    ))
                    .args(["-u", support::mariadb::USER, "shop", "-e"])
                    .arg(format!(
                        "INSERT INTO readings VALUES ({}, 'late', 0, NULL)",
                        2_000_000 + i
                    ))
                    .env("MYSQL_PWD", support::mariadb::PASSWORD)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                i += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    std::thread::sleep(Duration::from_millis(1100));
    wait_synced(&repo, chrono::Utc::now());
    let started = Instant::now();
    let done = restore_to(
        &repo,
        &db,
        &RecoveryTarget::time(&chosen).unwrap(),
        "readings_at_t",
        fx.dir.path(),
    )
    .unwrap();
    eprintln!(
        "replayed {} transactions, {} row changes in {:.1} s (the whole restore)",
        done.replay.transactions,
        done.replay.rows,
        started.elapsed().as_secs_f64()
    );
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    cancel.cancel();
    handle.join().unwrap().unwrap();
    assert!(done.replay.rows >= 1_000_000, "{:?}", done.replay.rows);
    assert_eq!(
        done.base.restored,
        repo.point(&base.point).unwrap().objects.len() as u64
    );
    let counted = done
        .counts_checked
        .iter()
        .find(|(t, _)| t == "readings")
        .map(|(_, n)| *n);
    assert_eq!(
        counted,
        Some(900_000),
        "{:?} {:?}",
        done.counts_checked,
        done.notes
    );

    db.sql(
        None,
        "DROP DATABASE IF EXISTS expect; CREATE DATABASE expect; \
         CREATE TABLE expect.readings LIKE shop.readings; \
         INSERT INTO expect.readings SELECT * FROM shop.readings WHERE sensor <> 'late'",
    );
    assert_eq!(
        db.checksum("readings_at_t", "readings"),
        db.checksum("expect", "readings")
    );
    assert_eq!(
        db.sql(
            Some("readings_at_t"),
            "SELECT COUNT(*) FROM readings WHERE sensor = 'late'"
        ),
        "0"
    );
    assert_eq!(db.sql(Some("readings_at_t"), "SELECT n FROM counters"), "1");
}
