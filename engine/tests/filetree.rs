//! File-tree backups through a real local repository: round trips,
//! incrementals, encryption, selection, renaming and conflict policies.

mod support;

use std::fs;

use support::{assert_same_tree, make_tree, series_csv, Fixture};
use tidemark_engine::backup::BackupOptions;
use tidemark_engine::restore::{ConflictPolicy, RestoreOptions};
use tidemark_engine::{BackupMode, CancelToken, EngineError, RepoLocation, Repository, Selection};

#[test]
fn full_backup_round_trips_an_awkward_tree() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let stats = fx.backup(&repo, &BackupOptions::default());
    assert_eq!(stats.mode, BackupMode::Full);
    assert!(stats.totals.new_chunks >= 3, "{stats:?}");
    assert!(
        stats.totals.new_bytes_stored < stats.bytes,
        "compression should shrink CSV: {stats:?}"
    );

    let restored = fx
        .restore(&repo, &stats.point, "out", &RestoreOptions::default())
        .unwrap();
    assert!(restored.failed.is_empty(), "{:?}", restored.failed);
    assert_same_tree(&fx.path("src"), &fx.path("out"));
    support::assert_verifies_clean(&repo);
}

#[test]
fn incremental_reads_only_what_changed_and_both_points_restore() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let first = fx.backup(&repo, &BackupOptions::default());
    fs::rename(fx.path("src"), fx.path("before")).unwrap();
    fs::create_dir(fx.path("src")).unwrap();
    make_tree(&fx.path("src"));
    // Restore "before" timestamps so only real changes differ.
    let status = std::process::Command::new("cp")
        .args(["-a", "--no-target-directory"])
        .arg(fx.path("before"))
        .arg(fx.path("src"))
        .status()
        .unwrap();
    assert!(status.success());
    let mut big = series_csv(0, 120_000);
    big.extend_from_slice(&series_csv(9, 1_000)[30..]);
    fs::write(fx.path("src/series/big.csv"), &big).unwrap();
    fs::write(fx.path("src/new.txt"), b"added").unwrap();
    fs::remove_file(fx.path("src/readme.md")).unwrap();

    let second = fx.backup(&repo, &BackupOptions::default());
    assert_eq!(second.mode, BackupMode::Incremental);
    assert_eq!(second.parent.as_deref(), Some(first.point.as_str()));
    let big_len = big.len() as u64;
    assert!(
        second.bytes_read <= big_len + 5,
        "read {} bytes, only big.csv and new.txt changed",
        second.bytes_read
    );
    // Appending to a file re-stores only its last chunks.
    assert!(second.totals.new_chunks <= 3, "{:?}", second.totals);

    fx.restore(&repo, &first.point, "out1", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&fx.path("before"), &fx.path("out1"));
    fx.restore(&repo, &second.point, "out2", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&fx.path("src"), &fx.path("out2"));

    let full = fx.backup(
        &repo,
        &BackupOptions {
            full: true,
            ..Default::default()
        },
    );
    assert_eq!(full.mode, BackupMode::Full);
    assert_eq!(
        full.totals.new_chunks, 0,
        "a full point reuses identical chunks already stored"
    );
}

#[test]
fn encrypted_repository_round_trip_and_passphrase_errors() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(Some("s3cret passphrase"));
    let stats = fx.backup(&repo, &BackupOptions::default());
    drop(repo);
    let location = RepoLocation::Local(fx.path("repo"));
    let err = Repository::open(&location, Some("wrong")).unwrap_err();
    assert!(matches!(err, EngineError::WrongPassphrase { .. }), "{err}");
    let repo = Repository::open(&location, Some("s3cret passphrase")).unwrap();
    fx.restore(&repo, "latest", "out", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&fx.path("src"), &fx.path("out"));
    // Nothing readable is stored: file names and contents are sealed.
    let grep = std::process::Command::new("grep")
        .args(["-r", "-l", "-a", "dev-1"])
        .arg(fx.path("repo"))
        .output()
        .unwrap();
    assert!(
        grep.stdout.is_empty(),
        "plaintext found in {}",
        String::from_utf8_lossy(&grep.stdout)
    );
    let manifest = fs::read(fx.path(&format!("repo/runs/{}/manifest.json", stats.point))).unwrap();
    assert!(!String::from_utf8_lossy(&manifest).contains("readme.md"));
}

