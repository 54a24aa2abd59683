//! The InfluxQL a backup and a restore share: names, a measurement's tags
//! and fields, time bounds, and exact point counts.

use serde_json::value::RawValue;

use super::http::{first_column, parse_document, raw_i64, Http};
use super::line::FieldTypes;
use crate::error::{EngineError, Result};
use crate::repo::manifest::Selection;

/// The latest time InfluxDB stores.
pub const MAX_TIME: i64 = 9_223_372_036_854_775_806;

/// A double-quoted InfluxQL identifier.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// ` WHERE time >= lower AND time < upper`, or nothing when unbounded.
pub fn time_where(lower: Option<i64>, upper: Option<i64>) -> String {
    let mut parts = Vec::new();
    if let Some(lower) = lower {
        parts.push(format!("time >= {lower}"));
    }
    if let Some(upper) = upper {
        parts.push(format!("time < {upper}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", parts.join(" AND "))
    }
}

/// A time bound as [`Selection::parse_time`] writes it, in nanoseconds.
pub fn ns_of(time: &str) -> Result<i64> {
    let normal = Selection::parse_time(time)?;
    chrono::NaiveDateTime::parse_from_str(&normal, "%Y-%m-%d %H:%M:%S")
        .ok()
        .and_then(|t| t.and_utc().timestamp_nanos_opt())
        .ok_or_else(|| {
            EngineError::invalid(
                format!("time {time:?}"),
                "outside the years InfluxDB can store (1677 to 2262)",
            )
        })
}

/// Nanoseconds as RFC 3339 UTC (`2026-11-01T00:00:00Z`, with a fraction
/// only when there is one).
pub fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

pub fn databases(http: &Http, doing: &str) -> Result<Vec<String>> {
    Ok(first_column(&http.query(None, "SHOW DATABASES", doing)?))
}

/// Every measurement name the index lists (some may hold no points: a
/// dropped measurement can stay listed until the server restarts).
pub fn measurements(http: &Http, db: &str) -> Result<Vec<String>> {
    Ok(first_column(&http.query(
        Some(db),
        "SHOW MEASUREMENTS",
        "list the measurements of",
    )?))
}

/// A measurement's tag keys and its fields with their types, sorted.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub tags: Vec<String>,
    pub fields: Vec<(String, FieldTypes)>,
}

impl Shape {
    pub fn read(http: &Http, db: &str, measurement: &str) -> Result<Shape> {
        let from = quote_ident(measurement);
        let doing = format!("read the keys of measurement {measurement} in");
        let tags =
            first_column(&http.query(Some(db), &format!("SHOW TAG KEYS FROM {from}"), &doing)?);
        let mut fields: Vec<(String, FieldTypes)> = Vec::new();
        for series in http.query(Some(db), &format!("SHOW FIELD KEYS FROM {from}"), &doing)? {
            for row in series.values {
                let (Some(key), Some(kind)) = (
                    row.first().and_then(|v| v.as_str()),
                    row.get(1).and_then(|v| v.as_str()),
                ) else {
                    continue;
                };
                match fields.iter_mut().find(|(k, _)| k == key) {
                    Some((_, types)) => types.add(kind),
                    None => {
                        let mut types = FieldTypes::default();
                        types.add(kind);
                        fields.push((key.to_owned(), types));
                    }
                }
            }
        }
        Ok(Shape { tags, fields })
    }

