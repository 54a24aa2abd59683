//! Reading restored files back while the restore goes on. Each file is
//! read and hashed on a thread of its own as soon as it is written, from
//! the filesystem as any reader sees it, so that the check after the commit
//! has only to confirm that the committed file is the one read (same
//! device, inode and size). The read-back then costs the restore little
//! more than the spare core it runs on.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// What one file read back as.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReadBack {
    /// Which file, and its modification time: one written to since is read again.
    identity: (u64, u64, i64, i64),
    size: u64,
    blake3: String,
}

type Results = Arc<Mutex<HashMap<PathBuf, ReadBack>>>;

pub(super) struct EarlyReadBack {
    queue: Mutex<Option<Sender<(PathBuf, PathBuf)>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    results: Results,
}

impl EarlyReadBack {
    pub fn start() -> Self {
        let (tx, rx) = channel::<(PathBuf, PathBuf)>();
        let results = Results::default();
        let done = Arc::clone(&results);
        let worker = std::thread::Builder::new()
            .name("tidemark-read-back".into())
            .spawn(move || {
                let mut buf = vec![0u8; 1 << 20];
                for (path, written) in rx {
                    // A file that cannot be read here is read again, and
                    // its error reported, by the check after the commit.
                    // Committed already (the last files of a restore can
                    // be renamed before their turn here): read it there.
                    let read =
                        read_back(&written, &mut buf).or_else(|_| read_back(&path, &mut buf));
                    if let Ok(read) = read {
                        done.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(path, read);
                    }
                }
            })
            .ok();
        EarlyReadBack {
            queue: Mutex::new(worker.as_ref().map(|_| tx)),
            worker: Mutex::new(worker),
            results,
        }
    }

    /// Reads back `written`, complete, which the commit will name `path`.
    pub fn queue(&self, path: &Path, written: &Path) {
        if let Some(tx) = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            let _ = tx.send((path.to_path_buf(), written.to_path_buf()));
        }
    }

    /// The size and BLAKE3 of the file now at `path`, when it was read
    /// early and is still that file; waits for the reading to end.
    pub fn result(&self, path: &Path) -> Option<(u64, String)> {
        self.wait();
        let read = self
            .results
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .cloned()?;
        let file = File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        if identity(&meta) != read.identity || meta.len() != read.size {
            return None;
        }
        super::filetree::drop_cached(&file);
        Some((read.size, read.blake3))
    }

    fn wait(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker {
            let _ = worker.join();
        }
    }
}

impl Drop for EarlyReadBack {
    fn drop(&mut self) {
        self.wait();
    }
}

fn identity(meta: &std::fs::Metadata) -> (u64, u64, i64, i64) {
    (meta.dev(), meta.ino(), meta.mtime(), meta.mtime_nsec())
}

fn read_back(path: &Path, buf: &mut [u8]) -> std::io::Result<ReadBack> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = file.read(buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(ReadBack {
        identity: identity(&meta),
        size,
        blake3: hasher.finalize().to_hex().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_read_early_counts_only_while_it_is_the_committed_one() {
        let dir = tempfile::tempdir().unwrap();
        let (temp, path) = (dir.path().join(".a.partial"), dir.path().join("a"));
        std::fs::write(&temp, b"restored bytes").unwrap();
        let early = EarlyReadBack::start();
        early.queue(&path, &temp);
        std::fs::rename(&temp, &path).unwrap();
        let expected = blake3::hash(b"restored bytes").to_hex().to_string();
        assert_eq!(early.result(&path), Some((14, expected)));
        // Replaced by another file since: not the one read, read it again.
        std::fs::write(dir.path().join("b"), b"other bytes!!!").unwrap();
        std::fs::rename(dir.path().join("b"), &path).unwrap();
        assert_eq!(early.result(&path), None);
        assert_eq!(early.result(&dir.path().join("never-queued")), None);
    }
}
