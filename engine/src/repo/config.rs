//! `config.json`: the one unencrypted file that says what a repository is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::crypto::KdfParams;

pub const CONFIG_FILE: &str = "config.json";
pub const FORMAT: &str = "tidemark-repository";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepoConfig {
    pub format: String,
    pub format_version: u32,
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub chunker: ChunkerParams,
    pub encryption: Option<EncryptionConfig>,
}

/// FastCDC sizes, fixed at init so identical data always cuts the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    pub min_size: u32,
    pub avg_size: u32,
    pub max_size: u32,
}

impl Default for ChunkerParams {
    fn default() -> Self {
        ChunkerParams {
            min_size: 256 * 1024,
            avg_size: 1024 * 1024,
            max_size: 4 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncryptionConfig {
    pub cipher: String,
    pub kdf: KdfParams,
    /// The master key, sealed with the passphrase-derived key (hex).
    pub wrapped_key: String,
}
