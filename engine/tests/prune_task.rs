//! Task-scoped prunes: retention for one task, and forgetting a task with
//! its files while data other tasks share stays restorable.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::{assert_same_tree, assert_verifies_clean, make_tree, series_csv, Fixture};
use tidemark_engine::backup::BackupOptions;
use tidemark_engine::prune::{plan_prune, run_prune, PruneOptions};
use tidemark_engine::restore::RestoreOptions;
use tidemark_engine::{CancelToken, EngineError, FileTreeSource, NoProgress, Repository};

/// Backs up `dir` as `task`; returns the point.
fn backup_as(repo: &Repository, dir: &Path, task: &str, full: bool) -> String {
    let options = BackupOptions {
        task: task.into(),
        full,
        ..Default::default()
    };
    let source = FileTreeSource::new(dir.to_owned(), &[], &[]).unwrap();
    support::backup_source(repo, &source, &options)
        .unwrap()
        .point
}

/// The pack files a run wrote, as repository paths, sorted.
fn packs_of(fx: &Fixture, point: &str) -> Vec<String> {
    let dir = fx.path(&format!("repo/runs/{point}/packs"));
    let mut packs: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|name| name.ends_with(".pack"))
                .map(|name| format!("runs/{point}/packs/{name}"))
                .collect()
        })
        .unwrap_or_default();
    packs.sort();
    packs
}

fn reasons(plan: &tidemark_engine::prune::PrunePlan, id: &str) -> Vec<String> {
    let kept = plan.keep.iter().find(|k| k.id == id);
    kept.map(|k| k.reasons.clone()).unwrap_or_default()
}

/// A tree shared by both tasks plus one file only `task` has.
fn tree_with_own_file(fx: &Fixture, dir: &str, seed: u64) -> PathBuf {
    let root = fx.path(dir);
    make_tree(&root);
    fs::write(root.join("own.csv"), series_csv(seed, 20_000)).unwrap();
    root
}

#[test]
fn retention_scoped_to_a_task_leaves_other_tasks_alone() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let src_a = tree_with_own_file(&fx, "a", 1);
    let src_b = tree_with_own_file(&fx, "b", 2);
    let alpha: Vec<_> = (0..3)
        .map(|_| backup_as(&repo, &src_a, "alpha", true))
        .collect();
    let beta: Vec<_> = (0..2)
        .map(|_| backup_as(&repo, &src_b, "beta", true))
        .collect();

    let keep_last_one = PruneOptions {
        keep_last: Some(1),
        ..Default::default()
    };
    let everywhere = plan_prune(&repo, &keep_last_one).unwrap();
    assert_eq!(everywhere.remove, [&alpha[..2], &beta[..1]].concat());

    let scoped = PruneOptions {
        task: Some("alpha".into()),
        ..keep_last_one
    };
    let plan = plan_prune(&repo, &scoped).unwrap();
    assert_eq!(plan.remove, alpha[..2]);
    assert_eq!(reasons(&plan, &alpha[2]), ["last"]);
    for id in &beta {
        assert_eq!(reasons(&plan, id), ["other task"], "{id}");
    }

    let stats = run_prune(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(stats.points_removed, 2);
    let left: Vec<_> = repo.points().unwrap().0.into_iter().map(|p| p.id).collect();
    assert_eq!(left, [alpha[2].clone(), beta[0].clone(), beta[1].clone()]);
    assert_verifies_clean(&repo);
}

