//! A new data directory as the restore target of a cluster point: the base
//! backup's tar stream is unpacked into it as it comes from the
//! repository, then checked against the server's own manifest of the copy
//! (`pg_verifybackup`: every file's size and checksum, and the WAL the copy
//! needs).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::{BASE_OBJECT, KIND};
use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;
use crate::source::postgres::binaries::is_root;
use crate::source::{Load, ObjectSink, Target};

pub struct PgDataDirTarget {
    dir: PathBuf,
    /// `pg_verifybackup` of the cluster's major version.
    verify: PathBuf,
}

impl PgDataDirTarget {
    /// `dir` must not exist, or be an empty directory.
    pub fn new(dir: PathBuf, bin: &Path) -> Self {
        PgDataDirTarget {
            dir,
            verify: bin.join("pg_verifybackup"),
        }
    }
}

/// Whether `dir` holds nothing (or does not exist yet).
pub fn is_free(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(EngineError::io(dir, e)),
    }
}

impl Target for PgDataDirTarget {
    fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    fn kind(&self) -> &'static str {
        KIND
    }

    fn free_space(&self) -> Option<u64> {
        crate::source::filetree::free_space_at(&self.dir)
    }

    fn existing(&self, names: &[&str]) -> Result<Vec<String>> {
        let free = is_free(&self.dir)?;
        Ok(names
            .iter()
            .filter(|n| !free && **n == BASE_OBJECT)
            .map(|n| n.to_string())
            .collect())
    }

    fn is_empty(&self) -> Result<bool> {
        is_free(&self.dir)
    }

    fn begin(&mut self, entry: &ObjectEntry, _load: &Load) -> Result<Box<dyn ObjectSink + '_>> {
        if entry.name != BASE_OBJECT {
            return Err(EngineError::invalid(
                format!("object {}", entry.name),
                "a data directory takes a cluster point's base.tar",
            ));
        }
        if !is_free(&self.dir)? {
            return Err(EngineError::Conflict(format!(
                "{} is not empty: a cluster is recovered into a new data directory",
                self.dir.display()
            )));
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| EngineError::io(&self.dir, e))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| EngineError::io(&self.dir, e))?;
        let (tx, rx) = sync_channel::<Vec<u8>>(16);
        let dir = self.dir.clone();
        let unpacker = std::thread::spawn(move || {
            let mut archive = tar::Archive::new(ChannelReader {
                rx,
                current: Vec::new(),
                at: 0,
            });
            archive.set_preserve_permissions(true);
            archive.set_preserve_mtime(true);
            archive.set_overwrite(false);
            archive.unpack(&dir).map_err(|e| e.to_string())
        });
        Ok(Box::new(UnpackSink {
            tx: Some(tx),
            unpacker: Some(unpacker),
            dir: self.dir.clone(),
        }))
    }

    fn finish(&mut self, _restored: &[(ObjectEntry, String)]) -> Result<()> {
        if is_root() {
            // The server runs as postgres and owns its data directory.
            let out = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.dir)
                .output()
                .map_err(|e| EngineError::io("chown", e))?;
            if !out.status.success() {
                return Err(EngineError::io(
                    &self.dir,
                    std::io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
                ));
            }
        }
        Ok(())
    }

    fn verify_object(&mut self, _entry: &ObjectEntry, _load: &Load) -> Result<Option<String>> {
        let out = std::process::Command::new(&self.verify)
            .arg("--quiet")
            .arg(&self.dir)
            .output()
            .map_err(|e| EngineError::io(&self.verify, e))?;
        Ok((!out.status.success()).then(|| {
            format!(
                "pg_verifybackup found the unpacked copy differs from the server's manifest of it: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        }))
    }
}

struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.rx.recv() {
                Ok(next) => {
                    self.current = next;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

struct UnpackSink {
    tx: Option<SyncSender<Vec<u8>>>,
    unpacker: Option<std::thread::JoinHandle<std::result::Result<(), String>>>,
    dir: PathBuf,
}

impl UnpackSink {
    fn join(&mut self) -> Result<()> {
        self.tx = None;
        match self.unpacker.take().map(|h| h.join()) {
            Some(Ok(Ok(()))) | None => Ok(()),
            Some(Ok(Err(e))) => Err(EngineError::io(&self.dir, std::io::Error::other(e))),
            Some(Err(_)) => Err(EngineError::io(
                &self.dir,
                std::io::Error::other("the unpacking thread panicked"),
            )),
        }
    }
}

impl ObjectSink for UnpackSink {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        let sent = self.tx.as_ref().map(|tx| tx.send(data.to_vec()));
        if matches!(sent, Some(Ok(()))) {
            return Ok(());
        }
        // The unpacker stopped: its error says why.
        self.join()?;
        Err(EngineError::io(
            &self.dir,
            std::io::Error::other("the tar stream ended before its data did"),
        ))
    }

    fn commit(mut self: Box<Self>) -> Result<Vec<String>> {
        self.join()?;
        Ok(Vec::new())
    }

    fn abort(mut self: Box<Self>) {
        let _ = self.join();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
