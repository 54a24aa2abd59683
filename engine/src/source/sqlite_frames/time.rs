//! A row's time for time-range restores: the value of the table's one
//! date/time column, placed among the range's bounds exactly where the
//! target's condition `column >= 'since' AND column < 'until'` places it.
//!
//! SQLite applies no conversion there (the bounds look like no number), so
//! it compares by storage class: every INTEGER and REAL is below every
//! TEXT bound, every BLOB above, NULL is in no range, and TEXT compares
//! byte by byte (BINARY; a column's NOCASE or RTRIM orders the same against
//! these bounds). The core compares a row's instant with each bound as
//! [`RowInstant::from_utc_text`] normalises it (`B` becomes
//! `B.000000000`), so a TEXT value is mapped to a string that sits on the
//! same side of every normalised bound as the value sits of the bound.

use rusqlite::types::ValueRef;

use super::{decode_row, identifier_end, quote_ident, FORMAT};
use crate::digest::{RowInstant, RowTime};
use crate::repo::manifest::{ObjectEntry, Selection};

/// Whether a declared type makes a column a date/time column: the table's
/// one such column is the one time ranges filter on.
pub fn is_time_type(declared: &str) -> bool {
    let upper = declared.to_ascii_uppercase();
    upper.contains("TIME") || upper.contains("DATE")
}

/// A column as the manifest lists it: its quoted name and declared type
/// (names may hold spaces).
pub fn column_entry(name: &str, declared: &str) -> String {
    if declared.is_empty() {
        quote_ident(name)
    } else {
        format!("{} {declared}", quote_ident(name))
    }
}

/// A manifest column's name and declared type.
fn parse_column(column: &str) -> Option<(String, &str)> {
    if !column.starts_with('"') {
        return None;
    }
    let end = identifier_end(column, 0)?;
    let name = column.get(1..end - 1)?.replace("\"\"", "\"");
    Some((name, column[end..].strip_prefix(' ').unwrap_or("")))
}

/// The index among the entry's columns and the name of the table's one
/// date/time column; `None` without one, or for entries that list no
/// columns (points taken before they did).
pub fn time_column(entry: &ObjectEntry) -> Option<(usize, String)> {
    let columns: Vec<(String, &str)> = entry
        .columns
        .iter()
        .map(|c| parse_column(c))
        .collect::<Option<_>>()?;
    let mut times = columns
        .into_iter()
        .enumerate()
        .filter(|(_, (_, ty))| is_time_type(ty));
    match (times.next(), times.next()) {
        (Some((at, (name, _))), None) => Some((at, name)),
        _ => None,
    }
}

/// How to read the time of a row of a `-2` stream (its `R` payload: the
/// rowid when the table has one, then the entry's columns). `-1` streams
/// and entries without columns do not say where the time is: `None`.
pub fn row_time(entry: &ObjectEntry) -> Option<RowTime> {
    if entry.format.as_deref() != Some(FORMAT) {
        return None;
    }
    let (at, _) = time_column(entry)?;
    let width = entry.columns.len();
    Some(Box::new(move |row: &[u8]| {
        let values = decode_row(row).ok()?;
        let rowid = values.len().checked_sub(width).filter(|n| *n <= 1)?;
        value_instant(*values.get(rowid + at)?)
    }))
}

/// Where a value of the time column sits among the bounds.
pub fn value_instant(value: ValueRef<'_>) -> Option<RowInstant> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(_) | ValueRef::Real(_) => Some(RowInstant::Before),
        ValueRef::Blob(_) => Some(RowInstant::After),
        ValueRef::Text(text) => Some(text_instant(text)),
    }
}

/// A TEXT time. Bounds are what [`Selection::parse_time`] writes; none is
/// a prefix of another. If one is a prefix of `text`, `text` is on that
/// bound's side of every other bound, so it is that bound's instant.
/// Otherwise `text` compares with each bound `B` as with `B.000000000`
/// (they part before `B` ends, or `text` ends first), once what follows
/// its first non-ASCII byte, above every bound's bytes, is one character
/// above them all.
fn text_instant(text: &[u8]) -> RowInstant {
    if let Some(bound) = bound_prefix(text) {
        return RowInstant::from_utc_text(bound);
    }
    let ascii = text
        .iter()
        .position(|b| !b.is_ascii())
        .unwrap_or(text.len());
    let mut at = String::from_utf8_lossy(&text[..ascii]).into_owned();
    if ascii < text.len() {
        at.push('\u{80}');
    }
    RowInstant::At(at)
}

/// The bound `text` starts with, if any: `[sign]YYYY…-MM-DD HH:MM:SS`
/// with the year's digits all the digits there, as parsing writes it.
fn bound_prefix(text: &[u8]) -> Option<&str> {
    let sign = usize::from(matches!(text.first(), Some(b'+' | b'-')));
    let digits = text[sign..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits < 4 {
        return None;
    }
    let candidate = std::str::from_utf8(text.get(..sign + digits + 15)?).ok()?;
    (Selection::parse_time(candidate).ok()? == candidate).then_some(candidate)
}

#[cfg(test)]
#[path = "time_tests.rs"]
mod tests;
