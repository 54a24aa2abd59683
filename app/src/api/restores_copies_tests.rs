//! Restores from a copy job's destination: a point held by the task's
//! repository and by a copy is listed once with both places; with the own
//! repository lost, the copy's points are still listed (the loss named)
//! and restore exactly (`sqlite3 .dump` of source and target equal); a
//! repository that is no copy of the task's, and a point in time read from
//! a copy, are refused before anything is written.

use std::process::Command;

use tidemark_engine::{RepoLocation, Repository};

use super::*;
use crate::jobs::repo_checks::CheckTrigger;
use crate::model::{CopyJobSettings, Schedule};

const OFFSITE_PASSPHRASE: &str = "offsite passphrase, not the task's";

fn dump(db: &Path) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(".dump")
        .output()
        .expect("sqlite3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn add_repository(fx: &Fixture, name: &str, passphrase: Option<&str>) -> i64 {
    let path = fx.path(name);
    let location = RepoLocation::Local(path.clone());
    tokio::task::block_in_place(|| Repository::init(&location, passphrase)).unwrap();
    fx.state
        .catalog
        .insert_repository(name, "local", path.to_str().unwrap(), passphrase)
        .await
        .unwrap()
        .id
}

fn field_of(err: AppError) -> (String, String) {
    match err {
        AppError::Validation(errors) if errors.len() == 1 => {
            (errors[0].field.clone(), errors[0].message.clone())
        }
        other => panic!("expected one field error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_point_restores_from_the_copy_when_the_own_repository_is_lost() {
    let fx = Fixture::new(3_000).await;
    let offsite = add_repository(&fx, "offsite", Some(OFFSITE_PASSPHRASE)).await;
    let stray = add_repository(&fx, "stray", None).await;
    let job = fx
        .state
        .catalog
        .insert_copy_job(&CopyJobSettings {
            name: "offsite copy".into(),
            from_repository_id: 1,
            to_repository_id: offsite,
            task: None,
            schedule: Schedule::Manual,
            keep_last: None,
            enabled: true,
        })
        .await
        .unwrap();
    let run = fx
        .state
        .jobs
        .run_copy_job(job.id, CheckTrigger::Manual)
        .await
        .unwrap();
    assert_eq!(run.state, "succeeded", "{run:?}");

    // Held by both: listed once, the task's repository first.
    let list = super::points(&fx.state, fx.task_id).await.unwrap();
    assert!(list.unreadable.is_empty(), "{:?}", list.unreadable);
    assert_eq!(list.points.len(), 1);
    let places: Vec<(i64, bool)> = list.points[0]
        .locations
        .iter()
        .map(|l| (l.repository_id, l.copy))
        .collect();
    assert_eq!(places, [(1, false), (offsite, true)]);

    // The own repository is lost: the copy's point is still there to restore.
    std::fs::remove_dir_all(fx.path("repo")).unwrap();
    let list = super::points(&fx.state, fx.task_id).await.unwrap();
    assert_eq!(list.points.len(), 1);
    assert_eq!(list.points[0].id, fx.point);
    assert_eq!(list.points[0].locations.len(), 1);
    assert_eq!(list.points[0].locations[0].repository_name, "offsite");
    assert_eq!(list.unreadable.len(), 1, "{:?}", list.unreadable);
    let target = fx.path("from the copy.db");
    let mut form = super::new_form(&fx.state, Some(fx.task_id), Some(fx.point.clone()))
        .await
        .unwrap();
    assert_eq!(
        form.repository_id,
        offsite.to_string(),
        "the copy is chosen"
    );
    assert_eq!(form.objects.len(), 2, "objects read from the copy");
    form.name = "from offsite".into();
    form.target_path = target.display().to_string();

    // Refused: a repository no copy job fills from the task's, and a point
    // in time from a copy (the logs are not copied).
    let mut elsewhere = form.clone();
    elsewhere.repository_id = stray.to_string();
    let (field, why) = field_of(
        super::validate(&fx.state, &elsewhere, false, Role::Operator)
            .await
            .unwrap_err(),
    );
    assert_eq!(field, "repository_id", "{why}");
    assert!(why.contains("neither the task's own"), "{why}");
    let mut to_time = form.clone();
    to_time.recovery_method = "time".into();
    to_time.to_time = "2026-11-01 00:10:00".into();
    let (field, why) = field_of(
        super::validate(&fx.state, &to_time, false, Role::Operator)
            .await
            .unwrap_err(),
    );
    assert_eq!(field, "repository_id", "{why}");
    assert!(why.contains("holds backup points only"), "{why}");
    assert!(!target.exists());

    let id = fx.create(form).await;
    let detail = fx.state_of(id).await;
    assert_eq!(detail.form.repository_id, offsite.to_string());
    assert_eq!(detail.read_from, "offsite");
    assert!(detail.read_from_copy);
    assert_eq!(
        detail.verify_outcome.as_deref(),
        Some("pass"),
        "{:?}",
        detail.checks
    );
    let end = fx.run(id, false).await;
    assert_eq!(end.state, RestoreState::Finished, "{:?}", end.error);
    assert_eq!(dump(&target), dump(&fx.path("plant.db")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_repository_chosen_by_id_is_stored_as_the_default() {
    let fx = Fixture::new(10).await;
    let mut form = fx.form("plain", &fx.path("plain.db")).await;
    assert_eq!(
        form.repository_id, "1",
        "the own repository holds the point"
    );
    let settings = super::validate(&fx.state, &form, false, Role::Operator)
        .await
        .unwrap();
    assert_eq!(settings.repository_id, None);
    form.repository_id = "not a number".into();
    let (field, _) = field_of(
        super::validate(&fx.state, &form, false, Role::Operator)
            .await
            .unwrap_err(),
    );
    assert_eq!(field, "repository_id");
}
