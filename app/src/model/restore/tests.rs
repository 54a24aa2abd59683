use super::*;

fn form() -> RestoreForm {
    RestoreForm {
        name: "plant-restore".into(),
        task_id: "3".into(),
        point_id: "20261121-101500-ab12".into(),
        objects_mode: "all".into(),
        objects: vec![
            ObjectChoice {
                name: "readings".into(),
                selected: true,
                target_name: "readings".into(),
                ..ObjectChoice::default()
            },
            ObjectChoice {
                name: "devices".into(),
                selected: true,
                target_name: "devices".into(),
                ..ObjectChoice::default()
            },
        ],
        target_mode: "new".into(),
        target_path: "/srv/restores/plant.db".into(),
        structure: "stop".into(),
        data: "stop".into(),
        timeout_min: "60".into(),
        ..RestoreForm::default()
    }
}

fn fields(errors: Vec<FieldError>) -> Vec<String> {
    errors.into_iter().map(|e| e.field).collect()
}

#[test]
fn the_whole_point_under_its_own_names_is_stored_as_everything() {
    let settings = form().parse().unwrap();
    assert!(settings.objects.is_empty());
    assert_eq!(
        settings.target,
        RestoreTarget::NewPath("/srv/restores/plant.db".into())
    );
    assert_eq!(settings.to_form().parse().unwrap(), settings);
}

#[test]
fn a_rename_or_a_selection_is_kept_per_object() {
    let mut f = form();
    f.objects_mode = "custom".into();
    f.objects[0].target_name = " readings_old ".into();
    f.objects[1].selected = false;
    f.objects[0].since = "2026-11-01".into();
    let settings = f.parse().unwrap();
    assert_eq!(settings.objects.len(), 1);
    assert_eq!(settings.objects[0].target_name, "readings_old");
    assert_eq!(settings.objects[0].since, "2026-11-01");
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut f = form();
    f.name = "x".repeat(65);
    f.task_id = String::new();
    f.point_id = " ".into();
    f.target_path = "relative/path".into();
    f.structure = "merge".into();
    f.data = "upsert".into();
    f.timeout_min = "0".into();
    let errors = fields(f.parse().unwrap_err());
    assert_eq!(
        errors,
        [
            "name",
            "task_id",
            "point_id",
            "target_path",
            "structure",
            "data",
            "timeout_min"
        ]
    );
}

#[test]
fn target_names_must_be_present_and_distinct() {
    let mut f = form();
    f.objects[1].target_name = "readings".into();
    let errors = f.parse().unwrap_err();
    assert!(errors[0]
        .message
        .contains("two objects would be restored as readings"));
    let mut f = form();
    f.objects_mode = "custom".into();
    f.objects.iter_mut().for_each(|o| o.selected = false);
    assert_eq!(fields(f.parse().unwrap_err()), ["objects"]);
}

#[cfg(feature = "ssr")]
#[test]
fn the_fingerprint_changes_with_any_setting() {
    let a = form().parse().unwrap();
    let mut f = form();
    f.force = true;
    let b = f.parse().unwrap();
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.fingerprint(), form().parse().unwrap().fingerprint());
}

#[test]
fn only_failed_or_cancelled_restores_are_retried() {
    assert!(RestoreState::New.can_start());
    assert!(!RestoreState::Finished.can_start());
    assert!(!RestoreState::Finished.can_retry());
    assert!(RestoreState::Failed.can_retry());
    assert!(RestoreState::Cancelled.can_retry());
    assert!(!RestoreState::Running.can_retry());
}

#[test]
fn overall_progress_counts_reading_and_loading() {
    let mut p = RestoreProgress {
        restore_id: 1,
        state: RestoreState::Running,
        phase: "loading".into(),
        phases: Vec::new(),
        bytes_total: 100,
        bytes_fetched: 80,
        bytes_loaded: 40,
        rows_total: 0,
        rows_loaded: 0,
        objects_total: 2,
        objects_done: 1,
        elapsed_secs: 4.0,
        error: None,
    };
    assert_eq!(p.percent(), 60.0);
    assert_eq!(p.throughput(), 10.0);
    assert_eq!(p.eta_secs(), Some(6.0));
    p.state = RestoreState::Finished;
    assert_eq!(p.percent(), 100.0);
    assert_eq!(p.eta_secs(), None);
}

#[test]
fn a_point_in_time_needs_a_second_and_no_point_and_survives_edit() {
    let mut time = form();
    time.recovery_method = "time".into();
    time.point_id.clear();
    time.to_time = "2026-12-01T14:03:26".into();
    let settings = time.parse().unwrap();
    assert_eq!(settings.to_time.as_deref(), Some("2026-12-01 14:03:26"));
    assert_eq!(settings.point_id, "");
    let again = settings.to_form();
    assert_eq!(
        (again.recovery_method.as_str(), again.to_time.as_str()),
        ("time", "2026-12-01T14:03:26")
    );
    assert_eq!(again.parse().unwrap(), settings);

    time.to_time = "2026-13-01 14:03:26".into();
    assert_eq!(fields(time.parse().unwrap_err()), ["to_time"]);
    let mut point = form();
    point.point_id.clear();
    assert_eq!(fields(point.parse().unwrap_err()), ["point_id"]);
}

#[cfg(feature = "ssr")]
#[test]
fn settings_stored_before_point_in_time_keep_their_fingerprint() {
    let settings = form().parse().unwrap();
    let json = serde_json::to_string(&settings).unwrap();
    assert!(!json.contains("to_time"), "{json}");
    let old: RestoreSettings = serde_json::from_str(&json).unwrap();
    assert_eq!(old.fingerprint(), settings.fingerprint());
}

#[test]
fn the_form_as_sent_holds_only_what_the_server_reads_and_means_the_same() {
    // Everything under its own names: nothing to send.
    let all = form();
    assert!(all.compact().objects.is_empty());
    assert_eq!(all.compact().parse().unwrap(), all.parse().unwrap());
    // A rename under "all": every object goes, the rename with it.
    let mut renamed = form();
    renamed.objects[1].target_name = "devices_old".into();
    assert_eq!(renamed.compact().objects.len(), 2);
    assert_eq!(renamed.compact().parse().unwrap(), renamed.parse().unwrap());
    // A selection: the chosen objects only.
    let mut chosen = form();
    chosen.objects_mode = "custom".into();
    chosen.objects[0].selected = false;
    assert_eq!(chosen.compact().objects.len(), 1);
    assert_eq!(chosen.compact().parse().unwrap(), chosen.parse().unwrap());
    // Nothing chosen stays an error the server names.
    chosen.objects[1].selected = false;
    assert!(chosen.compact().parse().is_err());
}
