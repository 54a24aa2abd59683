//! Restoring only a time range of PostgreSQL tables, against a real
//! server: the rows loaded are digested from the stored stream as the
//! target's own range condition keeps them and compared with the table
//! read back; the tables are compared with checksums PostgreSQL computes.

mod support;

use tidemark_engine::restore::{CheckOutcome, ConflictPolicy, RestoreOptions, RestoreStats};
use tidemark_engine::{DuplicatePolicy, EngineError, TimeRange};

use support::postgres::{readings_only, PgServer, READINGS as SCHEMA};
use support::{backup_url, restore_url, Fixture};

/// 6 000 readings, one a minute from 2026-11-01 00:01 UTC, keyed by id.
/// How the restore checked table `name`.
fn check(done: &RestoreStats, name: &str) -> CheckOutcome {
    done.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check of {name}: {:?}", done.checks))
        .outcome
        .clone()
}

/// Changes the value of reading 700 (11:40, inside the range) as rows go in.
const CHANGE_ONE_ROW: &str = "
CREATE FUNCTION change_700() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.id = 700 THEN NEW.value := -7; END IF; RETURN NEW; END $$;
CREATE TRIGGER change_700 BEFORE INSERT ON readings FOR EACH ROW EXECUTE FUNCTION change_700();
";

#[test]
fn a_time_range_of_a_table_restores_into_a_new_or_an_existing_database() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE plant");
    server.psql("plant", SCHEMA);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("plant"), "plant")
        .unwrap()
        .point;
    let hours = TimeRange {
        since: Some("2026-11-01 10:00:00".into()),
        until: Some("2026-11-01 20:00:00".into()),
    };
    let in_hours = "(SELECT * FROM readings WHERE ts >= '2026-11-01 10:00:00+00' \
                    AND ts < '2026-11-01 20:00:00+00')";
    let backed_up = server.checksum("plant", in_hours);

    // Into a new database: structure, then only ten hours of readings,
    // their digest computed from the stored stream and read back.
    let ranged = RestoreOptions {
        ranges: vec![("public.readings".into(), hours.clone())],
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &point, &server.url("plant_day"), &ranged).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        check(&done, "public.readings"),
        CheckOutcome::Content { rows: Some(600) }
    );
    assert_eq!(server.checksum("plant_day", "readings"), backed_up);
    let span = "SELECT count(*) || ' ' || min(ts) || ' ' || max(ts) FROM readings";
    assert_eq!(
        server.psql("plant_day", span),
        "600 2026-11-01 10:00:00+00 2026-11-01 19:59:00+00"
    );
    // Indexes and constraints came with the structure.
    assert!(server
        .psql(
            "plant_day",
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'readings'"
        )
        .contains("(id)"));

    // Overwriting it where a trigger changes a row inside the range: the
    // content read back is not the backup's, and the check says so.
    server.psql("plant_day", CHANGE_ONE_ROW);
    let overwrite = RestoreOptions {
        objects: vec![("public.readings".into(), None)],
        on_conflict: ConflictPolicy::Overwrite,
        ..ranged.clone()
    };
    let done = restore_url(&repo, &point, &server.url("plant_day"), &overwrite).unwrap();
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    assert!(
        done.failed[0].1.contains(
            "public.readings has the backup's 600 rows, but their content differs when read back"
        ),
        "{:?}",
        done.failed
    );
    assert_eq!(
        server.psql("plant_day", "SELECT value FROM readings WHERE id = 700"),
        "-7"
    );

    // Into the original, after those hours were lost: merged back, rest
    // kept, and every row of the range is there as it was backed up.
    server.psql(
        "plant",
        "DELETE FROM readings WHERE ts >= '2026-11-01 10:00:00+00' AND ts < '2026-11-01 20:00:00+00'; \
         UPDATE readings SET value = -1 WHERE id = 1",
    );
    let merged = RestoreOptions {
        ranges: vec![("public.readings".into(), hours)],
        ..readings_only(DuplicatePolicy::Stop)
    };
    let done = restore_url(&repo, &point, &server.url("plant"), &merged).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        check(&done, "public.readings"),
        CheckOutcome::RowsPresent { rows: 600 }
    );
    assert_eq!(server.checksum("plant", in_hours), backed_up);
    assert_eq!(
        server.psql("plant", "SELECT count(*) FROM readings"),
        "6000"
    );
    assert_eq!(
        server.psql("plant", "SELECT value FROM readings WHERE id = 1"),
        "-1",
        "rows outside the range are not touched"
    );
    // Rewriting the range deletes only the range's rows before loading
    // them: the rest of the table stays as it is.
    let rewrite = RestoreOptions {
        ranges: merged.ranges.clone(),
        ..readings_only(DuplicatePolicy::Rewrite)
    };
    let done = restore_url(&repo, &point, &server.url("plant"), &rewrite).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        check(&done, "public.readings"),
        CheckOutcome::Content { rows: Some(600) }
    );
    assert_eq!(server.checksum("plant", in_hours), backed_up);
    assert_eq!(
        server.psql(
            "plant",
            "SELECT count(*) || ' ' || (SELECT value FROM readings WHERE id = 1) FROM readings"
        ),
        "6000 -1"
    );

    // Merged again with the trigger in place: the changed row is missing.
    server.psql(
        "plant",
        &format!(
            "DELETE FROM readings WHERE ts >= '2026-11-01 10:00:00+00' \
             AND ts < '2026-11-01 20:00:00+00'; {CHANGE_ONE_ROW}"
        ),
    );
    let done = restore_url(&repo, &point, &server.url("plant"), &merged).unwrap();
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    assert!(
        done.failed[0]
            .1
            .contains("1 of the backup's 600 rows are not in public.readings"),
        "{:?}",
        done.failed
    );

    // A range on a table without one time column is refused before loading.
    let wrong = RestoreOptions {
        ranges: vec![("public.nothing".into(), TimeRange::default())],
        ..RestoreOptions::default()
    };
    let err = restore_url(&repo, &point, &server.url("plant_x"), &wrong).unwrap_err();
    assert!(matches!(err, EngineError::InvalidInput { .. }), "{err}");
}

