//! MariaDB backups and restores against a real server started by the test,
//! checked with `mariadb-dump --no-data` and `CHECKSUM TABLE`.

mod support;

use tidemark_engine::restore::{CheckOutcome, ConflictPolicy, RestoreOptions};
use tidemark_engine::{open_source, Selection, SourceUrl};

use support::mariadb::MariaDb;
use support::{backup_url, restore_url, Fixture};

const SCHEMA: &str = r#"
CREATE TABLE devices (
  id INT AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(64) NOT NULL UNIQUE,
  mood ENUM('calm','busy','down') NOT NULL DEFAULT 'calm',
  flags SET('a','b','c'),
  bits BIT(10),
  firmware BLOB,
  settings JSON,
  price DECIMAL(18,6),
  ratio DOUBLE,
  small FLOAT,
  born DATE,
  installed DATETIME(6) NOT NULL,
  seen TIMESTAMP NULL,
  note TEXT CHARACTER SET utf8mb4
) ENGINE=InnoDB;
CREATE TABLE metrics (
  ts DATETIME NOT NULL,
  device_id INT NOT NULL,
  value DOUBLE NOT NULL,
  KEY metrics_ts (ts),
  CONSTRAINT metrics_device FOREIGN KEY (device_id) REFERENCES devices (id)
) ENGINE=InnoDB;
CREATE VIEW busy_devices AS SELECT name FROM devices WHERE mood = 'busy';
INSERT INTO devices (name, mood, flags, bits, firmware, settings, price, ratio, small, born, installed, seen, note)
SELECT CONCAT('device-', seq), ELT(1 + seq % 3, 'calm', 'busy', 'down'), IF(seq % 2, 'a,c', NULL), seq % 1024,
       UNHEX(MD5(seq)), JSON_OBJECT('rate', seq, 'on', seq % 2 = 0), seq * 3.25, 1 / (seq + 0.3), seq / 7,
       '2026-01-01' + INTERVAL seq DAY, '2026-01-01 00:00:00.123456' + INTERVAL seq HOUR,
       IF(seq % 5, NULL, '2026-06-01 12:00:00'), CONCAT('ünïcødé ', seq, ' \'quoted\' \t tab')
FROM seq_1_to_50;
INSERT INTO metrics SELECT '2026-11-01 00:00:00' + INTERVAL seq SECOND, 1 + seq % 50, SIN(seq) * 100 FROM seq_1_to_ROWS;
"#;

fn create_source(db: &MariaDb, name: &str, rows: u64) {
    db.sql(None, &format!("CREATE DATABASE {name}"));
    db.sql(Some(name), &SCHEMA.replace("ROWS", &rows.to_string()));
}

#[test]
fn a_database_round_trips_structure_and_data() {
    let db = MariaDb::start();
    let fx = Fixture::new();
    create_source(&db, "plant", 200_000);
    let repo = fx.repo(None);
    let stats = backup_url(&repo, &db.url("plant"), "maria").unwrap();
    let manifest = repo.point(&stats.point).unwrap();
    assert_eq!(manifest.source.kind, "mysql");
    assert!(manifest
        .source
        .server_version
        .as_deref()
        .unwrap()
        .contains("MariaDB"));
    assert!(!manifest.source.url.contains(support::mariadb::PASSWORD));
    let metrics = manifest
        .objects
        .iter()
        .find(|o| o.name == "metrics")
        .unwrap();
    assert_eq!(metrics.rows, Some(200_000));
    assert_eq!(metrics.time_min.as_deref(), Some("2026-11-01 00:00:01"));

    let done = restore_url(
        &repo,
        &stats.point,
        &db.url("plant_restored"),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(db.schema("plant"), db.schema("plant_restored"));
    for table in ["devices", "metrics"] {
        assert_eq!(
            db.checksum("plant", table),
            db.checksum("plant_restored", table),
            "{table}"
        );
    }
    assert_eq!(
        db.sql(Some("plant_restored"), "SELECT COUNT(*) FROM busy_devices"),
        "17"
    );
    support::assert_verifies_clean(&repo);
}

#[test]
fn an_existing_table_is_swapped_only_after_a_complete_load() {
    let db = MariaDb::start();
    let fx = Fixture::new();
    create_source(&db, "shop", 5_000);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &db.url("shop"), "maria").unwrap().point;
    let before = db.checksum("shop", "metrics");
    db.sql(
        Some("shop"),
        "DELETE FROM metrics WHERE ts < '2026-11-01 00:30:00'",
    );

    let only = |policy| RestoreOptions {
        objects: vec![("metrics".into(), None)],
        on_conflict: policy,
        ..RestoreOptions::default()
    };
    assert!(restore_url(&repo, &point, &db.url("shop"), &only(ConflictPolicy::Stop)).is_err());

    // The table changed shape: the load fails and the table stays as it is.
    db.sql(
        Some("shop"),
        "ALTER TABLE metrics ADD COLUMN extra INT NOT NULL",
    );
    let changed = db.checksum("shop", "metrics");
    db.sql(
        Some("shop"),
        "ALTER TABLE metrics MODIFY extra INT NOT NULL CHECK (extra > 0)",
    );
    let failed = restore_url(
        &repo,
        &point,
        &db.url("shop"),
        &only(ConflictPolicy::Overwrite),
    )
    .unwrap();
    assert_eq!(failed.failed.len(), 1, "{:?}", failed.failed);
    assert_eq!(db.checksum("shop", "metrics"), changed);
    assert_eq!(
        db.sql(Some("shop"), "SHOW TABLES LIKE 'metrics\\_\\_%'"),
        "",
        "no staging table is left"
    );

    db.sql(Some("shop"), "ALTER TABLE metrics DROP COLUMN extra");
    let done = restore_url(
        &repo,
        &point,
        &db.url("shop"),
        &only(ConflictPolicy::Overwrite),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(db.checksum("shop", "metrics"), before);

    // tbl AS new_tbl.
    let renamed = RestoreOptions {
        objects: vec![("devices".into(), Some("devices_copy".into()))],
        on_conflict: ConflictPolicy::Skip,
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &point, &db.url("shop"), &renamed).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        db.checksum("shop", "devices_copy"),
        db.checksum("shop", "devices")
    );
}

