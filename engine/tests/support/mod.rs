//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

pub mod influxdb;
pub mod mariadb;
pub mod postgres;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use tidemark_engine::backup::{self, BackupOptions, BackupStats};
use tidemark_engine::restore::{self, RestoreOptions, RestoreStats};
use tidemark_engine::verify::{verify, VerifyOptions, VerifyReport};
use tidemark_engine::{
    CancelToken, FileTreeSource, FileTreeTarget, NoProgress, RepoLocation, Repository,
};

/// Backs up whatever a source URL names (any kind) as `task`.
pub fn backup_url(
    repo: &Repository,
    url: &str,
    task: &str,
) -> tidemark_engine::Result<BackupStats> {
    backup_selected(repo, url, task, Default::default())
}

/// [`backup_url`] with a selection (tables, time range, watermark).
pub fn backup_selected(
    repo: &Repository,
    url: &str,
    task: &str,
    selection: tidemark_engine::Selection,
) -> tidemark_engine::Result<BackupStats> {
    let source =
        tidemark_engine::open_source(&tidemark_engine::SourceUrl::parse(url)?, &selection)?;
    let options = BackupOptions {
        task: task.into(),
        selection,
        ..BackupOptions::default()
    };
    backup_source(repo, source.as_ref(), &options)
}

/// Plans and runs one backup of `source`, without progress or cancelling.
pub fn backup_source(
    repo: &Repository,
    source: &dyn tidemark_engine::Source,
    options: &BackupOptions,
) -> tidemark_engine::Result<BackupStats> {
    let plan = backup::plan_backup(repo, source, options)?;
    backup::run_backup(
        repo,
        source,
        plan,
        options,
        &NoProgress,
        &CancelToken::new(),
    )
}

/// Restores a point into whatever a target URL names.
pub fn restore_url(
    repo: &Repository,
    point: &str,
    url: &str,
    options: &RestoreOptions,
) -> tidemark_engine::Result<RestoreStats> {
    let manifest = repo.point(point)?;
    let mut target = tidemark_engine::open_target(&tidemark_engine::SourceUrl::parse(url)?)?;
    let plan = restore::plan_restore(&manifest, target.as_ref(), options)?;
    restore::run_restore(
        repo,
        &plan,
        target.as_mut(),
        &NoProgress,
        &CancelToken::new(),
    )
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn repo(&self, passphrase: Option<&str>) -> Repository {
        Repository::init(&RepoLocation::Local(self.path("repo")), passphrase).unwrap()
    }

    pub fn backup(&self, repo: &Repository, options: &BackupOptions) -> BackupStats {
        let source = FileTreeSource::new(
            self.path("src"),
            &options.selection.include,
            &options.selection.exclude,
        )
        .unwrap();
        let plan = backup::plan_backup(repo, &source, options).unwrap();
        backup::run_backup(
            repo,
            &source,
            plan,
            options,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap()
    }

    pub fn restore(
        &self,
        repo: &Repository,
        point: &str,
        into: &str,
        options: &RestoreOptions,
    ) -> tidemark_engine::Result<RestoreStats> {
        let manifest = repo.point(point)?;
        let mut target = FileTreeTarget::new(self.path(into));
        let plan = restore::plan_restore(&manifest, &target, options)?;
        restore::run_restore(repo, &plan, &mut target, &NoProgress, &CancelToken::new())
    }
}

/// A tree with the awkward cases: empty files, deep paths, unicode names,
/// symlinks (to files, dangling, to directories), modes, an empty directory,
/// and a file large enough for several chunks.
pub fn make_tree(root: &Path) {
    let w = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    w("empty.txt", b"");
    w("readme.md", b"# sensor data\n");
    w("a/b/c/d/e/f/g/deep.bin", &[7u8; 1000]);
    w("unicode/数据-ünïcödé ✓.csv", "ts,温度\n1,21.5\n".as_bytes());
    w("series/big.csv", &series_csv(0, 120_000));
    w("series/small.csv", &series_csv(5, 100));
    std::fs::create_dir_all(root.join("empty-dir")).unwrap();
    symlink("readme.md", root.join("link-to-readme")).unwrap();
    symlink("does/not/exist", root.join("dangling")).unwrap();
    symlink("series", root.join("link-to-dir")).unwrap();
    std::fs::set_permissions(
        root.join("readme.md"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::fs::set_permissions(
        root.join("series/small.csv"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
}

/// Time-series-like rows, deterministic.
pub fn series_csv(seed: u64, rows: u64) -> Vec<u8> {
    let mut out = String::from("timestamp,device,metric,value\n");
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for i in 0..rows {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.push_str(&format!(
            "{},dev-{},temp,{}.{}\n",
            1_700_000_000 + i,
            (x >> 33) % 50,
            (x >> 40) % 100,
            (x >> 20) % 10
        ));
    }
    out.into_bytes()
}

/// Asserts two trees are equal by GNU diff (contents, symlinks not followed)
/// and by `stat` (type, mode, size, modification time, link target).
pub fn assert_same_tree(a: &Path, b: &Path) {
    let diff = Command::new("diff")
        .args(["-r", "--no-dereference"])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    assert!(
        diff.status.success(),
        "diff -r found differences:\n{}{}",
        String::from_utf8_lossy(&diff.stdout),
        String::from_utf8_lossy(&diff.stderr)
    );
    assert_eq!(stat_listing(a), stat_listing(b), "metadata differs");
}

/// `find -printf` of type, mode, size and mtime (files and dirs) or link target.
pub fn stat_listing(root: &Path) -> String {
    let out = Command::new("find")
        .arg(root)
        .arg("-mindepth")
        .arg("1")
        .args([
            "(",
            "-type",
            "l",
            "-printf",
            "%P l %l\\n",
            ")",
            "-o",
            "(",
            "-type",
            "d",
            "-printf",
            "%P d %m %T@\\n",
            ")",
            "-o",
            "(",
            "-printf",
            "%P f %m %s %T@\\n",
            ")",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut lines: Vec<_> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines.join("\n")
}

/// `verify --read-data` of every point; asserts it finds nothing.
pub fn assert_verifies_clean(repo: &Repository) -> VerifyReport {
    let options = VerifyOptions {
        point: None,
        read_data: true,
        read_subset: None,
    };
    let report = verify(repo, &options, &NoProgress, &CancelToken::new()).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    report
}
