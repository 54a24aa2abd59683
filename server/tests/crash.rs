//! Kill `tidemark backup` with SIGKILL at several points of its run: the
//! repository must verify clean afterwards (no half-visible point), the
//! next backup must succeed and reuse what was stored, and restore it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_tidemark");

/// Starts `tidemark backup` of the crash task, output discarded.
fn spawn_backup(repo: &str, source: &str) -> std::process::Child {
    Command::new(BIN)
        .args([
            "backup",
            "--repo",
            repo,
            "--source",
            source,
            "--pack-size",
            "1MiB",
            "--task",
            "crash",
        ])
        .env("TIDEMARK_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn tidemark(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("TIDEMARK_LOG", "error")
        .output()
        .unwrap()
}

/// ~48 MiB of varied CSV in several files: long enough to be killed mid-run.
fn make_data(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for file in 0..6 {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(root.join(format!("part-{file}.csv"))).unwrap(),
        );
        for i in 0..250_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            writeln!(
                out,
                "{},dev-{},m{},{}",
                1_700_000_000 + i,
                x % 997,
                x % 13,
                x >> 20
            )
            .unwrap();
        }
    }
}

#[test]
fn killed_backups_leave_a_clean_repository() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    make_data(&data);
    let repo = dir.path().join("repo");
    let repo = repo.to_str().unwrap();
    assert!(tidemark(&["repo", "init", repo]).status.success());
    let source = format!("file://{}", data.display());

    // How long a whole backup takes here, to spread the kills across it.
    let started = Instant::now();
    let probe = dir.path().join("probe-repo");
    assert!(tidemark(&["repo", "init", probe.to_str().unwrap()])
        .status
        .success());
    let out = tidemark(&[
        "backup",
        "--repo",
        probe.to_str().unwrap(),
        "--source",
        &source,
        "--pack-size",
        "1MiB",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = started.elapsed();

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let mut killed = 0;
    for round in 0..5u64 {
        // Spread kills from the start to near the end, with a random offset.
        let fraction = (round as f64 + ((seed >> (round * 8)) % 100) as f64 / 100.0) / 5.5;
        let delay = full.mul_f64(fraction.min(0.95));
        let mut child = spawn_backup(repo, &source);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();

        let out = tidemark(&["verify", "--repo", repo, "--read-data"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "round {round} (killed after {delay:?}): {text}"
        );
    }
    assert!(
        killed >= 2,
        "only {killed} of 5 runs were killed mid-way (later runs reuse chunks and finish sooner) (seed {seed})"
    );

    // One more kill the moment a run holds the lock, so a stale lock is
    // certainly left behind.
    let mut child = spawn_backup(repo, &source);
    let locks = dir.path().join("repo/locks");
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_dir(&locks).map_or(0, |d| d.count()) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup ended before it was seen holding the lock"
        );
        assert!(Instant::now() < deadline, "no lock file appeared");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // The killed run's lock is stale and explained; the next backup runs.
    let out = tidemark(&[
        "backup",
        "--repo",
        repo,
        "--source",
        &source,
        "--pack-size",
        "1MiB",
        "--task",
        "crash",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new = stats["totals"]["new_chunks"].as_u64().unwrap();
    let all = stats["totals"]["chunks"].as_u64().unwrap();
    assert!(
        new < all,
        "the rerun reused nothing of the killed runs ({new} of {all} chunks new)"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stale lock"), "{stderr}");

    let target = format!("file://{}", dir.path().join("restored").display());
    let out = tidemark(&[
        "restore", "--repo", repo, "--point", "latest", "--target", &target,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff = Command::new("diff")
        .arg("-r")
        .arg(&data)
        .arg(dir.path().join("restored"))
        .output()
        .unwrap();
    assert!(
        diff.status.success(),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );
}
