//! The processes a throwaway server's directory names: what a sweep must
//! end before deleting it (the server, and an `initdb` or `pg_ctl` a killed
//! drill left running).

use std::path::Path;
use std::time::{Duration, Instant};

/// Pids of this machine's processes whose command line names `dir`.
fn naming(dir: &Path) -> Vec<i32> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
        })
        .collect()
}

/// SIGKILLs every process naming `dir` and waits (a little) until they are
/// gone; the exit status of our own children is collected on the way.
pub(super) fn kill_all_naming(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = naming(dir);
        if pids.is_empty() || Instant::now() > deadline {
            return;
        }
        for pid in pids {
            // SAFETY: kill and waitpid have no memory preconditions; each
            // pid runs a program started for this sandbox's directory.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
