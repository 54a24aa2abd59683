//! Loading a PostgreSQL backup into existing tables (merge with each
//! duplicate policy), watermark chains, locking and slices, against a real
//! server; the tables are compared with checksums PostgreSQL computes.
//! Time-range restores are in `postgres_ranges.rs`.

mod support;

use std::sync::Mutex;

use tidemark_engine::backup::BackupOptions;
use tidemark_engine::restore::{
    plan_restore, run_restore, ConflictPolicy, Outcome, RestoreOptions,
};
use tidemark_engine::{
    open_target, CancelToken, DuplicatePolicy, EngineError, Phase, PostgresSource, Progress,
    Selection, SourceUrl,
};

use support::postgres::{readings_only, PgServer, READINGS as SCHEMA};
use support::{backup_url, restore_url, Fixture};

/// 6 000 readings, one a minute from 2026-11-01 00:01 UTC, keyed by id.
#[test]
fn merging_into_an_existing_table_follows_the_duplicate_policy() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE plant");
    server.psql("plant", SCHEMA);
    let original = server.checksum("plant", "readings");
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("plant"), "plant")
        .unwrap()
        .point;
    // After the backup: half the rows gone, one changed, one new.
    server.psql(
        "plant",
        "DELETE FROM readings WHERE id > 3000; UPDATE readings SET value = -1 WHERE id = 1; \
         INSERT INTO readings VALUES (9001, '2026-12-01 00:00:00+00', 1)",
    );
    let changed = server.checksum("plant", "readings");

    // stop: the first clashing key fails the table; nothing is loaded.
    let stopped = restore_url(
        &repo,
        &point,
        &server.url("plant"),
        &readings_only(DuplicatePolicy::Stop),
    )
    .unwrap();
    assert_eq!(stopped.failed.len(), 1, "{:?}", stopped.failed);
    assert!(
        stopped.failed[0]
            .1
            .contains("already exists in table public.readings"),
        "{:?}",
        stopped.failed
    );
    assert_eq!(server.checksum("plant", "readings"), changed);

    // skip: the missing rows come back, existing keys keep their values;
    // the row kept with another value is not the backup's, and the
    // content check says so (a skipped duplicate is present only if equal).
    let skipped = restore_url(
        &repo,
        &point,
        &server.url("plant"),
        &readings_only(DuplicatePolicy::Skip),
    )
    .unwrap();
    assert_eq!(skipped.failed.len(), 1, "{:?}", skipped.failed);
    assert!(
        skipped.failed[0]
            .1
            .contains("1 of the backup's 6000 rows are not in public.readings"),
        "{:?}",
        skipped.failed
    );
    assert_eq!(
        server.psql("plant", "SELECT count(*) FROM readings"),
        "6001"
    );
    assert_eq!(
        server.psql("plant", "SELECT value FROM readings WHERE id = 1"),
        "-1"
    );

    // rewrite: the table's rows are exactly the backup's again.
    let rewritten = restore_url(
        &repo,
        &point,
        &server.url("plant"),
        &readings_only(DuplicatePolicy::Rewrite),
    )
    .unwrap();
    assert!(rewritten.failed.is_empty(), "{:?}", rewritten.failed);
    assert_eq!(server.checksum("plant", "readings"), original);

    // A table whose columns differ from the backup's is refused, untouched.
    server.psql("plant", "ALTER TABLE readings ADD COLUMN site text");
    let reshaped = server.checksum("plant", "readings");
    let refused = restore_url(
        &repo,
        &point,
        &server.url("plant"),
        &readings_only(DuplicatePolicy::Skip),
    )
    .unwrap();
    assert_eq!(refused.failed.len(), 1, "{:?}", refused.failed);
    assert!(
        refused.failed[0].1.contains("has columns") && refused.failed[0].1.contains("site text"),
        "{:?}",
        refused.failed
    );
    assert_eq!(server.checksum("plant", "readings"), reshaped);
}

/// Backs up `db` as task `plant` reading time-series tables after a watermark.
fn watermark_backup(
    repo: &tidemark_engine::Repository,
    server: &PgServer,
    db: &str,
) -> tidemark_engine::backup::BackupStats {
    let selection = Selection {
        watermark: true,
        ..Selection::default()
    };
    support::backup_selected(repo, &server.url(db), "plant", selection).unwrap()
}

