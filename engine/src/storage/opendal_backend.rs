//! [`Backend`] over Apache OpenDAL: local filesystem and S3.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use opendal::layers::RetryLayer;
use opendal::{blocking, services, ErrorKind, Operator};

use super::direct::{AlignedBuf, DirectWriter, DIRECT_MIN};
use super::{Backend, RepoLocation};
use crate::error::{EngineError, Result};

/// OpenDAL's blocking API drives its async core on a runtime; the engine
/// keeps one small runtime of its own so it works the same from the CLI and
/// from a `spawn_blocking` thread of the server.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("tidemark-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::invalid("I/O runtime", e.clone()))
}

#[derive(Clone)]
pub struct OpendalBackend {
    op: blocking::Operator,
    location: Arc<str>,
    /// The root of a local repository: large writes bypass OpenDAL there.
    local_root: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for OpendalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpendalBackend")
            .field("location", &self.location)
            .finish()
    }
}

impl OpendalBackend {
    pub fn open(location: &RepoLocation) -> Result<Self> {
        let display = location.display();
        let build_error = |source: opendal::Error| EngineError::Storage {
            op: "open",
            path: String::new(),
            location: display.clone(),
            source: Box::new(source),
        };
        let local_root = match location {
            RepoLocation::Local(root) => Some(root.clone()),
            _ => None,
        };
        let op = match location {
            RepoLocation::Local(root) => {
                let root = root.to_string_lossy();
                // Writes go to a temporary file in .tmp, are synced, then renamed.
                let builder = services::Fs::default()
                    .root(&root)
                    .atomic_write_dir(&format!("{root}/.tmp"));
                Operator::new(builder).map_err(build_error)?
            }
            RepoLocation::S3 {
                bucket,
                prefix,
                endpoint,
                region,
                credentials,
            } => {
                opendal_http_transport_reqwest::install_default();
                let mut builder = services::S3::default()
                    .bucket(bucket)
                    .root(&format!("/{prefix}"))
                    .region(region)
                    .disable_ec2_metadata();
                if let Some(endpoint) = endpoint {
                    builder = builder.endpoint(endpoint);
                }
                // The repository's own key, and nothing from the environment.
                if let Some(own) = credentials {
                    builder = builder
                        .access_key_id(&own.access_key_id)
                        .secret_access_key(&own.secret_access_key)
                        .disable_config_load();
                }
                Operator::new(builder)
                    .map_err(build_error)?
                    .layer(RetryLayer::new().with_max_times(4))
            }
        };
        let _guard = runtime()?.enter();
        let op = blocking::Operator::new(op).map_err(build_error)?;
        Ok(OpendalBackend {
            op,
            location: display.into(),
            local_root,
        })
    }

    /// What OpenDAL's atomic write does (temporary file in `.tmp`, synced,
    /// renamed into place), but without the page cache: packs are written
    /// once and are not read back by the backup that writes them.
    fn write_local_direct(&self, root: &Path, path: &str, data: &[u8]) -> Result<()> {
        thread_local! {
            static BUF: std::cell::Cell<Option<AlignedBuf>> = const { std::cell::Cell::new(None) };
        }
        let target = root.join(path);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
        let temp = root.join(".tmp").join(format!(
            "{}.{}",
            name.unwrap_or_default(),
            crate::repo::random_hex(6)
        ));
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |e| EngineError::io(p, e)
        };
        let buf = BUF
            .take()
            .unwrap_or_else(|| AlignedBuf::new(4 * 1024 * 1024));
        let written = DirectWriter::create(&temp, Some(buf))
            .and_then(|mut w| w.write(data).and_then(|()| w.finish()))
            .and_then(|(file, buf)| {
                BUF.set(buf);
                file.sync_all()
            });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(io(&temp)(e));
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::rename(&temp, &target).map_err(io(&target))
    }

    fn error(&self, op: &'static str, path: &str, source: opendal::Error) -> EngineError {
        EngineError::Storage {
            op,
            path: path.to_owned(),
            location: self.location.to_string(),
            source: Box::new(source),
        }
    }
}

impl Backend for OpendalBackend {
    fn location(&self) -> &str {
        &self.location
    }

    fn read(&self, path: &str) -> Result<Vec<u8>> {
        self.op
            .read(path)
            .map(|buf| buf.to_vec())
            .map_err(|e| self.error("read", path, e))
    }

    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let options = opendal::options::ReadOptions {
            range: (offset..offset + len).into(),
            ..Default::default()
        };
        let truncated = || {
            EngineError::corrupt(
                format!("{path} in {}", self.location),
                format!("wanted {len} bytes at offset {offset}, but the file ends before that (truncated)"),
            )
        };
        let data = match self.op.read_options(path, options) {
            Ok(buf) => buf.to_vec(),
            Err(e) if e.kind() == ErrorKind::RangeNotSatisfied => return Err(truncated()),
            Err(e) => return Err(self.error("read", path, e)),
        };
        if data.len() as u64 != len {
            return Err(truncated());
        }
        Ok(data)
    }

    fn write(&self, path: &str, data: Vec<u8>) -> Result<()> {
        if let Some(root) = &self.local_root {
            if data.len() >= DIRECT_MIN {
                return self.write_local_direct(root, path, &data);
            }
        }
        self.op
            .write(path, data)
            .map(drop)
            .map_err(|e| self.error("write", path, e))
    }

    fn exists(&self, path: &str) -> Result<bool> {
        self.op
            .exists(path)
            .map_err(|e| self.error("check", path, e))
    }

    fn list(&self, dir: &str) -> Result<Vec<String>> {
        let dir = format!("{}/", dir.trim_end_matches('/'));
        let options = opendal::options::ListOptions {
            recursive: true,
            ..Default::default()
        };
        match self.op.list_options(&dir, options) {
            Ok(entries) => Ok(entries
                .into_iter()
                .filter(|e| !e.path().ends_with('/'))
                .map(|e| e.path().to_owned())
                .collect()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.error("list", &dir, e)),
        }
    }

    fn delete(&self, path: &str) -> Result<()> {
        self.op
            .delete(path)
            .map_err(|e| self.error("delete", path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let backend = OpendalBackend::open(&RepoLocation::Local(dir.path().to_owned())).unwrap();
        backend.write("a/b/one", b"hello world".to_vec()).unwrap();
        backend.write("a/two", b"2".to_vec()).unwrap();
        assert_eq!(backend.read("a/b/one").unwrap(), b"hello world");
        assert_eq!(backend.read_range("a/b/one", 6, 5).unwrap(), b"world");
        assert!(backend.exists("a/two").unwrap());
        assert!(!backend.exists("a/three").unwrap());
        let mut listed = backend.list("a").unwrap();
        listed.sort();
        assert_eq!(listed, vec!["a/b/one", "a/two"]);
        assert_eq!(backend.list("nothing-here").unwrap(), Vec::<String>::new());
        backend.delete("a/two").unwrap();
        backend.delete("a/two").unwrap();
        assert!(!backend.exists("a/two").unwrap());
    }

    #[test]
    fn a_short_range_read_is_reported_as_damage() {
        let dir = tempfile::tempdir().unwrap();
        let backend = OpendalBackend::open(&RepoLocation::Local(dir.path().to_owned())).unwrap();
        backend.write("f", b"12345".to_vec()).unwrap();
        let err = backend.read_range("f", 3, 10).unwrap_err();
        assert!(matches!(err, EngineError::Corrupt { .. }), "{err}");
    }
}
