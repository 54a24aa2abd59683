//! The stream a table is stored as: a header naming the columns, then
//! each row's values as raw bytes, NULL kept apart, then an end mark.
//! Values go back through parameters, so the server converts them to the
//! column types exactly as it wrote them.
//!
//! `TMROWS2` (current): each value is the column's own bytes (read with
//! `character_set_results = binary`: text in the column's character set,
//! which the header names per column; numbers and times in their text
//! form). `TMROWS1` (older points): text columns converted to utf8mb4.

use crate::error::{EngineError, Result};

const MAGIC_V1: &[u8] = b"TMROWS1\n";
const MAGIC: &[u8] = b"TMROWS2\n";
const ROW: u8 = 1;
const END: u8 = 0;

/// `ObjectEntry.format` of a table stored as `TMROWS2`; none: `TMROWS1`.
pub const FORMAT_BYTES: &str = "column-bytes";

/// A column of the stream: its name and, for text, its character set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamColumn {
    pub name: String,
    /// Empty for columns without one (numbers, times, binary strings).
    pub charset: String,
}

pub fn header(columns: &[StreamColumn]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(columns.len() as u32).to_le_bytes());
    for column in columns {
        for text in [&column.name, &column.charset] {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
    out
}

pub fn push_row(out: &mut Vec<u8>, values: &[Option<Vec<u8>>]) {
    out.push(ROW);
    for value in values {
        match value {
            None => out.push(0),
            Some(bytes) => {
                out.push(1);
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }
}

pub fn end() -> [u8; 1] {
    [END]
}

pub type Row = Vec<Option<Vec<u8>>>;

/// Parses the stream as it arrives, in pieces of any size.
#[derive(Default)]
pub struct RowReader {
    buf: Vec<u8>,
    pos: usize,
    pub columns: Option<Vec<String>>,
    /// Each column's character set (`TMROWS2`); `None` for `TMROWS1`
    /// streams, whose text is utf8mb4.
    pub charsets: Option<Vec<String>>,
    pub ended: bool,
}

impl RowReader {
    pub fn feed(&mut self, data: &[u8]) {
        // Keep only the unread part (at most one partial row).
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete row, if one has arrived.
    pub fn next_row(&mut self, what: &str) -> Result<Option<Row>> {
        let bad = |m: &str| EngineError::corrupt(what.to_owned(), m.to_owned());
        if self.columns.is_none() {
            let mut cur = Cursor {
                buf: &self.buf,
                pos: self.pos,
            };
            let Some(magic) = cur.take(MAGIC.len()) else {
                return Ok(None);
            };
            let v2 = match magic {
                MAGIC => true,
                MAGIC_V1 => false,
                _ => return Err(bad("not a Tidemark row stream")),
            };
            let Some(count) = cur.u32() else {
                return Ok(None);
            };
            let (mut names, mut charsets) = (Vec::new(), Vec::new());
            for _ in 0..count {
                for (i, list) in [&mut names, &mut charsets].into_iter().enumerate() {
                    if i == 1 && !v2 {
                        continue;
                    }
                    let Some(len) = cur.u32() else {
                        return Ok(None);
                    };
                    let Some(text) = cur.take(len as usize) else {
                        return Ok(None);
                    };
                    list.push(
                        String::from_utf8(text.to_vec())
                            .map_err(|_| bad("column name is not UTF-8"))?,
                    );
                }
            }
            self.pos = cur.pos;
            self.columns = Some(names);
            self.charsets = v2.then_some(charsets);
        }
        let width = self.columns.as_ref().map_or(0, Vec::len);
        let mut cur = Cursor {
            buf: &self.buf,
            pos: self.pos,
        };
        let Some(marker) = cur.take(1) else {
            return Ok(None);
        };
        match marker[0] {
            END => {
                self.pos = cur.pos;
                self.ended = true;
                Ok(None)
            }
            ROW => {
                let mut row = Vec::with_capacity(width);
                for _ in 0..width {
                    let Some(tag) = cur.take(1) else {
                        return Ok(None);
                    };
                    if tag[0] == 0 {
                        row.push(None);
                        continue;
                    }
                    let Some(len) = cur.u32() else {
                        return Ok(None);
                    };
                    let Some(bytes) = cur.take(len as usize) else {
                        return Ok(None);
                    };
                    row.push(Some(bytes.to_vec()));
                }
                self.pos = cur.pos;
                Ok(Some(row))
            }
            _ => Err(bad("unknown row marker")),
        }
    }
}

/// Cuts a stored table stream into rows; a row's canonical form is its
/// values as [`push_row`] encodes them (the column's own bytes, or for
/// `TMROWS1` the server's text form in utf8mb4, with NULL kept apart).
#[derive(Default)]
pub struct Splitter {
    reader: RowReader,
    scratch: Vec<u8>,
}

impl crate::digest::RowSplitter for Splitter {
    fn feed(&mut self, data: &[u8], row: &mut dyn FnMut(&[u8])) -> Result<()> {
        self.reader.feed(data);
        while let Some(values) = self.reader.next_row("table stream")? {
            self.scratch.clear();
            push_row(&mut self.scratch, &values);
            row(&self.scratch);
        }
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        if self.reader.ended {
            Ok(())
        } else {
            Err(EngineError::corrupt(
                "table stream",
                "it ends before its end mark",
            ))
        }
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.buf.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(out)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_any_split() {
        let column = |name: &str, charset: &str| StreamColumn {
            name: name.into(),
            charset: charset.into(),
        };
        let mut stream = header(&[column("id", ""), column("note", "latin1")]);
        push_row(&mut stream, &[Some(b"1".to_vec()), None]);
        push_row(&mut stream, &[Some(b"2".to_vec()), Some(vec![0, 255, 10])]);
        stream.extend_from_slice(&end());
        for split in 1..stream.len() {
            let mut reader = RowReader::default();
            let mut rows = Vec::new();
            for piece in stream.chunks(split) {
                reader.feed(piece);
                while let Some(row) = reader.next_row("t").unwrap() {
                    rows.push(row);
                }
            }
            assert!(reader.ended, "split {split}");
            assert_eq!(
                reader.charsets,
                Some(vec![String::new(), "latin1".to_owned()])
            );
            assert_eq!(
                rows,
                vec![
                    vec![Some(b"1".to_vec()), None],
                    vec![Some(b"2".to_vec()), Some(vec![0, 255, 10])]
                ]
            );
        }
    }

    #[test]
    fn old_streams_still_read() {
        let mut stream = MAGIC_V1.to_vec();
        stream.extend_from_slice(&1u32.to_le_bytes());
        stream.extend_from_slice(&2u32.to_le_bytes());
        stream.extend_from_slice(b"id");
        push_row(&mut stream, &[Some(b"7".to_vec())]);
        stream.extend_from_slice(&end());
        let mut reader = RowReader::default();
        reader.feed(&stream);
        assert_eq!(
            reader.next_row("t").unwrap(),
            Some(vec![Some(b"7".to_vec())])
        );
        assert_eq!(reader.next_row("t").unwrap(), None);
        assert!(reader.ended);
        assert_eq!(reader.columns, Some(vec!["id".to_owned()]));
        assert_eq!(reader.charsets, None);
    }
}
