//! One point as values: read from the server's JSON rows (backup, and the
//! restore's read-back) or parsed from a line of the stored stream, written
//! as line protocol, and put in its canonical form, the bytes a content
//! digest hashes: measurement, tags sorted, fields sorted with their typed
//! values exactly (floats in their shortest round-trip form), nanosecond
//! time. A line protocol value that cannot be written exactly is refused.

use serde_json::value::RawValue;

use super::http::{raw_i64, raw_str};
use super::line::FieldTypes;
use super::query::rfc3339;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Str(String),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Point {
    pub measurement: String,
    pub tags: Vec<(String, String)>,
    pub fields: Vec<(String, Value)>,
    pub time: i64,
}

/// What line protocol escapes in a measurement name, and in tag keys,
/// tag values and field keys.
const MEASUREMENT_SPECIALS: &[u8] = b", ";
const KEY_SPECIALS: &[u8] = b",= ";

/// Why `name` (a measurement, key or tag value) cannot be written as line
/// protocol and read back as it is; `None` when it can. InfluxDB reads a
/// backslash before a special character as an escape, cannot end a name
/// with one, ends a line at a newline, skips a leading tab or NUL and reads
/// a line starting with `#` as a comment.
pub fn unwritable(name: &str, part: Part) -> Option<&'static str> {
    let specials = if part == Part::Measurement {
        MEASUREMENT_SPECIALS
    } else {
        KEY_SPECIALS
    };
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return Some("it is empty");
    }
    if bytes.contains(&b'\n') {
        return Some("it holds a newline, which ends a line of line protocol");
    }
    if name.contains('\u{FFFD}') {
        return Some(REPLACEMENT);
    }
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\\' && bytes.get(i + 1).is_none_or(|n| specials.contains(n)) {
            return Some("it holds a backslash before ',', '=' or a space, or at its end, which line protocol cannot write unambiguously (the server's line and name scanners read such a backslash differently)");
        }
    }
    match (part, bytes[0]) {
        (Part::Measurement, b'#') => {
            Some("it starts with '#': line protocol reads the line as a comment")
        }
        (Part::Measurement | Part::FieldKey, b'\t' | 0) => {
            Some("it starts with a tab or NUL, which line protocol skips")
        }
        _ => None,
    }
}

/// Where a name is in a line: they differ in what they can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Measurement,
    /// A tag's key or value.
    Tag,
    FieldKey,
}

const REPLACEMENT: &str = "it holds U+FFFD, which the server's JSON output also prints for bytes that are not UTF-8, so its value cannot be told";

/// How a measurement's columns are read from JSON rows: `SELECT
/// "t"::tag, ..., "f"::field, ...` (time first, then the tags, then the
/// fields, in this order).
pub struct Columns {
    pub measurement: String,
    pub tags: Vec<String>,
    pub fields: Vec<(String, FieldTypes)>,
}

impl Columns {
    /// The point of one row; `Ok(None)` for a row without any field value.
    pub fn point(&self, row: &[&RawValue]) -> Result<Option<Point>, String> {
        let expected = 1 + self.tags.len() + self.fields.len();
        if row.len() != expected {
            return Err(format!(
                "a row has {} columns, {expected} expected",
                row.len()
            ));
        }
        let time = raw_i64(row[0]).ok_or_else(|| format!("bad time {}", row[0].get()))?;
        let mut point = Point {
            measurement: self.measurement.clone(),
            time,
            ..Point::default()
        };
        for ((key, types), cell) in self.fields.iter().zip(&row[1 + self.tags.len()..]) {
            let text = cell.get();
            if text != "null" {
                let value = typed(text, *types)
                    .map_err(|e| format!("field {key} of the point at {}: {e}", rfc3339(time)))?;
                point.fields.push((key.clone(), value));
            }
        }
        if point.fields.is_empty() {
            return Ok(None);
        }
        for (key, cell) in self.tags.iter().zip(&row[1..]) {
            match raw_str(cell) {
                // The server keeps no empty tag values: the series lacks it.
                Some(value) if !value.is_empty() => point.tags.push((key.clone(), value)),
                _ => {}
            }
        }
        Ok(Some(point))
    }
}

