//! Chunk ids and the coding of stored blobs: zstd, then encryption if the
//! repository has a key.

use serde::{Deserialize, Serialize};

use super::crypto::MasterKey;
use crate::error::{EngineError, Result};

/// A chunk's id: BLAKE3 of its content (keyed in encrypted repositories).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkId(pub [u8; 32]);

impl ChunkId {
    pub fn of(data: &[u8], key: Option<&MasterKey>) -> Self {
        match key {
            Some(key) => ChunkId(*blake3::keyed_hash(&key.id_key, data).as_bytes()),
            None => ChunkId(*blake3::hash(data).as_bytes()),
        }
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    /// The first 12 hex digits, for messages.
    pub fn short(self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl std::fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChunkId({})", self.short())
    }
}

impl Serialize for ChunkId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ChunkId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut id = [0u8; 32];
        hex::decode_to_slice(&text, &mut id).map_err(serde::de::Error::custom)?;
        Ok(ChunkId(id))
    }
}

/// The three named compression levels an administrator chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// zstd level 1: fastest, for busy servers.
    Fastest,
    /// zstd level 3: the usual trade-off.
    #[default]
    Balanced,
    /// zstd level 12: smallest repository, several times slower.
    Best,
}

impl Compression {
    pub fn zstd_level(self) -> i32 {
        match self {
            Compression::Fastest => 1,
            Compression::Balanced => 3,
            Compression::Best => 12,
        }
    }

    /// The level for one kind of content. Table rows repeat the same
    /// layout row after row: at the balanced setting they get zstd 6,
    /// whose lazier matcher stores them about 10% smaller (measured on
    /// PostgreSQL COPY streams) and still keeps up with the server.
    pub fn zstd_level_for(self, table_rows: bool) -> i32 {
        match self {
            Compression::Balanced if table_rows => 6,
            other => other.zstd_level(),
        }
    }
}

impl std::str::FromStr for Compression {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "fastest" => Ok(Compression::Fastest),
            "balanced" => Ok(Compression::Balanced),
            "best" => Ok(Compression::Best),
            other => Err(EngineError::invalid(
                "compression level",
                format!("{other:?} (expected fastest, balanced or best)"),
            )),
        }
    }
}

thread_local! {
    // zstd contexts are large to set up; each worker thread keeps its own.
    static COMPRESSOR: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> = const { std::cell::RefCell::new(None) };
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { std::cell::RefCell::new(None) };
}

fn compress(raw: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(l, _)| *l != level) {
            *slot = Some((level, zstd::bulk::Compressor::new(level)?));
        }
        match slot.as_mut() {
            Some((_, compressor)) => compressor.compress(raw),
            None => zstd::bulk::compress(raw, level),
        }
    })
}

fn decompress(data: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        match slot.as_mut() {
            Some(decompressor) => decompressor.decompress(data, capacity),
            None => zstd::bulk::decompress(data, capacity),
        }
    })
}

/// Compresses one chunk at a zstd level ([`Compression::zstd_level_for`])
/// and, with a key, encrypts it for storage.
pub fn encode_at(raw: &[u8], zstd_level: i32, key: Option<&MasterKey>) -> Result<Vec<u8>> {
    let compressed = compress(raw, zstd_level)
        .map_err(|e| EngineError::invalid("compression", e.to_string()))?;
    match key {
        Some(key) => key.seal(&compressed),
        None => Ok(compressed),
    }
}

/// Reverses [`encode`] and checks the result against its id. `what` names
/// the blob in the error (pack and offset).
pub fn decode(
    stored: &[u8],
    id: ChunkId,
    raw_len: u32,
    key: Option<&MasterKey>,
    what: &dyn Fn() -> String,
) -> Result<Vec<u8>> {
    let compressed;
    let compressed_ref = match key {
        Some(key) => {
            compressed = key.open(stored).map_err(|()| {
                EngineError::corrupt(what(), "authentication failed (altered or truncated)")
            })?;
            &compressed[..]
        }
        None => stored,
    };
    let raw = decompress(compressed_ref, raw_len as usize)
        .map_err(|e| EngineError::corrupt(what(), format!("cannot decompress: {e}")))?;
    if raw.len() != raw_len as usize || ChunkId::of(&raw, key) != id {
        return Err(EngineError::corrupt(
            what(),
            format!("content does not match chunk id {}", id.short()),
        ));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_and_detect_a_flipped_byte() {
        let raw = b"2026-11-21T00:00:00Z,device-7,temperature,21.5\n".repeat(200);
        let id = ChunkId::of(&raw, None);
        for level in [
            Compression::Fastest,
            Compression::Balanced,
            Compression::Best,
        ] {
            let stored = encode_at(&raw, level.zstd_level(), None).unwrap();
            assert!(stored.len() < raw.len());
            assert_eq!(
                decode(&stored, id, raw.len() as u32, None, &|| "x".into()).unwrap(),
                raw
            );
        }
        let mut stored = encode_at(&raw, Compression::Balanced.zstd_level(), None).unwrap();
        let mid = stored.len() / 2;
        stored[mid] ^= 0x40;
        let err = decode(&stored, id, raw.len() as u32, None, &|| {
            "pack p at 0".into()
        })
        .unwrap_err();
        assert!(err.to_string().contains("pack p at 0"), "{err}");
    }

    #[test]
    fn chunk_ids_round_trip_as_hex() {
        let id = ChunkId::of(b"abc", None);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ChunkId>(&json).unwrap(), id);
        assert!("fast".parse::<Compression>().is_err());
    }
}
