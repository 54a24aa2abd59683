//! The reading side of a backup. A few threads take the objects in turn,
//! so the tables of a database source are read at the same time, each on
//! its own connection in the source's one snapshot; each thread cuts its
//! stream into chunks and hashes them, and hands new chunks to the encoders.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Mutex;

use super::BackupPlan;
use crate::digest::{RowDigest, StreamDigest};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::chunker::Chunker;
use crate::repo::index::Index;
use crate::repo::manifest::{ChunkRef, ObjectEntry, ObjectKind, Part};
use crate::repo::{ChunkId, Compression, Repository};
use crate::source::{row_splitter, Source};
use crate::throttle::{Throttle, Throttled};

/// Objects read at the same time.
const READERS: usize = 2;

/// What every reader thread shares.
pub(super) struct Reader<'a> {
    pub repo: &'a Repository,
    pub source: &'a dyn Source,
    pub index: &'a Index,
    /// Chunks already handed to the encoders by this run.
    pub sent: Mutex<HashSet<ChunkId>>,
    pub work_tx: SyncSender<(ChunkId, Vec<u8>, i32)>,
    pub compression: Compression,
    pub progress: &'a dyn Progress,
    pub cancel: &'a CancelToken,
    pub chunker: crate::repo::ChunkerParams,
    /// The source's kind, which says how its table streams are cut into rows.
    pub kind: String,
    /// The read limit every reader shares.
    pub limit: Option<&'a Throttle>,
}

/// The objects as the point records them, in the plan's order.
pub(super) struct Read {
    pub objects: Vec<ObjectEntry>,
    pub warnings: Vec<String>,
    pub bytes_read: u64,
}

/// What one piece of reading work produced.
enum Done {
    /// A whole object (or nothing, when it vanished).
    Whole(Option<Box<ObjectEntry>>),
    /// One slice of an object read in several.
    Slice(Stream),
}

/// One object's content as read: its chunks, size, BLAKE3 and, for a
/// table, the digest of its rows.
struct Stream {
    chunks: Vec<ChunkRef>,
    size: u64,
    checksum: String,
    digest: Option<RowDigest>,
}

/// One piece of work: slice `slice` of the `of` slices of object `object`.
#[derive(Clone, Copy)]
struct Work {
    object: usize,
    slice: u32,
    of: u32,
}

impl Reader<'_> {
    pub fn read_all(self, plan: &BackupPlan) -> Result<Read> {
        let parent: HashMap<&str, &ObjectEntry> = plan
            .parent
            .iter()
            .flat_map(|p| p.objects.iter().map(|o| (o.name.as_str(), o)))
            .collect();
        let work: Vec<Work> = plan
            .objects
            .iter()
            .enumerate()
            .flat_map(|(object, entry)| {
                let of = match entry.kind {
                    ObjectKind::Table => self.source.slices(entry).max(1),
                    _ => 1,
                };
                (0..of).map(move |slice| Work { object, slice, of })
            })
            .collect();
        // Slices still unread per object: whoever reads the last counts it.
        let unread: Vec<AtomicU32> = plan.objects.iter().map(|_| AtomicU32::new(0)).collect();
        for w in &work {
            unread[w.object].fetch_add(1, Ordering::Relaxed);
        }
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let outcomes: Mutex<Vec<Vec<Option<Result<Done>>>>> = Mutex::new(
            work.iter()
                .filter(|w| w.slice == 0)
                .map(|w| (0..w.of).map(|_| None).collect())
                .collect(),
        );
        let threads = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..READERS)
                .map(|_| {
                    scope.spawn(|| {
                        let mut worker = Worker {
                            reader: &self,
                            warnings: Vec::new(),
                            bytes_read: 0,
                            window: Vec::new(),
                        };
                        while !stop.load(Ordering::Relaxed) {
                            let Some(&w) = work.get(next.fetch_add(1, Ordering::Relaxed)) else {
                                break;
                            };
                            let object = &plan.objects[w.object];
                            let outcome = if w.of == 1 {
                                worker
                                    .one(object, &parent)
                                    .map(|entry| Done::Whole(entry.map(Box::new)))
                            } else {
                                worker.read_slice(object, w.slice).map(Done::Slice)
                            };
                            if outcome.is_err() {
                                stop.store(true, Ordering::Relaxed);
                            } else if w.of > 1
                                && unread[w.object].fetch_sub(1, Ordering::Relaxed) == 1
                            {
                                self.progress.inc(0, 1);
                            }
                            outcomes.lock().unwrap_or_else(|p| p.into_inner())[w.object]
                                [w.slice as usize] = Some(outcome);
                        }
                        (worker.warnings, worker.bytes_read)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
        });
        let mut read = Read {
            objects: Vec::with_capacity(plan.objects.len()),
            warnings: Vec::new(),
            bytes_read: 0,
        };
        for thread in threads {
            let (warnings, bytes) =
                thread.map_err(|_| EngineError::invalid("backup", "a reader thread panicked"))?;
            read.warnings.extend(warnings);
            read.bytes_read += bytes;
        }
        // The first failure in the plan's order explains the stop.
        let outcomes = outcomes.into_inner().unwrap_or_else(|p| p.into_inner());
        for (object, slices) in plan.objects.iter().zip(outcomes) {
            let mut streams = Vec::new();
            for outcome in slices {
                match outcome.ok_or(EngineError::Cancelled)?? {
                    Done::Whole(entry) => read.objects.extend(entry.map(|e| *e)),
                    Done::Slice(stream) => streams.push(stream),
                }
            }
            if !streams.is_empty() {
                read.objects.push(joined(object, streams));
            }
        }
        Ok(read)
    }

    /// Whether `id` is new to this run (and now marked as sent).
    fn fresh(&self, id: ChunkId) -> bool {
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id)
    }
}