#[test]
fn a_wrong_password_is_named_without_the_password() {
    let db = MariaDb::start();
    let url = format!("mysql://tidemark:wrong-one@127.0.0.1:{}/mysql", db.port);
    let err = open_source(&SourceUrl::parse(&url).unwrap(), &Selection::default())
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(text.contains("Access denied"), "{text}");
    assert!(!text.contains("wrong-one"), "{text}");
}

#[test]
fn a_time_range_backs_up_only_those_rows() {
    use tidemark_engine::backup::{plan_backup, run_backup, BackupOptions};
    use tidemark_engine::{CancelToken, NoProgress};
    let db = MariaDb::start();
    let fx = Fixture::new();
    create_source(&db, "ranged", 5_000);
    let repo = fx.repo(None);
    let selection = Selection {
        since: Some(Selection::parse_time("2026-11-01 00:10").unwrap()),
        until: Some(Selection::parse_time("2026-11-01T00:20:00Z").unwrap()),
        ..Selection::default()
    };
    let source = open_source(&SourceUrl::parse(&db.url("ranged")).unwrap(), &selection).unwrap();
    let options = BackupOptions {
        task: "ranged".into(),
        selection,
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
    let metrics = manifest
        .objects
        .iter()
        .find(|o| o.name == "metrics")
        .unwrap();
    assert_eq!(metrics.rows, Some(600));
    assert_eq!(metrics.time_min.as_deref(), Some("2026-11-01 00:10:00"));
    assert_eq!(metrics.time_max.as_deref(), Some("2026-11-01 00:19:59"));

    let beside = RestoreOptions {
        objects: vec![("metrics".into(), Some("metrics_range".into()))],
        on_conflict: ConflictPolicy::Skip,
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &stats.point, &db.url("ranged"), &beside).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        db.sql(Some("ranged"), "SELECT COUNT(*) FROM metrics_range"),
        "600"
    );
    let check = done.checks.iter().find(|c| c.name == "metrics").unwrap();
    assert_eq!(check.target_name, "metrics_range");
    assert_eq!(check.outcome, CheckOutcome::Content { rows: Some(600) });
}

#[test]
fn a_point_is_drilled_in_a_throwaway_mariadb_and_on_a_drill_server() {
    use tidemark_engine::drill::{plan_drill, run_drill, DrillOptions, SandboxChoice};
    use tidemark_engine::{CancelToken, NoProgress};
    let source = MariaDb::start();
    create_source(&source, "shop", 2_000);
    let fx = Fixture::new();
    let repo = fx.repo(None);
    backup_url(&repo, &source.url("shop"), "shop").unwrap();
    let options = DrillOptions {
        task: Some("shop".into()),
        checks: vec![
            "SELECT count(*) FROM metrics=2000".parse().unwrap(),
            "SELECT note FROM devices WHERE id = 3=ünïcødé 3 'quoted' \\t tab"
                .parse()
                .unwrap(),
        ],
        scratch_dir: fx.path("drills"),
        ..Default::default()
    };
    let plan = plan_drill(&repo, &options).unwrap();
    assert!(plan.blocked.is_none(), "{:?}", plan.blocked);
    assert!(
        plan.sandbox.contains("throwaway MariaDB"),
        "{}",
        plan.sandbox
    );
    let stats = run_drill(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert!(stats.passed, "{:?} {:#?}", stats.error, stats.checks);
    assert!(
        stats
            .checks
            .iter()
            .any(|c| c.name == "content of devices" && c.passed),
        "{:#?}",
        stats.checks
    );
    assert_eq!(std::fs::read_dir(fx.path("drills")).unwrap().count(), 0);
    let servers = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains("tidemark-drill-"))
        .count();
    assert_eq!(servers, 0, "the throwaway server is gone");

    // On a drill server (here the test's own second database server): a
    // write is refused, and the scratch database is dropped.
    let drill_server = MariaDb::start();
    let on_server = DrillOptions {
        sandbox: SandboxChoice::Server(drill_server.url("mysql")),
        checks: vec!["DELETE FROM metrics=0".parse().unwrap()],
        ..options
    };
    let stats = run_drill(
        &repo,
        &plan_drill(&repo, &on_server).unwrap(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    assert!(!stats.passed);
    assert!(
        stats.error.as_deref().unwrap_or("").contains("READ ONLY"),
        "{:?}",
        stats.error
    );
    let left = drill_server.sql(None, "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'tidemark_drill_%'");
    assert_eq!(left, "0");
}
