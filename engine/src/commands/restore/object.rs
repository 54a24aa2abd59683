//! Writing one object at the target: its chunks in order from the fetch
//! workers, each part checked against its checksum before the object is
//! committed.

use std::collections::BTreeMap;
use std::sync::mpsc::Receiver;

use super::{Fetched, PlannedObject};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::blob;
use crate::repo::index::Index;
use crate::repo::manifest::Part;
use crate::repo::Repository;
use crate::digest::{RowDigest, RowTally, StreamDigest};
use crate::source::{row_splitter, Load, Target};

/// What restoring one object gives besides the target's notes: the
/// digest of the rows it loaded, computed from the stored stream (and
/// each row's hash when asked for).
#[derive(Default)]
pub(super) struct Loaded {
    pub notes: Vec<String>,
    pub digest: Option<RowDigest>,
    pub tally: Option<RowTally>,
}
/// Hands out decoded chunks in the order they were asked for.
pub(super) struct InOrder {
    pub rx: Receiver<Fetched>,
    pub pending: BTreeMap<u64, Result<Vec<u8>>>,
    pub next: u64,
}

impl InOrder {
    fn next_chunk(&mut self) -> Result<Vec<u8>> {
        loop {
            if let Some(fetched) = self.pending.remove(&self.next) {
                self.next += 1;
                return fetched;
            }
            match self.rx.recv() {
                Ok((seq, fetched)) => {
                    self.pending.insert(seq, fetched);
                }
                Err(_) => return Err(EngineError::Cancelled),
            }
        }
    }
}

/// How the rows of the object's stream are digested while it is written.
pub(super) struct Digesting<'a> {
    /// The point's source kind, which says how its streams are cut into rows.
    pub kind: &'a str,
    /// Keep each row's hash too (a merge checks every row is present).
    pub keep_rows: bool,
}

pub(super) fn restore_one(
    object: &PlannedObject,
    load: &Load,
    chunks: &mut InOrder,
    target: &mut dyn Target,
    digesting: &Digesting<'_>,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Loaded> {
    let entry = &object.entry;
    let total = entry.chunks.len();
    let mut used = 0;
    // Whatever happens to this object, its chunks are taken off the queue so
    // the next object starts at its own.
    let skip_rest = |used: usize, chunks: &mut InOrder| {
        for _ in used..total {
            let _ = chunks.next_chunk();
        }
    };
    let mut sink = match target.begin(entry, load) {
        Ok(sink) => sink,
        Err(err) => {
            skip_rest(0, chunks);
            return Err(err);
        }
    };
    // One stream, or the parts of a watermark chain, each with its checksum.
    let whole = [Part {
        chunks: total as u32,
        checksum: entry.checksum.clone().unwrap_or_default(),
        after: None,
    }];
    let parts = if entry.parts.is_empty() {
        &whole[..]
    } else {
        &entry.parts[..]
    };
    if parts.iter().map(|p| p.chunks as usize).sum::<usize>() != total {
        skip_rest(0, chunks);
        sink.abort();
        return Err(EngineError::corrupt(
            format!("object {}", object.name),
            "its parts do not add up to its chunks",
        ));
    }
    let splitter = || row_splitter(digesting.kind, entry);
    let mut rows = splitter().map(|s| {
        let digest = StreamDigest::new(s);
        if digesting.keep_rows {
            digest.keeping_rows()
        } else {
            digest
        }
    });
    for (number, part) in parts.iter().enumerate() {
        let mut started = if number == 0 {
            Ok(())
        } else {
            sink.next_part()
        };
        if let (Some(rows), Some(next), true) = (rows.as_mut(), splitter(), number > 0) {
            started = started.and_then(|()| rows.next_part(next));
        }
        let mut hasher = blake3::Hasher::new();
        let mut outcome = started;
        for _ in 0..part.chunks {
            outcome = outcome.and_then(|()| cancel.check()).and_then(|()| {
                // Counted once taken off the queue, so skip_rest stays in step.
                used += 1;
                let data = chunks.next_chunk()?;
                hasher.update(&data);
                if let Some(rows) = rows.as_mut() {
                    rows.feed(&data)?;
                }
                sink.write(&data)?;
                progress.inc(data.len() as u64, 0);
                Ok(())
            });
            if outcome.is_err() {
                break;
            }
        }
        let checked = outcome.and_then(|()| {
            let actual = hasher.finalize().to_hex().to_string();
            if part.checksum.is_empty() || actual == part.checksum {
                return Ok(());
            }
            Err(EngineError::corrupt(
                format!("object {}", object.name),
                format!(
                    "restored content has checksum {actual}, the manifest records {}",
                    part.checksum
                ),
            ))
        });
        if let Err(err) = checked {
            sink.abort();
            skip_rest(used, chunks);
            return Err(err);
        }
    }
    let (digest, tally) = match rows.map(StreamDigest::finish).transpose() {
        Ok(Some((digest, tally))) => (Some(digest), tally),
        Ok(None) => (None, None),
        Err(err) => {
            sink.abort();
            return Err(err);
        }
    };
    // The stored stream must hold the rows the backup digested.
    if let (Some(recorded), Some(computed)) = (&entry.digest, &digest) {
        if recorded != computed {
            sink.abort();
            return Err(EngineError::corrupt(
                format!("object {}", object.name),
                format!("its stored rows have digest {computed}, the manifest records {recorded}"),
            ));
        }
    }
    Ok(Loaded {
        notes: sink.commit()?,
        digest,
        tally,
    })
}

/// Reads, decrypts, decompresses and checks one chunk.
pub(crate) fn fetch_chunk(
    repo: &Repository,
    index: &Index,
    id: crate::repo::ChunkId,
    object: &str,
) -> Result<Vec<u8>> {
    let location = index.get(&id).ok_or_else(|| {
        EngineError::corrupt(
            format!("object {object}"),
            format!("chunk {} is missing from the repository", id.short()),
        )
    })?;
    let stored =
        repo.backend()
            .read_range(&location.pack, location.offset, location.length as u64)?;
    blob::decode(&stored, id, location.raw_length, repo.key(), &|| {
        format!(
            "pack {} at offset {} (needed by {object})",
            location.pack, location.offset
        )
    })
}
