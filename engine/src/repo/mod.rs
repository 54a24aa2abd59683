//! The repository: config, keys, packs, index, manifests and the lock.
//!
//! ```text
//! config.json                          what the repository is (never encrypted)
//! locks/<time>-<pid>-<nonce>.json      writer lock
//! locks/probe-<pid>-<nonce>            check_writable's probe, short-lived
//! leases/<point>/<time>-<pid>-<nonce>.json  a reader's lease on a point (prune keeps it)
//! runs/<task>_<source>_<time>/
//!     packs/<pack>.pack, <pack>.idx    chunks first written by this run
//!     manifest.json                    the backup point; written last, atomically
//! ```

pub mod archive;
pub mod blob;
pub mod chunker;
mod config;
pub mod crypto;
pub mod index;
pub mod lease;
pub mod lock;
pub mod manifest;
pub mod pack;
mod usage;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use blob::{ChunkId, Compression};
pub use config::{ChunkerParams, RepoConfig};
pub use usage::RepoUsage;

use crate::error::{EngineError, Result};
use crate::storage::{self, Backend, RepoLocation};
use config::{EncryptionConfig, CONFIG_FILE, FORMAT, FORMAT_VERSION};
use crypto::{KdfParams, MasterKey};

/// An open repository.
#[derive(Debug)]
pub struct Repository {
    backend: Box<dyn Backend>,
    config: RepoConfig,
    key: Option<MasterKey>,
}

impl Repository {
    /// Creates a new repository; refuses a location that already has one.
    pub fn init(location: &RepoLocation, passphrase: Option<&str>) -> Result<Self> {
        if let RepoLocation::Local(path) = location {
            crate::storage::local::prepare_local_dir(path)?;
        }
        let backend = storage::open(location)?;
        Self::init_on(backend, passphrase)
    }

    pub(crate) fn init_on(backend: Box<dyn Backend>, passphrase: Option<&str>) -> Result<Self> {
        if backend.exists(CONFIG_FILE)? {
            return Err(EngineError::RepositoryExists {
                location: backend.location().to_owned(),
            });
        }
        let (encryption, key) = match passphrase {
            Some(passphrase) => {
                if passphrase.is_empty() {
                    return Err(EngineError::invalid("passphrase", "must not be empty"));
                }
                let kdf = KdfParams::generate();
                let (key, wrapped_key) = MasterKey::generate(&kdf, passphrase)?;
                let config = EncryptionConfig {
                    cipher: "xchacha20poly1305".into(),
                    kdf,
                    wrapped_key,
                };
                (Some(config), Some(key))
            }
            None => (None, None),
        };
        let config = RepoConfig {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            id: random_hex(16),
            created_at: chrono::Utc::now(),
            created_by: format!("tidemark {}", crate::VERSION),
            chunker: ChunkerParams::default(),
            encryption,
        };
        let json = serde_json::to_vec_pretty(&config)
            .map_err(|e| EngineError::invalid("config", e.to_string()))?;
        backend.write(CONFIG_FILE, json)?;
        Ok(Repository {
            backend,
            config,
            key,
        })
    }

    /// Opens an existing repository, unlocking it with `passphrase` if it is encrypted.
    pub fn open(location: &RepoLocation, passphrase: Option<&str>) -> Result<Self> {
        if let RepoLocation::Local(path) = location {
            if !path.is_dir() {
                return Err(EngineError::RepositoryNotFound {
                    location: location.display(),
                });
            }
        }
        Self::open_on(storage::open(location)?, passphrase)
    }

    pub(crate) fn open_on(backend: Box<dyn Backend>, passphrase: Option<&str>) -> Result<Self> {
        let location = backend.location().to_owned();
        if !backend.exists(CONFIG_FILE)? {
            return Err(EngineError::RepositoryNotFound { location });
        }
        let bytes = backend.read(CONFIG_FILE)?;
        let config: RepoConfig = serde_json::from_slice(&bytes).map_err(|e| {
            EngineError::corrupt(format!("{location}/{CONFIG_FILE}"), e.to_string())
        })?;
        if config.format != FORMAT || config.format_version > FORMAT_VERSION {
            return Err(EngineError::corrupt(
                format!("{location}/{CONFIG_FILE}"),
                format!(
                    "format {} version {} is not one this tidemark ({}) reads",
                    config.format,
                    config.format_version,
                    crate::VERSION
                ),
            ));
        }
        let key = match (&config.encryption, passphrase) {
            (None, _) => None,
            (Some(_), None) => return Err(EngineError::PassphraseRequired { location }),
            (Some(enc), Some(passphrase)) => {
                match MasterKey::unwrap(&enc.kdf, passphrase, &enc.wrapped_key)? {
                    Some(key) => Some(key),
                    None => return Err(EngineError::WrongPassphrase { location }),
                }
            }
        };
        Ok(Repository {
            backend,
            config,
            key,
        })
    }