    /// `"t"::tag, ..., "f"::field, ...`: explicit, so a tag and a field
    /// of the same name stay apart (columns come back in this order).
    pub fn select_list(&self) -> String {
        self.tags
            .iter()
            .map(|t| format!("{}::tag", quote_ident(t)))
            .chain(
                self.fields
                    .iter()
                    .map(|(f, _)| format!("{}::field", quote_ident(f))),
            )
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The fields only: one row per point, whatever its tags.
    pub fn field_list(&self) -> String {
        self.fields
            .iter()
            .map(|(f, _)| format!("{}::field", quote_ident(f)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Streams a query's rows to `each` (bounded memory, chunk by chunk).
pub fn for_each_row(
    http: &Http,
    db: &str,
    q: &str,
    doing: &str,
    mut each: impl FnMut(&[&RawValue]) -> std::result::Result<(), String>,
) -> Result<()> {
    let mut stream = http.stream(db, q, doing)?;
    while let Some(doc) = http
        .next_document(&mut stream)
        .map_err(|e| http.fail(doing, e))?
    {
        for series in parse_document(&doc).map_err(|e| http.fail(doing, e))? {
            for row in &series.values {
                each(row).map_err(|e| http.fail(doing, e))?;
            }
        }
    }
    Ok(())
}

/// Points, first and last time of a measurement within bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PointStats {
    pub points: u64,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl PointStats {
    pub fn add(&mut self, time: i64) {
        self.points += 1;
        self.min = Some(self.min.map_or(time, |m| m.min(time)));
        self.max = Some(self.max.map_or(time, |m| m.max(time)));
    }
}

/// The time of the first (or last) point within bounds.
pub fn edge_time(
    http: &Http,
    db: &str,
    measurement: &str,
    shape: &Shape,
    (lower, upper): (Option<i64>, Option<i64>),
    last: bool,
) -> Result<Option<i64>> {
    let q = format!(
        "SELECT {} FROM {}{} ORDER BY time {} LIMIT 1",
        shape.field_list(),
        quote_ident(measurement),
        time_where(lower, upper),
        if last { "DESC" } else { "ASC" }
    );
    let mut time = None;
    for_each_row(
        http,
        db,
        &q,
        &format!("read the time span of {measurement} in"),
        |row| {
            time = row.first().and_then(|t| raw_i64(t));
            Ok(())
        },
    )?;
    Ok(time)
}

/// The exact number of points (not of values: fields may be sparse) and
/// their time span. One field: `COUNT`; several: every point is read once,
/// as `COUNT(*)` counts each field apart.
pub fn point_stats(
    http: &Http,
    db: &str,
    measurement: &str,
    bounds: (Option<i64>, Option<i64>),
) -> Result<PointStats> {
    let shape = Shape::read(http, db, measurement)?;
    let doing = format!("count the points of {measurement} in");
    let from = quote_ident(measurement);
    let filter = time_where(bounds.0, bounds.1);
    match shape.fields.as_slice() {
        [] => Ok(PointStats::default()),
        [(field, _)] => {
            let q = format!("SELECT COUNT({}) FROM {from}{filter}", quote_ident(field));
            let mut points = 0;
            for_each_row(http, db, &q, &doing, |row| {
                points = row.get(1).and_then(|c| c.get().parse().ok()).unwrap_or(0);
                Ok(())
            })?;
            Ok(PointStats {
                points,
                min: edge_time(http, db, measurement, &shape, bounds, false)?,
                max: edge_time(http, db, measurement, &shape, bounds, true)?,
            })
        }
        _ => {
            let q = format!("SELECT {} FROM {from}{filter}", shape.field_list());
            let mut stats = PointStats::default();
            for_each_row(http, db, &q, &doing, |row| {
                let time = row
                    .first()
                    .and_then(|t| raw_i64(t))
                    .ok_or("a row without its time")?;
                stats.add(time);
                Ok(())
            })?;
            Ok(stats)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_times_and_bounds() {
        assert_eq!(quote_ident(r#"we"ird\ name"#), r#""we\"ird\\ name""#);
        assert_eq!(time_where(None, None), "");
        assert_eq!(
            time_where(Some(-5), Some(7)),
            " WHERE time >= -5 AND time < 7"
        );
        assert_eq!(ns_of("1970-01-01 00:00:01").unwrap(), 1_000_000_000);
        assert_eq!(
            ns_of("2026-11-01T00:00:00Z").unwrap(),
            1_793_491_200_000_000_000
        );
        assert!(ns_of("2300-01-01").is_err());
        assert_eq!(rfc3339(1_793_491_200_000_000_000), "2026-11-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_793_491_200_000_000_001),
            "2026-11-01T00:00:00.000000001Z"
        );
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:00.000001500Z");
    }
}
