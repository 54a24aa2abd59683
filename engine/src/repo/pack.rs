//! Pack files: stored chunks laid end to end, at most `limit` bytes each.
//!
//! [`PackWriter`] assembles packs; [`write_pack`] stores one (pack first,
//! then its index file, so an index never names an incomplete pack). A
//! backup runs them on different threads so assembling goes on while a
//! finished pack is written and synced.

use std::sync::mpsc::SyncSender;

use super::index::{BlobEntry, PackIndexFile};
use super::{ChunkId, Repository};
use crate::error::{EngineError, Result};

/// A pack ready to be stored.
pub struct FinishedPack {
    pub name: String,
    pub data: Vec<u8>,
    pub index: PackIndexFile,
}

/// Stores a finished pack and then its index file.
pub fn write_pack(repo: &Repository, pack: FinishedPack) -> Result<PackIndexFile> {
    repo.backend().write(&pack.index.pack, pack.data)?;
    repo.write_meta(&format!("{}.idx", pack.name), &pack.index)?;
    Ok(pack.index)
}

/// Collects encoded chunks into packs and hands each finished one on.
pub struct PackWriter {
    dir: String,
    limit: u64,
    buf: Vec<u8>,
    blobs: Vec<BlobEntry>,
    out: SyncSender<FinishedPack>,
}

impl PackWriter {
    pub fn new(run_dir: &str, limit: u64, out: SyncSender<FinishedPack>) -> Self {
        PackWriter {
            dir: format!("{run_dir}/packs"),
            limit: limit.max(1),
            buf: Vec::new(),
            blobs: Vec::new(),
            out,
        }
    }

    /// Appends one encoded chunk; hands the pack on once it reaches the limit.
    pub fn add(&mut self, id: ChunkId, stored: &[u8], raw_length: u32) -> Result<()> {
        // A blob never spans packs: a pack may exceed the limit by one chunk.
        self.blobs.push(BlobEntry {
            id,
            offset: self.buf.len() as u64,
            length: stored.len() as u32,
            raw_length,
        });
        self.buf.extend_from_slice(stored);
        if self.buf.len() as u64 >= self.limit {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands on the pending pack, if any.
    pub fn flush(&mut self) -> Result<()> {
        if self.blobs.is_empty() {
            return Ok(());
        }
        let hash = blake3::hash(&self.buf).to_hex();
        let name = format!("{}/{}", self.dir, &hash[..32]);
        let data = std::mem::take(&mut self.buf);
        let index = PackIndexFile {
            pack: format!("{name}.pack"),
            size: data.len() as u64,
            blobs: std::mem::take(&mut self.blobs),
        };
        self.out
            .send(FinishedPack { name, data, index })
            .map_err(|_| EngineError::invalid("backup", "the pack writer stopped"))
    }
}
