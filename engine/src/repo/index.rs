//! The index: where each stored chunk is (pack, offset, length).
//!
//! Every pack has an `.idx` file beside it, written after the pack. The
//! index is the union of all of them, including those of runs that never
//! published a point, so a rerun after a crash reuses what was stored.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{ChunkId, Repository};
use crate::error::Result;

/// The `.idx` file of one pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackIndexFile {
    pub pack: String,
    pub size: u64,
    pub blobs: Vec<BlobEntry>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BlobEntry {
    pub id: ChunkId,
    pub offset: u64,
    pub length: u32,
    pub raw_length: u32,
}

/// Where one chunk is stored.
#[derive(Debug, Clone)]
pub struct BlobLocation {
    pub pack: Arc<str>,
    pub offset: u64,
    pub length: u32,
    pub raw_length: u32,
}

#[derive(Debug, Default)]
pub struct Index {
    blobs: HashMap<ChunkId, BlobLocation>,
    /// Every readable index file: the packs and what each holds.
    pub files: Vec<PackIndexFile>,
    /// Index files that could not be read, with the reason.
    pub damaged: Vec<String>,
}

impl Index {
    /// Reads every index file of the repository. A damaged index file is
    /// recorded in `damaged`, not fatal: its chunks count as absent and a
    /// backup stores them again.
    pub fn load(repo: &Repository) -> Result<Index> {
        let mut index = Index::default();
        for path in repo.backend().list("runs")? {
            if !path.ends_with(".idx") {
                continue;
            }
            match repo.read_meta::<PackIndexFile>(&path) {
                Ok(file) => index.add(&file),
                Err(err) => index.damaged.push(format!("{path}: {err}")),
            }
        }
        Ok(index)
    }

    pub fn add(&mut self, file: &PackIndexFile) {
        let pack: Arc<str> = file.pack.as_str().into();
        self.files.push(file.clone());
        for blob in &file.blobs {
            self.blobs.entry(blob.id).or_insert_with(|| BlobLocation {
                pack: pack.clone(),
                offset: blob.offset,
                length: blob.length,
                raw_length: blob.raw_length,
            });
        }
    }

    pub fn get(&self, id: &ChunkId) -> Option<&BlobLocation> {
        self.blobs.get(id)
    }

    pub fn contains(&self, id: &ChunkId) -> bool {
        self.blobs.contains_key(id)
    }

    /// Every distinct chunk once, wherever it was stored first.
    pub fn blobs(&self) -> impl Iterator<Item = &BlobLocation> {
        self.blobs.values()
    }
}
