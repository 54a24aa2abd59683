//! The task server functions against a real catalog, a real on-disk
//! repository and real files: save's validation, saving a running task,
//! Verify, Copy and Delete with the task's backup files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tidemark_engine::restore::{plan_restore, run_restore, RestoreOptions};
use tidemark_engine::verify::VerifyOptions;
use tidemark_engine::{CancelToken, FileTreeTarget, NoProgress, RepoLocation, Repository};
use tokio::sync::broadcast;

use super::*;
use crate::catalog::{Catalog, NewSource, RunRecord, Trigger};
use crate::model::{JobProgress, Policy, SourceKind};

const WAIT: Duration = Duration::from_secs(60);

struct Fixture {
    dir: tempfile::TempDir,
    state: AppState,
    repo_path: PathBuf,
}

/// The engine's storage layer must not block a runtime thread.
fn engine<T>(work: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(work)
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let catalog = Catalog::open(&url).await.unwrap();
        let repo_path = dir.path().join("repo");
        engine(|| Repository::init(&RepoLocation::Local(repo_path.clone()), None)).unwrap();
        let repo = catalog
            .ensure_default_repository(repo_path.to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(repo.id, 1);
        let state = AppState::for_tests(catalog, dir.path());
        Fixture {
            dir,
            state,
            repo_path,
        }
    }

    /// A directory with a few files (`size` bytes in the big one).
    fn tree(&self, name: &str, size: usize) -> PathBuf {
        let root = self.dir.path().join(name);
        std::fs::create_dir_all(root.join("logs")).unwrap();
        std::fs::write(root.join("readings.csv"), "ts,value\n1,20.5\n".repeat(300)).unwrap();
        std::fs::write(root.join("logs/app.log"), b"started\nstopped\n").unwrap();
        let mut data = Vec::with_capacity(size);
        let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ size as u64;
        while data.len() < size {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            data.extend_from_slice(&x.to_le_bytes());
        }
        data.truncate(size);
        std::fs::write(root.join("data.bin"), data).unwrap();
        root
    }

    async fn source(&self, name: &str, root: &Path) -> i64 {
        self.state
            .catalog
            .insert_source(&NewSource {
                name,
                kind: SourceKind::FileTree,
                location: root.to_str().unwrap(),
                description: "",
                is_demo: false,
                secret: None,
            })
            .await
            .unwrap()
            .id
    }

    fn repo(&self) -> Repository {
        engine(|| Repository::open(&RepoLocation::Local(self.repo_path.clone()), None)).unwrap()
    }

    fn points_of(&self, task: &str) -> Vec<String> {
        let (points, damaged) = engine(|| self.repo().points()).unwrap();
        assert!(damaged.is_empty(), "{damaged:?}");
        points
            .into_iter()
            .filter(|p| p.task == task)
            .map(|p| p.id)
            .collect()
    }

    async fn run(&self, task_id: i64) -> RunRecord {
        let mut events = self.state.jobs.subscribe();
        let run = self
            .state
            .jobs
            .start(task_id, Trigger::Manual, false, 1)
            .await
            .unwrap();
        wait_end(&mut events, run.id).await;
        let run = self.state.catalog.run(run.id).await.unwrap().unwrap();
        assert_eq!(run.state, "succeeded", "{run:?}");
        run
    }
}

async fn wait_end(events: &mut broadcast::Receiver<JobProgress>, run_id: i64) -> JobProgress {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(p) if p.run_id == run_id && p.is_finished() => return p,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the event channel closed"),
            }
        }
    })
    .await
    .expect("the run ended in time")
}

/// A complete, valid form for a manual task backing up all of a source.
fn form(name: &str, source_id: i64) -> TaskForm {
    TaskForm {
        name: name.into(),
        source_id: source_id.to_string(),
        repository_id: "1".into(),
        content_mode: "all".into(),
        schedule_mode: "manual".into(),
        policy: "full-then-incremental".into(),
        keep_last: "5".into(),
        compression: "fastest".into(),
        pack_size_mib: "4".into(),
        retry_count: "1".into(),
        retry_interval_min: "7".into(),
        enabled: Some("on".into()),
        ..TaskForm::default()
    }
}