/// A field's JSON value as its declared type says (the server prints the
/// float `1.0` as `1`). A field of several types (one per shard) is read
/// cast to one of them, so it cannot be read exactly.
fn typed(text: &str, types: FieldTypes) -> Result<Value, String> {
    let names = types.names();
    let [kind] = names.as_slice() else {
        return Err(format!(
            "it has {} types (one per shard), and the server casts its values to one of them when read",
            names.join(" and ")
        ));
    };
    let bad = || format!("unexpected {kind} value {text}");
    Ok(match *kind {
        "float" => Value::Float(number(text).ok_or_else(bad)?),
        "integer" => Value::Integer(text.parse().map_err(|_| bad())?),
        "unsigned" => Value::Unsigned(text.parse().map_err(|_| bad())?),
        "boolean" => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
        _ => {
            let value: String = serde_json::from_str(text).map_err(|_| bad())?;
            if value.contains('\u{FFFD}') {
                return Err(REPLACEMENT.into());
            }
            Value::Str(value)
        }
    })
}

/// A finite float in decimal or exponent notation (no `inf`, `NaN`).
fn number(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

impl Point {
    /// Why this point cannot be written as line protocol exactly.
    pub fn unwritable(&self) -> Option<String> {
        let name = |what: &str, n: &str, why: &str| format!("{what} {n:?}: {why}");
        if let Some(why) = unwritable(&self.measurement, Part::Measurement) {
            return Some(name("the measurement name", &self.measurement, why));
        }
        for (key, value) in &self.tags {
            if let Some(why) = unwritable(key, Part::Tag) {
                return Some(name("tag key", key, why));
            }
            if let Some(why) = unwritable(value, Part::Tag) {
                return Some(name(&format!("the value of tag {key}"), value, why));
            }
        }
        for (key, _) in &self.fields {
            if let Some(why) = unwritable(key, Part::FieldKey) {
                return Some(name("field key", key, why));
            }
        }
        None
    }

    /// The point as one line of line protocol, in `measurement` (escaped).
    pub fn write_line(&self, measurement: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(measurement.as_bytes());
        for (key, value) in &self.tags {
            out.push(b',');
            escape(key, KEY_SPECIALS, out);
            out.push(b'=');
            escape(value, KEY_SPECIALS, out);
        }
        let mut separator = b' ';
        for (key, value) in &self.fields {
            out.push(separator);
            separator = b',';
            escape(key, KEY_SPECIALS, out);
            out.push(b'=');
            write_value(value, out);
        }
        out.push(b' ');
        out.extend_from_slice(self.time.to_string().as_bytes());
        out.push(b'\n');
    }

    /// The canonical form: tags and fields sorted by key, every name
    /// escaped so that the form is unambiguous.
    pub fn canonical(&mut self, out: &mut Vec<u8>) {
        self.tags.sort();
        self.fields.sort_by(|a, b| a.0.cmp(&b.0));
        out.clear();
        const ALL: &[u8] = b"\\,= \n";
        escape_all(&self.measurement, ALL, out);
        for (key, value) in &self.tags {
            out.push(b',');
            escape_all(key, ALL, out);
            out.push(b'=');
            escape_all(value, ALL, out);
        }
        let mut separator = b' ';
        for (key, value) in &self.fields {
            out.push(separator);
            separator = b',';
            escape_all(key, ALL, out);
            out.push(b'=');
            write_value(value, out);
        }
        out.push(b' ');
        out.extend_from_slice(self.time.to_string().as_bytes());
    }
}

/// A typed value as line protocol writes it; floats in Rust's shortest
/// form that reads back as the same bits (`1.0`, `1e308`, `-0.0`).
fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Float(f) => out.extend_from_slice(format!("{f:?}").as_bytes()),
        Value::Integer(i) => out.extend_from_slice(format!("{i}i").as_bytes()),
        Value::Unsigned(u) => out.extend_from_slice(format!("{u}u").as_bytes()),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Str(s) => {
            out.push(b'"');
            escape(s, b"\"\\", out);
            out.push(b'"');
        }
    }
}

