//! Loading a MariaDB backup into existing tables (merge with each duplicate
//! policy) and restoring only a time range, against a real server; tables
//! are compared with the server's own `CHECKSUM TABLE`.

mod support;

use tidemark_engine::restore::{ConflictPolicy, RestoreOptions};
use tidemark_engine::{DuplicatePolicy, TimeRange};

use support::mariadb::MariaDb;
use support::{backup_url, restore_url, Fixture};

/// 6 000 readings, one a minute from 2026-11-01 00:01 UTC, keyed by id.
const SCHEMA: &str = "
CREATE TABLE readings (id INT PRIMARY KEY, ts DATETIME NOT NULL, value DOUBLE) ENGINE=InnoDB;
INSERT INTO readings SELECT seq, TIMESTAMP'2026-11-01 00:00:00' + INTERVAL seq MINUTE, seq * 0.5
FROM seq_1_to_6000;
";

fn readings_only(on_duplicate: DuplicatePolicy) -> RestoreOptions {
    RestoreOptions {
        objects: vec![("readings".into(), None)],
        on_conflict: ConflictPolicy::Merge,
        on_duplicate,
        ..RestoreOptions::default()
    }
}

#[test]
fn merges_and_time_ranges_follow_their_policies() {
    let db = MariaDb::start();
    let fx = Fixture::new();
    db.sql(None, "CREATE DATABASE plant");
    db.sql(Some("plant"), SCHEMA);
    let original = db.checksum("plant", "readings");
    let repo = fx.repo(None);
    let point = backup_url(&repo, &db.url("plant"), "plant").unwrap().point;
    db.sql(
        Some("plant"),
        "DELETE FROM readings WHERE id > 3000; UPDATE readings SET value = -1 WHERE id = 1; \
         INSERT INTO readings VALUES (9001, '2026-12-01 00:00:00', 1)",
    );
    let changed = db.checksum("plant", "readings");
    let count = |name: &str| db.sql(Some(name), "SELECT COUNT(*) FROM readings");

    // stop: a clashing key fails the table and nothing is loaded.
    let stopped = restore_url(
        &repo,
        &point,
        &db.url("plant"),
        &readings_only(DuplicatePolicy::Stop),
    )
    .unwrap();
    assert_eq!(stopped.failed.len(), 1, "{:?}", stopped.failed);
    assert!(
        stopped.failed[0]
            .1
            .contains("already exists in table readings"),
        "{:?}",
        stopped.failed
    );
    assert_eq!(db.checksum("plant", "readings"), changed);

    // skip: missing rows come back, existing keys keep their values; the
    // one kept row that differs from the backup's is reported when read back.
    let skipped = restore_url(
        &repo,
        &point,
        &db.url("plant"),
        &readings_only(DuplicatePolicy::Skip),
    )
    .unwrap();
    assert_eq!(skipped.failed.len(), 1, "{:?}", skipped.failed);
    assert_eq!(skipped.failed[0].0, "readings");
    assert!(
        skipped.failed[0].1.contains("1 of the backup's 6000 rows"),
        "{:?}",
        skipped.failed
    );
    assert_eq!(count("plant"), "6001");
    assert_eq!(
        db.sql(Some("plant"), "SELECT value FROM readings WHERE id = 1"),
        "-1"
    );

    // rewrite: exactly the backup's rows again.
    let rewritten = restore_url(
        &repo,
        &point,
        &db.url("plant"),
        &readings_only(DuplicatePolicy::Rewrite),
    )
    .unwrap();
    assert!(rewritten.failed.is_empty(), "{:?}", rewritten.failed);
    assert_eq!(db.checksum("plant", "readings"), original);
    let check = rewritten
        .checks
        .iter()
        .find(|c| c.name == "readings")
        .unwrap();
    assert_eq!(check.outcome.describe(), "content verified (6000 rows)");

    // Ten hours into a new database, and back into the original after
    // those hours were lost there.
    let hours = TimeRange {
        since: Some("2026-11-01 10:00:00".into()),
        until: Some("2026-11-01 20:00:00".into()),
    };
    let ranged = RestoreOptions {
        ranges: vec![("readings".into(), hours.clone())],
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &point, &db.url("plant_day"), &ranged).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        db.sql(
            Some("plant_day"),
            "SELECT CONCAT(COUNT(*), ' ', MIN(ts), ' ', MAX(ts)) FROM readings"
        ),
        "600 2026-11-01 10:00:00 2026-11-01 19:59:00"
    );
    db.sql(
        Some("plant"),
        "DELETE FROM readings WHERE ts >= '2026-11-01 10:00:00' AND ts < '2026-11-01 20:00:00'",
    );
    let merged = RestoreOptions {
        ranges: vec![("readings".into(), hours)],
        ..readings_only(DuplicatePolicy::Stop)
    };
    let done = restore_url(&repo, &point, &db.url("plant"), &merged).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(db.checksum("plant", "readings"), original);
}
