//! Retention: what prune keeps, what it deletes, and that what stays still
//! restores and verifies.

mod support;

use std::fs;

use support::{assert_same_tree, make_tree, series_csv, Fixture};
use tidemark_engine::backup::BackupOptions;
use tidemark_engine::prune::{plan_prune, run_prune, PruneOptions};
use tidemark_engine::restore::RestoreOptions;
use tidemark_engine::{BackupMode, CancelToken, EngineError, NoProgress};

fn keep_last(n: usize) -> PruneOptions {
    PruneOptions {
        keep_last: Some(n),
        ..Default::default()
    }
}

/// Three points of one chain, each after a change: full, incremental, incremental.
fn chain(fx: &Fixture, repo: &tidemark_engine::Repository) -> Vec<String> {
    make_tree(&fx.path("src"));
    let mut ids = Vec::new();
    for round in 0..3u64 {
        fs::write(
            fx.path("src/series/changing.csv"),
            series_csv(100 + round, 30_000),
        )
        .unwrap();
        ids.push(fx.backup(repo, &BackupOptions::default()).point);
    }
    ids
}

#[test]
fn a_kept_incremental_keeps_its_whole_chain() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let ids = chain(&fx, &repo);
    let plan = plan_prune(&repo, &keep_last(1)).unwrap();
    assert!(plan.remove.is_empty(), "{plan:?}");
    let reasons: Vec<_> = plan
        .keep
        .iter()
        .map(|k| (k.id.clone(), k.reasons.join(",")))
        .collect();
    assert_eq!(
        reasons,
        [
            (ids[0].clone(), format!("parent of {}", ids[2])),
            (ids[1].clone(), format!("parent of {}", ids[2])),
            (ids[2].clone(), "last".into())
        ]
    );
}

#[test]
fn forgetting_old_points_frees_only_data_nobody_needs() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let old = chain(&fx, &repo);
    let full = fx.backup(
        &repo,
        &BackupOptions {
            full: true,
            ..Default::default()
        },
    );
    assert_eq!(full.mode, BackupMode::Full);

    let plan = plan_prune(&repo, &keep_last(1)).unwrap();
    assert_eq!(plan.remove, old, "the old chain goes");
    assert!(
        !plan.packs_to_delete.is_empty(),
        "the superseded versions of changing.csv are freed"
    );
    let before = fs::read_dir(fx.path("repo/runs")).unwrap().count();
    let stats = run_prune(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap();
    assert_eq!(stats.points_removed, 3);
    assert_eq!(stats.packs_deleted as usize, plan.packs_to_delete.len());
    assert!(stats.bytes_freed > 0);
    assert_eq!(
        fs::read_dir(fx.path("repo/runs")).unwrap().count(),
        before,
        "run directories still hold shared packs"
    );

    let (points, _) = repo.points().unwrap();
    assert_eq!(points.len(), 1);
    support::assert_verifies_clean(&repo);
    fx.restore(&repo, &full.point, "out", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&fx.path("src"), &fx.path("out"));

    // A later backup must not count on chunks whose packs were deleted.
    fs::write(fx.path("src/series/changing.csv"), series_csv(100, 30_000)).unwrap();
    let again = fx.backup(&repo, &BackupOptions::default());
    fx.restore(&repo, &again.point, "out2", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&fx.path("src"), &fx.path("out2"));
}

#[test]
fn daily_rule_keeps_the_newest_point_of_the_day() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let ids = chain(&fx, &repo);
    let full = fx.backup(
        &repo,
        &BackupOptions {
            full: true,
            ..Default::default()
        },
    );
    let plan = plan_prune(
        &repo,
        &PruneOptions {
            keep_daily: Some(7),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(plan.keep.len(), 1);
    assert_eq!(plan.keep[0].id, full.point);
    assert_eq!(plan.keep[0].reasons, ["daily"]);
    assert_eq!(plan.remove, ids);
}

#[test]
fn prune_without_a_rule_or_on_a_changed_repository_is_refused() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    chain(&fx, &repo);
    let err = plan_prune(&repo, &PruneOptions::default()).unwrap_err();
    assert!(err.to_string().contains("keep-last"), "{err}");

    let plan = plan_prune(&repo, &keep_last(1)).unwrap();
    fx.backup(
        &repo,
        &BackupOptions {
            full: true,
            ..Default::default()
        },
    );
    let err = run_prune(&repo, &plan, &NoProgress, &CancelToken::new()).unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    assert_eq!(repo.points().unwrap().0.len(), 4, "nothing was removed");
}
