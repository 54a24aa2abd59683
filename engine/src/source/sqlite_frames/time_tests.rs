use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::Connection;

use super::*;
use crate::digest::{RangeFilter, RowSplitter, StreamDigest};
use crate::repo::manifest::ObjectKind;
use crate::source::sqlite_frames::{decode_row, encode_value};
use crate::source::TimeRange;

/// Hands each piece fed to it over as one row.
struct Whole;

impl RowSplitter for Whole {
    fn feed(&mut self, data: &[u8], row: &mut dyn FnMut(&[u8])) -> crate::error::Result<()> {
        row(data);
        Ok(())
    }
    fn end(&mut self) -> crate::error::Result<()> {
        Ok(())
    }
}

/// Whether the core's range filter keeps a row whose time is `value`.
fn kept(range: &TimeRange, value: ValueRef<'_>) -> bool {
    let instant = value_instant(value);
    let time: RowTime = Box::new(move |_| instant.clone());
    let mut digest = StreamDigest::new(Box::new(Whole)).in_range(RangeFilter::new(range, time));
    digest.feed(b"row").unwrap();
    digest.finish().unwrap().0.rows == 1
}

fn bounds() -> Vec<String> {
    [
        "2026-11-01 02:00:00",
        "2026-11-01 03:30:00",
        "2026-11-01",
        "2026-11-01 02:30",
        "0000-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "2026-11-01 02:59:60",
        "+10000-01-01 00:00:00",
        "-0001-06-01 00:00:00",
        "2026-11-01T01:00:00+01:00",
    ]
    .iter()
    .filter_map(|t| Selection::parse_time(t).ok())
    .collect()
}

fn texts(bounds: &[String]) -> Vec<Vec<u8>> {
    let mut texts: Vec<Vec<u8>> = [
        &b""[..],
        b"now",
        b"2026-11-01",
        b"2026-11-01 02",
        b"2026-11-01 02:00",
        b"2026-11-01 02:00:0",
        b"2026-11-01T02:30:00",
        b"2026-11-1 02:00:00",
        b" 2026-11-01 02:00:00",
        b"2026-11-01 01:59:59.999999999999",
        b"2026-13-01 00:00:00",
        b"2026-02-30 00:00:00",
        b"20261-01-01 00:00:00",
        b"2026-11-01 02:3\xc3\xa9",
        b"2026-11-01 02:\xff",
        b"2026-11-01 03:29:5\x80",
        b"\xf0\x9f\x95\x90",
        // Characters whose UTF-16le low byte is below the bounds' digits.
        "2026-11-01 02:0\u{120}".as_bytes(),
        "2026-11-01 02:\u{131}".as_bytes(),
        "\u{132}".as_bytes(),
    ]
    .iter()
    .map(|t| t.to_vec())
    .collect();
    for bound in bounds {
        for suffix in [
            &b""[..],
            b".",
            b".0",
            b".000000000",
            b".0000000001",
            b".5",
            b" ",
            b"  ",
            b"Z",
            b"+01:00",
            b"-",
            b"\0",
            b"\xff",
            b"\xc3\xa9",
        ] {
            let mut text = bound.as_bytes().to_vec();
            text.extend_from_slice(suffix);
            texts.push(text);
        }
        // One character short, and the last one changed up and down.
        let short = &bound.as_bytes()[..bound.len() - 1];
        texts.push(short.to_vec());
        for last in [b'/', b'0', b'9', b':'] {
            let mut text = short.to_vec();
            text.push(last);
            texts.push(text);
        }
    }
    texts
}

