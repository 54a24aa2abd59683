//! One file of a point, read chunk by chunk for a download: each chunk is
//! checked as it is decoded, and the whole content against the point's
//! BLAKE3 at the end, so a damaged repository ends the download with an
//! error instead of handing out altered bytes.

use super::object::fetch_chunk;
use crate::error::{EngineError, Result};
use crate::repo::index::Index;
use crate::repo::manifest::{ChunkRef, Manifest, ObjectKind};
use crate::repo::Repository;

/// The file's content, a chunk at a time (an iterator of byte blocks).
pub struct FileChunks<'r> {
    repo: &'r Repository,
    index: Index,
    name: String,
    chunks: std::vec::IntoIter<ChunkRef>,
    hasher: blake3::Hasher,
    expected: Option<String>,
    done: bool,
}

/// Opens file `name` of `point` for reading; tables and folders are refused
/// (a table is restored into a database, not downloaded as its stream).
pub fn read_file<'r>(repo: &'r Repository, point: &Manifest, name: &str) -> Result<FileChunks<'r>> {
    let entry = point
        .objects
        .iter()
        .find(|o| o.name == name)
        .ok_or_else(|| {
            EngineError::invalid(
                "download",
                format!("point {} holds no object {name:?}", point.id),
            )
        })?;
    if entry.kind != ObjectKind::File {
        return Err(EngineError::invalid(
            "download",
            format!(
                "{name:?} is a {}; only files can be downloaded",
                entry.kind.as_str()
            ),
        ));
    }
    Ok(FileChunks {
        repo,
        index: Index::load(repo)?,
        name: name.to_owned(),
        chunks: entry.chunks.clone().into_iter(),
        hasher: blake3::Hasher::new(),
        expected: entry.checksum.clone(),
        done: false,
    })
}

impl Iterator for FileChunks<'_> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.chunks.next() {
            Some(chunk) => {
                let read = fetch_chunk(self.repo, &self.index, chunk.id, &self.name);
                match &read {
                    Ok(bytes) => {
                        self.hasher.update(bytes);
                    }
                    Err(_) => self.done = true,
                }
                Some(read)
            }
            None => {
                self.done = true;
                let actual = self.hasher.finalize().to_hex().to_string();
                match &self.expected {
                    Some(expected) if *expected != actual => Some(Err(EngineError::corrupt(
                        format!("object {}", self.name),
                        format!("reads back with BLAKE3 {actual}, the point holds {expected}"),
                    ))),
                    _ => None,
                }
            }
        }
    }
}