    /// Wraps the master key under `new` (fresh salt) and rewrites
    /// `config.json` in one atomic write. The master key itself stays, so
    /// packs, manifests and chunk ids are untouched and other open handles
    /// keep working; only opening needs the new passphrase from now on.
    pub fn change_passphrase(&mut self, new: &str) -> Result<()> {
        if new.is_empty() {
            return Err(EngineError::invalid("passphrase", "must not be empty"));
        }
        let (Some(key), Some(encryption)) = (&self.key, &self.config.encryption) else {
            return Err(EngineError::invalid(
                "passphrase",
                format!(
                    "repository {} is not encrypted, so it has no passphrase to change",
                    self.location()
                ),
            ));
        };
        let kdf = KdfParams::generate();
        let wrapped_key = key.wrap(&kdf, new)?;
        let mut config = self.config.clone();
        config.encryption = Some(EncryptionConfig {
            cipher: encryption.cipher.clone(),
            kdf,
            wrapped_key,
        });
        let json = serde_json::to_vec_pretty(&config)
            .map_err(|e| EngineError::invalid("config", e.to_string()))?;
        self.backend.write(CONFIG_FILE, json)?;
        self.config = config;
        Ok(())
    }

    pub fn config(&self) -> &RepoConfig {
        &self.config
    }

    pub fn location(&self) -> &str {
        self.backend.location()
    }

    pub fn is_encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// Proves the repository takes writes: stores a probe where every writing
    /// command writes first (`locks/`), reads it back and deletes it. Listing
    /// and reading work on storage that refuses writes (read-only mounts,
    /// read-only S3 keys), so only a real write tells.
    pub fn check_writable(&self) -> Result<()> {
        let path = format!("locks/probe-{}-{}", std::process::id(), random_hex(8));
        let data = random_hex(16).into_bytes();
        let round_trip = self
            .backend
            .write(&path, data.clone())
            .and_then(|()| self.backend.read(&path))
            .and_then(|back| {
                if back == data {
                    Ok(())
                } else {
                    Err(EngineError::corrupt(
                        format!("{}/{path}", self.location()),
                        "read back other bytes than were written",
                    ))
                }
            });
        // Deleted even when reading failed, so no probe is left behind.
        let deleted = self.backend.delete(&path);
        round_trip
            .and(deleted)
            .map_err(|source| EngineError::RepositoryNotWritable {
                location: self.location().to_owned(),
                source: Box::new(source),
            })
    }

    pub(crate) fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    pub(crate) fn key(&self) -> Option<&MasterKey> {
        self.key.as_ref()
    }

    pub(crate) fn chunk_id(&self, data: &[u8]) -> ChunkId {
        ChunkId::of(data, self.key.as_ref())
    }

    /// Writes a metadata file (index, manifest): JSON, sealed when encrypted.
    pub(crate) fn write_meta<T: Serialize>(&self, path: &str, value: &T) -> Result<()> {
        let json = serde_json::to_vec_pretty(value)
            .map_err(|e| EngineError::invalid(path, e.to_string()))?;
        // Plain repositories keep metadata readable; sealed ones compress it
        // first (JSON with hex ids halves), since it cannot be read anyway.
        let bytes = match &self.key {
            Some(key) => {
                let compressed = zstd::bulk::compress(&json, 3)
                    .map_err(|e| EngineError::invalid(path, e.to_string()))?;
                key.seal(&compressed)?
            }
            None => json,
        };
        self.backend.write(path, bytes)
    }

    /// Reads a metadata file written by [`Self::write_meta`].
    pub(crate) fn read_meta<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let bytes = self.backend.read(path)?;
        let what = || format!("{}/{path}", self.location());
        let json = match &self.key {
            Some(key) => {
                let compressed = key.open(&bytes).map_err(|()| {
                    EngineError::corrupt(what(), "authentication failed (altered or truncated)")
                })?;
                zstd::stream::decode_all(&compressed[..])
                    .map_err(|e| EngineError::corrupt(what(), format!("cannot decompress: {e}")))?
            }
            None => bytes,
        };
        serde_json::from_slice(&json).map_err(|e| EngineError::corrupt(what(), e.to_string()))
    }
}