#[test]
fn forgetting_a_task_keeps_packs_another_task_shares() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let src_a = tree_with_own_file(&fx, "a", 1);
    let src_b = tree_with_own_file(&fx, "b", 2);
    let a1 = backup_as(&repo, &src_a, "alpha", false);
    fs::write(src_a.join("own.csv"), series_csv(3, 20_000)).unwrap();
    let a2 = backup_as(&repo, &src_a, "alpha", false);
    let b1 = backup_as(&repo, &src_b, "beta", false);
    assert_eq!(repo.point(&a2).unwrap().parent.as_deref(), Some(&*a1));
    // Alpha's first pack holds the tree beta also has; its second only
    // alpha's changed file.
    let shared = packs_of(&fx, &a1);
    let alpha_only = packs_of(&fx, &a2);
    assert!(!shared.is_empty() && !alpha_only.is_empty());

    let plan = plan_prune(&repo, &PruneOptions::forget_task("alpha")).unwrap();
    assert_eq!(plan.remove, [a1.clone(), a2.clone()]);
    assert_eq!(plan.keep.len(), 1);
    assert_eq!(reasons(&plan, &b1), ["other task"]);
    let mut to_delete = plan.packs_to_delete.clone();
    to_delete.sort();
    assert_eq!(to_delete, alpha_only);
    assert!(plan.packs_partly_needed >= 1, "{plan:?}");

    let stats = run_prune(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(stats.points_removed, 2);
    assert_eq!(stats.packs_deleted as usize, alpha_only.len());
    for pack in &shared {
        assert!(fx.path(&format!("repo/{pack}")).is_file(), "{pack} kept");
    }
    for pack in &alpha_only {
        let idx = format!("repo/{}.idx", pack.trim_end_matches(".pack"));
        assert!(!fx.path(&format!("repo/{pack}")).exists(), "{pack} deleted");
        assert!(!fx.path(&idx).exists(), "{idx} deleted");
    }
    let left: Vec<_> = repo.points().unwrap().0.into_iter().map(|p| p.id).collect();
    assert_eq!(left, std::slice::from_ref(&b1));

    assert_verifies_clean(&repo);
    fx.restore(&repo, &b1, "out", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&src_b, &fx.path("out"));
}

#[test]
fn a_backup_that_starts_sharing_the_forgotten_data_keeps_it_from_the_prune() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let src = tree_with_own_file(&fx, "a", 1);
    let a1 = backup_as(&repo, &src, "alpha", false);
    let forget = PruneOptions::forget_task("alpha");
    let stale = plan_prune(&repo, &forget).unwrap();
    assert_eq!(stale.packs_to_delete, packs_of(&fx, &a1));

    // Beta backs up the same data after the plan: every chunk is deduplicated
    // against alpha's packs, which the plan meant to delete. The prune is
    // made again under the lock and does less than planned: it forgets
    // alpha and keeps the packs beta now needs.
    let b1 = backup_as(&repo, &src, "beta", false);
    let stats = run_prune(&repo, &stale, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!((stats.points_removed, stats.packs_deleted), (1, 0));
    let left: Vec<_> = repo.points().unwrap().0.into_iter().map(|p| p.id).collect();
    assert_eq!(left, std::slice::from_ref(&b1));
    assert_eq!(packs_of(&fx, &a1), stale.packs_to_delete);
    assert_verifies_clean(&repo);
    fx.restore(&repo, &b1, "out", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&src, &fx.path("out"));
}

#[test]
fn a_prune_that_would_remove_more_than_planned_is_refused() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let src = tree_with_own_file(&fx, "a", 1);
    backup_as(&repo, &src, "alpha", true);
    let keep_one = PruneOptions {
        keep_last: Some(1),
        ..Default::default()
    };
    let planned = plan_prune(&repo, &keep_one).unwrap();
    assert!(planned.remove.is_empty());
    // A newer point makes the first one go: the plan never said so.
    backup_as(&repo, &src, "alpha", true);
    let err = run_prune(&repo, &planned, &NoProgress, &CancelToken::new()).unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    assert_eq!(repo.points().unwrap().0.len(), 2, "nothing was removed");
}

#[test]
fn task_options_that_make_no_sense_are_refused() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let src = tree_with_own_file(&fx, "a", 1);
    let a1 = backup_as(&repo, &src, "alpha", false);
    let refused = [
        (
            PruneOptions {
                forget_all: true,
                ..Default::default()
            },
            "needs the task",
        ),
        (
            PruneOptions {
                keep_last: Some(2),
                ..PruneOptions::forget_task("alpha")
            },
            "no keep rule",
        ),
        (
            PruneOptions {
                task: Some("alpha".into()),
                ..Default::default()
            },
            "keep-last",
        ),
        (PruneOptions::forget_task(""), "must not be empty"),
    ];
    for (options, says) in refused {
        let err = plan_prune(&repo, &options).unwrap_err();
        assert!(
            matches!(err, EngineError::InvalidInput { .. }),
            "{options:?}: {err}"
        );
        assert!(err.to_string().contains(says), "{options:?}: {err}");
    }

    // Forgetting a task that never ran changes nothing.
    let plan = plan_prune(&repo, &PruneOptions::forget_task("gamma")).unwrap();
    assert!(plan.remove.is_empty() && plan.packs_to_delete.is_empty());
    assert_eq!(reasons(&plan, &a1), ["other task"]);
}