#[test]
fn watermark_incrementals_read_only_newer_rows_and_restore_as_a_chain() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE plant");
    server.psql("plant", SCHEMA);
    let repo = fx.repo(None);
    let full = watermark_backup(&repo, &server, "plant");
    let at_full = server.checksum("plant", "readings");

    let add = |from: u32, to: u32| {
        server.psql(
            "plant",
            &format!(
                "INSERT INTO readings SELECT i, '2026-11-01 00:00:00+00'::timestamptz + i * interval '1 minute', i \
                 FROM generate_series({from}, {to}) i"
            ),
        )
    };
    add(6001, 6600);
    let second = watermark_backup(&repo, &server, "plant");
    let at_second = server.checksum("plant", "readings");
    assert!(
        second.bytes_read * 5 < full.bytes_read,
        "the incremental read {} bytes, the full backup {}",
        second.bytes_read,
        full.bytes_read
    );
    let entry = |point: &str| {
        repo.point(point)
            .unwrap()
            .objects
            .into_iter()
            .find(|o| o.name == "public.readings")
            .unwrap()
    };
    let readings = entry(&second.point);
    assert_eq!(readings.rows, Some(6600));
    assert_eq!(readings.parts.len(), 2);
    assert_eq!(
        readings.parts[1].after.as_deref(),
        Some("2026-11-05 04:00:00+00")
    );
    assert_eq!(readings.time_max.as_deref(), Some("2026-11-05 14:00:00+00"));

    // Nothing new: the parent's parts are this point's.
    let idle = watermark_backup(&repo, &server, "plant");
    assert_eq!(entry(&idle.point).chunks, readings.chunks);
    add(6601, 6700);
    let third = watermark_backup(&repo, &server, "plant");
    assert_eq!(entry(&third.point).parts.len(), 3);

    // Each point restores to exactly the table as of its backup.
    for (point, expected, db) in [
        (&third.point, server.checksum("plant", "readings"), "r3"),
        (&second.point, at_second, "r2"),
        (&full.point, at_full, "r1"),
    ] {
        let done = restore_url(&repo, point, &server.url(db), &RestoreOptions::default()).unwrap();
        assert!(done.failed.is_empty(), "{:?}", done.failed);
        assert_eq!(server.checksum(db, "readings"), expected, "point {point}");
    }

    // A chain restores into an existing table too (through the staging table).
    server.psql("plant", "DELETE FROM readings WHERE id > 6500");
    let done = restore_url(
        &repo,
        &third.point,
        &server.url("plant"),
        &readings_only(DuplicatePolicy::Skip),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        server.psql("plant", "SELECT count(*) FROM readings"),
        "6700"
    );
}

/// Tries to connect to the target while the restore loads.
struct Knocker<'a> {
    server: &'a PgServer,
    db: &'static str,
    answer: Mutex<Option<Result<String, String>>>,
}

impl Progress for Knocker<'_> {
    fn set_title(&self, _: &str) {}
    fn set_length(&self, _: u64, _: u64) {}
    fn inc(&self, _: u64, _: u64) {}
    fn finish(&self) {}
    fn phase(&self, phase: Phase, done: bool) {
        if phase == Phase::Loading && !done {
            *self.answer.lock().unwrap() = Some(self.server.try_psql(self.db, "SELECT 1"));
        }
    }
}

#[test]
fn a_locked_restore_refuses_new_connections_and_lets_them_in_again_even_after_a_failure() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE plant");
    server.psql("plant", SCHEMA);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("plant"), "plant")
        .unwrap()
        .point;
    let manifest = repo.point(&point).unwrap();
    let allowed = "SELECT datallowconn FROM pg_database WHERE datname = 'plant'";
    let restore = |options: &RestoreOptions| {
        let knocker = Knocker {
            server: &server,
            db: "plant",
            answer: Mutex::new(None),
        };
        let mut target = open_target(&SourceUrl::parse(&server.url("plant")).unwrap()).unwrap();
        let plan = plan_restore(&manifest, target.as_ref(), options).unwrap();
        let lock = plan
            .checks
            .iter()
            .find(|c| c.name == "lock target")
            .unwrap();
        assert_eq!(lock.outcome, Outcome::Pass, "{lock:?}");
        let result = run_restore(&repo, &plan, target.as_mut(), &knocker, &CancelToken::new());
        drop(target);
        let answer = knocker.answer.into_inner().unwrap();
        (result, answer.expect("the restore reached loading"))
    };
    let locked = RestoreOptions {
        objects: vec![("public.readings".into(), None)],
        on_conflict: ConflictPolicy::Overwrite,
        lock: true,
        ..RestoreOptions::default()
    };
    server.psql("plant", "DELETE FROM readings WHERE id > 10");
    let (done, knocked) = restore(&locked);
    let done = done.unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    let refused = knocked.unwrap_err();
    assert!(
        refused.contains("not currently accepting connections"),
        "{refused}"
    );
    assert!(
        done.notes
            .iter()
            .any(|n| n.contains("refused new connections")),
        "{:?}",
        done.notes
    );
    assert_eq!(server.psql("plant", allowed), "t");
    assert_eq!(
        server.psql("plant", "SELECT count(*) FROM readings"),
        "6000"
    );

    // A restore that fails midway still lets users back in, data untouched.
    server.psql(
        "plant",
        "ALTER TABLE readings ADD COLUMN extra int NOT NULL DEFAULT 0",
    );
    let before = server.checksum("plant", "readings");
    let (failed, knocked) = restore(&RestoreOptions {
        stop_on_failure: true,
        ..locked
    });
    assert!(
        matches!(failed, Err(EngineError::RestoreFailed { .. })),
        "{failed:?}"
    );
    assert!(knocked.is_err());
    assert_eq!(server.psql("plant", allowed), "t");
    assert_eq!(server.checksum("plant", "readings"), before);

    // A database a killed restore left locked is named with the way out.
    server.psql("postgres", "ALTER DATABASE plant ALLOW_CONNECTIONS false");
    let err = backup_url(&repo, &server.url("plant"), "plant").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("ALTER DATABASE \"plant\" ALLOW_CONNECTIONS true"),
        "{text}"
    );
    server.psql("postgres", "ALTER DATABASE plant ALLOW_CONNECTIONS true");
}