/// One reader thread.
struct Worker<'r, 'a> {
    reader: &'r Reader<'a>,
    warnings: Vec<String>,
    bytes_read: u64,
    /// The chunker's buffer, kept from one object to the next.
    window: Vec<u8>,
}

impl Worker<'_, '_> {
    fn one(
        &mut self,
        object: &ObjectEntry,
        parent: &HashMap<&str, &ObjectEntry>,
    ) -> Result<Option<ObjectEntry>> {
        self.reader.cancel.check()?;
        let has_content = matches!(
            object.kind,
            ObjectKind::File | ObjectKind::Table | ObjectKind::Schema
        );
        let reusable = parent
            .get(object.name.as_str())
            .filter(|p| self.unchanged(object, p));
        let entry = match (has_content, reusable) {
            (false, _) => Some(object.clone()),
            (true, Some(previous)) => {
                self.reader.progress.inc(object.size, 0);
                Some(ObjectEntry {
                    chunks: previous.chunks.clone(),
                    checksum: previous.checksum.clone(),
                    digest: previous.digest,
                    ..object.clone()
                })
            }
            (true, None) => match parent.get(object.name.as_str()) {
                Some(previous) if object.watermark.is_some() => {
                    Some(self.read_after_watermark(object, previous)?)
                }
                _ => self.read_object(object)?,
            },
        };
        self.reader.progress.inc(0, 1);
        Ok(entry)
    }

    /// An incremental reuses a file's chunks when size and modification
    /// time match the parent's record and every chunk is still stored.
    fn unchanged(&self, now: &ObjectEntry, before: &ObjectEntry) -> bool {
        now.kind == ObjectKind::File
            && before.kind == now.kind
            && before.size == now.size
            && before.mtime_ns.is_some()
            && before.mtime_ns == now.mtime_ns
            && before.checksum.is_some()
            && before
                .chunks
                .iter()
                .all(|c| self.reader.index.contains(&c.id))
    }

    /// A time-series table of a watermark incremental: the parent's parts
    /// (their chunks must still be stored), then the rows after them.
    fn read_after_watermark(
        &mut self,
        object: &ObjectEntry,
        previous: &ObjectEntry,
    ) -> Result<ObjectEntry> {
        if let Some(missing) = previous
            .chunks
            .iter()
            .find(|c| !self.reader.index.contains(&c.id))
        {
            return Err(EngineError::corrupt(
                format!("table {} of the parent point", object.name),
                format!(
                    "chunk {} is missing, so the rows up to the watermark cannot be kept: take a full backup",
                    missing.id.short()
                ),
            ));
        }
        let mut parts = previous.parts.clone();
        if parts.is_empty() {
            parts.push(Part {
                chunks: previous.chunks.len() as u32,
                checksum: previous.checksum.clone().unwrap_or_default(),
                after: None,
            });
        }
        let parent_bytes = previous.size;
        self.reader.progress.inc(parent_bytes.min(object.size), 0);
        if object.rows == previous.rows {
            // Nothing newer: the parent's content is this point's.
            return Ok(ObjectEntry {
                size: previous.size,
                chunks: previous.chunks.clone(),
                checksum: previous.checksum.clone(),
                digest: previous.digest,
                parts: previous.parts.clone(),
                ..object.clone()
            });
        }
        let newer = self
            .read_object(object)?
            .ok_or_else(|| EngineError::invalid(format!("table {}", object.name), "vanished"))?;
        parts.push(Part {
            chunks: newer.chunks.len() as u32,
            checksum: newer.checksum.clone().unwrap_or_default(),
            after: object.watermark.clone(),
        });
        let mut chunks = previous.chunks.clone();
        chunks.extend(newer.chunks);
        // Digests add up: the parent's rows and the newer ones. A parent
        // from before digests leaves it to the restore to compute.
        let digest = previous.digest.zip(newer.digest).map(|(mut all, newer)| {
            all.combine(&newer);
            all
        });
        Ok(ObjectEntry {
            size: parent_bytes + newer.size,
            checksum: None,
            digest,
            chunks,
            parts,
            ..object.clone()
        })
    }

