//! [`Backend`] over Apache OpenDAL: local filesystem and S3.

use std::sync::{Arc, OnceLock};

use opendal::layers::RetryLayer;
use opendal::{blocking, services, ErrorKind, Operator};

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
        })
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
