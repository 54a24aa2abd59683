//! Content digests: what proves a restored object holds exactly what was
//! backed up.
//!
//! A table's digest is order-independent: each row, in the canonical form
//! its engine defines (the exact bytes the server printed), is hashed with
//! BLAKE3, and the hashes are added as 256-bit numbers. Parallel loading,
//! slices, parts and physical order therefore do not change it, duplicate
//! rows count as often as they occur, and the digests of two parts add up
//! to the digest of the whole. The backup computes it from the stream it
//! stores; the restore computes it again from what the target gives back.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// The digest of a multiset of rows, with their count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct RowDigest {
    pub rows: u64,
    sum: [u64; 4],
}

impl RowDigest {
    pub fn add_row(&mut self, row: &[u8]) {
        self.add_hash(&row_hash(row));
    }

    fn add_hash(&mut self, hash: &[u8; 32]) {
        let mut carry = false;
        for (i, lane) in self.sum.iter_mut().enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&hash[i * 8..i * 8 + 8]);
            let (sum, c1) = lane.overflowing_add(u64::from_le_bytes(word));
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            *lane = sum;
            carry = c1 || c2;
        }
        self.rows += 1;
    }

    /// The digest of both multisets together (an object's parts).
    pub fn combine(&mut self, other: &RowDigest) {
        let mut carry = false;
        for (lane, add) in self.sum.iter_mut().zip(other.sum) {
            let (sum, c1) = lane.overflowing_add(add);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            *lane = sum;
            carry = c1 || c2;
        }
        self.rows += other.rows;
    }
}

fn row_hash(row: &[u8]) -> [u8; 32] {
    *blake3::hash(row).as_bytes()
}

impl fmt::Display for RowDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rows:{}:", self.rows)?;
        for lane in self.sum.iter().rev() {
            write!(f, "{lane:016x}")?;
        }
        Ok(())
    }
}

impl From<RowDigest> for String {
    fn from(d: RowDigest) -> String {
        d.to_string()
    }
}

impl FromStr for RowDigest {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self> {
        let bad = || EngineError::corrupt("content digest", format!("{text:?} is not rows:N:HEX"));
        let rest = text.strip_prefix("rows:").ok_or_else(bad)?;
        let (rows, hex) = rest.split_once(':').ok_or_else(bad)?;
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut sum = [0u64; 4];
        for (i, lane) in sum.iter_mut().rev().enumerate() {
            *lane = u64::from_str_radix(&hex[i * 16..i * 16 + 16], 16).map_err(|_| bad())?;
        }
        Ok(RowDigest {
            rows: rows.parse().map_err(|_| bad())?,
            sum,
        })
    }
}

impl TryFrom<String> for RowDigest {
    type Error = EngineError;

    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

/// Cuts one object's stream, in the format its source stored it, into
/// rows in their canonical form. Each part of an object is a stream of its
/// own with a splitter of its own.
pub trait RowSplitter: Send {
    /// Takes the next bytes of the stream (pieces of any size) and hands
    /// each row completed by them to `row`.
    fn feed(&mut self, data: &[u8], row: &mut dyn FnMut(&[u8])) -> Result<()>;
    /// The stream ended: `Err` when it ended inside a record.
    fn end(&mut self) -> Result<()>;
}

/// A splitter and the digest of the rows it has cut so far; optionally
/// also each row's hash, to check later that every row is present in a
/// table that had rows of its own (a merge).
pub struct StreamDigest {
    splitter: Box<dyn RowSplitter>,
    pub digest: RowDigest,
    tally: Option<RowTally>,
}

impl StreamDigest {
    pub fn new(splitter: Box<dyn RowSplitter>) -> Self {
        StreamDigest {
            splitter,
            digest: RowDigest::default(),
            tally: None,
        }
    }

    /// Also keeps every row's hash (16 bytes a row) for [`RowTally`].
    pub fn keeping_rows(mut self) -> Self {
        self.tally = Some(RowTally::default());
        self
    }

    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        let (digest, tally) = (&mut self.digest, &mut self.tally);
        self.splitter.feed(data, &mut |row| {
            let hash = row_hash(row);
            digest.add_hash(&hash);
            if let Some(tally) = tally.as_mut() {
                tally.add(&hash);
            }
        })
    }

    /// Ends one part; the next part's stream starts with `splitter`.
    pub fn next_part(&mut self, splitter: Box<dyn RowSplitter>) -> Result<()> {
        self.splitter.end()?;
        self.splitter = splitter;
        Ok(())
    }