    fn read_object(&mut self, object: &ObjectEntry) -> Result<Option<ObjectEntry>> {
        let reader = match self.reader.source.open(object) {
            Ok(reader) => reader,
            Err(EngineError::Io { source, path })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                self.warnings.push(format!(
                    "{} vanished before it could be read; it is not in this point",
                    path.display()
                ));
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        let stream = self.read_stream(object, reader)?;
        // A table's listed size is an estimate; a file's is exact (not a
        // generated stream's, which has a format: a base backup's tar).
        if object.kind == ObjectKind::File && object.format.is_none() && stream.size != object.size
        {
            self.warnings.push(format!(
                "{} changed while it was read ({} bytes when listed, {} read); the point holds what was read",
                object.name, object.size, stream.size
            ));
        }
        let mut entry = ObjectEntry {
            size: stream.size,
            checksum: Some(stream.checksum),
            digest: stream.digest,
            chunks: stream.chunks,
            ..object.clone()
        };
        // A source without a snapshot counts what it streamed (InfluxDB).
        if let Some(read) = self.reader.source.read_stats(object) {
            entry.rows = Some(read.rows);
            entry.time_min = read.time_min;
            entry.time_max = read.time_max;
        }
        Ok(Some(entry))
    }

    /// Slice `n` of an object read in several.
    fn read_slice(&mut self, object: &ObjectEntry, n: u32) -> Result<Stream> {
        self.reader.cancel.check()?;
        let reader = self.reader.source.open_slice(object, n)?;
        self.read_stream(object, reader)
    }

    /// Cuts a stream into chunks, hands the new ones to the encoders.
    fn read_stream(
        &mut self,
        object: &ObjectEntry,
        reader: Box<dyn std::io::Read + Send + '_>,
    ) -> Result<Stream> {
        let reader: Box<dyn std::io::Read + Send + '_> = match self.reader.limit {
            Some(limit) => Box::new(Throttled::new(reader, limit, self.reader.cancel)),
            None => reader,
        };
        let params = self.reader.chunker;
        let level = self
            .reader
            .compression
            .zstd_level_for(object.kind == ObjectKind::Table);
        let mut hasher = blake3::Hasher::new();
        let mut rows = row_splitter(&self.reader.kind, object).map(StreamDigest::new);
        let mut chunks = Vec::new();
        let mut size = 0u64;
        let mut chunker = Chunker::with_buffer(reader, params, std::mem::take(&mut self.window));
        loop {
            self.reader.cancel.check()?;
            let next = chunker.next_chunk().map_err(|e| {
                EngineError::invalid(
                    format!("reading {} from {}", object.name, self.reader.source.url()),
                    e.to_string(),
                )
            })?;
            let Some(data) = next else { break };
            hasher.update(&data);
            if let Some(rows) = rows.as_mut() {
                rows.feed(&data).map_err(|e| unreadable(object, e))?;
            }
            let id = self.reader.repo.chunk_id(&data);
            let len = data.len() as u32;
            size += data.len() as u64;
            self.bytes_read += data.len() as u64;
            chunks.push(ChunkRef { id, len });
            if !self.reader.index.contains(&id) && self.reader.fresh(id) {
                // A closed channel means the pack writer failed; its error is reported.
                self.reader
                    .work_tx
                    .send((id, data, level))
                    .map_err(|_| EngineError::invalid("backup", "the pack writer stopped"))?;
            }
            self.reader.progress.inc(len as u64, 0);
        }
        self.window = chunker.into_buffer();
        let digest = match rows {
            Some(rows) => Some(rows.finish().map_err(|e| unreadable(object, e))?.0),
            None => None,
        };
        Ok(Stream {
            chunks,
            size,
            checksum: hasher.finalize().to_hex().to_string(),
            digest,
        })
    }
}

/// The source's stream of `object` is not in the form its kind stores.
fn unreadable(object: &ObjectEntry, err: EngineError) -> EngineError {
    EngineError::invalid(
        format!("stream of {}", object.name),
        format!("its rows cannot be read for the content digest: {err}"),
    )
}

/// An object read in slices: one entry whose parts are the slices in order.
fn joined(object: &ObjectEntry, streams: Vec<Stream>) -> ObjectEntry {
    let digest = streams.iter().try_fold(RowDigest::default(), |mut all, s| {
        all.combine(s.digest.as_ref()?);
        Some(all)
    });
    let mut entry = ObjectEntry {
        size: streams.iter().map(|s| s.size).sum(),
        checksum: None,
        digest,
        chunks: Vec::new(),
        parts: Vec::with_capacity(streams.len()),
        ..object.clone()
    };
    for stream in streams {
        entry.parts.push(Part {
            chunks: stream.chunks.len() as u32,
            checksum: stream.checksum,
            after: None,
        });
        entry.chunks.extend(stream.chunks);
    }
    entry
}
