//! File trees: a root directory, selected by include/exclude regular
//! expressions over paths relative to the root (`data/sequence/root.1/x.tsfile`).

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::selector::Selector;
use super::{ObjectSink, Source, SourceDescription, Target};
use crate::error::{EngineError, Result};
use crate::repo::manifest::{ObjectEntry, ObjectKind};
use crate::storage::direct::{AlignedBuf, DirectWriter, DIRECT_MIN};

/// The direct writer's buffer: a few device-sized writes per large file.
const RESTORE_BUFFER: usize = 4 * 1024 * 1024;

pub struct FileTreeSource {
    root: PathBuf,
    selector: Selector,
}

impl FileTreeSource {
    pub fn new(root: PathBuf, include: &[String], exclude: &[String]) -> Result<Self> {
        let selector = Selector::new(include, exclude)?;
        let meta = fs::metadata(&root).map_err(|e| EngineError::io(&root, e))?;
        if !meta.is_dir() {
            return Err(EngineError::NotADirectory { path: root });
        }
        Ok(FileTreeSource { selector, root })
    }

    /// Walks `dir` (relative `rel`), appending selected entries; returns
    /// whether anything below was selected.
    fn walk(&self, dir: &Path, rel: &str, out: &mut Vec<ObjectEntry>) -> Result<bool> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .map_err(|e| EngineError::io(dir, e))?
            .map(|entry| {
                entry
                    .map(|e| e.file_name())
                    .map_err(|e| EngineError::io(dir, e))
            })
            .collect::<Result<_>>()?;
        names.sort();
        let mut any = false;
        for name in names {
            let Some(name) = name.to_str().map(str::to_owned) else {
                return Err(EngineError::invalid(
                    format!("file name in {}", dir.display()),
                    "not valid UTF-8",
                ));
            };
            let path = dir.join(&name);
            let rel_path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if self.selector.excluded(&rel_path) {
                continue;
            }
            let meta = fs::symlink_metadata(&path).map_err(|e| EngineError::io(&path, e))?;
            let mut entry = ObjectEntry {
                mode: Some(meta.permissions().mode() & 0o7777),
                mtime_ns: meta.modified().ok().map(nanos_since_epoch),
                ..ObjectEntry::new(rel_path.clone(), ObjectKind::File)
            };
            let included = self.selector.included(&rel_path);
            if meta.is_dir() {
                entry.kind = ObjectKind::Dir;
                let at = out.len();
                let below = self.walk(&path, &rel_path, out)?;
                if included || below {
                    out.insert(at, entry);
                    any = true;
                }
            } else if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).map_err(|e| EngineError::io(&path, e))?;
                entry.kind = ObjectKind::Symlink;
                entry.mode = None;
                entry.link_target = Some(target.to_string_lossy().into_owned());
                if included {
                    out.push(entry);
                    any = true;
                }
            } else if meta.is_file() {
                entry.size = meta.len();
                if included {
                    out.push(entry);
                    any = true;
                }
            }
            // Sockets, fifos and devices are not data; they are skipped.
        }
        Ok(any)
    }
}

fn nanos_since_epoch(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

fn system_time(nanos: i128) -> SystemTime {
    if nanos >= 0 {
        UNIX_EPOCH + Duration::from_nanos(nanos as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(nanos.unsigned_abs() as u64)
    }
}

impl Source for FileTreeSource {
    fn url(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn name(&self) -> String {
        self.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".into())
    }

    fn describe(&self) -> Result<SourceDescription> {
        let mut objects = Vec::new();
        self.walk(&self.root, "", &mut objects)?;
        Ok(SourceDescription {
            kind: "file-tree".into(),
            server_version: None,
            objects,
        })
    }

    fn open(&self, object: &ObjectEntry) -> Result<Box<dyn Read + Send + '_>> {
        let path = self.root.join(&object.name);
        let file = File::open(&path).map_err(|e| EngineError::io(&path, e))?;
        Ok(Box::new(file))
    }
}

/// Restores into a directory; each file is written to a temporary name
/// beside its destination and renamed into place when complete.
pub struct FileTreeTarget {
    root: PathBuf,
    /// The direct writer's buffer, passed from one large file to the next.
    buf: Option<AlignedBuf>,
}

impl FileTreeTarget {
    pub fn new(root: PathBuf) -> Self {
        FileTreeTarget { root, buf: None }
    }

    fn path_of(&self, name: &str) -> Result<PathBuf> {
        let rel = Path::new(name);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(EngineError::invalid(
                "object name",
                format!("{name:?} would leave the target directory"),
            ));
        }
        Ok(self.root.join(rel))
    }
}

impl Target for FileTreeTarget {
    fn url(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn kind(&self) -> &'static str {
        "file-tree"
    }

    fn free_space(&self) -> Option<u64> {
        free_space_at(&self.root)
    }

    fn existing(&self, names: &[&str]) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for name in names {
            let path = self.path_of(name)?;
            if let Ok(meta) = fs::symlink_metadata(&path) {
                // An existing directory where a directory is restored is no clash.
                if !meta.is_dir() {
                    found.push((*name).to_owned());
                }
            }
        }
        Ok(found)
    }

    fn is_empty(&self) -> Result<bool> {
        match fs::read_dir(&self.root) {
            Ok(mut entries) => Ok(entries.next().is_none()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(EngineError::io(&self.root, e)),
        }
    }

    fn begin(
        &mut self,
        entry: &ObjectEntry,
        name: &str,
        overwrite: bool,
    ) -> Result<Box<dyn ObjectSink + '_>> {
        let path = self.path_of(name)?;
        let parent = path.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent).map_err(|e| EngineError::io(&parent, e))?;
        match entry.kind {
            ObjectKind::Dir => {
                fs::create_dir_all(&path).map_err(|e| EngineError::io(&path, e))?;
                Ok(Box::new(NoContent))
            }
            ObjectKind::Symlink => Ok(Box::new(SymlinkSink {
                path,
                target: entry.link_target.clone().unwrap_or_default(),
                overwrite,
            })),
            ObjectKind::File | ObjectKind::Table | ObjectKind::Schema => {
                let file_name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let temp = parent.join(format!(".{file_name}.tidemark-partial"));
                // Large files bypass the page cache: copying into it costs
                // more than decoding here, and its flush is slower than the disk.
                let buf = (entry.size >= DIRECT_MIN as u64).then(|| {
                    self.buf
                        .take()
                        .unwrap_or_else(|| AlignedBuf::new(RESTORE_BUFFER))
                });
                let file =
                    DirectWriter::create(&temp, buf).map_err(|e| EngineError::io(&temp, e))?;
                Ok(Box::new(FileSink {
                    file: Some(file),
                    buf: &mut self.buf,
                    temp,
                    path,
                    mode: entry.mode,
                    mtime_ns: entry.mtime_ns,
                    overwrite,
                }))
            }
        }
    }

    fn finish(&mut self, restored: &[(ObjectEntry, String)]) -> Result<()> {
        self.set_directory_metadata(restored)?;
        sync_filesystem(&self.root)
    }
}

