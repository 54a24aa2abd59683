//! The stream a SQLite table is backed up as: framed records, so a table
//! restores on its own and under another name.
//!
//! Each record is `<tag> <length>\n<payload>\n`: `H` a JSON header,
//! `S` the table's (or view's) CREATE statement, `X` an index or trigger
//! statement, `R` one row: in `tidemark-sqlite-table-2` streams its values'
//! exact bytes ([`values`]; the rowid first where the header names one),
//! loaded with bound parameters; in `-1` streams an SQL value tuple
//! `(1,'a',X'00',NULL)` (REALs went through SQLite's text parsing, and
//! TEXT that was not UTF-8 was altered; still read, and loaded exactly as
//! written).

mod time;
mod values;

use serde::{Deserialize, Serialize};

pub use time::{column_entry, is_time_type, row_time, time_column};
pub use values::{decode_row, encode_value, literal, parse_tuple};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub name: String,
    pub view: bool,
    /// The columns each `R` record holds, in order (`-2`; generated
    /// columns are computed again, so not stored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// The name the table's rowid is read as (`rowid`, `_rowid_` or
    /// `oid`), when it has one: each `R` record's first value. Without an
    /// INTEGER PRIMARY KEY it is in no column, yet FTS indexes and
    /// applications refer to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rowid: Option<String>,
    /// A virtual table: its CREATE statement only, as its rows are in its
    /// shadow tables, which are tables of their own in the backup.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub virtual_table: bool,
    /// The table's AUTOINCREMENT counter, its row in `sqlite_sequence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
    /// Where each `X` record stood in the source's schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<ExtraPlace>,
    /// The table's planner statistics (from ANALYZE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statistics: Vec<Statistic>,
    /// The database's settings, applied to a database the restore creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseSettings>,
}

/// An index's or trigger's place in the source's schema: its rowid
/// there, and the table or view that followed it (created after it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraPlace {
    pub order: i64,
    pub before: Option<String>,
}

/// One row of the planner's statistics (`sqlite_stat1`, and
/// `sqlite_stat4` where SQLite has it) about a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistic {
    /// `sqlite_stat1` or `sqlite_stat4`.
    pub table: String,
    /// The row's place there (`sqlite3 .dump` prints them in this order).
    pub order: i64,
    /// Its values after `tbl` (the index first), exactly encoded, in hex.
    pub values: String,
}

/// The tables the planner's statistics are in.
pub const STAT_TABLES: [&str; 2] = ["sqlite_stat1", "sqlite_stat4"];

/// What a database file holds besides its objects: its text encoding
/// (fixed once it has content) and the numbers applications keep in its
/// header (`user_version` is often the schema's migration level).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSettings {
    pub encoding: String,
    pub user_version: i64,
    pub application_id: i64,
}

/// The stream format of backups taken now: rows as exact values.
pub const FORMAT: &str = "tidemark-sqlite-table-2";
/// Rows as SQL value tuples; read for points taken before `-2`, whose
/// entries carry no `format`.
pub const FORMAT_V1: &str = "tidemark-sqlite-table-1";

pub fn frame(tag: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    out.extend_from_slice(format!(" {}\n", payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out.push(b'\n');
}

/// One complete record: its tag, its payload, and the bytes it used.
pub struct Frame<'a> {
    pub tag: u8,
    pub payload: &'a [u8],
    pub len: usize,
}

/// Takes the first complete record off `buf` (`None` until one is
/// complete); `Err` on a malformed one.
pub fn next_frame(buf: &[u8]) -> Result<Option<Frame<'_>>, String> {
    let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > 32 {
            Err("record header too long".into())
        } else {
            Ok(None)
        };
    };
    let head = std::str::from_utf8(&buf[..newline])
        .map_err(|_| "record header is not text".to_string())?;
    let (tag, len) = head
        .split_once(' ')
        .ok_or_else(|| format!("bad record header {head:?}"))?;
    let len: usize = len
        .parse()
        .map_err(|_| format!("bad record length {len:?}"))?;
    let tag = match tag.as_bytes() {
        [t @ (b'H' | b'S' | b'X' | b'R')] => *t,
        _ => return Err(format!("unknown record type {tag:?}")),
    };
    let end = newline + 1 + len;
    if buf.len() < end + 1 {
        return Ok(None);
    }
    if buf[end] != b'\n' {
        return Err("record is not terminated".into());
    }
    Ok(Some(Frame {
        tag,
        payload: &buf[newline + 1..end],
        len: end + 1,
    }))
}

