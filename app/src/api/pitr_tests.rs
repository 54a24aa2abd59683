//! Continuous tasks and restores to a second through the server side,
//! against a real catalog and a real repository: a continuous task needs a
//! MariaDB source, the supervisor starts, reports and stops archivers, the
//! timeline of a task without an archive, and a restore to a second the
//! engine refuses answers 409 with its reason, nothing saved.

use std::time::Duration;

use tidemark_engine::{RepoLocation, Repository};

use crate::catalog::{Catalog, NewSource};
use crate::model::{RestoreForm, SourceKind, TaskForm};
use crate::state::AppState;

struct Fixture {
    _dir: tempfile::TempDir,
    state: AppState,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let catalog = Catalog::open(&url).await.unwrap();
        let repo_path = dir.path().join("repo");
        tokio::task::block_in_place(|| {
            Repository::init(&RepoLocation::Local(repo_path.clone()), None)
        })
        .unwrap();
        catalog
            .ensure_default_repository(repo_path.to_str().unwrap())
            .await
            .unwrap();
        let state = AppState::for_tests(catalog, dir.path());
        Fixture { _dir: dir, state }
    }

    async fn source(&self, name: &str, kind: SourceKind, location: &str) -> i64 {
        self.state
            .catalog
            .insert_source(&NewSource {
                name,
                kind,
                location,
                description: "",
                is_demo: false,
                secret: Some("pw"),
            })
            .await
            .unwrap()
            .id
    }

    /// A MariaDB source nothing listens for (port 1 of the loopback).
    async fn unreachable_mariadb(&self, name: &str) -> i64 {
        self.source(name, SourceKind::MySql, "mysql://shop@127.0.0.1:1/shop")
            .await
    }
}

fn task_form(name: &str, source_id: i64, continuous: bool) -> TaskForm {
    TaskForm {
        name: name.into(),
        source_id: source_id.to_string(),
        repository_id: "1".into(),
        content_mode: "all".into(),
        schedule_mode: "manual".into(),
        enabled: Some("on".into()),
        continuous: continuous.then(|| "on".into()),
        ..TaskForm::default()
    }
}

fn restore_form(name: &str, task_id: i64, target_source_id: i64, to_time: &str) -> RestoreForm {
    RestoreForm {
        name: name.into(),
        task_id: task_id.to_string(),
        recovery_method: "time".into(),
        to_time: to_time.into(),
        objects_mode: "all".into(),
        target_mode: "source".into(),
        target_source_id: target_source_id.to_string(),
        structure: "stop".into(),
        data: "stop".into(),
        verify: "counts".into(),
        timeout_min: "60".into(),
        ..RestoreForm::default()
    }
}

