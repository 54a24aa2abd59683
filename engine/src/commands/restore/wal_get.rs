//! The WAL a recovering server asks for (`restore_command`), from the
//! repository: directly (`tidemark wal-get --repo R --task T %f %p`), or
//! through the recovery that started the server (`--socket S %f %p`), so
//! the recovering server never holds the repository's passphrase.
//!
//! A segment the archive holds only in part (the one that was being
//! written) is given padded with zeros to its full size, as the server
//! itself keeps a segment it is writing: recovery reads it up to the last
//! complete record.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::commands::archive::{WAL, WAL_HISTORY};
use crate::error::{EngineError, Result};
use crate::repo::archive::LogArchive;
use crate::repo::Repository;
use crate::source::postgres::cluster::wal::{is_history, segment_header, SegmentName};

/// The file the archive holds under `name`, as the server wants it.
pub fn wal_file(repo: &Repository, task: &str, name: &str) -> Result<Option<Vec<u8>>> {
    let stream = if is_history(name) {
        WAL_HISTORY
    } else if SegmentName::parse(name).is_some() {
        WAL
    } else {
        // `.backup` files and other names the server may ask for.
        return Ok(None);
    };
    let archive = LogArchive::new(repo, task, stream);
    let Some(segment) = archive.segment(name)? else {
        return Ok(None);
    };
    let mut bytes = archive.read(&segment, 0, segment.size)?;
    if stream == WAL {
        let size = segment_header(&bytes)
            .map(|(_, s)| s)
            .unwrap_or(crate::source::postgres::cluster::wal::DEFAULT_SEGMENT_SIZE);
        bytes.resize(size as usize, 0);
    }
    Ok(Some(bytes))
}

/// Writes `bytes` to `dest` whole or not at all.
fn write_whole(dest: &Path, bytes: &[u8]) -> Result<()> {
    let temp = dest.with_extension("tidemark-partial");
    std::fs::write(&temp, bytes).map_err(|e| EngineError::io(&temp, e))?;
    std::fs::rename(&temp, dest).map_err(|e| EngineError::io(dest, e))
}

/// `restore_command` straight from the repository; false when the archive
/// does not hold `name` (the server then looks elsewhere or ends recovery).
pub fn fetch_wal(repo: &Repository, task: &str, name: &str, dest: &Path) -> Result<bool> {
    match wal_file(repo, task, name)? {
        Some(bytes) => write_whole(dest, &bytes).map(|()| true),
        None => Ok(false),
    }
}

/// `restore_command` through a recovery's socket.
pub fn fetch_wal_via(socket: &Path, name: &str, dest: &Path) -> Result<bool> {
    let mut stream = UnixStream::connect(socket).map_err(|e| EngineError::io(socket, e))?;
    stream
        .write_all(format!("{name}\n").as_bytes())
        .map_err(|e| EngineError::io(socket, e))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| EngineError::io(socket, e))?;
    let line = line.trim_end();
    if line == "MISSING" {
        return Ok(false);
    }
    if let Some(message) = line.strip_prefix("ERROR ") {
        return Err(EngineError::invalid(format!("WAL file {name}"), message));
    }
    let length: u64 = line
        .strip_prefix("OK ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| EngineError::invalid("WAL socket", format!("unexpected answer {line:?}")))?;
    let mut bytes = Vec::with_capacity(length as usize);
    reader
        .take(length)
        .read_to_end(&mut bytes)
        .map_err(|e| EngineError::io(socket, e))?;
    if bytes.len() as u64 != length {
        return Err(EngineError::invalid(
            format!("WAL file {name}"),
            "the recovery's answer ended early",
        ));
    }
    write_whole(dest, &bytes).map(|()| true)
}

/// Answers a recovering server's `wal-get --socket` until `stop` is set.
pub(crate) struct WalService<'a> {
    pub repo: &'a Repository,
    pub task: &'a str,
    pub listener: UnixListener,
    pub stop: &'a AtomicBool,
    /// Files given, for the stats.
    pub served: &'a AtomicU64,
}

impl WalService<'_> {
    pub fn bind(socket: &Path) -> Result<UnixListener> {
        let listener = UnixListener::bind(socket).map_err(|e| EngineError::io(socket, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| EngineError::io(socket, e))?;
        Ok(listener)
    }

    pub fn run(&self) {
        while !self.stop.load(Ordering::Relaxed) {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Err(e) = self.answer(stream) {
                        tracing::warn!("WAL for the recovery: {e}");
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    tracing::warn!("WAL socket: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    fn answer(&self, stream: UnixStream) -> std::io::Result<()> {
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut name = String::new();
        reader.read_line(&mut name)?;
        let name = name.trim();
        let mut out = std::io::BufWriter::new(stream);
        match wal_file(self.repo, self.task, name) {
            Ok(Some(bytes)) => {
                writeln!(out, "OK {}", bytes.len())?;
                out.write_all(&bytes)?;
                self.served.fetch_add(1, Ordering::Relaxed);
            }
            Ok(None) => out.write_all(b"MISSING\n")?,
            Err(e) => writeln!(out, "ERROR {}", e.to_string().replace('\n', " "))?,
        }
        out.flush()
    }
}
