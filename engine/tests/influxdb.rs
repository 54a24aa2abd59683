//! InfluxDB 1.x backups and restores against a real server started by the
//! test, checked with Debian's `influx` client: each measurement's points
//! (`SELECT * ... GROUP BY *`), series, tag and field keys, compared
//! between source and target as the server itself prints them.

mod support;

use tidemark_engine::backup::{plan_backup, run_backup, BackupOptions};
use tidemark_engine::restore::{
    plan_restore, run_restore, CheckOutcome, ConflictPolicy, RestoreOptions,
};
use tidemark_engine::{
    open_source, open_target, CancelToken, DuplicatePolicy, EngineError, NoProgress, Repository,
    Selection, SourceUrl, TimeRange,
};

use support::influxdb::{assert_same, InfluxDb, PASSWORD};
use support::{backup_url, restore_url, Fixture};

/// 2026-11-01T00:00:00Z in nanoseconds.
const T0: i64 = 1_793_491_200_000_000_000;
const SECOND: i64 = 1_000_000_000;

fn at(seconds: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(T0 + seconds * SECOND)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// `metrics`: one point every 5 s, two tags with awkward values, three
/// sparse fields of three types; every point has at least one field.
fn metrics(points: i64) -> Vec<String> {
    let regions = ["eu west", "us,east", "ap=south"];
    (0..points)
        .map(|i| {
            let mut fields = Vec::new();
            if i % 4 != 1 {
                fields.push(format!("value={}", i as f64 * 0.37 - 1000.0));
            }
            if i % 5 != 0 {
                fields.push(format!("count={}i", i * 7 - 3));
            }
            if i % 3 == 0 {
                fields.push(format!("ok={}", i % 2 == 0));
            }
            if fields.is_empty() {
                fields.push(format!("value={i}.5"));
            }
            let region = regions[(i % 3) as usize]
                .replace(',', "\\,")
                .replace('=', "\\=")
                .replace(' ', "\\ ");
            format!(
                "metrics,host=h{},region={region} {} {}",
                i % 7,
                fields.join(","),
                T0 + i * 5 * SECOND
            )
        })
        .collect()
}

/// Strings with spaces, commas, quotes, `=`, backslashes, newlines and
/// unicode; booleans; extreme numbers; a measurement whose name needs
/// escaping; a tag and a field of the same name; future-dated points.
fn others() -> Vec<String> {
    let mut points = vec![
        r#"events,site\ id=north\,1,kind=door note="he said \"hi\", a=b c",open=true,code=-9223372036854775808i 1793491200000000000"#.to_owned(),
        r#"events,site\ id=north\,1,kind=door note="C:\\dir\\",open=false 1793491201000000000"#.to_owned(),
        "events,kind=window note=\"line one\nline two ✓ 温度\",ratio=1.5e+300 1793491202000000000".to_owned(),
        r#"events,kind=window note="",ratio=1e-07,tiny=-0.000001 1793491203000000000"#.to_owned(),
        r#"events ratio=42 1793491204000000001"#.to_owned(),
        r#"clash,kind=a kind="field kind",v=1i 1793491200000000000"#.to_owned(),
        r#"clash,kind=b v=2i 1793491200000000000"#.to_owned(),
    ];
    for i in 0..100 {
        points.push(format!(
            r"room\ temp\,north,unit=°C reading={} {}",
            20.0 + i as f64 / 8.0,
            T0 + i * 60 * SECOND
        ));
    }
    for i in 0..10 {
        // 2030: after the backup starts.
        points.push(format!(
            "forecast,model=m1 value={i}.25 {}",
            1_893_456_000_000_000_000 + i * 3600 * SECOND
        ));
    }
    points
}

fn create(server: &InfluxDb, db: &str, metric_points: i64) {
    server.influx(None, &format!("CREATE DATABASE {db}"));
    server.write(db, &metrics(metric_points));
    server.write(db, &others());
}

const MEASUREMENTS: [&str; 5] = ["clash", "events", "forecast", "metrics", "room temp,north"];

#[test]
fn a_database_round_trips_into_a_new_database() {
    let server = InfluxDb::start();
    let fx = Fixture::new();
    create(&server, "plant", 200_000);
    let repo = fx.repo(None);
    let stats = backup_url(&repo, &server.url("plant"), "influx").unwrap();
    let manifest = repo.point(&stats.point).unwrap();
    assert_eq!(manifest.source.kind, "influxdb");
    assert!(
        manifest
            .source
            .server_version
            .as_deref()
            .unwrap()
            .starts_with("1."),
        "{:?}",
        manifest.source.server_version
    );
    let names: Vec<&str> = manifest.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, MEASUREMENTS);
    let entry = |name: &str| manifest.objects.iter().find(|o| o.name == name).unwrap();
    // Every point once, though no field is on every point.
    let metrics = entry("metrics");
    assert_eq!(metrics.rows, Some(200_000));
    assert_eq!(metrics.time_min.as_deref(), Some(at(0).as_str()));
    assert_eq!(metrics.time_max.as_deref(), Some(at(199_999 * 5).as_str()));
    assert_eq!(entry("events").rows, Some(5));
    assert_eq!(
        entry("events").time_max.as_deref(),
        Some("2026-11-01T00:00:04.000000001Z")
    );
    assert_eq!(entry("clash").rows, Some(2));
    assert_eq!(entry("room temp,north").rows, Some(100));
    assert_eq!(entry("forecast").rows, Some(10), "future points are kept");

    let done = restore_url(
        &repo,
        &stats.point,
        &server.url("plant_copy"),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(done.rows, 200_000 + 5 + 2 + 100 + 10);
    for m in MEASUREMENTS {
        assert_same(
            &server.snapshot("plant", m),
            &server.snapshot("plant_copy", m),
            m,
        );
    }
    assert_eq!(
        server.influx(Some("plant"), "SHOW MEASUREMENTS"),
        server.influx(Some("plant_copy"), "SHOW MEASUREMENTS")
    );
    support::assert_verifies_clean(&repo);
}

fn restore_with(
    repo: &Repository,
    point: &str,
    url: &str,
    objects: &[(&str, Option<&str>)],
    on_conflict: ConflictPolicy,
    on_duplicate: DuplicatePolicy,
) -> tidemark_engine::Result<tidemark_engine::restore::RestoreStats> {
    let options = RestoreOptions {
        objects: objects
            .iter()
            .map(|(n, r)| ((*n).to_owned(), r.map(str::to_owned)))
            .collect(),
        on_conflict,
        on_duplicate,
        ..RestoreOptions::default()
    };
    restore_url(repo, point, url, &options)
}

#[test]
fn one_measurement_restores_renamed_and_conflict_policies_keep_their_word() {
    let server = InfluxDb::start();
    let fx = Fixture::new();
    create(&server, "shop", 5_000);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("shop"), "influx")
        .unwrap()
        .point;
    let original = server.snapshot("shop", "metrics");
    let url = server.url("shop");
    let only = |policy, duplicates| {
        restore_with(
            &repo,
            &point,
            &url,
            &[("metrics", None)],
            policy,
            duplicates,
        )
    };

    // Under a new name, beside the original.
    let done = restore_with(
        &repo,
        &point,
        &url,
        &[("metrics", Some("metrics copy"))],
        ConflictPolicy::Stop,
        DuplicatePolicy::Stop,
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_same(
        &server
            .snapshot("shop", "metrics copy")
            .replace("metrics\\\\ copy", "metrics")
            .replace("metrics copy", "metrics"),
        &original,
        "renamed copy",
    );

    // Existing objects stop the restore before anything changes.
    let err = only(ConflictPolicy::Stop, DuplicatePolicy::Stop).unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("already exist"), "{err}");
    assert_same(
        &server.snapshot("shop", "metrics"),
        &original,
        "after a refused restore",
    );

    // Changes after the backup: points deleted, one point's value changed,
    // a new series.
    server.influx(
        Some("shop"),
        &format!("DELETE FROM metrics WHERE time < {}", T0 + 1000 * SECOND),
    );
    server.write(
        "shop",
        &[
            format!(
                r"metrics,host=h0,region=eu\ west value=-1 {}",
                T0 + 210 * 5 * SECOND
            ),
            format!("metrics,host=new value=1 {}", T0),
        ],
    );
    let changed = server.snapshot("shop", "metrics");
    assert_eq!(server.count("shop", "metrics"), 4801);

    // Merge, duplicates stop: a clash fails the object and changes nothing.
    let done = only(ConflictPolicy::Merge, DuplicatePolicy::Stop).unwrap();
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    assert!(
        done.failed[0].1.contains("already has a point"),
        "{:?}",
        done.failed
    );
    assert_same(
        &server.snapshot("shop", "metrics"),
        &changed,
        "after a refused merge",
    );

    // Merge, skipping duplicates: the deleted points come back, the changed
    // one and the new series stay. Reading back finds the changed point
    // not as it was backed up: the object fails its check, by name.
    let done = only(ConflictPolicy::Merge, DuplicatePolicy::Skip).unwrap();
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    assert_eq!(done.failed[0].0, "metrics", "{:?}", done.failed);
    assert!(
        done.failed[0]
            .1
            .contains("1 of the backup's 5000 rows are not in metrics as they were backed up"),
        "{:?}",
        done.failed
    );
    assert!(
        done.notes.iter().any(|n| n.contains("4800 point(s)")),
        "{:?}",
        done.notes
    );
    assert_eq!(server.count("shop", "metrics"), 5001);
    assert_eq!(
        server.scalar(
            "shop",
            &format!(
                "SELECT value FROM metrics WHERE time = {} AND host = 'h0'",
                T0 + 210 * 5 * SECOND
            )
        ),
        "-1"
    );

    // Merge, rewriting: exactly the backup's points again.
    let done = only(ConflictPolicy::Merge, DuplicatePolicy::Rewrite).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_same(
        &server.snapshot("shop", "metrics"),
        &original,
        "after rewrite",
    );

    // Overwrite (force) after another change: the backup's points again.
    server.write(
        "shop",
        &[format!("metrics,host=late value=3 {}", T0 + 7 * SECOND)],
    );
    let done = only(ConflictPolicy::Overwrite, DuplicatePolicy::Stop).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_same(
        &server.snapshot("shop", "metrics"),
        &original,
        "after overwrite",
    );

    // A field of another type at the target: refused before anything changes.
    server.influx(None, "CREATE DATABASE typed");
    let float_count = format!(r"metrics,host=h0,region=eu\ west count=1.5 {T0}");
    server.write("typed", &[float_count]);
    let done = restore_with(
        &repo,
        &point,
        &server.url("typed"),
        &[("metrics", None)],
        ConflictPolicy::Merge,
        DuplicatePolicy::Skip,
    )
    .unwrap();
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    assert!(
        done.failed[0]
            .1
            .contains("field count of measurement metrics is float"),
        "{:?}",
        done.failed
    );
    assert_eq!(server.count("typed", "metrics"), 1);

    // The same times in another series are no duplicates: merging goes through.
    server.influx(None, "CREATE DATABASE beside");
    server.write("beside", &[format!("metrics,host=other value=1 {T0}")]);
    let done = restore_with(
        &repo,
        &point,
        &server.url("beside"),
        &[("metrics", None)],
        ConflictPolicy::Merge,
        DuplicatePolicy::Stop,
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(server.count("beside", "metrics"), 5_001);

    // No staging database is left behind.
    let databases = server.influx(None, "SHOW DATABASES");
    assert!(!databases.contains("staging"), "{databases}");

    // A measurement appearing between plan and restore is not overwritten.
    let manifest = repo.point(&point).unwrap();
    let late = server.url("late");
    let mut target = open_target(&SourceUrl::parse(&late).unwrap()).unwrap();
    let options = RestoreOptions {
        objects: vec![("events".into(), None)],
        ..RestoreOptions::default()
    };
    let plan = plan_restore(&manifest, target.as_ref(), &options).unwrap();
    assert!(plan.blocked.is_none(), "{:?}", plan.checks);
    server.influx(None, "CREATE DATABASE late");
    server.write("late", &[format!("events note=\"mine\" {T0}")]);
    let done = run_restore(
        &repo,
        &plan,
        target.as_mut(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    assert!(done.failed[0].1.contains("exists"), "{:?}", done.failed);
    assert_eq!(server.count("late", "events"), 1);
}

fn backup_with(repo: &Repository, url: &str, selection: Selection) -> String {
    support::backup_selected(repo, url, "ranged", selection)
        .unwrap()
        .point
}

#[test]
fn points_written_during_a_backup_are_counted_as_they_were_read() {
    let server = InfluxDb::start();
    let fx = Fixture::new();
    server.influx(None, "CREATE DATABASE live");
    server.write("live", &metrics(1_000));
    let repo = fx.repo(None);
    let url = server.url("live");
    let source = open_source(&SourceUrl::parse(&url).unwrap(), &Selection::default()).unwrap();
    let options = BackupOptions {
        task: "live".into(),
        ..BackupOptions::default()
    };
    let plan = plan_backup(&repo, source.as_ref(), &options).unwrap();
    // Planning estimates by the densest field (`count`, on 4 points of 5).
    assert_eq!(plan.objects[0].rows, Some(800));
    // After the backup started: new points (left out, they are later than
    // its start) and late points of the past (read: no snapshot).
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap();
    let mut written: Vec<String> = (0..10)
        .map(|i| format!("metrics,host=new value={i} {}", now + i * SECOND))
        .collect();
    written.extend((0..5).map(|i| format!("metrics,host=late value={i} {}", T0 + i * SECOND)));
    server.write("live", &written);
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
    assert_eq!(manifest.objects[0].rows, Some(1_005));
    assert_eq!(
        manifest.objects[0].time_max.as_deref(),
        Some(at(999 * 5).as_str())
    );
    let done = restore_url(
        &repo,
        &stats.point,
        &server.url("copy"),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(server.count("copy", "metrics"), 1_005);
}

#[test]
fn time_ranges_at_backup_and_at_restore_give_exact_counts() {
    let server = InfluxDb::start();
    let fx = Fixture::new();
    create(&server, "ranged", 5_000);
    let repo = fx.repo(None);

    // Backup: one hour of metrics (one point every 5 s), chosen by pattern.
    let selection = Selection {
        include: vec!["^metrics$".into(), "^ev".into()],
        since: Some(Selection::parse_time("2026-11-01 01:00").unwrap()),
        until: Some(Selection::parse_time("2026-11-01T02:00:00Z").unwrap()),
        ..Selection::default()
    };
    let point = backup_with(&repo, &server.url("ranged"), selection);
    let manifest = repo.point(&point).unwrap();
    let names: Vec<&str> = manifest.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["events", "metrics"]);
    let metrics = &manifest.objects[1];
    assert_eq!(metrics.rows, Some(720));
    assert_eq!(metrics.time_min.as_deref(), Some(at(3600).as_str()));
    assert_eq!(metrics.time_max.as_deref(), Some(at(7195).as_str()));
    assert_eq!(manifest.objects[0].rows, Some(0));
    let done = restore_url(
        &repo,
        &point,
        &server.url("hour"),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(server.count("hour", "metrics"), 720);

    // Restore: half an hour of a whole backup, into a new database ...
    let point = backup_url(&repo, &server.url("ranged"), "whole")
        .unwrap()
        .point;
    let half_hour = TimeRange {
        since: Some(Selection::parse_time("2026-11-01 02:00").unwrap()),
        until: Some(Selection::parse_time("2026-11-01 02:30").unwrap()),
    };
    let ranged = |on_conflict, on_duplicate| RestoreOptions {
        objects: vec![("metrics".into(), None)],
        ranges: vec![("metrics".into(), half_hour.clone())],
        on_conflict,
        on_duplicate,
        ..RestoreOptions::default()
    };
    let done = restore_url(
        &repo,
        &point,
        &server.url("half"),
        &ranged(ConflictPolicy::Stop, DuplicatePolicy::Stop),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(server.count("half", "metrics"), 360);
    // The range's rows were digested from the stored stream and read back.
    assert_eq!(
        done.checks[0].outcome,
        CheckOutcome::Content { rows: Some(360) },
        "{:?}",
        done.checks
    );
    let outside = format!(
        "SELECT * FROM metrics WHERE time < {} OR time >= {}",
        T0 + 7200 * SECOND,
        T0 + 9000 * SECOND
    );
    assert_eq!(server.rows("half", &outside), 0);

    // ... and into the source after that half hour was lost: rewriting
    // only the range brings back exactly what was there.
    let before = server.snapshot("ranged", "metrics");
    server.influx(
        Some("ranged"),
        &format!(
            "DELETE FROM metrics WHERE time >= {} AND time < {}",
            T0 + 7200 * SECOND,
            T0 + 9000 * SECOND
        ),
    );
    assert_eq!(server.count("ranged", "metrics"), 4640);
    let done = restore_url(
        &repo,
        &point,
        &server.url("ranged"),
        &ranged(ConflictPolicy::Merge, DuplicatePolicy::Rewrite),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        done.checks[0].outcome,
        CheckOutcome::Content { rows: Some(360) },
        "{:?}",
        done.checks
    );
    assert_same(
        &server.snapshot("ranged", "metrics"),
        &before,
        "range rewritten",
    );
}

#[test]
fn errors_name_the_server_and_never_the_password() {
    let server = InfluxDb::start_with_auth();
    let fx = Fixture::new();
    server.influx(None, "CREATE DATABASE secure");
    server.write("secure", &others());

    let wrong = format!(
        "influxdb://admin:not-the-password@127.0.0.1:{}/secure",
        server.port
    );
    let err = open_source(&SourceUrl::parse(&wrong).unwrap(), &Selection::default())
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(text.contains("refused the credentials"), "{text}");
    assert!(
        text.contains(&format!(
            "influxdb://admin@127.0.0.1:{}/secure",
            server.port
        )),
        "{text}"
    );
    assert!(!text.contains("not-the-password"), "{text}");
    let anonymous = format!("influxdb://127.0.0.1:{}/secure", server.port);
    let err = open_source(
        &SourceUrl::parse(&anonymous).unwrap(),
        &Selection::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("refused the credentials"), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("influxdb://u:p@127.0.0.1:{closed}/db");
    let err = open_source(
        &SourceUrl::parse(&unreachable).unwrap(),
        &Selection::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("cannot reach the server"), "{err}");

    let err = open_source(
        &SourceUrl::parse(&server.url("no_such_db")).unwrap(),
        &Selection::default(),
    )
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("no database named \"no_such_db\""),
        "{err}"
    );
    assert!(!err.to_string().contains(PASSWORD), "{err}");

    for bad in [
        "influxdb://127.0.0.1:8086/",
        "influxdb://127.0.0.1:99999/db",
        "influxdb:/db",
    ] {
        let err = SourceUrl::parse(bad).unwrap_err();
        assert!(
            matches!(err, EngineError::InvalidInput { .. }),
            "{bad}: {err}"
        );
    }

    // With the right credentials everything works, staging included.
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("secure"), "secure")
        .unwrap()
        .point;
    let manifest = repo.point(&point).unwrap();
    assert!(!manifest.source.url.contains(PASSWORD));
    let target = open_target(&SourceUrl::parse(&wrong.replace("secure", "copy")).unwrap()).unwrap();
    let plan = plan_restore(&manifest, target.as_ref(), &RestoreOptions::default()).unwrap();
    assert_eq!(plan.checks.len(), 1, "{:?}", plan.checks);
    let blocked = plan.blocked.unwrap();
    assert!(blocked.contains("refused the credentials"), "{blocked}");
    assert!(!blocked.contains("not-the-password"), "{blocked}");
    assert!(!server.influx(None, "SHOW DATABASES").contains("copy"));
    let options = RestoreOptions {
        on_conflict: ConflictPolicy::Overwrite,
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &point, &server.url("secure"), &options).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(server.count("secure", "events"), 5);
}

#[test]
fn pre_checks_refuse_the_wrong_kind_and_planning_creates_nothing() {
    let server = InfluxDb::start();
    let fx = Fixture::new();
    server.influx(None, "CREATE DATABASE small");
    server.write("small", &others());
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("small"), "small")
        .unwrap()
        .point;
    let manifest = repo.point(&point).unwrap();

    let sqlite = fx.path("into.db");
    let target =
        open_target(&SourceUrl::parse(&format!("sqlite://{}", sqlite.display())).unwrap()).unwrap();
    let plan = plan_restore(&manifest, target.as_ref(), &RestoreOptions::default()).unwrap();
    let blocked = plan.blocked.unwrap();
    assert!(
        blocked.contains("a influxdb source and cannot be restored into a sqlite target"),
        "{blocked}"
    );

    // A SQLite point into InfluxDB.
    let db = fx.path("plant.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE t (ts DATETIME, v REAL); INSERT INTO t VALUES ('2026-11-01 00:00:00', 1);")
        .unwrap();
    let sqlite_point = backup_url(&repo, &format!("sqlite://{}", db.display()), "lite")
        .unwrap()
        .point;
    let mut into_influx =
        open_target(&SourceUrl::parse(&server.url("from_sqlite")).unwrap()).unwrap();
    let plan = plan_restore(
        &repo.point(&sqlite_point).unwrap(),
        into_influx.as_ref(),
        &RestoreOptions::default(),
    )
    .unwrap();
    let blocked = plan.blocked.clone().unwrap();
    assert!(
        blocked.contains("a sqlite source and cannot be restored into a influxdb target"),
        "{blocked}"
    );
    let err = run_restore(
        &repo,
        &plan,
        into_influx.as_mut(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    assert!(!server
        .influx(None, "SHOW DATABASES")
        .contains("from_sqlite"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable =
        open_target(&SourceUrl::parse(&format!("influxdb://127.0.0.1:{closed}/db")).unwrap())
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
    // Only planned: the database does not exist yet.
    assert!(!server.influx(None, "SHOW DATABASES").contains("small_copy"));
}

#[test]
fn a_point_is_drilled_in_a_scratch_database_on_a_drill_server() {
    use tidemark_engine::drill::{plan_drill, run_drill, DrillOptions, SandboxChoice};
    use tidemark_engine::{CancelToken, NoProgress};
    let source = InfluxDb::start();
    let fx = Fixture::new();
    create(&source, "plant", 2_000);
    let repo = fx.repo(None);
    backup_url(&repo, &source.url("plant"), "influx").unwrap();
    let drill_server = InfluxDb::start();
    let mut options = DrillOptions {
        task: Some("influx".into()),
        scratch_dir: fx.path("drills"),
        ..Default::default()
    };
    // No throwaway InfluxDB: the plan says what to give instead.
    let plan = plan_drill(&repo, &options).unwrap();
    assert!(
        plan.blocked
            .as_deref()
            .unwrap_or("")
            .contains("drill server"),
        "{:?}",
        plan.blocked
    );

    options.sandbox = SandboxChoice::Server(drill_server.url("_internal"));
    let count = source.influx_as(
        Some("plant"),
        "SELECT count(value) FROM metrics",
        "csv",
        "ns",
    );
    let expected = count
        .lines()
        .next_back()
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .to_owned();
    options.checks = vec![
        format!("SELECT count(value) FROM metrics={expected}")
            .parse()
            .unwrap(),
        // Writes are refused: checks go over GET, which the server keeps to SELECT and SHOW.
        "DROP MEASUREMENT metrics=".parse().unwrap(),
    ];
    let stats = run_drill(
        &repo,
        &plan_drill(&repo, &options).unwrap(),
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    let by_name = |name: &str| stats.checks.iter().find(|c| c.name == name).cloned();
    assert!(
        by_name("SELECT count(value) FROM metrics").is_some_and(|c| c.passed),
        "{:#?}",
        stats.checks
    );
    assert!(
        by_name("DROP MEASUREMENT metrics").is_some_and(|c| !c.passed),
        "{:#?}",
        stats.checks
    );
    assert!(
        by_name("content of metrics").is_some_and(|c| c.passed),
        "{:#?}",
        stats.checks
    );
    assert!(!stats.passed);
    let left = drill_server.influx(None, "SHOW DATABASES");
    assert!(!left.contains("tidemark_drill_"), "{left}");
    assert_eq!(std::fs::read_dir(fx.path("drills")).unwrap().count(), 0);
}
