//! New paths of restores against the restore roots: refused outside, with
//! `..` or through a link, whoever asks; missing directories made at Start;
//! an operator cannot start what only an admin may write.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_paths_stay_inside_the_restore_roots_and_missing_directories_are_made() {
    let fx = Fixture::new(100).await;
    let field_error = |err: AppError| {
        err.field("target_path")
            .unwrap_or_else(|| panic!("{err:?}"))
    };
    for (path, why) in [
        (
            "/etc/cron.d/tidemark.db".to_owned(),
            "outside the restore roots",
        ),
        (format!("{}/../escape.db", fx.dir.path().display()), ".."),
    ] {
        let form = fx.form("outside", Path::new(&path)).await;
        for role in [Role::Operator, Role::Admin] {
            let err = super::validate(&fx.state, &form, true, role)
                .await
                .unwrap_err();
            assert!(field_error(err).contains(why), "{path} as {role}");
        }
    }
    std::os::unix::fs::symlink("/etc", fx.path("etc-link")).unwrap();
    let linked = fx.form("linked", &fx.path("etc-link/x.db")).await;
    let err = super::validate(&fx.state, &linked, true, Role::Operator)
        .await
        .unwrap_err();
    assert!(field_error(err).contains("symbolic link"));

    // A directory that does not exist yet: Verify says Start creates it,
    // and Start does, then restores into it.
    let target = fx.path("new/deeper/plant.db");
    let id = fx.create(fx.form("nested", &target).await).await;
    let detail = fx.state_of(id).await;
    assert_eq!(
        detail.verify_outcome.as_deref(),
        Some("pass"),
        "{:?}",
        detail.checks
    );
    let item = detail
        .checks
        .iter()
        .find(|c| c.name == "restore path")
        .unwrap();
    assert!(item.detail.contains("Start creates it"), "{}", item.detail);
    let mut events = fx.state.jobs.restores().subscribe();
    super::start(&fx.state, id, false, true, Role::Operator)
        .await
        .unwrap();
    let end = wait_end(&mut events, id).await;
    assert_eq!(end.state, RestoreState::Finished, "{:?}", end.error);
    assert_eq!(count(&target, "SELECT count(*) FROM devices"), 2);

    // An operator cannot start what lies outside the roots, whoever saved it.
    let mut roots = fx.dir.path().join("other-root");
    std::fs::create_dir(&roots).unwrap();
    roots = roots.canonicalize().unwrap();
    let state = AppState {
        info: Arc::new(ServerInfo::starting_now(
            "test",
            fx.dir.path().to_owned(),
            RestoreRoots::new(&[roots], true).unwrap(),
        )),
        ..fx.state.clone()
    };
    let admins = super::create(
        &state,
        fx.form("by-admin", &fx.path("admin.db")).await,
        Role::Admin,
    )
    .await
    .unwrap();
    let err = super::start(&state, admins, false, true, Role::Operator)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Forbidden(_)), "{err:?}");
    assert!(!fx.path("admin.db").exists());
}
