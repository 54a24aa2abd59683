//! Line protocol, the content of an InfluxDB object in a backup: one point
//! per line, `measurement,tag=value field=value,... timestamp` with
//! nanosecond timestamps. Rendered from query rows at backup, read again
//! at restore (to rename the measurement, keep a time range and find
//! points that already exist).

use serde_json::value::RawValue;

use super::point::{parse_line, Columns};
use super::query::rfc3339;

/// A field's declared types (a field may have one type per shard).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldTypes {
    pub float: bool,
    pub integer: bool,
    pub unsigned: bool,
    pub string: bool,
    pub boolean: bool,
}

impl FieldTypes {
    /// Adds one `SHOW FIELD KEYS` type.
    pub fn add(&mut self, name: &str) {
        match name {
            "float" => self.float = true,
            "integer" => self.integer = true,
            "unsigned" => self.unsigned = true,
            "string" => self.string = true,
            "boolean" => self.boolean = true,
            _ => {}
        }
    }

    /// The types, as `SHOW FIELD KEYS` names them.
    pub fn names(self) -> Vec<&'static str> {
        [
            (self.float, "float"),
            (self.integer, "integer"),
            (self.unsigned, "unsigned"),
            (self.string, "string"),
            (self.boolean, "boolean"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name)
        .collect()
    }
}

/// Renders rows of `SELECT "t"::tag, ..., "f"::field, ...` (time first,
/// then the tags, then the fields, in the order given here) as lines.
/// Each line is parsed again and must give the row's values: what line
/// protocol cannot hold exactly is refused, never written altered.
pub struct Renderer {
    /// The measurement as line protocol writes it.
    measurement: String,
    columns: Columns,
    row: Vec<u8>,
    line: Vec<u8>,
}

impl Renderer {
    pub fn new(measurement: &str, tags: &[String], fields: &[(String, FieldTypes)]) -> Self {
        Renderer {
            measurement: escape_measurement(measurement),
            columns: Columns {
                measurement: measurement.to_owned(),
                tags: tags.to_vec(),
                fields: fields.to_vec(),
            },
            row: Vec::new(),
            line: Vec::new(),
        }
    }

    /// Appends the row's line to `out` and returns its time; `Ok(None)`
    /// (nothing appended) for a row without any field value.
    pub fn render(&mut self, row: &[&RawValue], out: &mut Vec<u8>) -> Result<Option<i64>, String> {
        let Some(mut point) = self.columns.point(row)? else {
            return Ok(None);
        };
        let at = || rfc3339(point.time);
        if let Some(why) = point.unwritable() {
            return Err(format!(
                "the point at {} cannot be written as line protocol exactly: {why}",
                at()
            ));
        }
        let start = out.len();
        point.write_line(&self.measurement, out);
        let mut parsed = parse_line(&out[start..])
            .map_err(|e| format!("the line of the point at {} does not parse: {e}", at()))?;
        parsed.canonical(&mut self.line);
        point.canonical(&mut self.row);
        if self.line != self.row {
            return Err(format!(
                "the point at {} would be restored as {} instead of {}: line protocol cannot hold it exactly",
                rfc3339(point.time),
                String::from_utf8_lossy(&self.line),
                String::from_utf8_lossy(&self.row)
            ));
        }
        Ok(Some(point.time))
    }
}