/// Polls `check` until it holds (the archiver runs on its own thread).
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_continuous_task_needs_a_mariadb_source() {
    let f = Fixture::new().await;
    let tree = f._dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let files = f
        .source("files", SourceKind::FileTree, tree.to_str().unwrap())
        .await;
    let refused =
        crate::api::tasks::server::save(&f.state, None, task_form("t", files, true), false)
            .await
            .unwrap_err();
    assert_eq!(refused.status(), 422, "{refused:?}");
    let message = refused
        .field("continuous")
        .expect("an error beside the field");
    assert!(
        message.contains("MariaDB binary logs") && message.contains("File tree"),
        "{message}"
    );
    assert!(
        f.state.catalog.list_tasks().await.unwrap().is_empty(),
        "nothing saved"
    );

    // The same task, not continuous, saves; a MariaDB one saves continuous.
    crate::api::tasks::server::save(&f.state, None, task_form("t", files, false), false)
        .await
        .unwrap();
    let shop = f.unreachable_mariadb("shop").await;
    let id =
        crate::api::tasks::server::save(&f.state, None, task_form("shop-pitr", shop, true), false)
            .await
            .unwrap();
    let continuous = f.state.catalog.continuous_tasks().await.unwrap();
    assert_eq!(continuous.iter().map(|t| t.id).collect::<Vec<_>>(), [id]);
    let edited = f
        .state
        .catalog
        .task(id)
        .await
        .unwrap()
        .unwrap()
        .settings
        .to_form();
    assert_eq!(
        edited.continuous.as_deref(),
        Some("on"),
        "Edit shows the setting"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_supervisor_reports_an_archiver_that_cannot_start_and_stops_it_with_its_task() {
    let f = Fixture::new().await;
    let shop = f.unreachable_mariadb("shop").await;
    let jobs = f.state.jobs.clone();
    let id =
        crate::api::tasks::server::save(&f.state, None, task_form("shop-pitr", shop, true), false)
            .await
            .unwrap();
    jobs.sync_archivers().await.unwrap();
    assert!(jobs.archiver_running(id));
    until("the archiver's fault", || jobs.archiver_fault(id).is_some()).await;
    let fault = jobs.archiver_fault(id).unwrap();
    assert!(fault.retry_at > fault.at, "{fault:?}");
    // The timeline shows why it does not archive.
    let timeline = crate::api::timeline::server::timeline(&f.state, id)
        .await
        .unwrap();
    assert!(timeline.continuous && !timeline.archiver_running);
    assert!(
        timeline
            .archiver_error
            .as_deref()
            .is_some_and(|e| e.contains(&fault.message)),
        "{timeline:?}"
    );
    assert!(timeline.ranges.is_empty() && timeline.points.is_empty());

    // No longer continuous: the next sync stops it.
    crate::api::tasks::server::save(
        &f.state,
        Some(id),
        task_form("shop-pitr", shop, false),
        false,
    )
    .await
    .unwrap();
    jobs.sync_archivers().await.unwrap();
    assert!(!jobs.archiver_running(id));
    assert_eq!(jobs.archiver_fault(id), None);

    // Continuous again, then deleted: delete stops it before the task goes.
    crate::api::tasks::server::save(
        &f.state,
        Some(id),
        task_form("shop-pitr", shop, true),
        false,
    )
    .await
    .unwrap();
    jobs.sync_archivers().await.unwrap();
    assert!(jobs.archiver_running(id));
    crate::api::tasks::server::delete(&f.state, id, false)
        .await
        .unwrap();
    assert!(!jobs.archiver_running(id));
    jobs.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_timeline_of_unknown_and_plain_tasks() {
    let f = Fixture::new().await;
    let missing = crate::api::timeline::server::timeline(&f.state, 999)
        .await
        .unwrap_err();
    assert_eq!(missing.status(), 404, "{missing:?}");
    let shop = f.unreachable_mariadb("shop").await;
    let id =
        crate::api::tasks::server::save(&f.state, None, task_form("plain", shop, false), false)
            .await
            .unwrap();
    let view = crate::api::timeline::server::timeline(&f.state, id)
        .await
        .unwrap();
    assert!(!view.continuous && view.ranges.is_empty() && view.gaps.is_empty());
    assert_eq!(
        (view.files, view.lag_seconds, view.archiver_error),
        (0, None, None)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_to_a_second_the_engine_refuses_answers_409_with_its_reason() {
    let f = Fixture::new().await;
    let shop = f.unreachable_mariadb("shop").await;
    let copy = f
        .source(
            "shop-copy",
            SourceKind::MySql,
            "mysql://shop@127.0.0.1:1/shop_copy",
        )
        .await;
    let task =
        crate::api::tasks::server::save(&f.state, None, task_form("shop-pitr", shop, true), false)
            .await
            .unwrap();
    let role = crate::model::Role::Operator;
    let form = restore_form("r", task, copy, "2026-12-01T14:03:26");
    let settings = crate::api::restores::server::validate(&f.state, &form, true, role)
        .await
        .unwrap();
    assert_eq!(settings.to_time.as_deref(), Some("2026-12-01 14:03:26"));
    assert_eq!(settings.point_id, "", "the engine chooses the base point");
    let refused = crate::api::restores::server::check(&f.state, &settings, role)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 409, "{refused:?}");
    assert!(
        refused
            .to_string()
            .contains("no full backup point with binary log coordinates"),
        "{refused}"
    );
    let not_created = crate::api::restores::server::create(&f.state, form, role)
        .await
        .unwrap_err();
    assert_eq!(not_created.status(), 409, "{not_created:?}");
    // The refusal comes before anything is stored.
    assert!(f.state.catalog.list_restores().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_to_a_second_forms_are_validated() {
    let f = Fixture::new().await;
    let shop = f.unreachable_mariadb("shop").await;
    let task =
        crate::api::tasks::server::save(&f.state, None, task_form("shop-pitr", shop, false), false)
            .await
            .unwrap();
    let role = crate::model::Role::Operator;
    let validate = |form: RestoreForm| {
        let state = f.state.clone();
        async move { crate::api::restores::server::validate(&state, &form, true, role).await }
    };
    let no_time = validate(restore_form("r", task, shop, "half past two"))
        .await
        .unwrap_err();
    assert_eq!(no_time.status(), 422);
    assert!(
        no_time
            .field("to_time")
            .unwrap()
            .contains("YYYY-MM-DD HH:MM:SS"),
        "{no_time:?}"
    );
    let mut chosen = restore_form("r", task, shop, "2026-12-01 14:03:26");
    chosen.objects_mode = "custom".into();
    let tables = validate(chosen).await.unwrap_err();
    assert!(
        tables
            .field("objects_mode")
            .unwrap()
            .contains("whole database"),
        "{tables:?}"
    );
    let mut method = restore_form("r", task, shop, "");
    method.recovery_method = "yesterday".into();
    let bad = validate(method).await.unwrap_err();
    assert!(bad.field("recovery_method").is_some(), "{bad:?}");

    // A task of another kind cannot go to a second.
    let tree = f._dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let files = f
        .source("files", SourceKind::FileTree, tree.to_str().unwrap())
        .await;
    let file_task =
        crate::api::tasks::server::save(&f.state, None, task_form("files", files, false), false)
            .await
            .unwrap();
    let mut form = restore_form("f", file_task, files, "2026-12-01 14:03:26");
    form.target_mode = "new".into();
    form.target_path = f._dir.path().join("out").display().to_string();
    let settings = validate(form).await.unwrap();
    let refused = crate::api::restores::server::check(&f.state, &settings, role)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .field("recovery_method")
            .unwrap()
            .contains("MariaDB binary logs"),
        "{refused:?}"
    );
}

#[path = "cluster_pitr_tests.rs"]
mod cluster;
