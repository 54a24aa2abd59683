//! Pack files: stored chunks laid end to end, at most `limit` bytes each.

use super::index::{BlobEntry, PackIndexFile};
use super::{ChunkId, Repository};
use crate::error::Result;

/// Collects encoded chunks and writes them as packs into a run directory.
pub struct PackWriter<'r> {
    repo: &'r Repository,
    dir: String,
    limit: u64,
    buf: Vec<u8>,
    blobs: Vec<BlobEntry>,
    /// Index files of the packs written so far.
    pub written: Vec<PackIndexFile>,
}

impl<'r> PackWriter<'r> {
    pub fn new(repo: &'r Repository, run_dir: &str, limit: u64) -> Self {
        PackWriter {
            repo,
            dir: format!("{run_dir}/packs"),
            limit: limit.max(1),
            buf: Vec::new(),
            blobs: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Appends one encoded chunk; writes the pack once it reaches the limit.
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

    /// Writes the pending pack, then its index file (so an index never names
    /// a pack that is not complete).
    pub fn flush(&mut self) -> Result<()> {
        if self.blobs.is_empty() {
            return Ok(());
        }
        let name = blake3::hash(&self.buf).to_hex();
        let pack = format!("{}/{}.pack", self.dir, &name[..32]);
        let size = self.buf.len() as u64;
        self.repo
            .backend()
            .write(&pack, std::mem::take(&mut self.buf))?;
        let file = PackIndexFile {
            pack: pack.clone(),
            size,
            blobs: std::mem::take(&mut self.blobs),
        };
        self.repo
            .write_meta(&format!("{}/{}.idx", self.dir, &name[..32]), &file)?;
        self.written.push(file);
        Ok(())
    }
}