/// A backslash before each of `specials`.
fn escape(text: &str, specials: &[u8], out: &mut Vec<u8>) {
    for &b in text.as_bytes() {
        if specials.contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Like [`escape`], but a newline becomes `\n` (a canonical form is one line).
fn escape_all(text: &str, specials: &[u8], out: &mut Vec<u8>) {
    for &b in text.as_bytes() {
        if b == b'\n' {
            out.extend_from_slice(b"\\n");
            continue;
        }
        if specials.contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Parses one line of line protocol (its newline optional) as InfluxDB
/// reads the lines a backup writes: escapes `\,` `\=` `\ ` in names (a
/// measurement's `\,` `\ ` only), `\"` `\\` in strings.
pub fn parse_line(line: &[u8]) -> Result<Point, String> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut at = Cursor { buf: line, i: 0 };
    let mut point = Point {
        measurement: at.name(b", ", MEASUREMENT_SPECIALS)?,
        ..Point::default()
    };
    let mut stop = at.take().ok_or("a line ends after its measurement")?;
    while stop == b',' {
        let key = at.name(b"=", KEY_SPECIALS)?;
        at.take();
        let value = at.name(b", ", KEY_SPECIALS)?;
        point.tags.push((key, value));
        stop = at.take().ok_or("a line ends in its tags")?;
    }
    loop {
        let key = at.name(b"=", KEY_SPECIALS)?;
        if at.take() != Some(b'=') {
            return Err(format!("field {key} has no value"));
        }
        let value = at.value().map_err(|e| format!("field {key}: {e}"))?;
        point.fields.push((key, value));
        match at.take() {
            Some(b',') => continue,
            Some(b' ') => break,
            _ => return Err("a line has no timestamp".into()),
        }
    }
    let rest = std::str::from_utf8(&line[at.i..]).map_err(|_| "a timestamp is not text")?;
    point.time = rest
        .parse()
        .map_err(|_| format!("bad timestamp {rest:?}"))?;
    Ok(point)
}

struct Cursor<'a> {
    buf: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn take(&mut self) -> Option<u8> {
        let b = self.buf.get(self.i).copied();
        self.i += 1;
        b
    }

    /// A name up to one of `stops`, without the backslashes that escape
    /// one of `specials` (any other backslash is part of the name).
    fn name(&mut self, stops: &[u8], specials: &[u8]) -> Result<String, String> {
        let mut out = Vec::new();
        loop {
            match self.buf.get(self.i) {
                None => return Err("a line ends in a name".into()),
                Some(b'\\') => {
                    let next = self.buf.get(self.i + 1).copied();
                    match next {
                        Some(n) if specials.contains(&n) => out.push(n),
                        Some(n) => out.extend_from_slice(&[b'\\', n]),
                        None => out.push(b'\\'),
                    }
                    self.i += 2;
                }
                Some(b) if stops.contains(b) => break,
                Some(&b) => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
        if out.is_empty() {
            return Err("a name is empty".into());
        }
        String::from_utf8(out).map_err(|_| "a name is not UTF-8".into())
    }

    fn value(&mut self) -> Result<Value, String> {
        if self.buf.get(self.i) == Some(&b'"') {
            self.i += 1;
            let mut out = Vec::new();
            loop {
                match self.buf.get(self.i) {
                    None => return Err("a string is not closed".into()),
                    Some(b'"') => break,
                    Some(b'\\') => {
                        match self.buf.get(self.i + 1) {
                            Some(&n @ (b'"' | b'\\')) => out.push(n),
                            Some(&n) => out.extend_from_slice(&[b'\\', n]),
                            None => return Err("a string is not closed".into()),
                        }
                        self.i += 2;
                    }
                    Some(&b) => {
                        out.push(b);
                        self.i += 1;
                    }
                }
            }
            self.i += 1;
            return String::from_utf8(out)
                .map(Value::Str)
                .map_err(|_| "a string is not UTF-8".into());
        }
        let start = self.i;
        while self
            .buf
            .get(self.i)
            .is_some_and(|b| !matches!(b, b',' | b' '))
        {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.buf[start..self.i]).map_err(|_| "not text")?;
        let bad = || format!("bad value {text:?}");
        Ok(match text {
            "t" | "T" | "true" | "True" | "TRUE" => Value::Bool(true),
            "f" | "F" | "false" | "False" | "FALSE" => Value::Bool(false),
            _ => {
                if let Some(int) = text.strip_suffix('i') {
                    Value::Integer(int.parse().map_err(|_| bad())?)
                } else if let Some(uint) = text.strip_suffix('u') {
                    Value::Unsigned(uint.parse().map_err(|_| bad())?)
                } else {
                    Value::Float(number(text).ok_or_else(bad)?)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(mut p: Point) -> String {
        let mut out = Vec::new();
        p.canonical(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines_written_parse_back_to_the_same_values() {
        let point = Point {
            measurement: "room temp,x=y\\z".into(),
            tags: vec![
                ("a b".into(), "c,d=e\\f\"".into()),
                ("host".into(), "h1".into()),
            ],
            fields: vec![
                ("f".into(), Value::Float(1e308)),
                ("g".into(), Value::Float(-0.0)),
                ("h".into(), Value::Float(5e-324)),
                ("i".into(), Value::Integer(i64::MIN)),
                ("j".into(), Value::Integer(i64::MAX)),
                ("k".into(), Value::Float(0.1 + 0.2)),
                ("s".into(), Value::Str("say \"hi\" \\ \n é\\n\\".into())),
                ("t".into(), Value::Bool(false)),
                ("u".into(), Value::Unsigned(u64::MAX)),
                ("x".into(), Value::Float(9_007_199_254_740_993.0)),
            ],
            time: -1_500,
        };
        assert_eq!(point.unwritable(), None);
        let mut line = Vec::new();
        point.write_line("room\\ temp\\,x=y\\z", &mut line);
        let parsed = parse_line(&line).unwrap();
        assert_eq!(parsed, point);
        if let Value::Float(g) = parsed.fields[1].1 {
            assert!(g.is_sign_negative());
        }
        assert_eq!(
            canonical(parsed),
            "room\\ temp\\,x\\=y\\\\z,a\\ b=c\\,d\\=e\\\\f\",host=h1 f=1e308,g=-0.0,h=5e-324,i=-9223372036854775808i,j=9223372036854775807i,k=0.30000000000000004,s=\"say \\\"hi\\\" \\\\ \n é\\\\n\\\\\",t=false,u=18446744073709551615u,x=9007199254740992.0 -1500"
        );
    }

    #[test]
    fn the_canonical_form_sorts_and_lines_as_written_by_others_parse() {
        let a = parse_line(b"m,b=2,a=1 y=1i,x=\"q\",z=T 5\n").unwrap();
        let b = parse_line(b"m,a=1,b=2 z=true,y=1i,x=\"q\" 5").unwrap();
        assert_eq!(canonical(a), canonical(b));
        let f = parse_line(b"m f=1 1").unwrap();
        assert_eq!(f.fields[0].1, Value::Float(1.0));
        for bad in [
            &b"m f=inf 1"[..],
            b"m f=NaN 1",
            b"m f=1",
            b"m f=\"x 1",
            b"m f=1.5i 1",
            b"m,t f=1 1",
            b"m f=1 x",
        ] {
            assert!(parse_line(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn names_line_protocol_cannot_hold_are_refused() {
        assert_eq!(unwritable("C:\\dir", Part::Tag), None);
        assert_eq!(unwritable("a\\=b", Part::Measurement), None);
        assert!(unwritable("a\\=b", Part::Tag).is_some());
        assert!(unwritable("a\\,b", Part::Measurement).is_some());
        assert!(unwritable("end\\", Part::FieldKey).is_some());
        assert!(unwritable("two\nlines", Part::Tag).is_some());
        assert!(unwritable("#comment", Part::Measurement).is_some());
        assert_eq!(unwritable("#tag", Part::Tag), None);
        assert!(unwritable("\tf", Part::FieldKey).is_some());
        assert_eq!(unwritable("\tf", Part::Tag), None);
        assert!(unwritable("bad \u{FFFD}", Part::Tag).is_some());
    }
}