/// Backs up `db` as task `plant`, reading tables in slices of `pages` pages.
fn sliced_backup(
    repo: &tidemark_engine::Repository,
    server: &PgServer,
    db: &str,
    pages: u64,
    selection: Selection,
) -> tidemark_engine::backup::BackupStats {
    let SourceUrl::Postgres(at) = SourceUrl::parse(&server.url(db)).unwrap() else {
        panic!("not a PostgreSQL URL");
    };
    let source = PostgresSource::new(at, &selection)
        .unwrap()
        .with_slice_pages(pages);
    let options = BackupOptions {
        task: "plant".into(),
        selection,
        ..BackupOptions::default()
    };
    support::backup_source(repo, &source, &options).unwrap()
}

fn readings_entry(repo: &tidemark_engine::Repository, point: &str) -> tidemark_engine::ObjectEntry {
    repo.point(point)
        .unwrap()
        .objects
        .into_iter()
        .find(|o| o.name == "public.readings")
        .unwrap()
}

#[test]
fn a_large_table_is_read_in_slices_that_restore_as_one_table() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE plant");
    server.psql("plant", SCHEMA);
    // A generated column: a slice's COPY (SELECT ...) must leave it out,
    // as COPY of the whole table does, or the load refuses the rows.
    server.psql(
        "plant",
        "ALTER TABLE readings ADD COLUMN doubled double precision GENERATED ALWAYS AS (value * 2) STORED;
         INSERT INTO readings SELECT i, '2026-11-01 00:00:00+00'::timestamptz + i * interval '1 minute', i * 0.5
         FROM generate_series(6001, 60000) i",
    );
    let pages: u64 = server
        .psql("plant", "SELECT pg_relation_size('readings') / 8192")
        .parse()
        .unwrap();
    let repo = fx.repo(None);
    let full = sliced_backup(&repo, &server, "plant", 16, Selection::default());
    let at_full = server.checksum("plant", "readings");
    let readings = readings_entry(&repo, &full.point);
    assert_eq!(
        readings.parts.len() as u64,
        pages.div_ceil(16),
        "{pages} pages"
    );
    assert!(readings.parts.len() > 3, "{pages} pages");
    assert_eq!(readings.rows, Some(60_000));
    assert_eq!(
        readings
            .parts
            .iter()
            .map(|p| p.chunks as usize)
            .sum::<usize>(),
        readings.chunks.len()
    );
    support::assert_verifies_clean(&repo);

    // Rows added at the end leave the earlier slices' chunks as they were.
    server.psql(
        "plant",
        "INSERT INTO readings SELECT i, '2026-11-01 00:00:00+00'::timestamptz + i * interval '1 minute', i \
         FROM generate_series(60001, 60600) i",
    );
    let second = sliced_backup(&repo, &server, "plant", 16, Selection::default());
    let at_second = server.checksum("plant", "readings");
    assert!(
        second.totals.new_chunks * 4 < readings.chunks.len() as u64,
        "{} new chunks of {}",
        second.totals.new_chunks,
        readings.chunks.len()
    );

    // Each point restores to exactly the table as it was.
    let restore_into = |point: &str, db: &str| {
        server.psql("postgres", &format!("CREATE DATABASE {db}"));
        restore_url(&repo, point, &server.url(db), &RestoreOptions::default()).unwrap();
        server.checksum(db, "readings")
    };
    assert_eq!(restore_into(&full.point, "first"), at_full);
    assert_eq!(restore_into(&second.point, "second"), at_second);

    // A time range is applied within every slice.
    let ranged = sliced_backup(
        &repo,
        &server,
        "plant",
        64,
        Selection {
            since: Some("2026-11-02 00:00:00".into()),
            until: Some("2026-11-03 00:00:00".into()),
            ..Selection::default()
        },
    );
    assert!(readings_entry(&repo, &ranged.point).parts.len() > 3);
    restore_into(&ranged.point, "ranged");
    assert_eq!(
        server.psql("ranged", "SELECT count(*), min(ts), max(ts) FROM readings"),
        "1440|2026-11-02 00:00:00+00|2026-11-02 23:59:00+00"
    );
}
