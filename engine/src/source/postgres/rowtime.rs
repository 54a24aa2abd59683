//! The time of a row in its canonical form (a binary COPY tuple or a text
//! COPY line), so that a time-range restore digests exactly the rows the
//! target's `[since, until)` condition keeps.
//!
//! The time column is the table's one `timestamptz`, `timestamp` or
//! `date` column, as [`super::meta::time_column`] picks it, found in the
//! entry's columns (`name type`, in stream order). The bounds are UTC text
//! and the target compares under `TimeZone = UTC`, so: a `timestamptz` is
//! its UTC instant; a `timestamp` its own wall-clock reading; a `date` d
//! compares as the bound's date does (`d >= '… 10:00'` casts the bound to
//! its date), which is what d's last instant, `d 23:59:59.999999999`, does
//! against every bound. NULL is kept by no range; ±infinity is before or
//! after every range, and so are years outside 1–9999 (bounds are
//! `YYYY-MM-DD HH:MM:SS`, and instants compare as text).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use super::rows::Format;
use crate::digest::{RowInstant, RowTime};
use crate::repo::manifest::ObjectEntry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `timestamp` or `timestamptz`: 8 bytes of microseconds in binary.
    Timestamp,
    /// `date`: 4 bytes of days in binary.
    Date,
}

/// Reads the time column of `entry`'s rows; `None` when the entry does
/// not name exactly one time column (old points without columns) or its
/// format is unknown.
pub fn row_time(entry: &ObjectEntry) -> Option<RowTime> {
    let format = Format::of(entry).ok()?;
    let mut time = entry
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, column)| kind_of(column).map(|kind| (i, kind)));
    let (index, kind) = time.next()?;
    if time.next().is_some() {
        return None;
    }
    Some(match format {
        Format::Binary => Box::new(move |row: &[u8]| binary_time(row, index, kind)),
        Format::Text => Box::new(move |row: &[u8]| text_time(row, index, kind)),
    })
}

/// The kind of a `name type` column (`format_type` spelling), if it is a
/// time column. The type is the text's end: a name may hold spaces.
fn kind_of(column: &str) -> Option<Kind> {
    if column.strip_suffix(" date").is_some_and(|n| !n.is_empty()) {
        return Some(Kind::Date);
    }
    let rest = column
        .strip_suffix(" with time zone")
        .or_else(|| column.strip_suffix(" without time zone"))?;
    let rest = match rest.strip_suffix(')') {
        // `timestamp(3)`: a precision of digits.
        Some(open) => {
            let (head, digits) = open.rsplit_once('(')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            head
        }
        None => rest,
    };
    rest.strip_suffix(" timestamp")
        .is_some_and(|n| !n.is_empty())
        .then_some(Kind::Timestamp)
}

/// PostgreSQL's epoch for binary times.
fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
}

/// An instant as the range compares it.
fn instant(at: NaiveDateTime) -> RowInstant {
    use chrono::Datelike;
    match at.year() {
        ..=0 => RowInstant::Before,
        10_000.. => RowInstant::After,
        _ => RowInstant::At(at.format("%Y-%m-%d %H:%M:%S%.9f").to_string()),
    }
}

/// A date as the range compares it: its last instant.
fn date_instant(date: NaiveDate) -> RowInstant {
    let last = NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).unwrap_or(NaiveTime::MIN);
    instant(date.and_time(last))
}

/// Beyond what chrono holds (PostgreSQL goes to year 294276 or 5874897):
/// before or after every range.
fn beyond(positive: bool) -> RowInstant {
    if positive {
        RowInstant::After
    } else {
        RowInstant::Before
    }
}

/// The field `index` of a binary tuple (`None` for NULL or a short row).
fn binary_field(row: &[u8], index: usize) -> Option<&[u8]> {
    let fields = i16::from_be_bytes(row.get(..2)?.try_into().ok()?);
    if index >= usize::try_from(fields).ok()? {
        return None;
    }
    let mut at = 2;
    for i in 0..=index {
        let len = i32::from_be_bytes(row.get(at..at + 4)?.try_into().ok()?);
        at += 4;
        let len = usize::try_from(len).ok();
        if i == index {
            return row.get(at..at + len?);
        }
        at += len.unwrap_or(0);
    }
    None
}

fn binary_time(row: &[u8], index: usize, kind: Kind) -> Option<RowInstant> {
    let value = binary_field(row, index)?;
    Some(match kind {
        Kind::Timestamp => match i64::from_be_bytes(value.try_into().ok()?) {
            i64::MAX => RowInstant::After,
            i64::MIN => RowInstant::Before,
            micros => epoch()
                .checked_add_signed(TimeDelta::microseconds(micros))
                .map_or_else(|| beyond(micros > 0), instant),
        },
        Kind::Date => match i32::from_be_bytes(value.try_into().ok()?) {
            i32::MAX => RowInstant::After,
            i32::MIN => RowInstant::Before,
            days => epoch()
                .date()
                .checked_add_signed(TimeDelta::days(i64::from(days)))
                .map_or_else(|| beyond(days > 0), date_instant),
        },
    })
}

