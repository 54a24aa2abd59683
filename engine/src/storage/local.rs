//! The local filesystem backend's preparation step.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};

/// Creates `path` (and its parents) if needed and proves it is writable by
/// writing, syncing and removing a probe file. Returns the canonical path.
///
/// Permission bits alone do not answer "can I write here" (root ignores them,
/// read-only mounts do not show in them), so the probe really writes.
pub fn prepare_local_dir(path: &Path) -> Result<PathBuf> {
    if path.exists() && !path.is_dir() {
        return Err(EngineError::NotADirectory {
            path: path.to_path_buf(),
        });
    }
    fs::create_dir_all(path).map_err(|source| EngineError::CreateDir {
        path: path.to_path_buf(),
        source,
    })?;
    let not_writable = |source| EngineError::NotWritable {
        path: path.to_path_buf(),
        source,
    };
    let probe = path.join(format!(".tidemark-probe-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&probe)
        .map_err(not_writable)?;
    let written = file.write_all(b"probe").and_then(|()| file.sync_all());
    drop(file);
    let removed = fs::remove_file(&probe);
    written.map_err(not_writable)?;
    removed.map_err(not_writable)?;
    path.canonicalize().map_err(not_writable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_nested_directories_and_leaves_no_probe() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("a/b/repo");
        let prepared = prepare_local_dir(&target).unwrap();
        assert!(prepared.is_dir());
        assert_eq!(fs::read_dir(&prepared).unwrap().count(), 0);
        // Idempotent: a second call on the existing directory succeeds.
        prepare_local_dir(&target).unwrap();
    }

    #[test]
    fn refuses_a_file_in_place_of_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain");
        fs::write(&file, b"x").unwrap();
        let err = prepare_local_dir(&file).unwrap_err();
        assert!(matches!(err, EngineError::NotADirectory { .. }), "{err}");
        assert!(err.to_string().contains("plain"));
    }

    #[test]
    fn reports_the_path_it_could_not_create() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("plain");
        fs::write(&file, b"x").unwrap();
        let err = prepare_local_dir(&file.join("below")).unwrap_err();
        assert!(matches!(err, EngineError::CreateDir { .. }), "{err}");
        assert!(err.to_string().contains("plain/below"), "{err}");
    }
}
