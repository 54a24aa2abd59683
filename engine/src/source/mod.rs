//! Sources (what is backed up) and restore targets (where it goes back).
//!
//! A source describes itself (kind, server version, objects with sizes)
//! and streams each object's content; a target takes objects back, one
//! at a time, and makes each visible only once it is complete.

mod dbio;
mod dburl;
mod filetree;
mod mysql;
pub(crate) mod postgres;
mod selector;
mod sqlite;
mod sqlite_frames;
mod sqlite_target;
mod url;

use std::io::Read;

pub use filetree::{FileTreeSource, FileTreeTarget};
pub use mysql::{MySqlSource, MySqlTarget};
pub use postgres::{PgLocation, PostgresSource, PostgresTarget};
pub use sqlite::SqliteSource;
pub use sqlite_target::SqliteTarget;
pub use url::SourceUrl;

use crate::error::Result;
use crate::repo::manifest::{ObjectEntry, Selection};

/// What a source holds right now.
#[derive(Debug, Clone)]
pub struct SourceDescription {
    /// `file-tree`, `sqlite`, ...
    pub kind: String,
    pub server_version: Option<String>,
    /// The objects selected, with metadata; content fields are empty.
    pub objects: Vec<ObjectEntry>,
}

pub trait Source: Send + Sync {
    /// The source URL without credentials, for manifests and messages.
    fn url(&self) -> String;
    /// A short name for run directories (the database or directory name).
    fn name(&self) -> String;
    fn describe(&self) -> Result<SourceDescription>;
    /// Streams one object's content.
    fn open(&self, object: &ObjectEntry) -> Result<Box<dyn Read + Send + '_>>;
}

pub trait Target: Send {
    fn url(&self) -> String;
    /// The source kind this target takes back (`file-tree`, `sqlite`, `postgres`).
    fn kind(&self) -> &'static str;
    /// The server's version for database targets; connecting checks that
    /// the target is reachable and the credentials are valid.
    fn server_version(&self) -> Result<Option<String>> {
        Ok(None)
    }
    /// Bytes free where the target writes, when that can be known.
    fn free_space(&self) -> Option<u64> {
        None
    }
    /// Which of `names` already exist at the target.
    fn existing(&self, names: &[&str]) -> Result<Vec<String>>;
    /// Whether the target holds nothing yet.
    fn is_empty(&self) -> Result<bool>;
    /// Starts restoring one object under `name`; `overwrite` allows
    /// replacing an object of that name.
    fn begin(
        &mut self,
        entry: &ObjectEntry,
        name: &str,
        overwrite: bool,
    ) -> Result<Box<dyn ObjectSink + '_>>;
    /// Called once every object is restored (directory times, indexes...).
    fn finish(&mut self, restored: &[(ObjectEntry, String)]) -> Result<()>;
}

/// Receives one object's content. Nothing is visible at the target until
/// `commit`; `abort` (or dropping) leaves the target as it was.
pub trait ObjectSink {
    fn write(&mut self, data: &[u8]) -> Result<()>;
    /// Makes the object visible; returns notes for the administrator
    /// (things restored differently from the source, and why).
    fn commit(self: Box<Self>) -> Result<Vec<String>>;
    fn abort(self: Box<Self>);
}

/// Opens the source a URL names, applying the selection.
pub fn open_source(url: &SourceUrl, selection: &Selection) -> Result<Box<dyn Source>> {
    match url {
        SourceUrl::FileTree(root) => Ok(Box::new(FileTreeSource::new(
            root.clone(),
            &selection.include,
            &selection.exclude,
        )?)),
        SourceUrl::Sqlite(path) => Ok(Box::new(SqliteSource::new(
            path.clone(),
            &selection.include,
            &selection.exclude,
        )?)),
        SourceUrl::Postgres(at) => Ok(Box::new(PostgresSource::new(at.clone(), selection)?)),
        SourceUrl::MySql(at) => Ok(Box::new(MySqlSource::new(at.clone(), selection)?)),
    }
}

/// Opens the restore target a URL names.
pub fn open_target(url: &SourceUrl) -> Result<Box<dyn Target>> {
    match url {
        SourceUrl::FileTree(root) => Ok(Box::new(FileTreeTarget::new(root.clone()))),
        SourceUrl::Sqlite(path) => Ok(Box::new(SqliteTarget::open(path.clone())?)),
        SourceUrl::Postgres(at) => Ok(Box::new(PostgresTarget::open(at.clone())?)),
        SourceUrl::MySql(at) => Ok(Box::new(MySqlTarget::open(at.clone())?)),
    }
}
