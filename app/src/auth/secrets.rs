//! Data-source passwords and repository credentials at rest: sealed with
//! ChaCha20-Poly1305 under a key kept in the data directory (mode 0600).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

const PREFIX: &str = "sealed:v1:";
pub const KEY_FILE: &str = "secret.key";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read or create the secrets key {path}: {source}")]
    Key {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the secrets key {path} must be 32 bytes and readable by its owner only (mode 0600)")]
    BadKey { path: PathBuf },
    #[error("a stored secret cannot be opened with this data directory's key")]
    Unreadable,
}

pub struct Secrets {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// Loads the key from `dir`, creating it (0600) on first start.
    pub fn load_or_create(dir: &Path) -> Result<Self, SecretsError> {
        let path = dir.join(KEY_FILE);
        let io = |source| SecretsError::Key {
            path: path.clone(),
            source,
        };
        if !path.exists() {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io)?;
            file.write_all(&key).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        let meta = std::fs::metadata(&path).map_err(io)?;
        let key = std::fs::read(&path).map_err(io)?;
        if key.len() != 32 || meta.permissions().mode() & 0o077 != 0 {
            return Err(SecretsError::BadKey { path });
        }
        Ok(Secrets {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        })
    }

    /// A key for tests.
    pub fn ephemeral() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Secrets {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a fresh nonce cannot fail for inputs of this size.
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .unwrap_or_default();
        let mut out = String::with_capacity(PREFIX.len() + 2 * (12 + sealed.len()));
        out.push_str(PREFIX);
        for byte in nonce.iter().chain(&sealed) {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// The plain text of a sealed secret; a value stored before secrets
    /// were sealed is returned as it is (start-up seals those).
    pub fn open(&self, stored: &str) -> Result<String, SecretsError> {
        let Some(hex) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect::<Option<_>>()
            .ok_or(SecretsError::Unreadable)?;
        if bytes.len() < 12 {
            return Err(SecretsError::Unreadable);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| SecretsError::Unreadable)?;
        String::from_utf8(plain).map_err(|_| SecretsError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::load_or_create(dir.path()).unwrap();
        let sealed = secrets.seal("hunter2-password");
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            secrets.seal("hunter2-password"),
            "a fresh nonce each time"
        );
        let again = Secrets::load_or_create(dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "hunter2-password");
        assert!(Secrets::ephemeral().open(&sealed).is_err());
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(secrets.open("legacy-plain").unwrap(), "legacy-plain");
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Secrets::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            Secrets::load_or_create(dir.path()),
            Err(SecretsError::BadKey { .. })
        ));
    }
}
