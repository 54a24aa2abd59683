//! Damaged repositories and bad input: each failure names the damaged
//! thing, and nothing else is lost.

mod support;

use std::fs;
use std::path::PathBuf;

use support::{make_tree, Fixture};
use tidemark_engine::backup::{self, BackupOptions};
use tidemark_engine::restore::RestoreOptions;
use tidemark_engine::verify::{verify, VerifyOptions, VerifyReport};
use tidemark_engine::{CancelToken, EngineError, FileTreeSource, NoProgress, Repository};

fn check(repo: &Repository, read_data: bool) -> VerifyReport {
    verify(
        repo,
        &VerifyOptions {
            point: None,
            read_data,
            read_subset: None,
        },
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap()
}

/// Small packs, so that one damaged pack leaves the others intact.
fn small_packs() -> BackupOptions {
    BackupOptions {
        pack_size: 256 * 1024,
        ..Default::default()
    }
}

/// The pack holding the first chunk of `object`, and where that chunk is
/// in it (offset, length), from the index files. Objects are read in
/// parallel, so a pack may hold chunks of several objects.
fn chunk_of(fx: &Fixture, repo: &Repository, point: &str, object: &str) -> (PathBuf, u64, u64) {
    let manifest = repo.point(point).unwrap();
    let id = manifest
        .objects
        .iter()
        .find(|o| o.name == object)
        .unwrap()
        .chunks[0]
        .id;
    let id = serde_json::to_value(id).unwrap();
    let runs = fx.path(&format!("repo/runs/{point}/packs"));
    for entry in fs::read_dir(&runs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "idx") {
            continue;
        }
        let index: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let blobs = index["blobs"].as_array().unwrap();
        if let Some(blob) = blobs.iter().find(|b| b["id"] == id) {
            let at = |k: &str| blob[k].as_u64().unwrap();
            return (path.with_extension("pack"), at("offset"), at("length"));
        }
    }
    panic!("no pack holds {object}");
}

fn pack_of(fx: &Fixture, repo: &Repository, point: &str, object: &str) -> PathBuf {
    chunk_of(fx, repo, point, object).0
}

#[test]
fn a_flipped_byte_is_named_by_verify_and_only_its_object_fails_to_restore() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let stats = fx.backup(&repo, &small_packs());
    assert!(check(&repo, true).is_clean());

    let (pack, offset, length) = chunk_of(&fx, &repo, &stats.point, "series/big.csv");
    let mut bytes = fs::read(&pack).unwrap();
    bytes[(offset + length / 2) as usize] ^= 0x01;
    fs::write(&pack, &bytes).unwrap();

    assert!(
        check(&repo, false).is_clean(),
        "without read-data the structure is intact"
    );
    let report = check(&repo, true);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let problem = &report.problems[0];
    let pack_name = pack.file_name().unwrap().to_str().unwrap();
    assert!(problem.what.contains(pack_name), "{problem:?}");
    assert!(
        problem
            .affects
            .iter()
            .any(|a| a.ends_with(": series/big.csv")),
        "{problem:?}"
    );
    assert!(
        !problem.affects.iter().any(|a| a.ends_with("readme.md")),
        "{problem:?}"
    );

    let restored = fx
        .restore(&repo, &stats.point, "out", &RestoreOptions::default())
        .unwrap();
    assert_eq!(restored.failed.len(), 1, "{:?}", restored.failed);
    let (object, reason) = &restored.failed[0];
    assert_eq!(object, "series/big.csv");
    assert!(reason.contains(pack_name), "{reason}");
    assert!(
        !fx.path("out/series/big.csv").exists(),
        "no partial file may be left"
    );
    let leftovers: Vec<_> = fs::read_dir(fx.path("out/series"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        ["small.csv"],
        "the other objects restore, with no temporary files left"
    );
    assert_eq!(
        fs::read(fx.path("out/readme.md")).unwrap(),
        fs::read(fx.path("src/readme.md")).unwrap()
    );
}

