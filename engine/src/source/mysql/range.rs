//! A time-range restore digests only the rows it loads: which value of a
//! stored row is the table's time, and that time as the target's range
//! condition (`col >= since AND col < until`) compares it.

use super::rows::FORMAT_BYTES;
use crate::digest::{RowInstant, RowTime};
use crate::repo::manifest::{ObjectEntry, ObjectKind};

/// The types of the one column a range is on (as `time_column` picks it).
const TIME_TYPES: [&str; 3] = ["datetime", "timestamp", "date"];

/// Reads a row's time from its canonical form (the [`super::rows::push_row`]
/// encoding of both stream formats; times are the server's text in
/// either). `None` when the manifest does not say which value it is
/// (points from before it listed the columns) or names no single one.
pub fn row_time(entry: &ObjectEntry) -> Option<RowTime> {
    if entry.kind != ObjectKind::Table
        || !matches!(entry.format.as_deref(), None | Some(FORMAT_BYTES))
    {
        return None;
    }
    let index = time_index(&entry.columns)?;
    let width = entry.columns.len();
    Some(Box::new(move |row: &[u8]| {
        instant(value(row, index, width)??)
    }))
}

/// The position of the one time column among `name type` texts.
fn time_index(columns: &[String]) -> Option<usize> {
    let mut times = columns.iter().enumerate().filter(|(_, text)| {
        text.rsplit_once(' ')
            .is_some_and(|(_, kind)| TIME_TYPES.iter().any(|t| kind.eq_ignore_ascii_case(t)))
    });
    match (times.next(), times.next()) {
        (Some((index, _)), None) => Some(index),
        _ => None,
    }
}

/// Value `index` of a row of `width` values: `None` if the row is not
/// one, `Some(None)` for NULL (which no range keeps).
fn value(row: &[u8], index: usize, width: usize) -> Option<Option<&[u8]>> {
    let mut rest = row.strip_prefix(&[1u8])?;
    let mut found = None;
    for i in 0..width {
        let (&tag, after) = rest.split_first()?;
        let bytes = match tag {
            0 => {
                rest = after;
                None
            }
            1 => {
                let len = u32::from_le_bytes(after.get(..4)?.try_into().ok()?) as usize;
                let bytes = after.get(4..4 + len)?;
                rest = &after[4 + len..];
                Some(bytes)
            }
            _ => return None,
        };
        if i == index {
            found = Some(bytes);
        }
    }
    if rest.is_empty() {
        found
    } else {
        None
    }
}

/// A time as MariaDB prints it (`YYYY-MM-DD[ HH:MM:SS[.ffffff]]`). The
/// restore's session is in UTC, as the backup's was, so a TIMESTAMP is
/// UTC text and compares with the bounds as an instant; DATETIME and DATE
/// compare as written, a DATE as its midnight (`2026-11-01` is before
/// `2026-11-01 12:00:00`). Zero and invalid dates compare as their digits.
fn instant(text: &[u8]) -> Option<RowInstant> {
    let text = std::str::from_utf8(text).ok()?;
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let shaped = |template: &str| {
        whole.len() == template.len()
            && whole.bytes().zip(template.bytes()).all(|(b, t)| {
                if t == b'd' {
                    b.is_ascii_digit()
                } else {
                    b == t
                }
            })
    };
    if fraction.is_none() && shaped("dddd-dd-dd") {
        return Some(RowInstant::from_utc_text(&format!("{text} 00:00:00")));
    }
    let fraction_ok = fraction
        .is_none_or(|f| (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()));
    (shaped("dddd-dd-dd dd:dd:dd") && fraction_ok).then(|| RowInstant::from_utc_text(text))
}

#[cfg(test)]
mod tests {
    use super::super::rows::push_row;
    use super::*;

    fn entry(columns: &[&str], format: Option<&str>) -> ObjectEntry {
        let mut entry = ObjectEntry::new("t", ObjectKind::Table);
        entry.columns = columns.iter().map(|c| (*c).to_owned()).collect();
        entry.format = format.map(str::to_owned);
        entry
    }

    fn row(values: &[Option<&str>]) -> Vec<u8> {
        let mut out = Vec::new();
        let values: Vec<_> = values
            .iter()
            .map(|v| v.map(|t| t.as_bytes().to_vec()))
            .collect();
        push_row(&mut out, &values);
        out
    }

    fn at(text: &str) -> Option<RowInstant> {
        Some(RowInstant::At(text.to_owned()))
    }

    #[test]
    fn reads_the_one_time_column_in_both_formats() {
        let columns = [
            "id int",
            "my ts datetime",
            "note varchar",
            "row_start row-start",
            "row_end row-end",
        ];
        for format in [None, Some(FORMAT_BYTES)] {
            let time = row_time(&entry(&columns, format)).unwrap();
            let values = |ts| {
                row(&[
                    Some("1"),
                    ts,
                    None,
                    Some("2026-01-01 00:00:00.000000"),
                    Some("x"),
                ])
            };
            assert_eq!(
                time(&values(Some("2026-11-01 10:00:00"))),
                at("2026-11-01 10:00:00.000000000")
            );
            assert_eq!(
                time(&values(Some("2026-11-01 09:59:59.999999"))),
                at("2026-11-01 09:59:59.999999000")
            );
            assert_eq!(
                time(&values(Some("0000-00-00 00:00:00"))),
                at("0000-00-00 00:00:00.000000000")
            );
            assert_eq!(time(&values(None)), None);
            // Not a row of this table: kept by no range, so it differs.
            assert_eq!(time(&row(&[Some("1"), Some("2026-11-01 10:00:00")])), None);
        }
        assert!(row_time(&entry(&columns, Some("other"))).is_none());
    }

    #[test]
    fn a_date_is_its_midnight() {
        let time = row_time(&entry(&["id int", "day date"], Some(FORMAT_BYTES))).unwrap();
        assert_eq!(
            time(&row(&[Some("1"), Some("2026-11-01")])),
            at("2026-11-01 00:00:00.000000000")
        );
        assert_eq!(
            time(&row(&[Some("1"), Some("2026-02-31")])),
            at("2026-02-31 00:00:00.000000000")
        );
        assert_eq!(time(&row(&[Some("1"), Some("soon")])), None);
    }

    #[test]
    fn no_single_time_column_or_no_columns_reads_none() {
        assert!(row_time(&entry(&[], None)).is_none());
        assert!(row_time(&entry(&["id int"], None)).is_none());
        assert!(row_time(&entry(&["a date", "b timestamp"], None)).is_none());
        assert!(row_time(&entry(&["id int", "ts TIMESTAMP"], None)).is_some());
    }
}
