//! PostgreSQL backups and restores against a real server started by the
//! test, checked with `pg_dump --schema-only` and per-table checksums.

mod support;

use tidemark_engine::restore::{
    plan_restore, run_restore, CheckOutcome, ConflictPolicy, RestoreOptions,
};
use tidemark_engine::{
    open_source, open_target, CancelToken, EngineError, NoProgress, Selection, SourceUrl,
};

use support::postgres::PgServer;
use support::{backup_url, restore_url, Fixture};

const SCHEMA: &str = r#"
CREATE TYPE mood AS ENUM ('calm', 'busy', 'down');
CREATE TABLE devices (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    site text DEFAULT 'north',
    mood mood NOT NULL DEFAULT 'calm',
    serial uuid NOT NULL,
    firmware bytea,
    settings jsonb,
    raw json,
    tags text[],
    weights numeric(12, 4)[],
    price numeric(18, 6) CHECK (price >= 0),
    installed timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE metrics (
    ts timestamptz NOT NULL,
    device_id int NOT NULL REFERENCES devices (id),
    value double precision NOT NULL,
    note text
);
CREATE INDEX metrics_by_time ON metrics (ts);
CREATE SEQUENCE batch_numbers START 100;
CREATE VIEW busy_devices AS SELECT name FROM devices WHERE mood = 'busy';
INSERT INTO devices (name, mood, serial, firmware, settings, raw, tags, weights, price, installed)
SELECT 'device-' || i, (ARRAY['calm','busy','down'])[1 + i % 3]::mood,
       md5(i::text)::uuid, decode(md5(i::text), 'hex'), jsonb_build_object('rate', i, 'on', i % 2 = 0),
       json_build_object('raw', i), ARRAY['t' || i, 'quote''d', NULL], ARRAY[i * 1.5, -i],
       i * 3.25, '2026-01-01 00:00:00+00'::timestamptz + i * interval '1 hour'
FROM generate_series(1, 50) i;
INSERT INTO metrics
SELECT '2026-11-01 00:00:00+00'::timestamptz + (i * interval '1 second'), 1 + i % 50, sin(i) * 100,
       CASE WHEN i % 1000 = 0 THEN 'checkpoint ' || i END
FROM generate_series(1, ROWS) i;
SELECT nextval('batch_numbers'), nextval('batch_numbers');
"#;

fn create_source(server: &PgServer, db: &str, rows: u64) {
    server.psql("postgres", &format!("CREATE DATABASE {db}"));
    server.psql(db, &SCHEMA.replace("ROWS", &rows.to_string()));
}

#[test]
fn a_database_round_trips_structure_data_and_sequences() {
    let server = PgServer::start();
    let fx = Fixture::new();
    create_source(&server, "plant", 1_000_000);
    let repo = fx.repo(None);
    let stats = backup_url(&repo, &server.url("plant"), "pg").unwrap();
    let manifest = repo.point(&stats.point).unwrap();
    assert_eq!(manifest.source.kind, "postgres");
    assert!(manifest
        .source
        .server_version
        .as_deref()
        .unwrap()
        .starts_with("15"));
    assert!(
        !manifest.source.url.contains(support::postgres::PASSWORD),
        "no password in the manifest"
    );
    let metrics = manifest
        .objects
        .iter()
        .find(|o| o.name == "public.metrics")
        .unwrap();
    assert_eq!(metrics.rows, Some(1_000_000));
    assert_eq!(metrics.time_min.as_deref(), Some("2026-11-01 00:00:01+00"));
    assert_eq!(metrics.time_max.as_deref(), Some("2026-11-12 13:46:40+00"));
    let devices = manifest
        .objects
        .iter()
        .find(|o| o.name == "public.devices")
        .unwrap();
    assert_eq!((devices.rows, devices.time_min.is_some()), (Some(50), true));

    let done = restore_url(
        &repo,
        &stats.point,
        &server.url("plant_restored"),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    // Every table's content was read back and found equal; metrics is
    // large enough to be read back in two halves at once.
    let tables: Vec<_> = done
        .checks
        .iter()
        .filter(|c| c.name.starts_with("public."))
        .collect();
    assert_eq!(tables.len(), 2, "{:?}", done.checks);
    for check in tables {
        assert!(
            matches!(check.outcome, CheckOutcome::Content { .. }),
            "{}: {}",
            check.name,
            check.outcome.describe()
        );
    }
    let pages: u64 = server
        .psql(
            "plant_restored",
            "SELECT pg_relation_size('metrics') / 8192",
        )
        .parse()
        .unwrap();
    assert!(pages >= 4096, "{pages} pages");
    assert_eq!(server.schema("plant"), server.schema("plant_restored"));
    for table in ["devices", "metrics"] {
        assert_eq!(
            server.checksum("plant", table),
            server.checksum("plant_restored", table),
            "{table}"
        );
    }
    for db in ["plant", "plant_restored"] {
        assert_eq!(
            server.psql(db, "SELECT nextval('batch_numbers')"),
            "102",
            "{db}"
        );
        assert_eq!(
            server.psql(db, "SELECT nextval('devices_id_seq')"),
            "51",
            "{db}"
        );
        assert_eq!(
            server.psql(db, "SELECT count(*) FROM busy_devices"),
            "17",
            "{db}"
        );
    }
    support::assert_verifies_clean(&repo);
}

#[test]
fn a_backup_reads_one_snapshot_while_rows_are_inserted() {
    let server = PgServer::start();
    let fx = Fixture::new();
    create_source(&server, "live", 200_000);
    let repo = fx.repo(None);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, port) = (stop.clone(), server.port);
        std::thread::spawn(move || {
            let mut batches = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let out = std::process::Command::new("psql")
                    .args(["-X", "-q", "-c", "INSERT INTO metrics SELECT now(), 1 + i % 50, i, 'live' FROM generate_series(1, 500) i; INSERT INTO devices (name, serial) VALUES ('late-' || clock_timestamp(), gen_random_uuid())"])
                    .env("PGHOST", "127.0.0.1").env("PGPORT", port.to_string()).env("PGUSER", "postgres")
                    .env("PGPASSWORD", support::postgres::PASSWORD).env("PGDATABASE", "live")
                    .status()
                    .unwrap();
                assert!(out.success());
                batches += 1;
            }
            batches
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let stats = backup_url(&repo, &server.url("live"), "live").unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let batches = writer.join().unwrap();
    assert!(batches > 0);
    let manifest = repo.point(&stats.point).unwrap();
    restore_url(
        &repo,
        &stats.point,
        &server.url("live_restored"),
        &RestoreOptions::default(),
    )
    .unwrap();
    for table in ["metrics", "devices"] {
        let recorded = manifest
            .objects
            .iter()
            .find(|o| o.name == format!("public.{table}"))
            .unwrap()
            .rows
            .unwrap();
        let restored: u64 = server
            .psql("live_restored", &format!("SELECT count(*) FROM {table}"))
            .parse()
            .unwrap();
        assert_eq!(restored, recorded, "{table}: exactly the snapshot");
        let live: u64 = server
            .psql("live", &format!("SELECT count(*) FROM {table}"))
            .parse()
            .unwrap();
        assert!(
            live > recorded,
            "{table}: rows were inserted during and after the backup"
        );
    }
    // The foreign key holds in the restored copy: both tables saw one instant.
    assert_eq!(
        server.psql("live_restored", "SELECT count(*) FROM metrics m LEFT JOIN devices d ON d.id = m.device_id WHERE d.id IS NULL"),
        "0"
    );
}

#[test]
fn one_table_restores_renamed_and_conflicts_leave_data_untouched() {
    let server = PgServer::start();
    let fx = Fixture::new();
    create_source(&server, "shop", 10_000);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("shop"), "shop")
        .unwrap()
        .point;
    let before = server.checksum("shop", "metrics");
    server.psql(
        "shop",
        "DELETE FROM metrics WHERE ts < '2026-11-01 01:00:00+00'",
    );

    // tbl AS new_tbl, into the same database.
    let renamed = RestoreOptions {
        objects: vec![(
            "public.metrics".into(),
            Some("public.metrics_restored".into()),
        )],
        on_conflict: ConflictPolicy::Skip,
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &point, &server.url("shop"), &renamed).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(server.checksum("shop", "metrics_restored"), before);
    assert_ne!(
        server.checksum("shop", "metrics"),
        before,
        "the original is untouched"
    );

    // The table exists: refused unless overwriting.
    let only_metrics = |policy| RestoreOptions {
        objects: vec![("public.metrics".into(), None)],
        on_conflict: policy,
        ..RestoreOptions::default()
    };
    let refused = restore_url(
        &repo,
        &point,
        &server.url("shop"),
        &only_metrics(ConflictPolicy::Stop),
    )
    .unwrap_err();
    assert!(matches!(refused, EngineError::Conflict(_)), "{refused}");
    assert!(refused.to_string().contains("public.metrics"), "{refused}");

    // A load that fails (the table changed shape) rolls back: old rows stay.
    server.psql(
        "shop",
        "ALTER TABLE metrics ADD COLUMN extra int NOT NULL DEFAULT 0",
    );
    let changed = server.checksum("shop", "metrics");
    let failed = restore_url(
        &repo,
        &point,
        &server.url("shop"),
        &only_metrics(ConflictPolicy::Overwrite),
    )
    .unwrap();
    assert_eq!(failed.failed.len(), 1, "{:?}", failed.failed);
    assert_eq!(
        server.checksum("shop", "metrics"),
        changed,
        "a failed load leaves the table as it was"
    );

    // Overwrite of a table of the right shape replaces its rows.
    server.psql("shop", "ALTER TABLE metrics DROP COLUMN extra");
    let done = restore_url(
        &repo,
        &point,
        &server.url("shop"),
        &only_metrics(ConflictPolicy::Overwrite),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(server.checksum("shop", "metrics"), before);
}

#[test]
fn bad_credentials_and_unreachable_servers_are_named_without_the_password() {
    let server = PgServer::start();
    let wrong = format!(
        "postgres://postgres:not-the-password@127.0.0.1:{}/postgres",
        server.port
    );
    let err = open_source(&SourceUrl::parse(&wrong).unwrap(), &Selection::default())
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(
        text.contains(&format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            server.port
        )),
        "{text}"
    );
    assert!(!text.contains("not-the-password"), "{text}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = open_source(
        &SourceUrl::parse(&format!("postgres://u:p@127.0.0.1:{closed}/db")).unwrap(),
        &Selection::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("cannot reach the server"), "{err}");

    let missing = open_source(
        &SourceUrl::parse(&server.url("no_such_db")).unwrap(),
        &Selection::default(),
    )
    .err()
    .unwrap();
    assert!(missing.to_string().contains("no_such_db"), "{missing}");
}

#[test]
fn pre_checks_block_a_restore_into_the_wrong_kind_or_an_unreachable_server() {
    let server = PgServer::start();
    let fx = Fixture::new();
    create_source(&server, "small", 100);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("small"), "small")
        .unwrap()
        .point;
    let manifest = repo.point(&point).unwrap();

    let sqlite = fx.path("into.db");
    let target =
        open_target(&SourceUrl::parse(&format!("sqlite://{}", sqlite.display())).unwrap()).unwrap();
    let plan = plan_restore(&manifest, target.as_ref(), &RestoreOptions::default()).unwrap();
    let blocked = plan.blocked.clone().unwrap();
    assert!(
        blocked.contains("a postgres source and cannot be restored into a sqlite target"),
        "{blocked}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = open_target(
        &SourceUrl::parse(&format!("postgres://postgres:x@127.0.0.1:{closed}/db")).unwrap(),
    )
    .unwrap();
    let plan = plan_restore(&manifest, unreachable.as_ref(), &RestoreOptions::default()).unwrap();
    assert_eq!(plan.checks.len(), 1, "{:?}", plan.checks);
    assert!(plan.blocked.unwrap().contains("cannot reach the server"));

    let good = open_target(&SourceUrl::parse(&server.url("small_copy")).unwrap()).unwrap();
    let plan = plan_restore(&manifest, good.as_ref(), &RestoreOptions::default()).unwrap();
    assert!(plan.blocked.is_none(), "{:?}", plan.checks);
    let names: Vec<_> = plan.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "target reachable",
            "same kind",
            "server version",
            "existing objects",
            "free space"
        ]
    );
    // The database was only planned for: nothing was created.
    assert_eq!(
        server.psql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'small_copy'"
        ),
        "0"
    );
    let err = run_restore(
        &repo,
        &plan_restore(&manifest, target.as_ref(), &RestoreOptions::default()).unwrap(),
        &mut *open_target(&SourceUrl::parse(&format!("sqlite://{}", sqlite.display())).unwrap())
            .unwrap(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    assert!(
        !sqlite.exists() || std::fs::metadata(&sqlite).unwrap().len() == 0,
        "the wrong-kind target is untouched"
    );
}

#[test]
fn a_time_range_backs_up_only_those_rows_of_time_series_tables() {
    use tidemark_engine::backup::{plan_backup, run_backup, BackupOptions};
    let server = PgServer::start();
    let fx = Fixture::new();
    create_source(&server, "ranged", 100_000);
    let repo = fx.repo(None);
    let selection = Selection {
        since: Some(Selection::parse_time("2026-11-01T06:00:00Z").unwrap()),
        until: Some(Selection::parse_time("2026-11-01 12:00").unwrap()),
        ..Selection::default()
    };
    let source = open_source(
        &SourceUrl::parse(&server.url("ranged")).unwrap(),
        &selection,
    )
    .unwrap();
    let options = BackupOptions {
        task: "ranged".into(),
        selection: selection.clone(),
        ..BackupOptions::default()
    };
    let plan = plan_backup(&repo, source.as_ref(), &options).unwrap();
    let stats = run_backup(
        &repo,
        source.as_ref(),
        plan,
        &options,
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    let manifest = repo.point(&stats.point).unwrap();
    assert_eq!(manifest.selection, selection, "the range is recorded");
    let metrics = manifest
        .objects
        .iter()
        .find(|o| o.name == "public.metrics")
        .unwrap();
    // Six hours of one row a second.
    assert_eq!(metrics.rows, Some(6 * 3600));
    assert_eq!(metrics.time_min.as_deref(), Some("2026-11-01 06:00:00+00"));
    assert_eq!(metrics.time_max.as_deref(), Some("2026-11-01 11:59:59+00"));
    let devices = manifest
        .objects
        .iter()
        .find(|o| o.name == "public.devices")
        .unwrap();
    // `installed` is its only time column: 50 hourly rows from 2026-01-01, none in range.
    assert_eq!(devices.rows, Some(0));

    // Partial rows cannot satisfy foreign keys in a new database: restore the
    // range beside the live table instead (`LIKE` copies no foreign keys).
    let beside = RestoreOptions {
        objects: vec![("public.metrics".into(), Some("public.metrics_range".into()))],
        on_conflict: ConflictPolicy::Skip,
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &stats.point, &server.url("ranged"), &beside).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    // The point holds only the range: its digest is the whole table's.
    let metrics_check = done.checks.iter().find(|c| c.name == "public.metrics");
    assert_eq!(
        metrics_check.map(|c| &c.outcome),
        Some(&CheckOutcome::Content { rows: Some(21600) }),
        "{:?}",
        done.checks
    );
    assert_eq!(
        server.psql(
            "ranged",
            "SELECT count(*), min(ts), max(ts) FROM metrics_range"
        ),
        "21600|2026-11-01 06:00:00+00|2026-11-01 11:59:59+00"
    );
    assert!(Selection::parse_time("yesterday").is_err());
}

/// Sandboxes the drill may have left: temporary server directories and
/// postgres processes running from them.
fn drill_leftovers() -> Vec<String> {
    let mut left: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tidemark-drill-"))
        .collect();
    for proc in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        let cmdline = std::fs::read(proc.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("postgres") && cmdline.contains("tidemark-drill-") {
            left.push(cmdline);
        }
    }
    left
}

#[test]
fn a_point_is_drilled_in_a_throwaway_server_and_on_a_drill_server_without_touching_the_source() {
    use tidemark_engine::drill::{plan_drill, run_drill, DrillOptions, SandboxChoice};
    let fx = Fixture::new();
    let source = PgServer::start();
    create_source(&source, "shop", 5_000);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &source.url("shop"), "shop")
        .unwrap()
        .point;
    source.psql("postgres", "ALTER SYSTEM SET log_connections = on");
    source.psql("postgres", "SELECT pg_reload_conf()");
    // The reload is asynchronous: connect until the log shows it applies.
    for _ in 0..100 {
        if source.connections() > 0 {
            break;
        }
        source.psql("postgres", "SELECT 1");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(source.connections() > 0, "log_connections took effect");
    let before = drill_leftovers();

    let options = DrillOptions {
        task: Some("shop".into()),
        checks: vec![
            "SELECT count(*) FROM metrics=5000".parse().unwrap(),
            "SELECT name FROM busy_devices ORDER BY name LIMIT 1=device-1"
                .parse()
                .unwrap(),
        ],
        scratch_dir: fx.path("drills"),
        ..Default::default()
    };
    let plan = plan_drill(&repo, &options).unwrap();
    assert_eq!(plan.point, point);
    assert!(
        plan.sandbox.contains("throwaway PostgreSQL"),
        "{}",
        plan.sandbox
    );
    let connections = source.connections();
    let stats = run_drill(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert!(stats.passed, "{:?} {:#?}", stats.error, stats.checks);
    assert!(stats.rows >= 5_050 && stats.rto_seconds > 0.0, "{stats:?}");
    for table in ["public.devices", "public.metrics"] {
        let proof = stats
            .checks
            .iter()
            .find(|c| c.name == format!("content of {table}"));
        assert!(
            proof.is_some_and(|c| c.passed),
            "{table}: {:#?}",
            stats.checks
        );
    }
    assert_eq!(drill_leftovers(), before, "the throwaway server is gone");
    assert_eq!(std::fs::read_dir(fx.path("drills")).unwrap().count(), 0);

    // A drill server: a scratch database is made there and dropped after.
    let drill_server = PgServer::start();
    let on_server = DrillOptions {
        sandbox: SandboxChoice::Server(drill_server.url("postgres")),
        checks: vec!["SELECT count(*) FROM metrics=4999".parse().unwrap()],
        ..options
    };
    let plan = plan_drill(&repo, &on_server).unwrap();
    let stats = run_drill(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert!(!stats.passed);
    let error = stats.error.unwrap();
    assert!(
        error.contains("SELECT count(*) FROM metrics") && error.contains("returned \"5000\""),
        "{error}"
    );
    let scratch = drill_server.psql(
        "postgres",
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'tidemark_drill_%'",
    );
    assert_eq!(scratch, "0");
    assert_eq!(
        source.connections(),
        connections,
        "the drills never connected to the source"
    );
}
