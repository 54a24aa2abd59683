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
/// counter's value and the time the server gave it.
fn step(db: &MariaDb, i: u64) -> (u64, String) {
    let out = db.sql(
        Some("shop"),
        &format!(
            "SET NAMES utf8mb4; SET time_zone = '+00:00'; \
             INSERT INTO `event log` (`it's`, payload, amount, doc, at) VALUES \
               (CONCAT('row ', {i}, ' ünï 🐟 ''q'''), UNHEX(SHA2({i}, 256)), {i}.125 * -1, JSON_OBJECT('i', {i}, 's', 'x\"y'), NOW()); \
             UPDATE counters SET n = n + 1, at = NOW() WHERE name = 'steps'; \
             SELECT n, at FROM counters WHERE name = 'steps'"
        ),
    );
    let (n, at) = out.split_once('\t').unwrap();
    (n.parse().unwrap(), at.to_owned())
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
    let db = MariaDb::start_with_binlog();
    let fx = Fixture::new();
    db.sql(None, "CREATE DATABASE shop CHARACTER SET utf8mb4");
    db.sql(Some("shop"), SCHEMA);
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
    let (_, chosen) = counters[22].clone();
    let expected_n = counters
        .iter()
        .filter(|(_, at)| *at <= chosen)
        .map(|(n, _)| *n)
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
    // The restored database is an ordinary one: its rows are its own, and
    // the replay did not re-log the source's GTIDs.
    let gtids = db.sql(None, "SELECT @@gtid_binlog_pos");
    assert!(!gtids.is_empty());

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
    let err = restore_to(&repo, &db, &to, "shop at t", fx.dir.path()).unwrap_err();
    assert!(err.to_string().contains("--rewrite-db"), "{err}");
    assert_eq!(db.sql(None, "SHOW DATABASES LIKE 'shop at t'"), "");

    // Before the base point, nothing can be recovered to the second.
    let err = restore_to(
        &repo,
        &db,
        &RecoveryTarget::time("2001-01-01 00:00:00").unwrap(),
        "shop_early",
        fx.dir.path(),
    )
    .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    // After the archive's end: refused, naming the end.
    let err = restore_to(
        &repo,
        &db,
        &RecoveryTarget::time("2099-01-01 00:00:00").unwrap(),
        "shop_late",
        fx.dir.path(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("after the end of the archive"),
        "{err}"
    );
}

/// The streamer killed with SIGKILL is restarted and loses no event; logs
/// purged while the archiver is down show as a gap, and a restore into the
/// gap is refused with the reason.
#[test]
fn a_killed_streamer_loses_nothing_and_purged_logs_are_a_refused_gap() {
    let db = MariaDb::start_with_binlog();
    let fx = Fixture::new();
    db.sql(None, "CREATE DATABASE shop CHARACTER SET utf8mb4");
    db.sql(Some("shop"), SCHEMA);
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

    let err = restore_to(
        &repo,
        &db,
        &RecoveryTarget::time(&during).unwrap(),
        "in_the_gap",
        fx.dir.path(),
    )
    .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
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
        if args.first().is_some_and(|a| a.ends_with("mariadb-binlog"))
            && args.contains(&needle)
        {
            // SAFETY: a signal to a process the test found.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return true;
        }
    }
    false
}
