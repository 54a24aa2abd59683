//! Encryption at rest: XChaCha20-Poly1305 with a random master key, wrapped
//! by a key derived from the passphrase with Argon2id.
//!
//! The passphrase is derived once per command (tens of milliseconds with the
//! default parameters), then only the master key is used.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

const NONCE_LEN: usize = 24;

/// How the passphrase becomes the key-encryption key; stored in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub algorithm: String,
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    pub salt: String,
}

impl KdfParams {
    pub fn generate() -> Self {
        let mut salt = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        KdfParams {
            algorithm: "argon2id".into(),
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
            salt: hex::encode(salt),
        }
    }

    fn derive(&self, passphrase: &str) -> Result<[u8; 32]> {
        let bad = |m: String| {
            EngineError::corrupt(
                "repository config",
                format!("key derivation parameters: {m}"),
            )
        };
        if self.algorithm != "argon2id" {
            return Err(bad(format!("unknown algorithm {:?}", self.algorithm)));
        }
        let salt = hex::decode(&self.salt).map_err(|e| bad(e.to_string()))?;
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| bad(e.to_string()))?;
        let mut out = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &salt, &mut out)
            .map_err(|e| bad(e.to_string()))?;
        Ok(out)
    }
}

/// The repository's secret keys: one encrypts, one makes chunk ids that do
/// not reveal content hashes.
#[derive(Clone)]
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    pub(crate) id_key: [u8; 32],
    /// Both keys as generated, kept to wrap them under a new passphrase.
    raw: [u8; 64],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    fn from_bytes(bytes: &[u8; 64]) -> Self {
        let mut id_key = [0u8; 32];
        id_key.copy_from_slice(&bytes[32..]);
        MasterKey {
            cipher: XChaCha20Poly1305::new(bytes[..32].into()),
            id_key,
            raw: *bytes,
        }
    }

    /// This key wrapped under `passphrase` (hex), as `generate` returns it.
    pub fn wrap(&self, kdf: &KdfParams, passphrase: &str) -> Result<String> {
        let kek = XChaCha20Poly1305::new((&kdf.derive(passphrase)?).into());
        Ok(hex::encode(seal_with(&kek, &self.raw)?))
    }

    /// Creates a new master key and returns it with its wrapped form.
    pub fn generate(kdf: &KdfParams, passphrase: &str) -> Result<(Self, String)> {
        let mut raw = [0u8; 64];
        rand::thread_rng().fill_bytes(&mut raw);
        let key = Self::from_bytes(&raw);
        let wrapped = key.wrap(kdf, passphrase)?;
        Ok((key, wrapped))
    }

    /// Unwraps the master key; `None` means the passphrase is wrong.
    pub fn unwrap(kdf: &KdfParams, passphrase: &str, wrapped_hex: &str) -> Result<Option<Self>> {
        let wrapped = hex::decode(wrapped_hex)
            .map_err(|e| EngineError::corrupt("repository config", format!("wrapped key: {e}")))?;
        let kek = XChaCha20Poly1305::new((&kdf.derive(passphrase)?).into());
        let Ok(raw) = open_with(&kek, &wrapped) else {
            return Ok(None);
        };
        let raw: [u8; 64] = raw.try_into().map_err(|_| {
            EngineError::corrupt("repository config", "wrapped key has the wrong length")
        })?;
        Ok(Some(Self::from_bytes(&raw)))
    }

    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        seal_with(&self.cipher, plaintext)
    }

    /// Decrypts; an `Err(())` means the data was altered or is not ours.
    pub fn open(&self, sealed: &[u8]) -> std::result::Result<Vec<u8>, ()> {
        open_with(&self.cipher, sealed)
    }
}

fn seal_with(cipher: &XChaCha20Poly1305, plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    let mut out = nonce.to_vec();
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), plaintext)
        .map_err(|_| EngineError::invalid("encryption", "the cipher refused the input"))?;
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

fn open_with(cipher: &XChaCha20Poly1305, sealed: &[u8]) -> std::result::Result<Vec<u8>, ()> {
    if sealed.len() < NONCE_LEN {
        return Err(());
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(XNonce::from_slice(nonce), ciphertext)
        .map_err(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_and_tamper() {
        let kdf = KdfParams::generate();
        let (key, wrapped) = MasterKey::generate(&kdf, "correct horse").unwrap();
        assert!(MasterKey::unwrap(&kdf, "wrong", &wrapped)
            .unwrap()
            .is_none());
        let again = MasterKey::unwrap(&kdf, "correct horse", &wrapped)
            .unwrap()
            .unwrap();
        assert_eq!(again.id_key, key.id_key);
        let mut sealed = key.seal(b"secret rows").unwrap();
        assert_eq!(again.open(&sealed).unwrap(), b"secret rows");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(key.open(&sealed).is_err());
    }
}