/// Holds a restore at its first written bytes until the test lets it go.
struct Gate {
    reading: std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

impl tidemark_engine::Progress for Gate {
    fn set_title(&self, _: &str) {}
    fn set_length(&self, _: u64, _: u64) {}
    fn inc(&self, _: u64, _: u64) {
        if let Some(reading) = self.reading.lock().unwrap().take() {
            reading.send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
    }
    fn finish(&self) {}
}

#[test]
fn a_prune_keeps_what_a_running_restore_reads_and_removes_it_on_its_next_run() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let src = fx.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("data.csv"), series_csv(1, 60_000)).unwrap();
    let old = backup_as(&repo, &src, "alpha", true);
    let old_content = fs::read(src.join("data.csv")).unwrap();
    fs::write(src.join("data.csv"), series_csv(2, 60_000)).unwrap();
    backup_as(&repo, &src, "alpha", true);
    let old_packs = packs_of(&fx, &old);
    assert!(!old_packs.is_empty());

    let keep_last_one = PruneOptions {
        keep_last: Some(1),
        task: Some("alpha".into()),
        ..Default::default()
    };
    // Planned before the restore started: it would remove the old point.
    let planned_earlier = plan_prune(&repo, &keep_last_one).unwrap();
    assert_eq!(planned_earlier.remove, std::slice::from_ref(&old));

    let (reading_tx, reading_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let gate = Gate {
        reading: std::sync::Mutex::new(Some(reading_tx)),
        release: std::sync::Mutex::new(release_rx),
    };
    let out = fx.path("out");
    std::thread::scope(|scope| {
        let restore = scope.spawn(|| {
            // Another process would open the repository on its own.
            let reader =
                Repository::open(&tidemark_engine::RepoLocation::Local(fx.path("repo")), None)
                    .unwrap();
            let manifest = reader.point(&old).unwrap();
            let mut target = tidemark_engine::FileTreeTarget::new(out.clone());
            let plan = tidemark_engine::restore::plan_restore(
                &manifest,
                &target,
                &RestoreOptions::default(),
            )
            .unwrap();
            tidemark_engine::restore::run_restore(
                &reader,
                &plan,
                &mut target,
                &gate,
                &CancelToken::new(),
            )
        });
        reading_rx.recv().unwrap();

        // While the restore reads: a new plan keeps the point and says why,
        // and running the earlier plan does less, not more.
        let now = plan_prune(&repo, &keep_last_one).unwrap();
        assert!(now.remove.is_empty(), "{:?}", now.remove);
        let why = reasons(&now, &old);
        assert!(
            why.iter().any(|r| r.starts_with("being read by `restore`")),
            "{why:?}"
        );
        let stats = run_prune(&repo, &planned_earlier, &NoProgress, &CancelToken::new()).unwrap();
        assert_eq!((stats.points_removed, stats.packs_deleted), (0, 0));
        assert_eq!(packs_of(&fx, &old), old_packs);

        release_tx.send(()).unwrap();
        let done = restore.join().unwrap().unwrap();
        assert!(done.failed.is_empty(), "{:?}", done.failed);
    });
    assert_eq!(fs::read(out.join("data.csv")).unwrap(), old_content);

    // The restore is done and its lease gone: the next prune removes it.
    let leases: Vec<_> = fs::read_dir(fx.path("repo/leases"))
        .map(|dirs| {
            dirs.flat_map(|d| fs::read_dir(d.unwrap().path()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    assert!(leases.is_empty(), "{leases:?}");
    let after = plan_prune(&repo, &keep_last_one).unwrap();
    assert_eq!(after.remove, std::slice::from_ref(&old));
    run_prune(&repo, &after, &NoProgress, &CancelToken::new()).unwrap();
    assert!(packs_of(&fx, &old).is_empty());
    assert_verifies_clean(&repo);
}