fn fields(err: &AppError) -> Vec<String> {
    match err {
        AppError::Validation(errors) => errors.iter().map(|e| e.field.clone()).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn check_named<'c>(checks: &'c [Check], name: &str) -> &'c Check {
    checks
        .iter()
        .find(|c| c.name.starts_with(name))
        .unwrap_or_else(|| panic!("no check {name:?} in {checks:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_checks_what_needs_the_catalog() {
    let fx = Fixture::new().await;
    let root = fx.tree("data", 10_000);
    let src = fx.source("data", &root).await;
    let state = &fx.state;

    let id = save(state, None, form("nightly", src), false)
        .await
        .unwrap();
    let task = load_task(state, id).await.unwrap();
    assert_eq!(task.settings.name, "nightly");
    assert_eq!(
        (
            task.settings.keep_last,
            task.settings.retry_count,
            task.settings.retry_interval_min
        ),
        (Some(5), 1, 7)
    );

    let err = save(state, None, form("nightly", src), false)
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["name"]);
    // The name is compared after trimming, as it is stored.
    let err = save(state, None, form("  nightly ", src), false)
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["name"]);
    assert!(err.field("name").unwrap().contains("another task"));

    let err = save(state, None, form("orphan", 4242), false)
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["source_id"]);

    let mut bad_repo = form("nowhere", src);
    bad_repo.repository_id = "99".into();
    assert_eq!(
        fields(&save(state, None, bad_repo, false).await.unwrap_err()),
        ["repository_id"]
    );

    let mut bad_regex = form("regex", src);
    bad_regex.content_mode = "regex".into();
    bad_regex.content_regex = "(readings".into();
    let err = save(state, None, bad_regex.clone(), false)
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["content_regex"]);
    assert!(err
        .field("content_regex")
        .unwrap()
        .contains("regular expression"));
    // Under a parent folder too.
    bad_regex.content_parent = "logs".into();
    bad_regex.content_regex = "app[".into();
    assert_eq!(
        fields(&save(state, None, bad_regex, false).await.unwrap_err()),
        ["content_regex"]
    );

    // Every problem at once.
    let mut many = form("nightly", 4242);
    many.content_mode = "regex".into();
    many.content_regex = "*".into();
    let mut got = fields(&save(state, None, many, false).await.unwrap_err());
    got.sort();
    assert_eq!(got, ["content_regex", "name", "source_id"]);

    // Nothing of the refused forms was saved; the task keeps its own name.
    assert_eq!(list_tasks(state).await.unwrap().len(), 1);
    let mut edit = form("nightly", src);
    edit.keep_last = "2".into();
    assert_eq!(save(state, Some(id), edit, false).await.unwrap(), id);
    assert_eq!(
        load_task(state, id).await.unwrap().settings.keep_last,
        Some(2)
    );
    // Editing a task that is gone.
    assert!(matches!(
        save(state, Some(999), form("ghost", src), false).await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_running_task_needs_confirmation_and_stops_the_run() {
    let fx = Fixture::new().await;
    let root = fx.tree("big", 160 << 20);
    let src = fx.source("big", &root).await;
    let state = &fx.state;
    let id = save(state, None, form("big", src), false).await.unwrap();

    let mut events = state.jobs.subscribe();
    let run = state
        .jobs
        .start(id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    let rows = list_tasks(state).await.unwrap();
    assert!(rows[0].running, "{rows:?}");
    assert_eq!(rows[0].last_state.as_deref(), Some("running"));

    let mut edit = form("big", src);
    edit.policy = "full-always".into();
    let err = save(state, Some(id), edit.clone(), false)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
    assert!(state.jobs.is_running(id));
    assert_eq!(
        load_task(state, id).await.unwrap().settings.policy,
        Policy::FullThenIncremental
    );

    // Confirmed: the run is stopped first, then the settings apply.
    assert_eq!(save(state, Some(id), edit, true).await.unwrap(), id);
    assert!(!state.jobs.is_running(id));
    let stopped = state.catalog.run(run.id).await.unwrap().unwrap();
    assert_eq!(stopped.state, "cancelled", "{stopped:?}");
    assert_eq!(
        load_task(state, id).await.unwrap().settings.policy,
        Policy::FullAlways
    );
    wait_end(&mut events, run.id).await;
    assert!(fx.points_of("big").is_empty());
    let rows = list_tasks(state).await.unwrap();
    assert!(!rows[0].running);
    assert_eq!(rows[0].last_state.as_deref(), Some("cancelled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reports_every_check() {
    let fx = Fixture::new().await;
    let root = fx.tree("data", 10_000);
    let src = fx.source("data", &root).await;
    let state = &fx.state;

    let checks = verify(state, None, form("fresh", src)).await.unwrap();
    assert_eq!(
        checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        [
            "Name is free",
            "Settings are complete",
            "Data source is reachable",
            "Content exists and is not empty",
            "Repository is reachable and writable"
        ]
    );
    assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    assert!(
        // Two files, a directory and the file in it.
        check_named(&checks, "Data source")
            .detail
            .contains("4 objects"),
        "{checks:?}"
    );

    // A regular expression that selects nothing fails the content check only.
    let mut nothing = form("fresh", src);
    nothing.content_mode = "regex".into();
    nothing.content_regex = r"\.parquet$".into();
    let checks = verify(state, None, nothing).await.unwrap();
    let content = check_named(&checks, "Content exists");
    assert!(!content.passed, "{checks:?}");
    assert!(content.detail.contains("selects nothing"), "{content:?}");
    assert_eq!(checks.iter().filter(|c| !c.passed).count(), 1, "{checks:?}");

    // One that selects something, below a parent folder.
    let mut logs = form("fresh", src);
    logs.content_mode = "regex".into();
    logs.content_parent = "logs".into();
    logs.content_regex = r".*\.log$".into();
    let checks = verify(state, None, logs).await.unwrap();
    assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    assert!(
        // logs/app.log (and its directory, which the engine keeps).
        check_named(&checks, "Content exists")
            .detail
            .ends_with(" 16 bytes selected"),
        "{checks:?}"
    );

    // A taken name, a missing source.
    let id = save(state, None, form("taken", src), false).await.unwrap();
    let checks = verify(state, None, form("taken", 4242)).await.unwrap();
    assert!(!check_named(&checks, "Name is free").passed);
    assert!(!check_named(&checks, "Data source is reachable").passed);
    assert!(check_named(&checks, "Repository").passed);
    // Its own name is free for the task being edited.
    let checks = verify(state, Some(id), form("taken", src)).await.unwrap();
    assert!(checks.iter().all(|c| c.passed), "{checks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_gives_a_free_name_and_no_source_or_content() {
    let fx = Fixture::new().await;
    let root = fx.tree("data", 10_000);
    let src = fx.source("data", &root).await;
    let state = &fx.state;
    let mut original = form("nightly", src);
    original.content_mode = "objects".into();
    original.content_objects = "readings.csv\nlogs".into();
    original.policy = "full-every-n".into();
    original.full_every_n = "7".into();
    let id = save(state, None, original, false).await.unwrap();

    let copy = copy_form(state, id).await.unwrap();
    assert_eq!(copy.name, "nightly-copy");
    assert_eq!(copy.source_id, "");
    assert_eq!(copy.content_objects, "");
    assert_eq!(copy.content_regex, "");
    assert_eq!(copy.content_parent, "");
    // The rest of the settings are kept.
    assert_eq!(
        (copy.policy.as_str(), copy.full_every_n.as_str()),
        ("full-every-n", "7")
    );
    assert_eq!(
        (copy.keep_last.as_str(), copy.retry_interval_min.as_str()),
        ("5", "7")
    );
    assert_eq!(copy.repository_id, "1");

    // Once the copy is saved (with a source), a second copy gets another name.
    let mut saved = copy.clone();
    saved.source_id = src.to_string();
    saved.content_mode = "all".into();
    save(state, None, saved, false).await.unwrap();
    assert_eq!(copy_form(state, id).await.unwrap().name, "nightly-copy-2");

    // A name at the length limit stays within it.
    let long = "n".repeat(crate::model::MAX_TASK_NAME);
    let long_id = save(state, None, form(&long, src), false).await.unwrap();
    let copy = copy_form(state, long_id).await.unwrap();
    assert_eq!(copy.name.chars().count(), crate::model::MAX_TASK_NAME);
    assert!(copy.name.ends_with("-copy"), "{}", copy.name);
    save(state, None, form(&copy.name, src), false)
        .await
        .unwrap();
    let again = copy_form(state, long_id).await.unwrap();
    assert_eq!(again.name.chars().count(), crate::model::MAX_TASK_NAME);
    assert!(again.name.ends_with("-copy-2"), "{}", again.name);
    // The copy's name is accepted by the form once a source is chosen.
    let mut complete = again;
    complete.source_id = src.to_string();
    complete.content_mode = "all".into();
    save(state, None, complete, false).await.unwrap();

    assert!(matches!(
        copy_form(state, 999).await,
        Err(AppError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_files_keeps_what_other_tasks_need() {
    let fx = Fixture::new().await;
    // Both tasks back up the same files: their points share every chunk.
    let root = fx.tree("data", 3 << 20);
    let src = fx.source("data", &root).await;
    let state = &fx.state;
    let gone = save(state, None, form("gone", src), false).await.unwrap();
    let kept = save(state, None, form("kept", src), false).await.unwrap();
    fx.run(gone).await;
    fx.run(kept).await;
    std::fs::write(root.join("logs/app.log"), b"started\nstopped\nstarted\n").unwrap();
    fx.run(gone).await;
    let kept_points = fx.points_of("kept");
    assert_eq!((fx.points_of("gone").len(), kept_points.len()), (2, 1));

    let report = delete(state, gone, true).await.unwrap();
    assert_eq!(report.task, "gone");
    assert_eq!(report.points_removed, 2);
    assert!(fx.points_of("gone").is_empty());
    assert_eq!(fx.points_of("kept"), kept_points);
    assert!(matches!(
        load_task(state, gone).await,
        Err(AppError::NotFound(_))
    ));
    assert_eq!(
        state.catalog.task_runs(gone, None, 0, 10).await.unwrap().1,
        0,
        "the task's history goes with it"
    );

    // The other task's point is whole: it verifies and restores.
    let repo = fx.repo();
    let report = engine(|| {
        tidemark_engine::verify::verify(
            &repo,
            &VerifyOptions {
                point: None,
                read_data: true,
                read_subset: None,
            },
            &NoProgress,
            &CancelToken::new(),
        )
    })
    .unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.points, 1);
    let restored = fx.dir.path().join("restored");
    engine(|| {
        let point = repo.point(&kept_points[0])?;
        let mut target = FileTreeTarget::new(restored.clone());
        let plan = plan_restore(&point, &target, &RestoreOptions::default())?;
        run_restore(&repo, &plan, &mut target, &NoProgress, &CancelToken::new())
    })
    .unwrap();
    for file in ["readings.csv", "logs/app.log", "data.bin"] {
        let expected = if file == "logs/app.log" {
            b"started\nstopped\n".to_vec()
        } else {
            std::fs::read(root.join(file)).unwrap()
        };
        assert_eq!(
            std::fs::read(restored.join(file)).unwrap(),
            expected,
            "{file}"
        );
    }

    // Without files, the points stay.
    let report = delete(state, kept, false).await.unwrap();
    assert_eq!(report.points_removed, 0);
    assert_eq!(fx.points_of("kept"), kept_points);
    assert!(list_tasks(state).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_running_task_stops_it_before_its_files_go() {
    let fx = Fixture::new().await;
    let root = fx.tree("big", 160 << 20);
    let src = fx.source("big", &root).await;
    let state = &fx.state;
    let id = save(state, None, form("busy", src), false).await.unwrap();
    let mut events = state.jobs.subscribe();
    let run = state
        .jobs
        .start(id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    let report = delete(state, id, true).await.unwrap();
    assert_eq!(report.points_removed, 0);
    assert!(!state.jobs.is_running(id));
    let end = wait_end(&mut events, run.id).await;
    assert_eq!(end.phase, crate::model::JobPhase::Cancelled);
    assert!(fx.points_of("busy").is_empty());
    assert!(state.catalog.task(id).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_schedule_is_checked_and_listed_with_its_zone() {
    let fx = Fixture::new().await;
    let root = fx.tree("data", 100);
    let src = fx.source("data", &root).await;
    let state = &fx.state;
    let cron = |expression: &str, timezone: &str| {
        let mut f = form("nightly", src);
        f.schedule_mode = "cron".into();
        f.cron_expression = expression.into();
        f.cron_timezone = timezone.into();
        f
    };
    for (expression, timezone, field) in [
        ("", "UTC", "cron_expression"),
        ("0 25 * * *", "UTC", "cron_expression"),
        ("0 3 * *", "UTC", "cron_expression"),
        ("0 0 31 2 *", "UTC", "cron_expression"),
        ("0 3 * * *", "Mars/Olympus", "cron_timezone"),
    ] {
        let err = save(state, None, cron(expression, timezone), false)
            .await
            .unwrap_err();
        assert_eq!(fields(&err), [field], "{expression:?} {timezone:?}");
    }
    assert!(list_tasks(state).await.unwrap().is_empty());
    // Spaces are tidied; an empty zone is UTC.
    let id = save(state, None, cron("  30  2 * * MON-FRI ", ""), false)
        .await
        .unwrap();
    let task = load_task(state, id).await.unwrap();
    assert_eq!(
        task.settings.schedule,
        crate::model::Schedule::Cron {
            expression: "30 2 * * MON-FRI".into(),
            timezone: "UTC".into()
        }
    );
    let next = task.next_run_at.unwrap();
    assert_eq!(next.format("%H:%M").to_string(), "02:30");
    assert!(!matches!(
        next.format("%a").to_string().as_str(),
        "Sat" | "Sun"
    ));
    let rows = list_tasks(state).await.unwrap();
    assert_eq!(rows[0].schedule, "cron 30 2 * * MON-FRI (UTC)");
    let again = task.settings.to_form();
    assert_eq!(
        (again.schedule_mode.as_str(), again.cron_expression.as_str()),
        ("cron", "30 2 * * MON-FRI")
    );
}