    pub fn finish(mut self) -> Result<(RowDigest, Option<RowTally>)> {
        self.splitter.end()?;
        Ok((self.digest, self.tally))
    }
}

/// How often each row (by hash) occurs: which rows of a backup are not
/// in a table read back.
#[derive(Debug, Default)]
pub struct RowTally {
    counts: HashMap<u128, u32>,
}

impl RowTally {
    fn add(&mut self, hash: &[u8; 32]) {
        *self.counts.entry(short(hash)).or_default() += 1;
    }

    /// A row read back: it accounts for one occurrence in the backup.
    pub fn present(&mut self, row: &[u8]) {
        if let Some(n) = self.counts.get_mut(&short(&row_hash(row))) {
            *n = n.saturating_sub(1);
        }
    }

    /// Rows of the backup that were not read back.
    pub fn missing(&self) -> u64 {
        self.counts.values().map(|&n| u64::from(n)).sum()
    }
}

fn short(hash: &[u8; 32]) -> u128 {
    let mut half = [0u8; 16];
    half.copy_from_slice(&hash[..16]);
    u128::from_le_bytes(half)
}

/// The digest of rows handed over one at a time (a target's read-back).
pub fn digest_rows(read: impl FnOnce(&mut dyn FnMut(&[u8])) -> Result<bool>) -> Result<Option<RowDigest>> {
    let mut digest = RowDigest::default();
    let supported = read(&mut |row| digest.add_row(row))?;
    Ok(supported.then_some(digest))
}

/// Describes how a table read back differs from the digest it should have.
pub fn difference(name: &str, expected: &RowDigest, actual: &RowDigest) -> Option<String> {
    if expected == actual {
        return None;
    }
    Some(if expected.rows != actual.rows {
        format!(
            "{name} has {} rows when read back, the backup holds {}: content differs",
            actual.rows, expected.rows
        )
    } else {
        format!(
            "{name} has the backup's {} rows, but their content differs when read back (digest {actual}, the backup's {expected})",
            expected.rows
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter_but_duplicates_and_bytes_do() {
        let digest = |rows: &[&[u8]]| {
            let mut d = RowDigest::default();
            for r in rows {
                d.add_row(r);
            }
            d
        };
        let abc = digest(&[b"a", b"b", b"c"]);
        assert_eq!(abc, digest(&[b"c", b"a", b"b"]));
        assert_ne!(abc, digest(&[b"a", b"b", b"c", b"c"]));
        assert_ne!(digest(&[b"a", b"a"]), digest(&[]));
        assert_ne!(abc, digest(&[b"a", b"b", b"d"]));
        let mut parts = digest(&[b"a"]);
        parts.combine(&digest(&[b"c", b"b"]));
        assert_eq!(parts, abc);
    }

    #[test]
    fn digests_round_trip_as_text_and_damage_is_refused() {
        let mut d = RowDigest::default();
        for i in 0..1000u32 {
            d.add_row(&i.to_le_bytes());
        }
        let text = d.to_string();
        assert!(text.starts_with("rows:1000:"));
        assert_eq!(text.parse::<RowDigest>().unwrap(), d);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<RowDigest>(&json).unwrap(), d);
        assert!("rows:1:abc".parse::<RowDigest>().is_err());
        assert!("sha:1:00".parse::<RowDigest>().is_err());
    }

    #[test]
    fn a_tally_finds_rows_missing_or_changed() {
        struct Lines(Vec<u8>);
        impl RowSplitter for Lines {
            fn feed(&mut self, data: &[u8], row: &mut dyn FnMut(&[u8])) -> Result<()> {
                for &b in data {
                    if b == b'\n' {
                        row(&self.0);
                        self.0.clear();
                    } else {
                        self.0.push(b);
                    }
                }
                Ok(())
            }
            fn end(&mut self) -> Result<()> {
                Ok(())
            }
        }
        let mut stream = StreamDigest::new(Box::new(Lines(Vec::new()))).keeping_rows();
        stream.feed(b"1,a\n2,b\n2,").unwrap();
        stream.feed(b"b\n").unwrap();
        let (digest, tally) = stream.finish().unwrap();
        assert_eq!(digest.rows, 3);
        let mut tally = tally.unwrap();
        for row in [&b"0,x"[..], b"1,a", b"2,b", b"2,c"] {
            tally.present(row);
        }
        assert_eq!(tally.missing(), 1, "one of the two 2,b rows");
    }
}