/// For every range of the bounds and every time value: the core's filter
/// keeps the row exactly when SQLite's condition does, both as the load
/// writes it (over VALUES, no affinity) and as verifying reads it back
/// (over a DATETIME column, the value as the column stores it), in a
/// UTF-8 database and in a UTF-16be one (UTF-16le orders other text
/// otherwise: read-back declines ranges there).
fn first_disagreement(encoding: &str) -> Option<String> {
    let conn = Connection::open_in_memory().unwrap();
    // A column's collation is used when reading back, the load's is BINARY.
    conn.execute_batch(&format!(
        "PRAGMA encoding = '{encoding}';
         CREATE TABLE t (ts DATETIME, n DATETIME COLLATE NOCASE, r DATETIME COLLATE RTRIM)"
    ))
    .unwrap();
    let bounds = bounds();
    assert!(bounds.len() >= 8, "{bounds:?}");
    // TEXT as stored, UTF-8 or not, and BLOBs.
    let mut raw: Vec<(u8, Vec<u8>)> = texts(&bounds).into_iter().map(|t| (b'T', t)).collect();
    raw.push((b'B', b"2026-11-01 02:30:00".to_vec()));
    raw.push((b'B', Vec::new()));
    let numbers = [
        Value::Integer(0),
        Value::Integer(1_793_000_000),
        Value::Integer(-5),
        Value::Integer(20261101),
        Value::Real(2_461_000.5),
        Value::Real(-0.0),
        Value::Real(f64::INFINITY),
        Value::Null,
    ];
    let mut ranges = Vec::new();
    for since in std::iter::once(None).chain(bounds.iter().map(Some)) {
        for until in std::iter::once(None).chain(bounds.iter().map(Some)) {
            if since.is_some() || until.is_some() {
                ranges.push(TimeRange {
                    since: since.cloned(),
                    until: until.cloned(),
                });
            }
        }
    }
    let (mut checked, mut differs) = (0, None);
    let mut check = |value: ValueRef<'_>| {
        conn.execute("DELETE FROM t", []).unwrap();
        conn.execute(
            "INSERT INTO t VALUES (?1, ?1, ?1)",
            [ToSqlOutput::Borrowed(value)],
        )
        .unwrap();
        // As the column stored it (its affinity may have converted it).
        let stored: Vec<u8> = conn
            .query_row("SELECT ts FROM t", [], |r| {
                let mut bytes = Vec::new();
                encode_value(r.get_ref(0)?, &mut bytes);
                Ok(bytes)
            })
            .unwrap();
        let stored = decode_row(&stored).unwrap();
        for range in &ranges {
            let loaded: i64 = conn
                .query_row(
                    &format!(
                        "SELECT count(*) FROM (VALUES (?1)) WHERE {}",
                        range.sql_condition("column1")
                    ),
                    [ToSqlOutput::Borrowed(value)],
                    |r| r.get(0),
                )
                .unwrap();
            if kept(range, value) != (loaded == 1) {
                differs.get_or_insert(format!("{value:?} in {range:?}"));
            }
            let stored = stored[0];
            for column in ["ts", "n", "r"] {
                let read: i64 = conn
                    .query_row(
                        &format!(
                            "SELECT count(*) FROM t WHERE {}",
                            range.sql_condition(column)
                        ),
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                if kept(range, stored) != (read == 1) {
                    differs.get_or_insert(format!("stored {stored:?} in {range:?} ({column})"));
                }
            }
            checked += 1;
        }
    };
    for (tag, bytes) in &raw {
        check(if *tag == b'T' {
            ValueRef::Text(bytes)
        } else {
            ValueRef::Blob(bytes)
        });
    }
    for number in &numbers {
        check(ValueRef::from(number));
    }
    assert!(checked > 10_000, "{checked}");
    differs
}

#[test]
fn the_filter_keeps_what_sqlite_keeps_in_utf8() {
    assert_eq!(first_disagreement("UTF-8"), None);
}

#[test]
fn the_filter_keeps_what_sqlite_keeps_in_utf16be() {
    assert_eq!(first_disagreement("UTF-16be"), None);
}

/// Why read-back declines ranges in UTF-16le databases.
#[test]
fn utf16le_orders_some_text_otherwise() {
    assert!(first_disagreement("UTF-16le").is_some());
}

#[test]
fn the_time_is_read_from_its_column_after_the_rowid() {
    let mut entry = ObjectEntry::new("t", ObjectKind::Table);
    entry.format = Some(FORMAT.into());
    entry.columns = vec![
        column_entry("id", "INTEGER"),
        column_entry("when \"it\" was", "TIMESTAMP"),
        column_entry("v", ""),
    ];
    assert_eq!(time_column(&entry), Some((1, "when \"it\" was".into())));
    let time = row_time(&entry).unwrap();
    let row = |values: &[ValueRef<'_>]| {
        let mut bytes = Vec::new();
        for v in values {
            encode_value(*v, &mut bytes);
        }
        bytes
    };
    let at = RowInstant::from_utc_text("2026-11-01 02:00:00");
    let text = ValueRef::Text(b"2026-11-01 02:00:00");
    let (one, null) = (ValueRef::Integer(1), ValueRef::Null);
    assert_eq!(time(&row(&[one, text, null])), Some(at.clone()));
    assert_eq!(time(&row(&[one, one, text, null])), Some(at), "rowid first");
    assert_eq!(time(&row(&[one, null, text])), None, "NULL is in no range");
    assert_eq!(time(&row(&[one, text])), None, "a row of another width");

    // Without columns (older points), or with two time columns, or a -1
    // stream: nowhere to read the time from.
    let mut two = entry.clone();
    two.columns.push(column_entry("updated", "DATETIME"));
    assert!(row_time(&two).is_none());
    let mut old = entry.clone();
    old.columns.clear();
    assert!(row_time(&old).is_none());
    let mut v1 = entry;
    v1.format = None;
    assert!(row_time(&v1).is_none());
}