#[test]
fn a_truncated_pack_is_reported_as_truncated() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let stats = fx.backup(&repo, &small_packs());
    let (pack, offset, length) = chunk_of(&fx, &repo, &stats.point, "series/big.csv");
    fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(offset + length / 2)
        .unwrap();

    let report = check(&repo, true);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.detail.contains("truncated")),
        "{:?}",
        report.problems
    );
    let restored = fx
        .restore(&repo, &stats.point, "out", &RestoreOptions::default())
        .unwrap();
    assert!(
        restored
            .failed
            .iter()
            .any(|(o, r)| o == "series/big.csv" && r.contains("truncated")),
        "{:?}",
        restored.failed
    );
}

#[test]
fn a_missing_pack_is_found_without_reading_data() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let stats = fx.backup(&repo, &small_packs());
    let pack = pack_of(&fx, &repo, &stats.point, "readme.md");
    fs::remove_file(&pack).unwrap();
    let report = check(&repo, false);
    let problem = report
        .problems
        .iter()
        .find(|p| p.detail.contains("missing"))
        .expect("missing pack reported");
    assert!(
        problem.affects.iter().any(|a| a.ends_with(": readme.md")),
        "{problem:?}"
    );
}

#[test]
fn a_damaged_manifest_hides_only_its_own_point() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let first = fx.backup(&repo, &BackupOptions::default());
    let second = fx.backup(
        &repo,
        &BackupOptions {
            full: true,
            ..Default::default()
        },
    );
    let manifest = fx.path(&format!("repo/runs/{}/manifest.json", first.point));
    let text = fs::read(&manifest).unwrap();
    fs::write(&manifest, &text[..text.len() / 3]).unwrap();

    let (points, damaged) = repo.points().unwrap();
    assert_eq!(
        points.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        [second.point.as_str()]
    );
    assert_eq!(damaged.len(), 1);
    assert!(
        damaged[0].to_string().contains(&first.point),
        "{}",
        damaged[0]
    );
    let err = repo.point(&first.point).unwrap_err();
    assert!(matches!(err, EngineError::Corrupt { .. }), "{err}");
    assert!(check(&repo, false)
        .problems
        .iter()
        .any(|p| p.what == "manifest"));
    fx.restore(&repo, &second.point, "out", &RestoreOptions::default())
        .unwrap();
}

#[test]
fn a_file_that_vanishes_after_listing_is_reported_not_fatal() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let source = FileTreeSource::new(fx.path("src"), &[], &[]).unwrap();
    let options = BackupOptions::default();
    let plan = backup::plan_backup(&repo, &source, &options).unwrap();
    fs::remove_file(fx.path("src/series/small.csv")).unwrap();
    let stats = backup::run_backup(
        &repo,
        &source,
        plan,
        &options,
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap();
    assert!(
        stats
            .warnings
            .iter()
            .any(|w| w.contains("small.csv") && w.contains("vanished")),
        "{:?}",
        stats.warnings
    );
    let point = repo.point(&stats.point).unwrap();
    assert!(!point.objects.iter().any(|o| o.name.ends_with("small.csv")));
}

#[test]
fn unknown_points_and_unusable_targets_are_named() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    fx.backup(&repo, &BackupOptions::default());
    let err = fx
        .restore(
            &repo,
            "cli_src_19700101T000000000Z",
            "out",
            &RestoreOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::PointNotFound { .. }), "{err}");
    assert!(
        err.to_string().contains("cli_src_19700101T000000000Z"),
        "{err}"
    );

    fs::write(fx.path("not-a-dir"), b"x").unwrap();
    let err = fx
        .restore(&repo, "latest", "not-a-dir", &RestoreOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("not-a-dir"), "{err}");
    assert_eq!(fs::read(fx.path("not-a-dir")).unwrap(), b"x");
}

