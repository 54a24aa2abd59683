//! How much a repository holds, and how much deduplication and compression
//! save: what an administrator looks at before buying more storage.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::index::Index;
use super::Repository;
use crate::error::Result;

/// Sizes of a repository's points and stored data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoUsage {
    /// Published points.
    pub points: u64,
    /// Manifests that could not be read (not counted in `logical_bytes`).
    pub damaged_manifests: u64,
    /// Index files that could not be read (their packs are not counted).
    pub damaged_index_files: u64,
    /// The sum of every point's size: what restoring all of them would write.
    pub logical_bytes: u64,
    /// Distinct chunks' bytes before compression.
    pub unique_bytes: u64,
    /// Pack files' bytes: what the storage holds (after compression and
    /// encryption, including chunks no point needs any more until a prune).
    pub stored_bytes: u64,
    pub packs: u64,
}

impl RepoUsage {
    /// Logical bytes per unique byte: 2.0 when every byte is stored for two
    /// points. 1.0 for an empty repository.
    pub fn dedup_ratio(&self) -> f64 {
        ratio(self.logical_bytes, self.unique_bytes)
    }

    /// Unique bytes per stored byte: 3.0 when compression shrinks data to a
    /// third. 1.0 for an empty repository.
    pub fn compression_ratio(&self) -> f64 {
        ratio(self.unique_bytes, self.stored_bytes)
    }
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        1.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// The fields and both ratios, so JSON readers need not compute them.
impl Serialize for RepoUsage {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("RepoUsage", 9)?;
        s.serialize_field("points", &self.points)?;
        s.serialize_field("damaged_manifests", &self.damaged_manifests)?;
        s.serialize_field("damaged_index_files", &self.damaged_index_files)?;
        s.serialize_field("logical_bytes", &self.logical_bytes)?;
        s.serialize_field("unique_bytes", &self.unique_bytes)?;
        s.serialize_field("stored_bytes", &self.stored_bytes)?;
        s.serialize_field("packs", &self.packs)?;
        s.serialize_field("dedup_ratio", &self.dedup_ratio())?;
        s.serialize_field("compression_ratio", &self.compression_ratio())?;
        s.end()
    }
}

impl Repository {
    /// Reads every manifest and index file; damaged ones are counted, not
    /// fatal, so a partly damaged repository still shows its size.
    pub fn usage(&self) -> Result<RepoUsage> {
        let (points, damaged) = self.points()?;
        let index = Index::load(self)?;
        Ok(RepoUsage {
            points: points.len() as u64,
            damaged_manifests: damaged.len() as u64,
            damaged_index_files: index.damaged.len() as u64,
            logical_bytes: points.iter().map(|p| p.totals.bytes).sum(),
            unique_bytes: index.blobs().map(|b| u64::from(b.raw_length)).sum(),
            // One index file per pack, beside it.
            stored_bytes: index.files.iter().map(|f| f.size).sum(),
            packs: index.files.len() as u64,
        })
    }
}