/// Asks the kernel to start writing `file` out, without waiting for it.
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call; a failure
    // only means no early start, and the final syncfs still makes it durable.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

/// Flushes the filesystem holding `dir` once: far cheaper than an fsync per
/// restored file, and the restore is reported done only after it.
fn sync_filesystem(dir: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    if !dir.exists() {
        return Ok(()); // Nothing was restored.
    }
    let handle = File::open(dir).map_err(|e| EngineError::io(dir, e))?;
    // SAFETY: syncfs only reads the descriptor, which `handle` keeps open.
    let rc = unsafe { libc::syncfs(handle.as_raw_fd()) };
    if rc != 0 {
        return Err(EngineError::io(dir, std::io::Error::last_os_error()));
    }
    Ok(())
}

impl FileTreeTarget {
    fn set_directory_metadata(&self, restored: &[(ObjectEntry, String)]) -> Result<()> {
        // Directory modes and times last: writing children changed them.
        for (entry, name) in restored
            .iter()
            .rev()
            .filter(|(e, _)| e.kind == ObjectKind::Dir)
        {
            let path = self.path_of(name)?;
            if let Some(mode) = entry.mode {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                    .map_err(|e| EngineError::io(&path, e))?;
            }
            if let Some(ns) = entry.mtime_ns {
                let dir = File::open(&path).map_err(|e| EngineError::io(&path, e))?;
                dir.set_modified(system_time(ns))
                    .map_err(|e| EngineError::io(&path, e))?;
            }
        }
        Ok(())
    }
}

struct NoContent;

impl ObjectSink for NoContent {
    fn write(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn abort(self: Box<Self>) {}
}

struct SymlinkSink {
    path: PathBuf,
    target: String,
    overwrite: bool,
}

impl ObjectSink for SymlinkSink {
    fn write(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<Vec<String>> {
        if self.overwrite && fs::symlink_metadata(&self.path).is_ok() {
            fs::remove_file(&self.path).map_err(|e| EngineError::io(&self.path, e))?;
        }
        symlink(&self.target, &self.path).map_err(|e| EngineError::io(&self.path, e))?;
        Ok(Vec::new())
    }
    fn abort(self: Box<Self>) {}
}

struct FileSink<'a> {
    file: Option<DirectWriter>,
    buf: &'a mut Option<AlignedBuf>,
    temp: PathBuf,
    path: PathBuf,
    mode: Option<u32>,
    mtime_ns: Option<i128>,
    overwrite: bool,
}

impl ObjectSink for FileSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        match self.file.as_mut() {
            Some(writer) => writer
                .write(data)
                .map_err(|e| EngineError::io(&self.temp, e)),
            None => Ok(()),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<Vec<String>> {
        let Some(writer) = self.file.take() else {
            return Ok(Vec::new());
        };
        let result = writer
            .finish()
            .map_err(|e| EngineError::io(&self.temp, e))
            .and_then(|(file, buf)| {
                if buf.is_some() {
                    *self.buf = buf;
                }
                self.finish_file(file)
            });
        if result.is_err() {
            let _ = fs::remove_file(&self.temp);
        }
        result.map(|()| Vec::new())
    }

    fn abort(mut self: Box<Self>) {
        self.file.take();
        let _ = fs::remove_file(&self.temp);
    }
}

impl FileSink<'_> {
    /// Sets metadata, syncs, and renames the temporary file into place.
    fn finish_file(&self, file: File) -> Result<()> {
        let io = |e| EngineError::io(&self.temp, e);
        if let Some(mode) = self.mode {
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(io)?;
        }
        if let Some(ns) = self.mtime_ns {
            file.set_modified(system_time(ns)).map_err(io)?;
        }
        // Durability comes from one syncfs in `finish`, not an fsync per
        // file; starting this file's writeback now overlaps it with the rest
        // of the restore, so that syncfs has little left to wait for.
        start_writeback(&file);
        drop(file);
        if !self.overwrite && fs::symlink_metadata(&self.path).is_ok() {
            return Err(EngineError::Conflict(format!(
                "{} appeared during the restore",
                self.path.display()
            )));
        }
        fs::rename(&self.temp, &self.path).map_err(|e| EngineError::io(&self.path, e))
    }
}

impl Drop for FileSink<'_> {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Free bytes on the filesystem of `path` or of its nearest existing parent.
pub(crate) fn free_space_at(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let existing = path.ancestors().find(|p| p.exists())?;
    let c_path = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}