#[test]
fn a_missing_parent_point_is_reported_and_the_child_still_restores() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let parent = fx.backup(&repo, &BackupOptions::default());
    fs::write(fx.path("src/extra.txt"), b"new").unwrap();
    let child = fx.backup(&repo, &BackupOptions::default());
    assert_eq!(child.parent.as_deref(), Some(parent.point.as_str()));
    fs::remove_file(fx.path(&format!("repo/runs/{}/manifest.json", parent.point))).unwrap();

    let report = check(&repo, false);
    let problem = report
        .problems
        .iter()
        .find(|p| p.what.contains(&child.point))
        .expect("broken chain reported");
    assert!(problem.detail.contains(&parent.point), "{problem:?}");
    let stats = fx
        .restore(&repo, &child.point, "out", &RestoreOptions::default())
        .unwrap();
    assert!(stats.failed.is_empty());
    support::assert_same_tree(&fx.path("src"), &fx.path("out"));
}

/// A data check of a share of the packs reads that share, a different one
/// each round; the rounds together read every pack, and the round whose
/// window holds the damaged pack names it.
#[test]
fn rounds_of_a_read_subset_cover_every_pack_and_find_the_damage() {
    use tidemark_engine::verify::ReadSubset;
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let stats = fx.backup(&repo, &small_packs());
    let all = check(&repo, true);
    assert!(all.packs_total >= 2, "small packs: {all:?}");
    assert_eq!(all.packs_read, all.packs_total);

    let (pack, offset, length) = chunk_of(&fx, &repo, &stats.point, "series/big.csv");
    let mut bytes = fs::read(&pack).unwrap();
    bytes[(offset + length / 2) as usize] ^= 0x40;
    fs::write(&pack, &bytes).unwrap();
    let pack_name = pack.file_name().unwrap().to_str().unwrap().to_owned();

    let percent = 50; // two rounds
    let (mut read, mut found_in) = (0, Vec::new());
    for round in 0..2 {
        let options = VerifyOptions {
            point: None,
            read_data: true,
            read_subset: Some(ReadSubset { percent, round }),
        };
        let report = verify(&repo, &options, &NoProgress, &CancelToken::new()).unwrap();
        assert_eq!(report.packs_total, all.packs_total);
        let share = (all.packs_total * u64::from(percent)).div_ceil(100);
        assert_eq!(
            report.packs_read,
            share.min(all.packs_total),
            "round {round}"
        );
        read += report.packs_read;
        if report.problems.iter().any(|p| p.what.contains(&pack_name)) {
            found_in.push(round);
        }
    }
    assert!(read >= all.packs_total, "every pack read at least once");
    assert!(!found_in.is_empty(), "some round reads the damaged pack");
    if all.packs_total.is_multiple_of(2) {
        assert_eq!(found_in.len(), 1, "halves do not overlap: {found_in:?}");
    }
}

#[test]
fn a_download_gives_the_exact_bytes_or_stops_at_the_damage() {
    let fx = Fixture::new();
    make_tree(&fx.path("src"));
    let repo = fx.repo(None);
    let stats = fx.backup(&repo, &small_packs());
    let point = repo.point(&stats.point).unwrap();
    let read_all = |name: &str| -> tidemark_engine::Result<Vec<u8>> {
        let mut out = Vec::new();
        for block in tidemark_engine::restore::read_file(&repo, &point, name)? {
            out.extend(block?);
        }
        Ok(out)
    };
    let big = fs::read(fx.path("src/series/big.csv")).unwrap();
    assert_eq!(read_all("series/big.csv").unwrap(), big);
    assert_eq!(
        read_all("unicode/数据-ünïcödé ✓.csv").unwrap(),
        fs::read(fx.path("src/unicode/数据-ünïcödé ✓.csv")).unwrap()
    );
    assert!(read_all("empty.txt").unwrap().is_empty());
    let folder = read_all("empty-dir").unwrap_err();
    assert!(folder.to_string().contains("only files"), "{folder}");
    let missing = read_all("no such file").unwrap_err();
    assert!(missing.to_string().contains("no object"), "{missing}");

    let (pack, offset, length) = chunk_of(&fx, &repo, &stats.point, "series/big.csv");
    let mut bytes = fs::read(&pack).unwrap();
    bytes[(offset + length / 2) as usize] ^= 0x01;
    fs::write(&pack, &bytes).unwrap();
    let damaged = read_all("series/big.csv").unwrap_err();
    assert!(matches!(damaged, EngineError::Corrupt { .. }), "{damaged}");
}