pub(crate) fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_open_and_the_passphrase_rules() {
        let dir = tempfile::tempdir().unwrap();
        let plain = RepoLocation::Local(dir.path().join("plain"));
        Repository::init(&plain, None).unwrap();
        assert!(matches!(
            Repository::init(&plain, None),
            Err(EngineError::RepositoryExists { .. })
        ));
        assert!(!Repository::open(&plain, None).unwrap().is_encrypted());

        let secret = RepoLocation::Local(dir.path().join("secret"));
        Repository::init(&secret, Some("pw")).unwrap();
        assert!(matches!(
            Repository::open(&secret, None),
            Err(EngineError::PassphraseRequired { .. })
        ));
        assert!(matches!(
            Repository::open(&secret, Some("nope")),
            Err(EngineError::WrongPassphrase { .. })
        ));
        assert!(Repository::open(&secret, Some("pw"))
            .unwrap()
            .is_encrypted());

        let missing = RepoLocation::Local(dir.path().join("missing"));
        let err = Repository::open(&missing, None).unwrap_err();
        assert!(
            matches!(err, EngineError::RepositoryNotFound { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn a_changed_passphrase_opens_the_same_data_and_the_old_one_no_longer_does() {
        use crate::{backup, restore, CancelToken, FileTreeSource, FileTreeTarget, NoProgress};
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("readings.csv"), "ts,value\n1,2\n").unwrap();
        let location = RepoLocation::Local(dir.path().join("repo"));
        let mut repo = Repository::init(&location, Some("old secret")).unwrap();
        let source = FileTreeSource::new(data.clone(), &[], &[]).unwrap();
        let options = backup::BackupOptions::default();
        let plan = backup::plan_backup(&repo, &source, &options).unwrap();
        let stats = backup::run_backup(
            &repo,
            &source,
            plan,
            &options,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        let before = std::fs::read_to_string(dir.path().join("repo/config.json")).unwrap();

        assert!(matches!(
            repo.change_passphrase(""),
            Err(EngineError::InvalidInput { .. })
        ));
        repo.change_passphrase("new secret").unwrap();
        let after = std::fs::read_to_string(dir.path().join("repo/config.json")).unwrap();
        assert_ne!(before, after, "the key is wrapped anew");
        assert!(!after.contains("new secret") && !after.contains("old secret"));
        // The handle that changed it keeps working.
        assert!(repo.point(&stats.point).is_ok());

        assert!(matches!(
            Repository::open(&location, Some("old secret")),
            Err(EngineError::WrongPassphrase { .. })
        ));
        let reopened = Repository::open(&location, Some("new secret")).unwrap();
        assert_eq!(reopened.config().id, repo.config().id);
        let point = reopened.point(&stats.point).unwrap();
        let mut target = FileTreeTarget::new(dir.path().join("restored"));
        let plan =
            restore::plan_restore(&point, &target, &restore::RestoreOptions::default()).unwrap();
        let done = restore::run_restore(
            &reopened,
            &plan,
            &mut target,
            &NoProgress,
            &CancelToken::new(),
        )
        .unwrap();
        assert!(done.failed.is_empty());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("restored/readings.csv")).unwrap(),
            "ts,value\n1,2\n"
        );
    }

    #[test]
    fn a_plain_repository_has_no_passphrase_to_change() {
        let dir = tempfile::tempdir().unwrap();
        let location = RepoLocation::Local(dir.path().to_owned());
        let mut repo = Repository::init(&location, None).unwrap();
        let err = repo.change_passphrase("anything").unwrap_err();
        assert!(err.to_string().contains("not encrypted"), "{err}");
        assert!(Repository::open(&location, None).is_ok());
    }

    #[test]
    fn a_damaged_config_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let location = RepoLocation::Local(dir.path().to_owned());
        Repository::init(&location, None).unwrap();
        std::fs::write(dir.path().join("config.json"), b"{ truncated").unwrap();
        let err = Repository::open(&location, None).unwrap_err();
        assert!(matches!(err, EngineError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("config.json"), "{err}");
    }
}