/// A time column of each kind, with values at and around the bounds, in
/// other time zones, NULL, ±infinity and years beyond 1–9999; `tagged`
/// has an enum, so its rows are stored as text COPY.
const EDGES: &str = "
CREATE TYPE mood AS ENUM ('calm', 'busy');
CREATE TABLE instants (id int PRIMARY KEY, ts timestamptz);
INSERT INTO instants VALUES
  (1, '2026-11-01 10:00:00+00'), (2, '2026-11-01 09:59:59.999999+00'),
  (3, '2026-11-01 12:00:00+02'), (4, '2026-11-01 05:00:00-05'),
  (5, '2026-11-02 19:59:59.999999+00'), (6, '2026-11-02 20:00:00+00'),
  (7, '2026-11-02 21:30:00+01:30'), (8, NULL), (9, 'infinity'), (10, '-infinity'),
  (11, '4713-01-01 00:00:00+00 BC'), (12, '294276-12-31 23:59:59+00'),
  (13, '2026-11-01 18:00:00.5+00');
SET TIME ZONE 'America/New_York';
CREATE TABLE local_times (id int, t timestamp(3), note text);
INSERT INTO local_times VALUES
  (1, '2026-11-01 10:00:00', 'since'), (2, '2026-11-01 09:59:59.999', 'before'),
  (3, '2026-11-02 19:59:59.999', 'last'), (3, '2026-11-02 19:59:59.999', 'last'),
  (4, '2026-11-02 20:00:00', 'until'), (5, '2026-11-01 10:00:00+05', 'its zone ignored'),
  (6, NULL, 'no time'), (7, 'infinity', 'never'), (8, '0044-03-15 12:00 BC', 'ides'),
  (9, '2026-11-01 10:00:00.0004', 'rounded to the bound');
CREATE TABLE days (d date, n int);
INSERT INTO days VALUES ('2026-10-31', 1), ('2026-11-01', 2), ('2026-11-02', 3),
  ('2026-11-03', 4), (NULL, 5), ('infinity', 6), ('-infinity', 7), ('0001-01-01 BC', 8),
  ('5874897-12-31', 9);
CREATE TABLE tagged (id int, mood mood, ts timestamptz);
INSERT INTO tagged VALUES (1, 'calm', '2026-11-01 11:00:00+01'), (2, 'busy', '2026-11-01 11:00:00+00'),
  (3, NULL, NULL), (4, 'busy', 'infinity'), (5, 'calm', '2026-11-02 20:00:00-00:30'),
  (6, 'calm', '2026-11-02 22:00:00+02');
";

#[test]
fn a_range_keeps_the_rows_the_servers_own_condition_keeps_for_every_time_type() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE edges");
    server.psql("edges", EDGES);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("edges"), "edges")
        .unwrap()
        .point;
    let manifest = repo.point(&point).unwrap();
    let format = |name: &str| {
        let entry = manifest.objects.iter().find(|o| o.name == name).unwrap();
        entry.format.clone()
    };
    assert_eq!(format("public.tagged").as_deref(), Some("copy-text"));
    assert_eq!(format("public.instants"), None, "binary COPY");

    // Bounds not at midnight: a date column keeps the dates the cast
    // bounds give (`d >= '2026-11-01 10:00'` keeps 2026-11-01).
    let range = TimeRange {
        since: Some("2026-11-01 10:00:00".into()),
        until: Some("2026-11-02 20:00:00".into()),
    };
    let tables = [
        ("instants", "ts", "+00", 5),
        ("local_times", "t", "", 5),
        ("days", "d", "", 1),
        ("tagged", "ts", "+00", 2),
    ];
    let options = RestoreOptions {
        ranges: tables
            .iter()
            .map(|(t, ..)| (format!("public.{t}"), range.clone()))
            .collect(),
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &point, &server.url("ranged"), &options).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    for (table, column, zone, rows) in tables {
        // The server's own condition on the source, in UTC.
        let kept = format!(
            "(SELECT * FROM {table} WHERE {column} >= '2026-11-01 10:00:00{zone}' \
             AND {column} < '2026-11-02 20:00:00{zone}')"
        );
        assert_eq!(
            server.psql("edges", &format!("SELECT count(*) FROM {kept} t")),
            rows.to_string(),
            "{table}"
        );
        assert_eq!(
            check(&done, &format!("public.{table}")),
            CheckOutcome::Content { rows: Some(rows) },
            "{table}"
        );
        assert_eq!(
            server.checksum("ranged", table),
            server.checksum("edges", &kept),
            "{table}"
        );
    }
}
