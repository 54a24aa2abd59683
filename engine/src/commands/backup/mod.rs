//! Backup: read a source, cut it into chunks, store the new ones, publish a point.
//!
//! Reader threads ([`read`]) take the objects, a few at a time, cut chunks
//! (FastCDC) and hash them; worker threads compress and encrypt new chunks;
//! one thread packs them. Channels are bounded, so memory stays at a few dozen chunks plus
//! one pack whatever the size of the source.

use std::collections::HashSet;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;

use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::blob;
use crate::repo::index::{Index, PackIndexFile};
use crate::repo::lock::RepoLock;
use crate::repo::manifest::{
    BackupMode, LogPosition, Manifest, ObjectEntry, Selection, SourceRecord, Totals,
};
use crate::repo::pack::{write_pack, FinishedPack, PackWriter};
use crate::repo::{ChunkId, Compression, Repository};
use crate::source::Source;
use crate::throttle::Throttle;

mod read;

use read::{Read, Reader};

#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// The task this run belongs to; the first part of the run directory name.
    pub task: String,
    pub compression: Compression,
    /// A pack file's size limit in bytes.
    pub pack_size: u64,
    /// Read everything, even when an earlier point of the task could be used.
    pub full: bool,
    /// Recorded in the manifest; the source applies it.
    pub selection: Selection,
    /// Bytes per second read from the source, at most (all readers together).
    pub limit_read: Option<u64>,
    /// Bytes per second written to the repository, at most.
    pub limit_upload: Option<u64>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            task: "cli".into(),
            compression: Compression::Balanced,
            pack_size: 16 * 1024 * 1024,
            full: false,
            selection: Selection::default(),
            limit_read: None,
            limit_upload: None,
        }
    }
}

/// What a backup will do, before it does it.
#[derive(Debug, Clone)]
pub struct BackupPlan {
    pub point: String,
    pub source_url: String,
    pub source_kind: String,
    pub server_version: Option<String>,
    pub mode: BackupMode,
    pub parent: Option<Manifest>,
    pub objects: Vec<ObjectEntry>,
    pub bytes: u64,
    pub log_position: Option<LogPosition>,
}

#[derive(Debug, Clone)]
pub struct BackupStats {
    pub point: String,
    pub mode: BackupMode,
    pub parent: Option<String>,
    pub objects: u64,
    pub bytes: u64,
    /// Bytes actually read from the source (unchanged files of an incremental are not).
    pub bytes_read: u64,
    pub totals: Totals,
    pub seconds: f64,
    /// Things an administrator should know that did not stop the backup.
    pub warnings: Vec<String>,
}

/// `<task>_<source>_<creation time>`, safe as a directory name and an
/// object key. Letters and digits of any script stay (a task named in
/// Chinese keeps its name); everything else becomes `-`.
pub fn point_name(task: &str, source: &str, at: chrono::DateTime<Utc>) -> String {
    // `..` is refused as a point id, so a second dot in a row becomes `-`.
    let clean = |s: &str| -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            let keep = c.is_alphanumeric() || c == '-' || (c == '.' && !out.ends_with('.'));
            out.push(if keep { c } else { '-' });
        }
        out
    };
    format!(
        "{}_{}_{}",
        clean(task),
        clean(source),
        at.format("%Y%m%dT%H%M%S%3fZ")
    )
}

