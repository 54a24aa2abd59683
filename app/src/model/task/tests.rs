use super::*;

fn valid() -> TaskForm {
    TaskForm {
        name: "nightly".into(),
        source_id: "1".into(),
        repository_id: "2".into(),
        content_mode: "all".into(),
        schedule_mode: "manual".into(),
        policy: "full-then-incremental".into(),
        compression: "balanced".into(),
        enabled: Some("on".into()),
        ..TaskForm::default()
    }
}

fn fields(form: &TaskForm) -> Vec<String> {
    form.parse()
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn a_valid_form_gets_defaults_for_empty_optional_fields() {
    let settings = valid().parse().unwrap();
    assert_eq!(settings.name, "nightly");
    assert_eq!(settings.pack_size_mib, 16);
    assert_eq!(settings.retry_count, 0);
    assert_eq!(settings.retry_interval_min, 5);
    assert_eq!(settings.keep_last, None);
    assert!(settings.enabled);
    assert!(!settings.watermark);
    assert_eq!(settings.to_form().parse().unwrap(), settings);
    let watermarked = TaskForm {
        watermark: Some("on".into()),
        ..valid()
    }
    .parse()
    .unwrap();
    assert!(watermarked.watermark);
    assert_eq!(watermarked.to_form().parse().unwrap(), watermarked);
}

/// The catalog keeps settings as JSON (server side only).
#[cfg(feature = "ssr")]
#[test]
fn settings_stored_before_the_watermark_switch_read_as_off() {
    let settings = valid().parse().unwrap();
    let mut stored = serde_json::to_value(&settings).unwrap();
    stored.as_object_mut().unwrap().remove("watermark");
    let read: TaskSettings = serde_json::from_value(stored).unwrap();
    assert!(!read.watermark);
    assert_eq!(read, settings);
}

#[test]
fn names_are_required_and_at_most_64_characters() {
    let mut form = valid();
    form.name = "  ".into();
    assert_eq!(fields(&form), ["name"]);
    form.name = "é".repeat(64);
    assert!(form.parse().is_ok());
    form.name = "x".repeat(65);
    assert_eq!(fields(&form), ["name"]);
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let form = TaskForm {
        name: String::new(),
        source_id: "x".into(),
        repository_id: String::new(),
        content_mode: "objects".into(),
        schedule_mode: "periodic".into(),
        first_start: "tomorrow".into(),
        period_value: "0".into(),
        period_unit: "weeks".into(),
        policy: "full-every-n".into(),
        full_every_n: "1".into(),
        keep_last: "0".into(),
        compression: "ultra".into(),
        pack_size_mib: "0".into(),
        retry_count: "-1".into(),
        retry_interval_min: "0".into(),
        ..TaskForm::default()
    };
    assert_eq!(
        fields(&form),
        [
            "name",
            "source_id",
            "repository_id",
            "content_objects",
            "first_start",
            "period_value",
            "period_unit",
            "full_every_n",
            "keep_last",
            "compression",
            "pack_size_mib",
            "retry_count",
            "retry_interval_min"
        ]
    );
}

#[test]
fn content_becomes_anchored_include_patterns() {
    let mut form = valid();
    form.content_mode = "objects".into();
    form.content_objects = "sequence/root.sg1/\nmetrics.v2\n".into();
    let content = form.parse().unwrap().content;
    assert_eq!(
        content.include_patterns(),
        [r"^sequence/root\.sg1(?:/|$)", r"^metrics\.v2(?:/|$)"]
    );
    form.content_mode = "regex".into();
    form.content_parent = "/data/".into();
    form.content_regex = r".*\.tsfile$".into();
    assert_eq!(
        form.parse().unwrap().content.include_patterns(),
        [r"^data/(?:.*\.tsfile$)"]
    );
    form.content_regex = String::new();
    assert_eq!(fields(&form), ["content_regex"]);
}

#[test]
fn periodic_schedules_step_from_the_first_start() {
    let mut form = valid();
    form.schedule_mode = "periodic".into();
    form.first_start = "2026-01-01T02:00".into();
    form.period_value = "6".into();
    form.period_unit = "hours".into();
    let schedule = form.parse().unwrap().schedule;
    let at = |s: &str| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    };
    assert_eq!(
        schedule.next_after(at("2025-12-31 23:00")),
        Some(at("2026-01-01 02:00"))
    );
    // Exactly on a slot: the next one.
    assert_eq!(
        schedule.next_after(at("2026-01-01 02:00")),
        Some(at("2026-01-01 08:00"))
    );
    assert_eq!(
        schedule.next_after(at("2026-01-03 09:30")),
        Some(at("2026-01-03 14:00"))
    );
    assert_eq!(Schedule::Manual.next_after(at("2026-01-01 00:00")), None);
}

