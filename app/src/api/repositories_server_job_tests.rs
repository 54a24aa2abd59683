//! An encrypted repository through the console's job path: Verify of the
//! task, a backup (sealed on disk), rotation twice, another backup, Verify
//! data, points, objects, and a restore of the point from before rotation.

use std::path::PathBuf;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_restore_verify_and_history_work_on_an_encrypted_repository_through_rotation() {
    let fx = Fixture::new().await;
    let repo = create(&fx.state, fx.form("vault", Encryption::Generate, ""))
        .await
        .unwrap();
    let first = repo.passphrase.clone().unwrap();
    let tree = fx.path("tree");
    std::fs::create_dir_all(tree.join("logs")).unwrap();
    std::fs::write(tree.join("readings.csv"), "ts,value\n1,20.5\n".repeat(500)).unwrap();
    std::fs::write(tree.join("logs/app.log"), b"started\n").unwrap();
    let source = fx
        .state
        .catalog
        .insert_source(&NewSource {
            name: "tree",
            kind: SourceKind::FileTree,
            location: tree.to_str().unwrap(),
            description: "",
            is_demo: false,
            secret: None,
        })
        .await
        .unwrap();
    let task = TaskForm {
        name: "vault-nightly".into(),
        source_id: source.id.to_string(),
        repository_id: repo.id.to_string(),
        content_mode: "all".into(),
        schedule_mode: "manual".into(),
        policy: "full-always".into(),
        compression: "fastest".into(),
        pack_size_mib: "4".into(),
        retry_count: "0".into(),
        retry_interval_min: "5".into(),
        ..TaskForm::default()
    };
    let checks = crate::api::tasks::server::verify(&fx.state, None, task.clone())
        .await
        .unwrap();
    assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    let task_id = crate::api::tasks::server::save(&fx.state, None, task, false)
        .await
        .unwrap();
    let backup = |fx: &Fixture| {
        let state = fx.state.clone();
        async move {
            let mut events = state.jobs.subscribe();
            let run = state
                .jobs
                .start(task_id, Trigger::Manual, false, 1)
                .await
                .unwrap();
            tokio::time::timeout(WAIT, async {
                while !matches!(events.recv().await, Ok(p) if p.run_id == run.id && p.is_finished())
                {
                }
            })
            .await
            .unwrap();
            let run = state.catalog.run(run.id).await.unwrap().unwrap();
            assert_eq!(run.state, "succeeded", "{run:?}");
            run
        }
    };
    let run = backup(&fx).await;
    let point = run.point.clone().unwrap();

    // The data is sealed on disk: no readable file content in the packs.
    let mut stored = Vec::new();
    for entry in walk(&fx.path("vault")) {
        stored.extend(std::fs::read(entry).unwrap());
    }
    assert!(
        !contains(&stored, "ts,value"),
        "backup data stored readable"
    );

    // Rotation: the engine re-wraps the key, the old passphrase no longer
    // opens it, and everything keeps working with the new one.
    let err = change_passphrase(&fx.state, repo.id, "passphrase", "too short", "too short")
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), ["passphrase"]);
    change_passphrase(&fx.state, repo.id, "generate", "", "")
        .await
        .unwrap();
    let second = fx.state.catalog.repository(repo.id).await.unwrap().unwrap();
    let second_passphrase = second.passphrase.clone().unwrap();
    assert_ne!(second_passphrase, first);
    assert!(second.passphrase_previous.is_none());
    assert!(matches!(
        open(&fx.path("vault"), Some(&first)),
        Err(EngineError::WrongPassphrase { .. })
    ));
    const CHOSEN: &str = "Chosen after rotation 99";
    change_passphrase(&fx.state, repo.id, "passphrase", CHOSEN, CHOSEN)
        .await
        .unwrap();
    assert!(open(&fx.path("vault"), Some(CHOSEN)).is_ok());
    backup(&fx).await;

    // Verify, points, objects and the run's history all open it.
    let report = verify(&fx.state, repo.id, true).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.points, 2);
    let points = crate::api::restores::server::points(&fx.state, task_id)
        .await
        .unwrap();
    assert_eq!(points.points.len(), 2);
    let objects = crate::api::restores::server::objects(&fx.state, task_id, point.clone(), None)
        .await
        .unwrap();
    assert!(
        objects.iter().any(|o| o.name == "readings.csv"),
        "{objects:?}"
    );

    // A restore through the job path, of the point made before rotation.
    let mut form = crate::api::restores::server::new_form(&fx.state, Some(task_id), Some(point))
        .await
        .unwrap();
    let target = fx.path("restored");
    form.name = "vault-restore".into();
    form.target_path = target.display().to_string();
    let restore_id =
        crate::api::restores::server::create(&fx.state, form, crate::model::Role::Operator)
            .await
            .unwrap();
    let mut events = fx.state.jobs.restores().subscribe();
    fx.state
        .jobs
        .restores()
        .start(restore_id, false, true)
        .await
        .unwrap();
    let end = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(p) = events.recv().await {
                if p.restore_id == restore_id && !p.state.is_active() {
                    return p;
                }
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(end.state.as_str(), "finished", "{end:?}");
    assert!(end.error.is_none(), "{end:?}");
    assert_eq!(
        std::fs::read(target.join("readings.csv")).unwrap(),
        std::fs::read(tree.join("readings.csv")).unwrap()
    );
    for secret in [first.as_str(), second_passphrase.as_str(), CHOSEN] {
        assert!(!fx.answers().await.contains(secret));
        assert!(!contains(&fx.stored(), secret), "stored in plain text");
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
