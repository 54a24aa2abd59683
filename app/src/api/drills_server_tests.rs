//! The drill server functions against a real catalog, repository and
//! files: the task form's drill part refused field by field, a drill's
//! figures on the task page and in the RPO/RTO view, Retry's refusals.

use std::path::PathBuf;
use std::time::Duration;

use tidemark_engine::{RepoLocation, Repository};

use super::*;
use crate::catalog::{NewSource, Trigger};
use crate::model::{Level, SourceKind, TaskForm};

const WAIT: Duration = Duration::from_secs(60);

struct Fixture {
    dir: tempfile::TempDir,
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
        Fixture { dir, state }
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
                secret: None,
            })
            .await
            .unwrap()
            .id
    }

    /// A small file tree registered as a source.
    async fn tree_source(&self) -> i64 {
        let root: PathBuf = self.dir.path().join("tree");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("readings.csv"), "ts,value\n1,2\n".repeat(100)).unwrap();
        self.source("tree", SourceKind::FileTree, root.to_str().unwrap())
            .await
    }

    fn form(&self, source_id: i64) -> TaskForm {
        TaskForm {
            name: "files".into(),
            source_id: source_id.to_string(),
            repository_id: "1".into(),
            enabled: Some("on".into()),
            ..TaskForm::default()
        }
    }

    async fn save(&self, form: TaskForm) -> Result<i64, AppError> {
        crate::api::tasks::server::save(&self.state, None, form, false).await
    }

    /// Runs the job (a backup or a drill) and waits until it has ended.
    async fn wait_for(&self, drill: bool, run_id: i64) {
        let mut events = self.state.jobs.subscribe();
        tokio::time::timeout(WAIT, async {
            loop {
                let still = if drill {
                    self.state
                        .catalog
                        .drill_run(run_id)
                        .await
                        .unwrap()
                        .unwrap()
                        .status
                        == "running"
                } else {
                    self.state.catalog.run(run_id).await.unwrap().unwrap().state == "running"
                };
                if !still && !self.state.jobs.drill_is_running(1) {
                    return;
                }
                let _ = tokio::time::timeout(Duration::from_millis(200), events.recv()).await;
            }
        })
        .await
        .expect("the job ended in time");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drill_part_of_the_task_form_is_refused_field_by_field() {
    let fx = Fixture::new().await;
    let tree = fx.tree_source().await;
    let plain_pg = fx
        .source("pg", SourceKind::Postgres, "postgres://app@127.0.0.1:1/db")
        .await;
    let drill_pg = fx
        .source(
            "drills",
            SourceKind::Postgres,
            "postgres://app@127.0.0.1:1/x",
        )
        .await;
    fx.state
        .catalog
        .set_source_drill_server(drill_pg, true)
        .await
        .unwrap();

    let mut form = fx.form(tree);
    form.drill_server_id = plain_pg.to_string();
    form.drill_checks = "SELECT 1 => 1".into();
    form.rpo_target = "soon".into();
    let err = fx.save(form).await.unwrap_err();
    assert_eq!(err.status(), 422, "{err:?}");
    assert_eq!(
        err.field("rpo_target").as_deref(),
        Some("a duration like 90s, 30m, 4h or 2d (at most 366d), or empty")
    );
    // Form errors come first; the catalog's checks follow once the form parses.
    let mut form = fx.form(tree);
    form.drill_server_id = plain_pg.to_string();
    form.drill_checks = "SELECT 1 => 1".into();
    let err = fx.save(form).await.unwrap_err();
    let server = err.field("drill_server_id").unwrap();
    assert!(
        server.contains("\"pg\" is not marked drill server"),
        "{server}"
    );
    let checks = err.field("drill_checks").unwrap();
    assert!(checks.contains("SQL checks need a database"), "{checks}");

    let mut form = fx.form(tree);
    form.drill_server_id = drill_pg.to_string();
    let server = fx
        .save(form)
        .await
        .unwrap_err()
        .field("drill_server_id")
        .unwrap();
    assert!(
        server.contains("files and SQLite are drilled in a scratch directory"),
        "{server}"
    );

    // A drill server of another kind than the task's source.
    let drill_maria = fx
        .source(
            "maria drills",
            SourceKind::MySql,
            "mysql://app@127.0.0.1:1/x",
        )
        .await;
    fx.state
        .catalog
        .set_source_drill_server(drill_maria, true)
        .await
        .unwrap();
    let mut form = fx.form(plain_pg);
    form.drill_server_id = drill_maria.to_string();
    let server = fx
        .save(form)
        .await
        .unwrap_err()
        .field("drill_server_id")
        .unwrap();
    assert_eq!(
        server,
        "data source \"maria drills\" is a MariaDB / MySQL server; this task backs up PostgreSQL"
    );

    let mut form = fx.form(drill_pg);
    form.drill_server_id = drill_pg.to_string();
    let server = fx
        .save(form)
        .await
        .unwrap_err()
        .field("drill_server_id")
        .unwrap();
    assert!(
        server.contains("never restores into the task's own source"),
        "{server}"
    );

    let mut form = fx.form(plain_pg);
    form.drill_server_id = "999".into();
    let server = fx
        .save(form)
        .await
        .unwrap_err()
        .field("drill_server_id")
        .unwrap();
    assert_eq!(server, "this data source no longer exists");
    assert!(fx.state.catalog.list_tasks().await.unwrap().is_empty());

    let mut form = fx.form(plain_pg);
    form.drill_server_id = drill_pg.to_string();
    form.drill_mode = "after_backups".into();
    form.drill_every_n = "3".into();
    form.rpo_target = "1d".into();
    form.rto_target = "15m".into();
    let id = fx.save(form).await.unwrap();
    let saved = fx.state.catalog.task(id).await.unwrap().unwrap();
    let again = saved.settings.to_form();
    assert_eq!(
        (again.drill_mode.as_str(), again.drill_every_n.as_str()),
        ("after_backups", "3")
    );
    assert_eq!(
        (again.rpo_target.as_str(), again.rto_target.as_str()),
        ("1d", "15m")
    );
    assert_eq!(again.drill_server_id, drill_pg.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_shows_on_the_task_page_and_proves_its_point() {
    let fx = Fixture::new().await;
    let tree = fx.tree_source().await;
    let mut form = fx.form(tree);
    form.rpo_target = "1d".into();
    form.rto_target = "1h".into();
    let task_id = fx.save(form).await.unwrap();
    assert_eq!(task_id, 1);

    let page = task_drills(&fx.state, task_id).await.unwrap();
    assert!(page.runs.is_empty());
    assert_eq!(page.plan, "manual only");
    assert_eq!(page.recovery.rpo_level(page.checked_at), Level::Red);
    assert_eq!(page.recovery.rto_level(), Level::Red);
    let problems = page.recovery.problems(page.checked_at);
    assert_eq!(problems, ["RPO exceeded: no good backup point"]);
    // Nothing to drill yet: refused with the reason, nothing recorded.
    let err: AppError = fx
        .state
        .jobs
        .start_drill(task_id, DrillTrigger::Manual, None)
        .await
        .unwrap_err()
        .into();
    assert_eq!(err.status(), 409);
    assert!(err.to_string().contains("has no backup point yet"), "{err}");

    let run = fx
        .state
        .jobs
        .start(task_id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    fx.wait_for(false, run.id).await;
    let drill = fx
        .state
        .jobs
        .start_drill(task_id, DrillTrigger::Manual, None)
        .await
        .unwrap();
    fx.wait_for(true, drill.id).await;

    let page = task_drills(&fx.state, task_id).await.unwrap();
    assert_eq!(page.runs.len(), 1);
    let shown = &page.runs[0];
    assert_eq!(shown.status, "passed", "{shown:?}");
    let phases: Vec<&str> = shown.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(phases, ["sandbox", "restore", "checks", "cleanup"]);
    assert!(shown.checks.iter().all(|c| c.passed), "{:?}", shown.checks);
    assert!(shown.rto_seconds.is_some());
    let recovery = &page.recovery;
    assert_eq!(recovery.proven_point, shown.point);
    assert_eq!(recovery.proven_rto_secs, shown.rto_seconds);
    assert_eq!(recovery.rpo_level(page.checked_at), Level::Green);
    assert_eq!(recovery.rto_level(), Level::Green);
    assert!(recovery.problems(page.checked_at).is_empty());
    let proven = fx.state.catalog.proven_points(task_id).await.unwrap();
    assert_eq!(Some(&proven[0].0), shown.point.as_ref());

    // Only a failed drill is retried; unknown ones are not found.
    let err = retry(&fx.state, shown.id).await.unwrap_err();
    assert_eq!(err.status(), 409);
    assert!(
        err.to_string().contains("only a failed drill is retried"),
        "{err}"
    );
    let err = retry(&fx.state, 999).await.unwrap_err();
    assert_eq!(
        (err.status(), err.to_string().as_str()),
        (404, "drill run 999 was not found")
    );
    let err = task_drills(&fx.state, 999).await.unwrap_err();
    assert_eq!(err.status(), 404);
    let err: AppError = fx
        .state
        .jobs
        .start_drill(999, DrillTrigger::Manual, None)
        .await
        .unwrap_err()
        .into();
    assert_eq!(
        (err.status(), err.to_string().as_str()),
        (404, "task 999 was not found")
    );
}