pub fn plan_backup(
    repo: &Repository,
    source: &dyn Source,
    options: &BackupOptions,
) -> Result<BackupPlan> {
    // Limits are checked before anything is read.
    for (limit, what) in [
        (options.limit_read, "read limit"),
        (options.limit_upload, "upload limit"),
    ] {
        if let Some(limit) = limit {
            Throttle::new(limit, what)?;
        }
    }
    if options.task.is_empty() || options.task.len() > 64 {
        return Err(EngineError::invalid(
            "task name",
            "must be 1 to 64 characters",
        ));
    }
    let url = source.url();
    let parent = if options.full {
        None
    } else {
        let (points, _) = repo.points()?;
        points
            .into_iter()
            .rev()
            .find(|m| m.task == options.task && m.source.url == url)
    };
    // A watermark continues the parent's rows: only with the same selection,
    // and not with an upper time bound (rows after it would be read).
    if let Some(parent) = parent.as_ref().filter(|p| {
        options.selection.watermark
            && options.selection.until.is_none()
            && p.selection == options.selection
    }) {
        source.use_watermarks(&parent.objects);
    }
    let description = source.describe()?;
    let log_position = source.log_position()?;
    let bytes = description.objects.iter().map(|o| o.size).sum();
    Ok(BackupPlan {
        point: point_name(&options.task, &source.name(), Utc::now()),
        source_url: url,
        source_kind: description.kind,
        server_version: description.server_version,
        mode: if parent.is_some() {
            BackupMode::Incremental
        } else {
            BackupMode::Full
        },
        parent,
        objects: description.objects,
        bytes,
        log_position,
    })
}

/// A chunk on its way to a pack.
type Encoded = (ChunkId, Vec<u8>, u32);

