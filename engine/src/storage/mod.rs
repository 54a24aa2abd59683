//! Storage backends: where repositories live.
//!
//! The engine talks to storage through [`Backend`] only: whole-object reads
//! and writes, ranged reads, listing and deletion, with paths relative to
//! the repository root. OpenDAL provides the local filesystem and S3;
//! another OpenDAL service (WebHDFS, SFTP) is one more arm in [`open`].

pub(crate) mod direct;
pub mod local;
mod location;
mod opendal_backend;

pub use location::{RepoLocation, S3Credentials};
pub use opendal_backend::OpendalBackend;

use crate::error::Result;

/// A repository's storage. Paths use `/` and are relative to the root.
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Where this is, for messages (`/srv/backups/repo`, `s3://bucket/prefix`).
    fn location(&self) -> &str;
    /// Reads a whole object.
    fn read(&self, path: &str) -> Result<Vec<u8>>;
    /// Reads `len` bytes at `offset`.
    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>>;
    /// Writes a whole object. It becomes visible complete or not at all, and
    /// is durable when this returns.
    fn write(&self, path: &str, data: Vec<u8>) -> Result<()>;
    /// Whether an object exists.
    fn exists(&self, path: &str) -> Result<bool>;
    /// Every object under `dir` (recursively), as paths relative to the root.
    fn list(&self, dir: &str) -> Result<Vec<String>>;
    /// Deletes an object; deleting a missing one is not an error.
    fn delete(&self, path: &str) -> Result<()>;
}

/// Opens the backend a location names.
pub fn open(location: &RepoLocation) -> Result<Box<dyn Backend>> {
    Ok(Box::new(OpendalBackend::open(location)?))
}
