//! Repository-wide questions: how much it holds and whether it takes writes.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::{series_csv, Fixture};
use tidemark_engine::backup::BackupOptions;
use tidemark_engine::{EngineError, RepoLocation, RepoUsage, Repository};

/// Sizes of the `.pack` files under `dir`, recursively: (count, bytes).
fn packs_on_disk(dir: &Path) -> (u64, u64) {
    let mut found = (0, 0);
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            let (n, bytes) = packs_on_disk(&path);
            found = (found.0 + n, found.1 + bytes);
        } else if path.extension().is_some_and(|e| e == "pack") {
            found = (found.0 + 1, found.1 + entry.metadata().unwrap().len());
        }
    }
    found
}

#[test]
fn usage_counts_points_dedup_and_compression() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let empty = repo.usage().unwrap();
    assert_eq!(empty, RepoUsage::default());
    assert_eq!((empty.dedup_ratio(), empty.compression_ratio()), (1.0, 1.0));

    fs::create_dir_all(fx.path("src/sub")).unwrap();
    fs::write(fx.path("src/one.csv"), series_csv(1, 60_000)).unwrap();
    fs::write(fx.path("src/sub/two.csv"), series_csv(2, 30_000)).unwrap();
    let size = fs::metadata(fx.path("src/one.csv")).unwrap().len()
        + fs::metadata(fx.path("src/sub/two.csv")).unwrap().len();
    let full = BackupOptions {
        full: true,
        ..Default::default()
    };
    fx.backup(&repo, &full);
    fx.backup(&repo, &full);

    let usage = repo.usage().unwrap();
    let (packs, stored) = packs_on_disk(&fx.path("repo/runs"));
    assert_eq!(usage.points, 2);
    assert_eq!(usage.damaged_manifests, 0);
    assert_eq!(usage.logical_bytes, 2 * size);
    assert_eq!(usage.unique_bytes, size, "the second backup stored nothing");
    assert_eq!((usage.packs, usage.stored_bytes), (packs, stored));
    assert!((usage.dedup_ratio() - 2.0).abs() < 1e-9, "{usage:?}");
    assert!(usage.compression_ratio() > 1.5, "CSV compresses: {usage:?}");

    let json = serde_json::to_value(&usage).unwrap();
    assert_eq!(json["points"], 2);
    assert_eq!(json["dedup_ratio"], 2.0);
    assert!(json["compression_ratio"].as_f64().unwrap() > 1.5);

    // A damaged manifest is counted, and its point's bytes are not.
    let (points, _) = repo.points().unwrap();
    fs::write(
        fx.path(&format!("repo/runs/{}/manifest.json", points[1].id)),
        b"{ damaged",
    )
    .unwrap();
    let usage = repo.usage().unwrap();
    assert_eq!((usage.points, usage.damaged_manifests), (1, 1));
    assert_eq!(usage.logical_bytes, size);
}

#[test]
fn a_writable_repository_passes_and_leaves_no_probe() {
    let fx = Fixture::new();
    let repo = fx.repo(Some("pw"));
    repo.check_writable().unwrap();
    repo.check_writable().unwrap();
    let left = fs::read_dir(fx.path("repo/locks")).map_or(0, |d| d.count());
    assert_eq!(left, 0, "the probe is deleted");

    // A probe left by a crash is not a lock: writers are not blocked by it.
    fs::create_dir_all(fx.path("repo/locks")).unwrap();
    fs::write(fx.path("repo/locks/probe-1-dead"), b"x").unwrap();
    fs::create_dir_all(fx.path("src")).unwrap();
    fs::write(fx.path("src/a.csv"), series_csv(1, 10)).unwrap();
    fx.backup(&repo, &BackupOptions::default());
}

#[test]
fn a_repository_that_refuses_writes_is_named() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    // Fails for every user, root included: the probe's directory is a file.
    fs::write(fx.path("repo/locks"), b"not a directory").unwrap();
    let err = repo.check_writable().unwrap_err();
    assert!(
        matches!(err, EngineError::RepositoryNotWritable { .. }),
        "{err}"
    );
    let location = fx.path("repo").display().to_string();
    assert!(err.to_string().contains(&location), "{err}");
    assert!(err.to_string().contains("not writable"), "{err}");
}

#[test]
fn a_read_only_repository_directory_is_refused() {
    let fx = Fixture::new();
    let root = fx.path("repo");
    Repository::init(&RepoLocation::Local(root.clone()), None).unwrap();
    let set_mode = |mode| {
        for dir in [root.join(".tmp"), root.clone()] {
            if dir.is_dir() {
                fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
            }
        }
    };
    set_mode(0o555);
    let repo = Repository::open(&RepoLocation::Local(root.clone()), None).unwrap();
    let outcome = repo.check_writable();
    set_mode(0o755);
    // Root ignores permission bits; the test above covers root.
    if unsafe { libc::geteuid() } == 0 {
        return;
    }
    let err = outcome.unwrap_err();
    assert!(
        matches!(err, EngineError::RepositoryNotWritable { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains(&root.display().to_string()),
        "{err}"
    );
}
