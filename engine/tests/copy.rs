//! Copying points to a second repository: under another key, only what the
//! destination lacks, every copied point restoring to the same tree and
//! verifying clean; a point with its chain; a copy stopped half way leaves
//! the destination consistent and the next one completes it.

mod support;

use std::fs;

use support::{assert_same_tree, assert_verifies_clean, make_tree, series_csv, Fixture};
use tidemark_engine::backup::BackupOptions;
use tidemark_engine::copy::{plan_copy, run_copy, CopyOptions, CopyStats};
use tidemark_engine::restore::RestoreOptions;
use tidemark_engine::{CancelToken, EngineError, NoProgress, Progress, RepoLocation, Repository};

fn options(task: &str) -> BackupOptions {
    BackupOptions {
        task: task.into(),
        pack_size: 256 * 1024,
        ..Default::default()
    }
}

fn copy(from: &Repository, to: &Repository, options: &CopyOptions) -> CopyStats {
    let plan = plan_copy(from, to, options).unwrap();
    run_copy(from, to, plan, options, &NoProgress, &CancelToken::new()).unwrap()
}

fn second(fx: &Fixture, name: &str, passphrase: Option<&str>) -> Repository {
    Repository::init(&RepoLocation::Local(fx.path(name)), passphrase).unwrap()
}

/// Three points of one task (a full, two incrementals), one of another.
fn history(fx: &Fixture, repo: &Repository) -> Vec<String> {
    make_tree(&fx.path("src"));
    let mut points = vec![fx.backup(repo, &options("nightly")).point];
    fs::write(fx.path("src/series/new.csv"), series_csv(9, 20_000)).unwrap();
    points.push(fx.backup(repo, &options("nightly")).point);
    fs::write(fx.path("src/readme.md"), "changed\n").unwrap();
    points.push(fx.backup(repo, &options("nightly")).point);
    points.push(fx.backup(repo, &options("weekly")).point);
    points
}

#[test]
fn points_copy_under_another_key_and_restore_the_same() {
    let fx = Fixture::new();
    let from = fx.repo(Some("source passphrase"));
    let points = history(&fx, &from);
    let to = second(&fx, "offsite", Some("another passphrase"));

    let plan = plan_copy(&from, &to, &CopyOptions::default()).unwrap();
    assert_eq!(plan.points.len(), 4);
    assert!(plan.present.is_empty());
    let stats = copy(&from, &to, &CopyOptions::default());
    assert_eq!(stats.copied, points);
    assert!(stats.chunks_written > 0);
    assert!(
        stats.chunks_present > 0,
        "incrementals share chunks: {stats:?}"
    );
    assert_verifies_clean(&to);

    // Each copied point restores to what its source point restores to.
    for point in &points {
        let a = format!("from-{point}");
        let b = format!("to-{point}");
        let done = fx
            .restore(&from, point, &a, &RestoreOptions::default())
            .unwrap();
        assert!(done.failed.is_empty());
        let done = fx
            .restore(&to, point, &b, &RestoreOptions::default())
            .unwrap();
        assert!(done.failed.is_empty(), "{:?}", done.failed);
        assert_same_tree(&fx.path(&a), &fx.path(&b));
    }
    let copied = to.point(&points[2]).unwrap();
    let original = from.point(&points[2]).unwrap();
    assert_eq!(copied.parent, original.parent);
    assert_eq!(copied.objects.len(), original.objects.len());
    assert_ne!(
        copied
            .objects
            .iter()
            .find(|o| !o.chunks.is_empty())
            .unwrap()
            .chunks[0]
            .id,
        original
            .objects
            .iter()
            .find(|o| !o.chunks.is_empty())
            .unwrap()
            .chunks[0]
            .id,
        "chunk ids are keyed by each repository's key"
    );

    // Again: nothing to copy, nothing written.
    let again = copy(&from, &to, &CopyOptions::default());
    assert!(again.copied.is_empty());
    assert_eq!(again.present.len(), 4);
    assert_eq!(again.chunks_written, 0);
}

