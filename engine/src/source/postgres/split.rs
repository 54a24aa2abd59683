//! Cuts a binary COPY stream at row boundaries, so one table can be loaded
//! over several connections at once: each gets whole rows behind a header
//! of its own. The stream may hold several COPY streams one after the other
//! (the parts of a watermark chain); their headers and trailers are dropped.

use crate::error::{EngineError, Result};

/// `PGCOPY\n\377\r\n\0`, flags 0, no header extension.
pub const HEADER: [u8; 19] = *b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// A field count of -1 ends a stream.
pub const TRAILER: [u8; 2] = [0xff, 0xff];

pub(super) enum State {
    /// Expecting a header (at the start, or after a trailer).
    Header,
    /// Expecting a row or the trailer.
    Rows,
}

/// Gathers whole rows into batches of about `batch` bytes.
pub struct RowSplitter {
    batch: usize,
    pending: Vec<u8>,
    /// Whole rows not yet handed out.
    rows: Vec<u8>,
    state: State,
    pub row_count: u64,
}

impl RowSplitter {
    pub fn new(batch: usize) -> Self {
        RowSplitter {
            batch,
            pending: Vec::new(),
            rows: Vec::with_capacity(batch + 64 * 1024),
            state: State::Header,
            row_count: 0,
        }
    }

    /// Takes more of the stream; returns the batches that are full.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut full = Vec::new();
        let (rows, batch, count) = (&mut self.rows, self.batch, &mut self.row_count);
        cut(&mut self.pending, &mut self.state, data, &mut |row| {
            rows.extend_from_slice(row);
            *count += 1;
            if rows.len() >= batch {
                full.push(std::mem::replace(
                    rows,
                    Vec::with_capacity(batch + 64 * 1024),
                ));
            }
        })?;
        Ok(full)
    }

    /// The last rows, once the stream has ended (complete, or an error).
    pub fn finish(&mut self) -> Result<Vec<u8>> {
        if !self.pending.is_empty() || matches!(self.state, State::Rows) {
            return Err(bad("the stream ends inside a row or without its trailer"));
        }
        Ok(std::mem::take(&mut self.rows))
    }
}

/// Appends `data` to `pending` and hands each whole row (its bytes with
/// the field count, as COPY sent it) to `row`; headers and trailers of the
/// parts are checked and dropped.
pub(super) fn cut(
    pending: &mut Vec<u8>,
    state: &mut State,
    data: &[u8],
    row: &mut dyn FnMut(&[u8]),
) -> Result<()> {
    pending.extend_from_slice(data);
    let mut at = 0;
    loop {
        let rest = &pending[at..];
        match state {
            State::Header => {
                if rest.len() < HEADER.len() {
                    break;
                }
                if rest[..11] != HEADER[..11] {
                    return Err(bad("a part does not start with a COPY header"));
                }
                let flags = u32::from_be_bytes([rest[11], rest[12], rest[13], rest[14]]);
                if flags & 0xffff_0000 != 0 {
                    // Bit 16 is WITH OIDS (servers before 12); others are critical.
                    return Err(bad("the COPY header has flags this reader does not know"));
                }
                let ext = u32::from_be_bytes([rest[15], rest[16], rest[17], rest[18]]) as usize;
                if rest.len() < HEADER.len() + ext {
                    break;
                }
                at += HEADER.len() + ext;
                *state = State::Rows;
            }
            State::Rows => match row_length(rest)? {
                None => break,
                Some(Row::Trailer) => {
                    at += 2;
                    *state = State::Header;
                }
                Some(Row::Data(len)) => {
                    row(&rest[..len]);
                    at += len;
                }
            },
        }
    }
    pending.drain(..at);
    Ok(())
}

enum Row {
    Trailer,
    Data(usize),
}

/// The length of the row at the start of `buf`, if it is all there.
fn row_length(buf: &[u8]) -> Result<Option<Row>> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let fields = i16::from_be_bytes([buf[0], buf[1]]);
    if fields == -1 {
        return Ok(Some(Row::Trailer));
    }
    if fields < 0 {
        return Err(bad("a row has a negative field count"));
    }
    let mut at = 2;
    for _ in 0..fields {
        let Some(len) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        if len > 0 {
            at += len as usize;
        } else if len < -1 {
            return Err(bad("a field has a negative length"));
        }
    }
    Ok((at <= buf.len()).then_some(Row::Data(at)))
}

fn bad(message: &str) -> EngineError {
    EngineError::corrupt("binary COPY stream", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = (values.len() as i16).to_be_bytes().to_vec();
        for value in values {
            match value {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    out.extend_from_slice(v);
                }
            }
        }
        out
    }

    #[test]
    fn rows_are_cut_whole_across_parts_and_any_piece_size() {
        let rows: Vec<Vec<u8>> = (0..500u32)
            .map(|i| row(&[Some(&i.to_be_bytes()), None, Some(b"text value")]))
            .collect();
        let mut stream = Vec::new();
        for part in rows.chunks(200) {
            stream.extend_from_slice(&HEADER);
            part.iter().for_each(|r| stream.extend_from_slice(r));
            stream.extend_from_slice(&TRAILER);
        }
        for piece in [1, 7, 64, 100_000] {
            let mut splitter = RowSplitter::new(1000);
            let mut out = Vec::new();
            for bytes in stream.chunks(piece) {
                for batch in splitter.feed(bytes).unwrap() {
                    assert!(batch.len() >= 1000);
                    out.extend(batch);
                }
            }
            out.extend(splitter.finish().unwrap());
            assert_eq!(out, rows.concat(), "pieces of {piece}");
            assert_eq!(splitter.row_count, 500);
        }
        let mut cut = RowSplitter::new(1000);
        cut.feed(&stream[..stream.len() - 5]).unwrap();
        assert!(cut.finish().is_err(), "a truncated stream is an error");
    }
}