/// Backslash before each of `specials`.
pub fn escape(text: &str, specials: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if specials.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A measurement name as line protocol writes it.
pub fn escape_measurement(name: &str) -> String {
    escape(name, &[',', ' '])
}

/// Removes the backslashes [`escape`] put in (before `,`, `=`, space).
fn unescape(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && matches!(raw.get(i + 1), Some(b',' | b'=' | b' ')) {
            i += 1;
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of a backup, located in its buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    /// Bytes of the line including its newline.
    pub len: usize,
    /// End of the (escaped) measurement name: tags or fields follow.
    pub measurement_end: usize,
    /// The tag section, without its leading comma (may be empty).
    pub tags: std::ops::Range<usize>,
    pub time: i64,
}

impl Line {
    /// The tags as sorted `(key, value)` pairs, unescaped: the series.
    pub fn series(&self, buf: &[u8]) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = split_unescaped(&buf[self.tags.clone()], b',')
            .into_iter()
            .filter(|p| !p.is_empty())
            .filter_map(|pair| {
                let parts = split_unescaped(pair, b'=');
                match parts.as_slice() {
                    [key, value] => Some((unescape(key), unescape(value))),
                    _ => None,
                }
            })
            .collect();
        pairs.sort();
        pairs
    }
}

fn split_unescaped(raw: &[u8], separator: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < raw.len() {
        if raw[i] == b'\\' {
            i += 2;
            continue;
        }
        if raw[i] == separator {
            parts.push(&raw[start..i]);
            start = i + 1;
        }
        i += 1;
    }
    parts.push(&raw[start.min(raw.len())..]);
    parts
}

/// Finds the first complete line of `buf`: `Ok(None)` when more bytes are
/// needed. A string field may hold newlines; only the one after the
/// timestamp ends a line.
pub fn next_line(buf: &[u8]) -> Result<Option<Line>, String> {
    let n = buf.len();
    let mut i = 0;
    // Skips a backslash and the byte it escapes.
    let until = |mut i: usize, stops: &[u8]| -> Result<Option<usize>, String> {
        while i < n {
            match buf[i] {
                b'\\' => i += 2,
                b'\n' => return Err("a line ends before its fields".into()),
                b if stops.contains(&b) => return Ok(Some(i)),
                _ => i += 1,
            }
        }
        Ok(None)
    };
    let Some(measurement_end) = until(i, b", ")? else {
        return Ok(None);
    };
    i = measurement_end;
    let mut tags = i..i;
    if buf[i] == b',' {
        let Some(end) = until(i + 1, b" ")? else {
            return Ok(None);
        };
        tags = i + 1..end;
        i = end;
    }
    i += 1; // the space before the fields
    loop {
        let Some(eq) = until(i, b"=")? else {
            return Ok(None);
        };
        i = eq + 1;
        if i >= n {
            return Ok(None);
        }
        if buf[i] == b'"' {
            i += 1;
            loop {
                match buf.get(i) {
                    None => return Ok(None),
                    Some(b'\\') => i += 2,
                    Some(b'"') => break,
                    Some(_) => i += 1,
                }
            }
            i += 1;
        } else {
            while i < n && !matches!(buf[i], b',' | b' ' | b'\n') {
                i += 1;
            }
        }
        match buf.get(i) {
            None => return Ok(None),
            Some(b',') => i += 1,
            Some(b' ') => break,
            Some(_) => return Err("a line has no timestamp".into()),
        }
    }
    let start = i + 1;
    let Some(newline) = buf[start.min(n)..].iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[start..start + newline])
        .map_err(|_| "a timestamp is not text".to_owned())?;
    let time = text
        .parse::<i64>()
        .map_err(|_| format!("bad timestamp {text:?}"))?;
    Ok(Some(Line {
        len: start + newline + 1,
        measurement_end,
        tags,
        time,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(items: &[&str]) -> Vec<Box<RawValue>> {
        items
            .iter()
            .map(|s| RawValue::from_string((*s).to_owned()).unwrap())
            .collect()
    }

    #[test]
    fn rows_render_with_types_escapes_and_sparse_fields() {
        let types = |t: &str| {
            let mut f = FieldTypes::default();
            f.add(t);
            f
        };
        let mut renderer = Renderer::new(
            "room temp,x",
            &["host".into(), "site id".into()],
            &[
                ("f".into(), types("float")),
                ("i".into(), types("integer")),
                ("s".into(), types("string")),
                ("b".into(), types("boolean")),
            ],
        );
        let row = raw(&[
            "1000",
            "\"a,b=c d\"",
            "null",
            "1",
            "-3",
            "\"say \\\"hi\\\" \\\\ \\n\"",
            "true",
        ]);
        let refs: Vec<&RawValue> = row.iter().map(|b| b.as_ref()).collect();
        let mut out = Vec::new();
        assert_eq!(renderer.render(&refs, &mut out), Ok(Some(1000)));
        let text = String::from_utf8(out.clone()).unwrap();
        assert_eq!(
            text,
            "room\\ temp\\,x,host=a\\,b\\=c\\ d f=1.0,i=-3i,s=\"say \\\"hi\\\" \\\\ \n\",b=true 1000\n"
        );
        let line = next_line(&out).unwrap().unwrap();
        assert_eq!(line.len, out.len());
        assert_eq!(line.time, 1000);
        assert_eq!(&out[..line.measurement_end], b"room\\ temp\\,x");
        assert_eq!(line.series(&out), vec![("host".into(), "a,b=c d".into())]);
        assert_eq!(next_line(&out[..out.len() - 1]), Ok(None));
        assert_eq!(next_line(&out[..20]), Ok(None));

        // What line protocol cannot hold is refused, naming the value.
        for (tag, field) in [("\"end\\\\\"", "\"s\""), ("\"h\"", "\"bad \u{FFFD}\"")] {
            let row = raw(&["7", tag, "null", "null", "null", field, "null"]);
            let refs: Vec<&RawValue> = row.iter().map(|b| b.as_ref()).collect();
            let err = renderer.render(&refs, &mut Vec::new()).unwrap_err();
            assert!(err.contains("1970-01-01T00:00:00.000000007Z"), "{err}");
            assert!(err.contains("backslash") || err.contains("U+FFFD"), "{err}");
        }

        let empty = raw(&["5", "null", "null", "null", "null", "null", "null"]);
        let refs: Vec<&RawValue> = empty.iter().map(|b| b.as_ref()).collect();
        let mut out = Vec::new();
        assert_eq!(renderer.render(&refs, &mut out), Ok(None));
        assert!(out.is_empty());
    }

    #[test]
    fn lines_without_tags_and_bad_lines() {
        let buf = b"m f=1e+21,g=\"x y\" -5\nm,t=1 f=2 7\n";
        let first = next_line(buf).unwrap().unwrap();
        assert_eq!((first.time, first.tags.is_empty()), (-5, true));
        let second = next_line(&buf[first.len..]).unwrap().unwrap();
        assert_eq!(second.time, 7);
        assert!(next_line(b"m f=1\n").is_err());
        assert!(next_line(b"m\n f=1 2\n").is_err());
        assert!(next_line(b"m f=1 x\n").is_err());
    }
}
