//! What a file-tree restore writes each object through: a file (to its
//! temporary name, then staged for the rename at `finish`), a link, or
//! nothing (directories, files kept as they are).

use std::fs::{self, File};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::PathBuf;

use super::{system_time, Staged};
use crate::error::{EngineError, Result};
use crate::source::early_read::EarlyReadBack;
use crate::source::ObjectSink;
use crate::storage::direct::{AlignedBuf, DirectWriter};

pub(super) struct NoContent;

impl ObjectSink for NoContent {
    fn write(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn abort(self: Box<Self>) {}
}

pub(super) struct SymlinkSink<'a> {
    pub(super) staged: &'a mut Vec<Staged>,
    pub(super) link: Staged,
    pub(super) target: String,
}

impl ObjectSink for SymlinkSink<'_> {
    fn write(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<Vec<String>> {
        let _ = fs::remove_file(&self.link.temp);
        symlink(&self.target, &self.link.temp).map_err(|e| EngineError::io(&self.link.temp, e))?;
        self.staged.push(self.link);
        Ok(Vec::new())
    }
    fn abort(self: Box<Self>) {}
}

pub(super) struct FileSink<'a> {
    pub(super) file: Option<DirectWriter>,
    pub(super) buf: &'a mut Option<AlignedBuf>,
    pub(super) staged: &'a mut Vec<Staged>,
    pub(super) early: Option<&'a EarlyReadBack>,
    pub(super) temp: PathBuf,
    pub(super) path: PathBuf,
    pub(super) mode: Option<u32>,
    pub(super) mtime_ns: Option<i128>,
    pub(super) overwrite: bool,
}

impl ObjectSink for FileSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        match self.file.as_mut() {
            Some(writer) => writer
                .write(data)
                .map_err(|e| EngineError::io(&self.temp, e)),
            None => Ok(()),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<Vec<String>> {
        let Some(writer) = self.file.take() else {
            return Ok(Vec::new());
        };
        let result = writer
            .finish()
            .map_err(|e| EngineError::io(&self.temp, e))
            .and_then(|(file, buf)| {
                if buf.is_some() {
                    *self.buf = buf;
                }
                self.finish_file(file)
            });
        if result.is_err() {
            let _ = fs::remove_file(&self.temp);
            return result.map(|()| Vec::new());
        }
        let staged = Staged {
            temp: self.temp.clone(),
            path: self.path.clone(),
            overwrite: self.overwrite,
        };
        self.staged.push(staged);
        if let Some(early) = self.early {
            early.queue(&self.path, &self.temp);
        }
        Ok(Vec::new())
    }

    fn abort(mut self: Box<Self>) {
        self.file.take();
        let _ = fs::remove_file(&self.temp);
    }
}

impl FileSink<'_> {
    /// Sets metadata and starts writing the temporary file out.
    fn finish_file(&self, file: File) -> Result<()> {
        let io = |e| EngineError::io(&self.temp, e);
        if let Some(mode) = self.mode {
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(io)?;
        }
        if let Some(ns) = self.mtime_ns {
            file.set_modified(system_time(ns)).map_err(io)?;
        }
        // Durability comes from one syncfs in `finish`, not an fsync per
        // file; starting this file's writeback now overlaps it with the rest
        // of the restore, so that syncfs has little left to wait for.
        start_writeback(&file);
        drop(file);
        Ok(())
    }
}

impl Drop for FileSink<'_> {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Asks the kernel to start writing `file` out, without waiting for it.
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call; a failure
    // only means no early start, and the final syncfs still makes it durable.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}