fn text_time(row: &[u8], index: usize, kind: Kind) -> Option<RowInstant> {
    let field = row.split(|&b| b == b'\t').nth(index)?;
    // `\N` is NULL; times are printed without escapes.
    parse_text(std::str::from_utf8(field).ok()?, kind)
}

/// A time as text COPY prints it under `DateStyle = ISO`:
/// `YYYY-MM-DD[ HH:MM:SS[.ffffff][±HH[:MM[:SS]]]][ BC]` or `±infinity`.
fn parse_text(text: &str, kind: Kind) -> Option<RowInstant> {
    match text {
        "infinity" => return Some(RowInstant::After),
        "-infinity" => return Some(RowInstant::Before),
        _ => {}
    }
    let (text, bc) = match text.strip_suffix(" BC") {
        Some(text) => (text, true),
        None => (text, false),
    };
    let (date, clock) = text.split_once(' ').unwrap_or((text, ""));
    let mut ymd = date.splitn(3, '-');
    let year: i64 = ymd.next()?.parse().ok()?;
    let (month, day): (u32, u32) = (ymd.next()?.parse().ok()?, ymd.next()?.parse().ok()?);
    // 1 BC is year 0, as chrono counts.
    let year = if bc { 1 - year } else { year };
    // An offset moves a time by less than a day.
    if !(0..=10_000).contains(&year) {
        return Some(beyond(year > 0));
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    if kind == Kind::Date {
        return (clock.is_empty()).then(|| date_instant(date));
    }
    let (clock, offset) = match clock.find(['+', '-']) {
        Some(at) => (&clock[..at], offset_seconds(&clock[at..])?),
        None => (clock, 0),
    };
    let time = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f").ok()?;
    let utc = date
        .and_time(time)
        .checked_sub_signed(TimeDelta::seconds(offset))?;
    Some(instant(utc))
}

/// `+HH`, `-HH:MM`, `+HH:MM:SS` as seconds east of UTC.
fn offset_seconds(text: &str) -> Option<i64> {
    let (sign, digits) = match text.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let mut seconds = 0;
    let mut unit = 3600;
    for part in digits.split(':') {
        if unit == 0 || part.len() != 2 {
            return None;
        }
        seconds += part.parse::<i64>().ok()? * unit;
        unit /= 60;
    }
    Some(sign * seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::manifest::ObjectKind;

    fn entry(columns: &[&str], format: Option<&str>) -> ObjectEntry {
        ObjectEntry {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            format: format.map(str::to_owned),
            ..ObjectEntry::new("public.t", ObjectKind::Table)
        }
    }

    fn tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut out = (fields.len() as i16).to_be_bytes().to_vec();
        for field in fields {
            match field {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    out.extend_from_slice(v);
                }
            }
        }
        out
    }

    fn at(text: &str) -> Option<RowInstant> {
        Some(RowInstant::from_utc_text(text))
    }

    #[test]
    fn the_one_time_column_is_found_by_its_type() {
        assert_eq!(
            kind_of("ts timestamp with time zone"),
            Some(Kind::Timestamp)
        );
        assert_eq!(
            kind_of("t timestamp(3) without time zone"),
            Some(Kind::Timestamp)
        );
        assert_eq!(kind_of("a date date"), Some(Kind::Date));
        for other in [
            "t time with time zone",
            "timestamp time without time zone",
            "x timestamp with time zone[]",
            "d date[]",
            "d public.date",
            "v integer",
            "t timestamp(x) with time zone",
        ] {
            assert_eq!(kind_of(other), None, "{other}");
        }
        let one = ["id integer", "ts timestamp with time zone", "v text"];
        assert!(row_time(&entry(&one, None)).is_some());
        assert!(row_time(&entry(&one, Some("copy-text"))).is_some());
        assert!(row_time(&entry(&one, Some("copy-csv9"))).is_none());
        assert!(row_time(&entry(
            &["id integer", "d date", "t timestamp without time zone"],
            None
        ))
        .is_none());
        assert!(row_time(&entry(&["id integer"], None)).is_none());
        assert!(row_time(&entry(&[], None)).is_none());
    }

    #[test]
    fn binary_times_are_utc_instants_and_dates_their_last_instant() {
        let time = row_time(&entry(&["id integer", "ts timestamp with time zone"], None)).unwrap();
        let micros = |m: i64| tuple(&[Some(&[0, 0, 0, 1]), Some(&m.to_be_bytes())]);
        assert_eq!(time(&micros(0)), at("2000-01-01 00:00:00"));
        assert_eq!(time(&micros(-1)), at("1999-12-31 23:59:59.999999"));
        // 2026-11-01 10:00:00.5 UTC.
        assert_eq!(
            time(&micros(846_842_400_500_000)),
            at("2026-11-01 10:00:00.5")
        );
        assert_eq!(time(&micros(i64::MAX)), Some(RowInstant::After));
        assert_eq!(time(&micros(i64::MIN)), Some(RowInstant::Before));
        // Year 10000 and 294276, 4713 BC.
        assert_eq!(
            time(&micros(252_455_616_000_000_000)),
            Some(RowInstant::After)
        );
        assert_eq!(
            time(&micros(9_223_371_331_199_999_999)),
            Some(RowInstant::After)
        );
        assert_eq!(
            time(&micros(-211_810_204_800_000_000)),
            Some(RowInstant::Before)
        );
        assert_eq!(time(&tuple(&[Some(&[0, 0, 0, 1]), None])), None);
        assert_eq!(time(&tuple(&[Some(&[0, 0, 0, 1])])), None);

        let date = row_time(&entry(&["d date", "v text"], None)).unwrap();
        let days = |d: i32| tuple(&[Some(&d.to_be_bytes()), Some(b"x")]);
        assert_eq!(date(&days(0)), at("2000-01-01 23:59:59.999999999"));
        assert_eq!(date(&days(-1)), at("1999-12-31 23:59:59.999999999"));
        assert_eq!(date(&days(i32::MAX)), Some(RowInstant::After));
        assert_eq!(date(&days(i32::MIN)), Some(RowInstant::Before));
        assert_eq!(date(&days(2_000_000_000)), Some(RowInstant::After));
        assert_eq!(date(&days(-2_000_000)), Some(RowInstant::Before));
    }

    #[test]
    fn text_times_read_as_copy_prints_them() {
        let cols = ["id integer", "note text", "ts timestamp with time zone"];
        let time = row_time(&entry(&cols, Some("copy-text"))).unwrap();
        let line = |ts: &str| format!("1\ta\\tb\t{ts}").into_bytes();
        assert_eq!(
            time(&line("2026-11-01 08:00:00.123456+00")),
            at("2026-11-01 08:00:00.123456")
        );
        assert_eq!(
            time(&line("2026-11-01 10:00:00+02")),
            at("2026-11-01 08:00:00")
        );
        assert_eq!(
            time(&line("2026-11-01 00:10:00-05:30")),
            at("2026-11-01 05:40:00")
        );
        assert_eq!(
            time(&line("9999-12-31 23:30:00-01")),
            Some(RowInstant::After)
        );
        assert_eq!(
            time(&line("10000-01-01 00:30:00+01")),
            at("9999-12-31 23:30:00")
        );
        assert_eq!(
            time(&line("294276-12-31 23:59:59+00")),
            Some(RowInstant::After)
        );
        assert_eq!(
            time(&line("4713-01-01 00:00:00+00 BC")),
            Some(RowInstant::Before)
        );
        assert_eq!(time(&line("infinity")), Some(RowInstant::After));
        assert_eq!(time(&line("-infinity")), Some(RowInstant::Before));
        assert_eq!(time(&line("\\N")), None);

        let naive = row_time(&entry(
            &["t timestamp(3) without time zone"],
            Some("copy-text"),
        ))
        .unwrap();
        assert_eq!(naive(b"2026-11-01 10:00:00.5"), at("2026-11-01 10:00:00.5"));
        assert_eq!(naive(b"0044-03-15 12:00:00 BC"), Some(RowInstant::Before));
        let date = row_time(&entry(&["d date", "v text"], Some("copy-text"))).unwrap();
        assert_eq!(date(b"2026-11-01\tx"), at("2026-11-01 23:59:59.999999999"));
        assert_eq!(date(b"0001-01-01 BC\tx"), Some(RowInstant::Before));
        assert_eq!(date(b"infinity\tx"), Some(RowInstant::After));
    }

    #[test]
    fn a_date_compares_with_bounds_as_its_cast_bound_does() {
        // `d >= '2026-11-01 10:00:00'` casts the bound to 2026-11-01.
        let d = date_instant(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        for bound in [
            "2026-11-01 00:00:00",
            "2026-11-01 10:00:00",
            "2026-11-01 23:59:59",
        ] {
            let bound = RowInstant::from_utc_text(bound);
            // So `since` keeps the bound's day and `until` leaves it out.
            assert!(d >= bound);
        }
        assert!(d < RowInstant::from_utc_text("2026-11-02 00:00:00"));
    }
}
