//! `tidemark copy` through the real binary: killed with SIGKILL half way,
//! the destination stays consistent (`verify --read-data` clean, no point
//! with missing chunks), the next copy completes it, and the newest point
//! restores from the copy to a tree `diff -r` finds identical; the
//! destination keeps its own retention.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tidemark");

fn tidemark(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("TIDEMARK_LOG", "warn")
        .env("TIDEMARK_FROM_PASSPHRASE", "source passphrase")
        .env("TIDEMARK_TO_PASSPHRASE", "offsite passphrase")
        .output()
        .expect("run tidemark")
}

fn ok(args: &[&str]) -> String {
    let out = tidemark(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "tidemark {args:?}: {text}");
    text
}

/// Commands on one repository take its passphrase from TIDEMARK_PASSPHRASE.
fn on_repo(args: &[&str], passphrase: &str) -> Output {
    Command::new(BIN)
        .args(args)
        .env("TIDEMARK_LOG", "warn")
        .env("TIDEMARK_PASSPHRASE", passphrase)
        .output()
        .expect("run tidemark")
}

fn point_ids(repo: &str, passphrase: &str) -> Vec<String> {
    let out = on_repo(&["points", "--repo", repo, "--json"], passphrase);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let points: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

fn verify_clean(repo: &str, passphrase: &str) {
    let out = on_repo(&["verify", "--repo", repo, "--read-data"], passphrase);
    assert!(
        out.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Incompressible bytes, so the copy has real work to do.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn packs_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                packs_under(&path)
            } else {
                usize::from(path.extension().is_some_and(|x| x == "pack"))
            }
        })
        .sum()
}

#[test]
fn a_killed_copy_leaves_the_destination_consistent_and_the_next_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("data dir");
    std::fs::create_dir_all(src.join("站点 \"north\"")).unwrap();
    let source = format!("file://{}", src.display());
    let (from, to) = (dir.path().join("local"), dir.path().join("offsite"));
    let (from, to) = (from.to_str().unwrap(), to.to_str().unwrap());
    assert!(
        on_repo(&["repo", "init", from, "--encrypt"], "source passphrase")
            .status
            .success()
    );
    assert!(
        on_repo(&["repo", "init", to, "--encrypt"], "offsite passphrase")
            .status
            .success()
    );

    // Three full points (retention may keep one alone), each adding 24 MiB
    // that no earlier point has.
    for round in 0..3u64 {
        for file in 0..6u64 {
            let name = format!("站点 \"north\"/part {round}-{file}.bin");
            std::fs::write(src.join(name), noise(round * 10 + file + 1, 4 << 20)).unwrap();
        }
        let out = on_repo(
            &[
                "backup", "--repo", from, "--source", &source, "--task", "plant", "--full",
            ],
            "source passphrase",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let points = point_ids(from, "source passphrase");
    assert_eq!(points.len(), 3);

    // Killed once the first packs are in the destination.
    let mut child = Command::new(BIN)
        .args(["copy", "--from", from, "--to", to])
        .env("TIDEMARK_LOG", "warn")
        .env("TIDEMARK_FROM_PASSPHRASE", "source passphrase")
        .env("TIDEMARK_TO_PASSPHRASE", "offsite passphrase")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while packs_under(Path::new(to)) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the copy ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no pack written");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let held = point_ids(to, "offsite passphrase");
    assert!(held.len() < 3, "killed before the end: {held:?}");
    assert!(held.iter().all(|p| points.contains(p)));
    verify_clean(to, "offsite passphrase");

    // The next copy completes it, and says what was there already.
    let said = ok(&["copy", "--from", from, "--to", to]);
    assert!(
        said.contains(&format!(
            "copied {} points ({} already there)",
            3 - held.len(),
            held.len()
        )),
        "{said}"
    );
    assert_eq!(point_ids(to, "offsite passphrase"), points);
    verify_clean(to, "offsite passphrase");
    let restored = dir.path().join("restored");
    let out = on_repo(
        &[
            "restore",
            "--repo",
            to,
            "--point",
            &points[2],
            "--target",
            &format!("file://{}", restored.display()),
        ],
        "offsite passphrase",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff = Command::new("diff")
        .arg("-r")
        .arg(&src)
        .arg(&restored)
        .output()
        .unwrap();
    assert!(
        diff.status.success(),
        "diff -r: {}",
        String::from_utf8_lossy(&diff.stdout)
    );

    // Nothing left to copy; the destination's own retention keeps one.
    let said = ok(&[
        "copy",
        "--from",
        from,
        "--to",
        to,
        "--keep-last",
        "1",
        "--json",
    ]);
    let done: serde_json::Value = serde_json::from_str(&said).unwrap();
    assert_eq!(done["copy"]["copied"].as_array().unwrap().len(), 0);
    assert_eq!(done["prune"]["points_removed"], 2);
    assert_eq!(point_ids(to, "offsite passphrase"), points[2..]);
    assert_eq!(
        point_ids(from, "source passphrase"),
        points,
        "the source is untouched"
    );
    verify_clean(to, "offsite passphrase");

    // Wrong passphrases and a missing destination are refused by name.
    let out = Command::new(BIN)
        .args(["copy", "--from", from, "--to", "/nonexistent/repo"])
        .env("TIDEMARK_FROM_PASSPHRASE", "source passphrase")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--to"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