pub fn run_backup(
    repo: &Repository,
    source: &dyn Source,
    plan: BackupPlan,
    options: &BackupOptions,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<BackupStats> {
    let started = Instant::now();
    let started_at = Utc::now();
    let read_limit = options
        .limit_read
        .map(|l| Throttle::new(l, "read limit"))
        .transpose()?;
    let upload_limit = options
        .limit_upload
        .map(|l| Throttle::new(l, "upload limit"))
        .transpose()?;
    let lock = RepoLock::acquire(repo, "backup")?;
    let mut warnings = lock.removed_stale.clone();
    let index = Index::load(repo)?;
    warnings.extend(
        index
            .damaged
            .iter()
            .map(|d| format!("unreadable index file ignored: {d}")),
    );
    let run_dir = format!("runs/{}", plan.point);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);

    progress.set_title("backing up");
    progress.set_length(plan.bytes, plan.objects.len() as u64);

    let (work_tx, work_rx) = sync_channel::<(ChunkId, Vec<u8>, i32)>(workers * 2);
    let (pack_tx, pack_rx) = sync_channel::<Result<Encoded>>(workers * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let key = repo.key();

    let outcome = std::thread::scope(|scope| {
        for _ in 0..workers {
            let rx = Arc::clone(&work_rx);
            let tx = pack_tx.clone();
            scope.spawn(move || encode_worker(&rx, &tx, key));
        }
        // Only workers hold the receiving end and only they the sending end
        // of the pack channel, so a failure on either side unblocks the other.
        drop(work_rx);
        drop(pack_tx);
        let upload = upload_limit.as_ref();
        let packer =
            scope.spawn(move || pack_all(repo, &run_dir, options.pack_size, pack_rx, upload));
        let reading = Reader {
            repo,
            source,
            index: &index,
            sent: Mutex::new(HashSet::new()),
            work_tx,
            compression: options.compression,
            progress,
            cancel,
            chunker: repo.config().chunker,
            kind: plan.source_kind.clone(),
            limit: read_limit.as_ref(),
        }
        .read_all(&plan);
        // The reader's sender is gone now; workers and packer drain and stop.
        let packed = packer.join().unwrap_or_else(|_| {
            Err(EngineError::invalid(
                "backup",
                "the pack writer thread panicked",
            ))
        });
        match (reading, packed) {
            // A failed pack write explains a failed send better than the send error.
            (Err(_), Err(pack_err)) => Err(pack_err),
            (Err(err), _) => Err(err),
            (Ok(_), Err(err)) => Err(err),
            (Ok(read), Ok(written)) => Ok((read, written)),
        }
    });
    let (
        Read {
            objects,
            warnings: read_warnings,
            bytes_read,
        },
        written,
    ) = outcome?;
    warnings.extend(read_warnings);

    let totals = Totals {
        objects: objects.len() as u64,
        bytes: objects.iter().map(|o| o.size).sum(),
        chunks: objects.iter().map(|o| o.chunks.len() as u64).sum(),
        new_chunks: written.iter().map(|f| f.blobs.len() as u64).sum(),
        new_bytes_stored: written.iter().map(|f| f.size).sum(),
    };
    let manifest = Manifest {
        format_version: crate::repo::manifest::MANIFEST_FORMAT_VERSION,
        tool_version: crate::VERSION.into(),
        id: plan.point.clone(),
        task: options.task.clone(),
        source: SourceRecord {
            url: plan.source_url.clone(),
            kind: plan.source_kind.clone(),
            server_version: plan.server_version.clone(),
        },
        selection: options.selection.clone(),
        mode: plan.mode,
        parent: plan.parent.as_ref().map(|p| p.id.clone()),
        started_at,
        finished_at: Utc::now(),
        compression: options.compression,
        pack_size_limit: options.pack_size,
        objects,
        totals: totals.clone(),
        log_position: source
            .final_log_position()?
            .or_else(|| plan.log_position.clone()),
    };
    cancel.check()?;
    repo.publish(&manifest)?;
    progress.finish();
    drop(lock);
    Ok(BackupStats {
        point: manifest.id,
        mode: manifest.mode,
        parent: manifest.parent,
        objects: totals.objects,
        bytes: totals.bytes,
        bytes_read,
        totals,
        seconds: started.elapsed().as_secs_f64(),
        warnings,
    })
}

fn encode_worker(
    rx: &Mutex<Receiver<(ChunkId, Vec<u8>, i32)>>,
    tx: &SyncSender<Result<Encoded>>,
    key: Option<&crate::repo::crypto::MasterKey>,
) {
    loop {
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok((id, raw, level)) = job else { return };
        let encoded =
            blob::encode_at(&raw, level, key).map(|stored| (id, stored, raw.len() as u32));
        if tx.send(encoded).is_err() {
            return;
        }
    }
}

fn pack_all(
    repo: &Repository,
    run_dir: &str,
    limit: u64,
    rx: Receiver<Result<Encoded>>,
    upload: Option<&Throttle>,
) -> Result<Vec<PackIndexFile>> {
    std::thread::scope(|scope| {
        // A rendezvous: the next pack is assembled while one is written and
        // synced, but no third one waits in memory.
        let (pack_tx, pack_rx) = sync_channel::<FinishedPack>(0);
        let uploader = scope.spawn(move || -> Result<Vec<PackIndexFile>> {
            pack_rx
                .into_iter()
                .map(|pack| {
                    if let Some(throttle) = upload {
                        throttle.take(pack.data.len() as u64)?;
                    }
                    write_pack(repo, pack)
                })
                .collect()
        });
        let mut writer = PackWriter::new(run_dir, limit, pack_tx);
        let assembled = (|| {
            for item in rx {
                let (id, stored, raw_len) = item?;
                writer.add(id, &stored, raw_len)?;
            }
            Ok(())
        })();
        // Also after a failed read: packs already complete help the rerun.
        let flushed = writer.flush();
        drop(writer);
        let uploaded = uploader.join().unwrap_or_else(|_| {
            Err(EngineError::invalid(
                "backup",
                "the pack upload thread panicked",
            ))
        });
        // A storage error explains a stopped pipeline better than the stop.
        let written = uploaded?;
        assembled?;
        flushed?;
        Ok(written)
    })
}

#[cfg(test)]
mod tests {
    use super::point_name;

    #[test]
    fn point_names_keep_letters_of_any_script_and_nothing_a_path_could_use() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-04T19:43:09.465Z")
            .expect("a valid time")
            .with_timezone(&chrono::Utc);
        assert_eq!(
            point_name("传感器 每日", "../db \"x\"/y", at),
            "传感器-每日_.--db--x--y_20261204T194309465Z"
        );
        assert_eq!(
            point_name("nightly", "pg", at),
            "nightly_pg_20261204T194309465Z"
        );
    }
}