/// Cuts a stored table stream into rows: a row's canonical form is its
/// `R` record's payload (exact values in `-2` streams, the value tuple in
/// `-1` streams, whose points' digests were recorded over those; the
/// target reads back in the form the entry's `format` names).
#[derive(Default)]
pub struct Splitter {
    pending: Vec<u8>,
}

impl crate::digest::RowSplitter for Splitter {
    fn feed(&mut self, data: &[u8], row: &mut dyn FnMut(&[u8])) -> crate::error::Result<()> {
        self.pending.extend_from_slice(data);
        let mut at = 0;
        while let Some(frame) = next_frame(&self.pending[at..]).map_err(damaged)? {
            if frame.tag == b'R' {
                row(frame.payload);
            }
            at += frame.len;
        }
        self.pending.drain(..at);
        Ok(())
    }

    fn end(&mut self) -> crate::error::Result<()> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(damaged("the stream ends inside a record".into()))
        }
    }
}

fn damaged(detail: String) -> crate::error::EngineError {
    crate::error::EngineError::corrupt("SQLite table stream", detail)
}

/// Rows of a stored table stream in their canonical form.
pub fn row_splitter(
    entry: &crate::repo::manifest::ObjectEntry,
) -> Option<Box<dyn crate::digest::RowSplitter>> {
    // Views and virtual tables (no row count) hold no rows of their own.
    (entry.kind == crate::repo::manifest::ObjectKind::Table && entry.rows.is_some())
        .then(|| Box::new(Splitter::default()) as _)
}

/// Quotes an identifier for SQLite.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Where the object name sits in a normalised `CREATE TABLE|VIEW|INDEX|TRIGGER`
/// statement from `sqlite_schema`: the byte range of the name token.
pub fn name_span(sql: &str) -> Option<std::ops::Range<usize>> {
    let upper = sql.to_ascii_uppercase();
    let mut pos = [
        "CREATE TABLE ",
        "CREATE VIEW ",
        "CREATE UNIQUE INDEX ",
        "CREATE INDEX ",
        "CREATE TRIGGER ",
    ]
    .iter()
    .find(|p| upper.starts_with(*p))?
    .len();
    while sql[pos..].starts_with(' ') {
        pos += 1;
    }
    identifier_end(sql, pos).map(|end| pos..end)
}

/// The end of the identifier starting at `start` (quoted or bare).
fn identifier_end(sql: &str, start: usize) -> Option<usize> {
    let bytes = sql.as_bytes();
    let close = match *bytes.get(start)? {
        b'"' => b'"',
        b'`' => b'`',
        b'[' => b']',
        b'\'' => b'\'',
        _ => {
            let len = sql[start..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(sql.len() - start);
            return (len > 0).then_some(start + len);
        }
    };
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == close {
            // A doubled quote is an escaped quote inside the name.
            if close != b']' && bytes.get(i + 1) == Some(&close) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_partial_input_waits() {
        let mut buf = Vec::new();
        frame(b'S', b"CREATE TABLE t(a)", &mut buf);
        frame(b'R', b"(1)", &mut buf);
        let first = next_frame(&buf).unwrap().unwrap();
        assert_eq!(
            (first.tag, first.payload),
            (b'S', &b"CREATE TABLE t(a)"[..])
        );
        assert!(next_frame(&buf[first.len..first.len + 3])
            .unwrap()
            .is_none());
        assert!(next_frame(b"Q 3\nabc\n").is_err());
    }

    #[test]
    fn finds_names_in_create_statements() {
        let name = |sql: &str| name_span(sql).map(|r| sql[r].to_owned());
        assert_eq!(
            name("CREATE TABLE metrics(ts, v)").as_deref(),
            Some("metrics")
        );
        assert_eq!(
            name("CREATE TABLE \"odd \"\"name\"\" x\" (a)").as_deref(),
            Some("\"odd \"\"name\"\" x\"")
        );
        assert_eq!(name("CREATE TABLE [b r] (a)").as_deref(), Some("[b r]"));
        assert_eq!(
            name("CREATE UNIQUE INDEX idx_ts ON metrics(ts)").as_deref(),
            Some("idx_ts")
        );
        assert_eq!(name("CREATE VIEW v AS SELECT 1").as_deref(), Some("v"));
        assert_eq!(name("SELECT 1"), None);
    }
}