#[test]
fn policies_decide_full_or_incremental() {
    assert!(Policy::FullThenIncremental.next_is_full(None));
    assert!(!Policy::FullThenIncremental.next_is_full(Some(40)));
    assert!(Policy::FullAlways.next_is_full(Some(0)));
    // Full every 3 runs: F I I F I I ...
    let n3 = Policy::FullEveryN(3);
    assert!(!n3.next_is_full(Some(0)));
    assert!(!n3.next_is_full(Some(1)));
    assert!(n3.next_is_full(Some(2)));
}

#[test]
fn escaping_makes_names_literal() {
    assert_eq!(escape_regex("a.b[1]+c"), r"a\.b\[1\]\+c");
}

#[test]
fn retention_restarts_incremental_chains() {
    let mut settings = valid().parse().unwrap();
    settings.keep_last = Some(3);
    // F I I F I I ...: a chain never grows past the number of copies kept.
    assert!(settings.next_run_is_full(None));
    assert!(!settings.next_run_is_full(Some(0)));
    assert!(!settings.next_run_is_full(Some(1)));
    assert!(settings.next_run_is_full(Some(2)));
    settings.keep_last = None;
    assert!(!settings.next_run_is_full(Some(200)));
}

fn continuous_form() -> TaskForm {
    TaskForm {
        name: "shop".into(),
        source_id: "1".into(),
        repository_id: "1".into(),
        continuous: Some("on".into()),
        ..TaskForm::default()
    }
}

#[test]
fn continuous_is_a_checkbox_that_survives_edit() {
    let settings = continuous_form().parse().unwrap();
    assert!(settings.continuous);
    assert_eq!(settings.to_form().continuous.as_deref(), Some("on"));
}

#[cfg(feature = "ssr")]
#[test]
fn settings_saved_before_continuous_existed_are_not_continuous() {
    let json = serde_json::to_string(&continuous_form().parse().unwrap()).unwrap();
    let before: TaskSettings =
        serde_json::from_str(&json.replace(",\"continuous\":true", "")).unwrap();
    assert!(!before.continuous);
}

#[test]
fn bandwidth_limits_are_whole_mib_per_second_or_empty() {
    assert_eq!(valid().parse().unwrap().limits, Limits::default());
    let mut form = valid();
    form.limit_read_mib = " 20 ".into();
    form.limit_upload_mib = "5".into();
    let settings = form.parse().unwrap();
    assert_eq!(
        settings.limits.bytes_per_second(),
        (Some(20 << 20), Some(5 << 20))
    );
    assert_eq!(
        settings.limits.describe().as_deref(),
        Some("reading at most 20 MiB/s, writing at most 5 MiB/s")
    );
    let again = settings.to_form();
    assert_eq!(
        (
            again.limit_read_mib.as_str(),
            again.limit_upload_mib.as_str()
        ),
        ("20", "5")
    );
    form.limit_read_mib = "0".into();
    form.limit_upload_mib = "fast".into();
    assert_eq!(fields(&form), ["limit_read_mib", "limit_upload_mib"]);
}
