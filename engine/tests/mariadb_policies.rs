//! Loading a MariaDB backup into existing tables (merge with each duplicate
//! policy) and restoring only a time range, against a real server; tables
//! are compared with the server's own `CHECKSUM TABLE`, and a time range's
//! rows with the digest of the backup's rows in that range.

mod support;

use tidemark_engine::restore::{CheckOutcome, ConflictPolicy, RestoreOptions, RestoreStats};
use tidemark_engine::{DuplicatePolicy, TimeRange};

use support::mariadb::MariaDb;
use support::{backup_url, restore_url, Fixture};

/// 6 000 readings, one a minute from 2026-11-01 00:01 UTC, keyed by id.
const SCHEMA: &str = "
CREATE TABLE readings (id INT PRIMARY KEY, ts DATETIME NOT NULL, value DOUBLE) ENGINE=InnoDB;
INSERT INTO readings SELECT seq, TIMESTAMP'2026-11-01 00:00:00' + INTERVAL seq MINUTE, seq * 0.5
FROM seq_1_to_6000;
";

fn readings_check(done: &RestoreStats) -> CheckOutcome {
    let check = done.checks.iter().find(|c| c.name == "readings").unwrap();
    check.outcome.clone()
}

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
    assert_eq!(
        readings_check(&done),
        CheckOutcome::Content { rows: Some(600) }
    );
    let day = db.checksum("plant_day", "readings");

    // Rewriting the range: the same rows, verified again.
    let rewrite = RestoreOptions {
        ranges: vec![("readings".into(), hours.clone())],
        ..readings_only(DuplicatePolicy::Rewrite)
    };
    let done = restore_url(&repo, &point, &db.url("plant_day"), &rewrite).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        readings_check(&done),
        CheckOutcome::Content { rows: Some(600) }
    );
    assert_eq!(db.checksum("plant_day", "readings"), day);

    // A trigger changes one row inside the range as it is loaded: that
    // table fails verification, by name.
    db.sql(
        Some("plant_day"),
        "CREATE TRIGGER shift BEFORE INSERT ON readings FOR EACH ROW \
         SET NEW.value = IF(NEW.id = 700, -7, NEW.value)",
    );
    let done = restore_url(&repo, &point, &db.url("plant_day"), &rewrite).unwrap();
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    assert_eq!(done.failed[0].0, "readings");
    assert!(
        done.failed[0]
            .1
            .contains("has the backup's 600 rows, but their content differs"),
        "{:?}",
        done.failed
    );
    assert!(readings_check(&done).difference().is_some());
    assert_eq!(
        db.sql(
            Some("plant_day"),
            "SELECT value FROM readings WHERE id = 700"
        ),
        "-7"
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
    // A merge keeps the table's own rows: every backed-up row of the range
    // is checked to be there.
    assert_eq!(
        readings_check(&done),
        CheckOutcome::RowsPresent { rows: 600 }
    );
    // Rewriting a range of the whole table deletes only that range's rows
    // before loading them: the other 5 400 rows stay.
    let rewrite_whole = RestoreOptions {
        ranges: rewrite.ranges.clone(),
        ..readings_only(DuplicatePolicy::Rewrite)
    };
    let done = restore_url(&repo, &point, &db.url("plant"), &rewrite_whole).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(count("plant"), "6000");
    assert_eq!(db.checksum("plant", "readings"), original);
    assert_eq!(
        readings_check(&done),
        CheckOutcome::Content { rows: Some(600) }
    );
}

/// Times at the edges of a range, written in UTC; then the server's own
/// time zone is moved away from UTC.
const EDGES: &str = "
SET time_zone = '+00:00';
CREATE TABLE events (id INT PRIMARY KEY, at TIMESTAMP(6) NULL DEFAULT NULL, note VARCHAR(20)) ENGINE=InnoDB;
INSERT INTO events VALUES (1, '2026-11-01 11:59:59.999999', 'just before'), (2, '2026-11-01 12:00:00', 'first'),
 (3, '2026-11-02 23:59:59.999999', 'last'), (4, '2026-11-03 00:00:00', 'at the end'), (5, NULL, 'no time'),
 (6, '2026-11-02 00:00:00.5', 'inside'), (7, '0000-00-00 00:00:00', 'zero');
CREATE TABLE days (id INT PRIMARY KEY, d DATE) ENGINE=InnoDB;
INSERT INTO days VALUES (1, '2026-11-01'), (2, '2026-11-02'), (3, '2026-11-03'), (4, NULL), (5, '0000-00-00');
SET GLOBAL time_zone = '+05:00';
";

#[test]
fn a_time_range_digests_the_rows_the_server_keeps() {
    let db = MariaDb::start();
    let fx = Fixture::new();
    db.sql(None, "CREATE DATABASE edges");
    db.sql(Some("edges"), EDGES);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &db.url("edges"), "edges").unwrap().point;

    // Bounds are UTC instants for a TIMESTAMP, a DATE is its midnight,
    // and a NULL time is in no range.
    let range = TimeRange {
        since: Some("2026-11-01 12:00:00".into()),
        until: Some("2026-11-03 00:00:00".into()),
    };
    let ranged = RestoreOptions {
        ranges: vec![("events".into(), range.clone()), ("days".into(), range)],
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &point, &db.url("edges_range"), &ranged).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    let outcome = |name: &str| {
        let check = done.checks.iter().find(|c| c.name == name).unwrap();
        check.outcome.clone()
    };
    assert_eq!(outcome("events"), CheckOutcome::Content { rows: Some(3) });
    assert_eq!(outcome("days"), CheckOutcome::Content { rows: Some(1) });

    // The rows are those the source server itself keeps for the range.
    let rows = |db_name: &str, table: &str, filter: &str| {
        db.sql(
            Some(db_name),
            &format!(
                "SET time_zone = '+00:00'; SELECT GROUP_CONCAT(CONCAT_WS('|', {}) ORDER BY id SEPARATOR ';') FROM {table}{filter}",
                if table == "events" { "id, at, note" } else { "id, d" }
            ),
        )
    };
    let inside = |column: &str| {
        format!(" WHERE {column} >= '2026-11-01 12:00:00' AND {column} < '2026-11-03 00:00:00'")
    };
    assert_eq!(
        rows("edges_range", "events", ""),
        rows("edges", "events", &inside("at"))
    );
    assert_eq!(
        rows("edges_range", "days", ""),
        rows("edges", "days", &inside("d"))
    );
    assert_eq!(rows("edges_range", "days", ""), "2|2026-11-02");
    assert_eq!(
        rows("edges_range", "events", ""),
        "2|2026-11-01 12:00:00.000000|first;3|2026-11-02 23:59:59.999999|last;6|2026-11-02 00:00:00.500000|inside"
    );
}
