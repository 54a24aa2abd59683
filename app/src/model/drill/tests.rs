use chrono::TimeZone;

use super::*;

fn form() -> TaskForm {
    TaskForm {
        name: "nightly".into(),
        source_id: "1".into(),
        repository_id: "1".into(),
        ..TaskForm::default()
    }
}

#[test]
fn durations_read_and_print_in_their_largest_unit() {
    assert_eq!(parse_duration("90s"), Some(90));
    assert_eq!(parse_duration(" 30m "), Some(1800));
    assert_eq!(parse_duration("4h"), Some(14_400));
    assert_eq!(parse_duration("2d"), Some(172_800));
    for bad in ["", "5", "m", "0s", "5y", "-3m", "400d", "1.5h"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
    assert_eq!(format_duration(172_800), "2d");
    assert_eq!(format_duration(5400), "90m");
    assert_eq!(format_duration(45), "45s");
}

#[test]
fn a_drill_plan_round_trips_through_the_form() {
    let mut f = form();
    f.drill_mode = "schedule".into();
    f.drill_first_start = "2026-12-01T03:00".into();
    f.drill_period_value = "1".into();
    f.drill_period_unit = "days".into();
    f.drill_point = "random".into();
    f.drill_server_id = "4".into();
    f.drill_checks = "SELECT count(*) FROM orders => 120\n\nSELECT max(id) FROM t; => 9".into();
    f.drill_time_limit = "30m".into();
    f.rpo_target = "1d".into();
    f.rto_target = "15m".into();
    let settings = f.parse().unwrap();
    let r = &settings.recovery;
    assert_eq!(
        r.drill,
        DrillMode::Scheduled {
            first_start: Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap(),
            every: Period {
                value: 1,
                unit: PeriodUnit::Days
            }
        }
    );
    assert_eq!(r.point, DrillPoint::Random);
    assert_eq!(r.drill_server_id, Some(4));
    assert_eq!(r.checks.len(), 2);
    assert_eq!(r.checks[1].sql, "SELECT max(id) FROM t");
    assert_eq!(r.checks[1].expected, "9");
    assert_eq!(
        (r.time_limit_secs, r.rpo_target_secs, r.rto_target_secs),
        (Some(1800), Some(86_400), Some(900))
    );
    let again = settings.to_form().parse().unwrap();
    assert_eq!(again.recovery, settings.recovery);
}

#[test]
fn every_bad_drill_field_is_named_with_what_to_write() {
    let mut f = form();
    f.drill_mode = "after_backups".into();
    f.drill_every_n = "0".into();
    f.drill_point = "oldest".into();
    f.drill_server_id = "x".into();
    f.drill_checks = "SELECT 1\nSELECT 1; DELETE FROM t => 1".into();
    f.drill_time_limit = "soon".into();
    f.rpo_target = "5".into();
    f.rto_target = "3w".into();
    let errors = f.parse().unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "drill_every_n",
            "drill_point",
            "drill_server_id",
            "drill_checks",
            "drill_checks",
            "drill_time_limit",
            "rpo_target",
            "rto_target"
        ]
    );
    assert!(errors[3].message.contains("line 1"), "{:?}", errors[3]);
    assert!(
        errors[4].message.contains("one statement"),
        "{:?}",
        errors[4]
    );
    assert!(errors[6].message.contains("90s, 30m"), "{:?}", errors[6]);
    let mut f = form();
    f.drill_mode = "schedule".into();
    let fields: Vec<String> = f
        .parse()
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "drill_first_start",
            "drill_period_value",
            "drill_period_unit"
        ]
    );
}

// serde_json comes with either side's feature.
#[cfg(any(feature = "ssr", feature = "hydrate"))]
#[test]
fn old_settings_without_a_drill_plan_read_as_off() {
    let settings = form().parse().unwrap();
    let mut json = serde_json::to_value(&settings).unwrap();
    json.as_object_mut().unwrap().remove("recovery");
    let read: crate::model::TaskSettings = serde_json::from_value(json).unwrap();
    assert_eq!(read.recovery, RecoverySettings::default());
}

#[test]
fn levels_follow_the_targets() {
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let mut s = RecoveryStatus::default();
    assert_eq!(s.rpo_level(now), Level::Red, "no point at all");
    assert_eq!(s.rto_level(), Level::Red, "never proven");
    s.newest_point_at = Some(now - chrono::Duration::seconds(50));
    assert_eq!(s.rpo_level(now), Level::Unset);
    s.rpo_target_secs = Some(100);
    assert_eq!(s.rpo_level(now), Level::Green);
    s.rpo_target_secs = Some(60);
    assert_eq!(s.rpo_level(now), Level::Amber);
    s.rpo_target_secs = Some(40);
    assert_eq!(s.rpo_level(now), Level::Red);
    s.proven_rto_secs = Some(10.0);
    assert_eq!(s.rto_level(), Level::Green);
    s.rto_target_secs = Some(5);
    assert_eq!(s.rto_level(), Level::Red);
    let problems = s.problems(now);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("RPO exceeded"), "{problems:?}");
    assert!(problems[1].starts_with("RTO exceeded"), "{problems:?}");
}