#[test]
fn include_and_exclude_select_paths() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let selection = Selection {
        include: vec![r"^series/".into(), r"^unicode".into()],
        exclude: vec![r"small\.csv$".into()],
        ..Selection::default()
    };
    let stats = fx.backup(
        &repo,
        &BackupOptions {
            selection: selection.clone(),
            ..Default::default()
        },
    );
    let point = repo.point(&stats.point).unwrap();
    let names: Vec<_> = point.objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "series",
            "series/big.csv",
            "unicode",
            "unicode/数据-ünïcödé ✓.csv"
        ]
    );
    assert_eq!(point.selection, selection);
}

#[test]
fn chosen_objects_restore_under_new_names() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let stats = fx.backup(&repo, &BackupOptions::default());
    let options = RestoreOptions {
        objects: vec![
            ("series".into(), Some("series_restored".into())),
            ("readme.md".into(), None),
        ],
        on_conflict: ConflictPolicy::Stop,
        ..RestoreOptions::default()
    };
    fx.restore(&repo, &stats.point, "out", &options).unwrap();
    let mut names: Vec<_> = fs::read_dir(fx.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["readme.md", "series_restored"]);
    assert_eq!(
        fs::read(fx.path("out/series_restored/big.csv")).unwrap(),
        fs::read(fx.path("src/series/big.csv")).unwrap()
    );

    let err = fx
        .restore(
            &repo,
            &stats.point,
            "out2",
            &RestoreOptions {
                objects: vec![("nope".into(), None)],
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("\"nope\" is not in point"),
        "{err}"
    );
}

#[test]
fn conflict_policies_protect_existing_data() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let stats = fx.backup(&repo, &BackupOptions::default());
    fs::create_dir_all(fx.path("out/series")).unwrap();
    fs::write(
        fx.path("out/readme.md"),
        b"newer data written after the backup",
    )
    .unwrap();

    let err = fx
        .restore(&repo, &stats.point, "out", &RestoreOptions::default())
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("readme.md"), "{err}");
    assert_eq!(
        fs::read_dir(fx.path("out/series")).unwrap().count(),
        0,
        "a refused restore writes nothing"
    );

    let skip = RestoreOptions {
        on_conflict: ConflictPolicy::Skip,
        ..Default::default()
    };
    let stats_skip = fx.restore(&repo, &stats.point, "out", &skip).unwrap();
    assert_eq!(stats_skip.skipped, 1);
    assert_eq!(
        fs::read(fx.path("out/readme.md")).unwrap(),
        b"newer data written after the backup"
    );
    assert!(fx.path("out/series/big.csv").is_file());

    let overwrite = RestoreOptions {
        on_conflict: ConflictPolicy::Overwrite,
        ..Default::default()
    };
    fx.restore(&repo, &stats.point, "out", &overwrite).unwrap();
    assert_same_tree(&fx.path("src"), &fx.path("out"));
}

#[test]
fn a_cancelled_backup_publishes_nothing_and_the_rerun_reuses_its_chunks() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let source = tidemark_engine::FileTreeSource::new(fx.path("src"), &[], &[]).unwrap();
    let options = BackupOptions {
        pack_size: 64 * 1024,
        ..Default::default()
    };
    let plan = tidemark_engine::backup::plan_backup(&repo, &source, &options).unwrap();
    let cancel = CancelToken::new();
    // Cancel once a good share of the data went through.
    struct CancelAfter<'a>(&'a CancelToken, std::sync::atomic::AtomicU64);
    impl tidemark_engine::Progress for CancelAfter<'_> {
        fn set_title(&self, _: &str) {}
        fn set_length(&self, _: u64, _: u64) {}
        fn inc(&self, bytes: u64, _: u64) {
            if self.1.fetch_add(bytes, std::sync::atomic::Ordering::SeqCst) > 3_000_000 {
                self.0.cancel();
            }
        }
        fn finish(&self) {}
    }
    let err = tidemark_engine::backup::run_backup(
        &repo,
        &source,
        plan,
        &options,
        &CancelAfter(&cancel, 0.into()),
        &cancel,
    )
    .unwrap_err();
    assert!(matches!(err, EngineError::Cancelled), "{err}");
    assert!(repo.points().unwrap().0.is_empty());

    let rerun = fx.backup(&repo, &options);
    assert!(
        rerun.totals.new_chunks < rerun.totals.chunks,
        "the rerun stored everything again: {:?}",
        rerun.totals
    );
    support::assert_verifies_clean(&repo);
    fx.restore(&repo, "latest", "out", &RestoreOptions::default())
        .unwrap();
    assert_same_tree(&fx.path("src"), &fx.path("out"));
}
