//! A table's rows in their canonical form, for content digests: cut from
//! the stored stream (at backup and restore) and from the restored table
//! read back, in the same COPY format and session settings both times.
//!
//! Binary COPY: a row is its tuple bytes (field count, then each field's
//! length and bytes) as the server sent them. Text COPY: a row is its line
//! without the newline (a newline inside a value is escaped as `\n`).

use super::split::{cut, State};
use crate::digest::RowSplitter;
use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;

/// The `format` of a table stored as text COPY.
pub const TEXT: &str = "copy-text";

/// How one table's rows are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Binary,
    Text,
}

impl Format {
    /// The format an entry records; unknown ones (a newer engine's) are
    /// refused rather than read as something they are not.
    pub fn of(entry: &ObjectEntry) -> Result<Format> {
        match entry.format.as_deref() {
            None => Ok(Format::Binary),
            Some(TEXT) => Ok(Format::Text),
            Some(other) => Err(EngineError::invalid(
                format!("table {}", entry.name),
                format!("its rows are stored as {other:?}, which this version cannot read"),
            )),
        }
    }

    /// The COPY option naming the format.
    pub fn option(self) -> &'static str {
        match self {
            Format::Binary => "FORMAT binary",
            Format::Text => "FORMAT text",
        }
    }

    pub fn splitter(self) -> Box<dyn RowSplitter> {
        match self {
            Format::Binary => Box::new(BinaryRows {
                pending: Vec::new(),
                state: State::Header,
            }),
            Format::Text => Box::new(TextRows::default()),
        }
    }
}

/// Session settings under which every COPY of rows, out and in, prints
/// and reads values the same way on any server: text output exact
/// (shortest round-tripping floats, hex bytea, ISO dates, UTC) and
/// independent of the server's configuration (money's locale, XML
/// parsing). `row_security = off` makes a read that row-level security
/// would filter fail instead of silently leaving rows out.
pub const SESSION: &[(&str, &str)] = &[
    ("TimeZone", "UTC"),
    ("DateStyle", "ISO, YMD"),
    ("IntervalStyle", "postgres"),
    ("extra_float_digits", "3"),
    ("bytea_output", "hex"),
    ("lc_monetary", "C"),
    ("xmloption", "content"),
    ("row_security", "off"),
];

/// `SET` statements for [`SESSION`] (`SET LOCAL` inside a transaction).
pub fn session_sql(local: bool) -> Vec<String> {
    let scope = if local { "SET LOCAL" } else { "SET" };
    SESSION
        .iter()
        .map(|(name, value)| format!("{scope} {name} = '{value}'"))
        .collect()
}

struct BinaryRows {
    pending: Vec<u8>,
    state: State,
}

impl RowSplitter for BinaryRows {
    fn feed(&mut self, data: &[u8], row: &mut dyn FnMut(&[u8])) -> Result<()> {
        cut(&mut self.pending, &mut self.state, data, row)
    }

    fn end(&mut self) -> Result<()> {
        if !self.pending.is_empty() || matches!(self.state, State::Rows) {
            return Err(EngineError::corrupt(
                "binary COPY stream",
                "the stream ends inside a row or without its trailer",
            ));
        }
        Ok(())
    }
}

#[derive(Default)]
struct TextRows {
    /// The start of a line not yet ended.
    pending: Vec<u8>,
}

impl TextRows {
    fn line(line: &[u8], row: &mut dyn FnMut(&[u8])) {
        // `\.` ends a stream in the old protocol; no row is ever that line
        // (a backslash in a value is doubled).
        if line != b"\\." {
            row(line);
        }
    }
}

impl RowSplitter for TextRows {
    fn feed(&mut self, mut data: &[u8], row: &mut dyn FnMut(&[u8])) -> Result<()> {
        while let Some(end) = data.iter().position(|&b| b == b'\n') {
            if self.pending.is_empty() {
                Self::line(&data[..end], row);
            } else {
                self.pending.extend_from_slice(&data[..end]);
                Self::line(&self.pending, row);
                self.pending.clear();
            }
            data = &data[end + 1..];
        }
        self.pending.extend_from_slice(data);
        Ok(())
    }

    fn end(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            return Err(EngineError::corrupt(
                "text COPY stream",
                "the stream ends inside a row",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::split::{HEADER, TRAILER};
    use super::*;

    fn rows(format: Format, stream: &[u8], piece: usize) -> Result<Vec<Vec<u8>>> {
        let mut splitter = format.splitter();
        let mut out = Vec::new();
        for bytes in stream.chunks(piece) {
            splitter.feed(bytes, &mut |r| out.push(r.to_vec()))?;
        }
        splitter.end()?;
        Ok(out)
    }

    #[test]
    fn binary_rows_are_the_tuples_of_every_part() {
        let tuple = |i: u8| [0, 1, 0, 0, 0, 1, i].to_vec();
        let mut stream = Vec::new();
        for part in [[1u8, 2], [3, 4]] {
            stream.extend_from_slice(&HEADER);
            part.iter().for_each(|&i| stream.extend(tuple(i)));
            stream.extend_from_slice(&TRAILER);
        }
        for piece in [1, 3, 1000] {
            let cut = rows(Format::Binary, &stream, piece).unwrap();
            assert_eq!(cut, (1..=4).map(tuple).collect::<Vec<_>>());
        }
        assert!(rows(Format::Binary, &stream[..stream.len() - 1], 5).is_err());
    }

    #[test]
    fn text_rows_are_lines_without_their_newline() {
        let stream = b"1\ta\\nb\n2\t\\N\n\n3\t\\\\.\n";
        for piece in [1, 2, 100] {
            let cut = rows(Format::Text, stream, piece).unwrap();
            let want: Vec<&[u8]> = vec![b"1\ta\\nb", b"2\t\\N", b"", b"3\t\\\\."];
            assert_eq!(cut, want);
        }
        assert!(rows(Format::Text, b"1\n2", 1).is_err());
        let unknown = ObjectEntry {
            format: Some("copy-csv9".into()),
            ..ObjectEntry::new("public.t", crate::repo::manifest::ObjectKind::Table)
        };
        assert!(Format::of(&unknown).is_err());
    }
}