#[test]
fn a_point_comes_with_its_chain_and_a_task_alone() {
    let fx = Fixture::new();
    let from = fx.repo(None);
    let points = history(&fx, &from);
    let to = second(&fx, "plain", None);
    // The newest one of a task comes with the chain it needs.
    let newest = CopyOptions {
        task: Some("nightly".into()),
        newest: Some(1),
        ..CopyOptions::default()
    };
    let plan = plan_copy(&from, &to, &newest).unwrap();
    let ids: Vec<&str> = plan.points.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, points[..3]);
    let latest = CopyOptions {
        task: Some("nightly".into()),
        point: Some("latest".into()),
        ..CopyOptions::default()
    };
    let stats = copy(&from, &to, &latest);
    assert_eq!(
        stats.copied,
        points[..3],
        "the incremental and its ancestors"
    );
    assert_verifies_clean(&to);

    let weekly = CopyOptions {
        task: Some("weekly".into()),
        ..CopyOptions::default()
    };
    let stats = copy(&from, &to, &weekly);
    assert_eq!(stats.copied, points[3..]);
    // Plain to plain: the same ids, so chunks it holds are not even read.
    assert_eq!(
        stats.chunks_written, 0,
        "the weekly full shares every chunk"
    );
    assert_eq!(stats.bytes_read, 0);

    let missing = plan_copy(
        &from,
        &to,
        &CopyOptions {
            point: Some("nightly_src_20000101T000000000Z".into()),
            ..CopyOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(missing, EngineError::PointNotFound { .. }),
        "{missing}"
    );
    let same = plan_copy(&from, &from, &CopyOptions::default()).unwrap_err();
    assert!(
        same.to_string()
            .contains("both the source and the destination"),
        "{same}"
    );
}

/// Cancels once `after` bytes of progress are reported.
struct CancelAfter {
    cancel: CancelToken,
    after: u64,
    done: std::sync::atomic::AtomicU64,
}

impl Progress for CancelAfter {
    fn set_title(&self, _: &str) {}
    fn set_length(&self, _: u64, _: u64) {}
    fn inc(&self, bytes: u64, _: u64) {
        let done = self
            .done
            .fetch_add(bytes, std::sync::atomic::Ordering::SeqCst)
            + bytes;
        if done >= self.after {
            self.cancel.cancel();
        }
    }
    fn finish(&self) {}
}

#[test]
fn a_stopped_copy_leaves_the_destination_consistent_and_the_next_completes_it() {
    let fx = Fixture::new();
    let from = fx.repo(Some("source passphrase"));
    let points = history(&fx, &from);
    let to = second(&fx, "offsite", Some("another passphrase"));
    let cancel = CancelToken::new();
    let progress = CancelAfter {
        cancel: cancel.clone(),
        after: 1,
        done: Default::default(),
    };
    let plan = plan_copy(&from, &to, &CopyOptions::default()).unwrap();
    let stopped = run_copy(
        &from,
        &to,
        plan,
        &CopyOptions::default(),
        &progress,
        &cancel,
    );
    assert!(
        matches!(stopped, Err(EngineError::Cancelled)),
        "{stopped:?}"
    );
    let (held, damaged) = to.points().unwrap();
    assert!(damaged.is_empty());
    assert_eq!(held.len(), 1, "the first point was published, the rest not");
    assert_verifies_clean(&to);

    let stats = copy(&from, &to, &CopyOptions::default());
    assert_eq!(stats.copied, points[1..]);
    assert_eq!(stats.present, points[..1]);
    assert_verifies_clean(&to);
    let done = fx
        .restore(&to, &points[3], "restored", &RestoreOptions::default())
        .unwrap();
    assert!(done.failed.is_empty());
    assert_same_tree(&fx.path("src"), &fx.path("restored"));
}
