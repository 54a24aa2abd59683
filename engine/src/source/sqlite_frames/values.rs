//! A row's values as the exact bytes SQLite holds: the `R` payload of
//! `tidemark-sqlite-table-2` streams, and the canonical form of a row for
//! content digests. And the value tuples of `-1` streams, parsed back to
//! the values they were written from.
//!
//! Each value is a storage-class tag and its bytes: `N` (NULL), `I` and
//! eight little-endian bytes of the i64, `F` and the f64's bit pattern
//! (so every REAL comes back bit for bit, -0.0 included), `T` (TEXT, the
//! bytes as stored, UTF-8 or not) and `B` (BLOB), each with a
//! little-endian u32 length. A row is its values one after another.

use rusqlite::types::{Value, ValueRef};

/// Appends one value's exact encoding.
pub fn encode_value(value: ValueRef<'_>, out: &mut Vec<u8>) {
    match value {
        ValueRef::Null => out.push(b'N'),
        ValueRef::Integer(i) => {
            out.push(b'I');
            out.extend_from_slice(&i.to_le_bytes());
        }
        ValueRef::Real(f) => {
            out.push(b'F');
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            out.push(if matches!(value, ValueRef::Text(_)) {
                b'T'
            } else {
                b'B'
            });
            // SQLite holds no value longer than 2^31 - 1 bytes.
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

/// The values of an encoded row, borrowing its bytes.
pub fn decode_row(mut bytes: &[u8]) -> Result<Vec<ValueRef<'_>>, String> {
    let mut values = Vec::new();
    while let Some((&tag, rest)) = bytes.split_first() {
        let take = |n: usize| {
            (rest.len() >= n)
                .then(|| rest.split_at(n))
                .ok_or_else(|| format!("value {} is cut short", values.len() + 1))
        };
        let (value, rest) = match tag {
            b'N' => (ValueRef::Null, rest),
            b'I' | b'F' => {
                let (word, rest) = take(8)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(word);
                let value = if tag == b'I' {
                    ValueRef::Integer(i64::from_le_bytes(le))
                } else {
                    ValueRef::Real(f64::from_bits(u64::from_le_bytes(le)))
                };
                (value, rest)
            }
            b'T' | b'B' => {
                let (len, _) = take(4)?;
                let mut le = [0u8; 4];
                le.copy_from_slice(len);
                let len = u32::from_le_bytes(le) as usize;
                let (data, rest) = take(4 + len)?;
                let data = &data[4..];
                let value = if tag == b'T' {
                    ValueRef::Text(data)
                } else {
                    ValueRef::Blob(data)
                };
                (value, rest)
            }
            other => return Err(format!("unknown value tag {other:#04x}")),
        };
        values.push(value);
        bytes = rest;
    }
    Ok(values)
}

/// Parses a `-1` stream's row, an SQL value tuple written by the old
/// `literal`, back to its values. The REALs were written in Rust's
/// shortest round-trip notation, so Rust's (correctly rounded) parsing
/// gives back the very double that was read; SQLite's own parsing of the
/// same text is off by one unit in the last place for some of them.
pub fn parse_tuple(text: &str) -> Result<Vec<Value>, String> {
    let bad = |what: &str| format!("row {text:.60?}: {what}");
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| bad("not a value tuple"))?;
    let mut values = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let (value, after) = if let Some(quoted) = rest.strip_prefix('\'') {
            // A string literal; '' is a quote inside it.
            let mut s = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '\'')) if quoted[i + 1..].starts_with('\'') => {
                        s.push('\'');
                        chars.next();
                    }
                    Some((i, '\'')) => break i + 1,
                    Some((_, c)) => s.push(c),
                    None => return Err(bad("unterminated string")),
                }
            };
            (Value::Text(s), &quoted[end..])
        } else if let Some(hex) = rest.strip_prefix("X'") {
            let end = hex.find('\'').ok_or_else(|| bad("unterminated blob"))?;
            let bytes = hex::decode(&hex[..end]).map_err(|_| bad("bad blob"))?;
            (Value::Blob(bytes), &hex[end + 1..])
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let token = &rest[..end];
            let value = if token == "NULL" {
                Value::Null
            } else if token.contains(['e', 'E']) {
                Value::Real(token.parse().map_err(|_| bad("bad REAL"))?)
            } else {
                Value::Integer(token.parse().map_err(|_| bad("bad INTEGER"))?)
            };
            (value, &rest[end..])
        };
        values.push(value);
        rest = match after.strip_prefix(',') {
            Some(next) if !next.is_empty() => next,
            Some(_) => return Err(bad("ends with a comma")),
            None if after.is_empty() => after,
            None => return Err(bad("values are not separated by commas")),
        };
    }
    Ok(values)
}

/// The `-1` stream's SQL literal for a value: the canonical form of rows
/// of points taken before `-2` (their recorded digests are over these).
pub fn literal(value: ValueRef<'_>, out: &mut String) {
    use std::fmt::Write;
    match value {
        ValueRef::Null => out.push_str("NULL"),
        ValueRef::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        ValueRef::Real(f) if f.is_finite() => {
            let _ = write!(out, "{f:e}");
        }
        ValueRef::Real(f) if f > 0.0 => out.push_str("9e999"),
        ValueRef::Real(f) if f < 0.0 => out.push_str("-9e999"),
        ValueRef::Real(_) => out.push_str("NULL"),
        ValueRef::Text(t) => {
            out.push('\'');
            out.push_str(&String::from_utf8_lossy(t).replace('\'', "''"));
            out.push('\'');
        }
        ValueRef::Blob(b) => {
            out.push_str("X'");
            for byte in b {
                let _ = write!(out, "{byte:02X}");
            }
            out.push('\'');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_decodes_to_its_exact_bytes() {
        let values = [
            ValueRef::Integer(i64::MIN),
            ValueRef::Integer(i64::MAX),
            ValueRef::Real(-0.0),
            ValueRef::Real(f64::from_bits(1)),
            ValueRef::Real(f64::NEG_INFINITY),
            ValueRef::Text(&[0xFF, 0xFE, 0x41]),
            ValueRef::Text(b""),
            ValueRef::Blob(&[0, 1, 2]),
            ValueRef::Null,
        ];
        let mut row = Vec::new();
        for v in values {
            encode_value(v, &mut row);
        }
        let back = decode_row(&row).unwrap();
        assert_eq!(back.len(), values.len());
        for (a, b) in back.iter().zip(values) {
            match (a, b) {
                (ValueRef::Real(x), ValueRef::Real(y)) => assert_eq!(x.to_bits(), y.to_bits()),
                _ => assert_eq!(*a, b),
            }
        }
        assert!(decode_row(&row[..row.len() - 3]).is_err());
        assert!(decode_row(b"Q").is_err());
    }

    #[test]
    fn old_tuples_parse_to_the_values_they_were_written_from() {
        let values = [
            Value::Integer(i64::MIN),
            Value::Real(-793_764.408_951_202),
            Value::Real(-0.0),
            Value::Real(f64::INFINITY),
            Value::Real(f64::MIN_POSITIVE / 3.0),
            Value::Text("it's, (odd)".into()),
            Value::Blob(vec![0, 255]),
            Value::Null,
        ];
        let mut tuple = String::from("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                tuple.push(',');
            }
            literal(ValueRef::from(v), &mut tuple);
        }
        tuple.push(')');
        let parsed = parse_tuple(&tuple).unwrap();
        for (a, b) in parsed.iter().zip(&values) {
            match (a, b) {
                (Value::Real(x), Value::Real(y)) => assert_eq!(x.to_bits(), y.to_bits()),
                _ => assert_eq!(a, b),
            }
        }
        assert_eq!(parsed.len(), values.len());
        assert!(parse_tuple("(1,)").is_err());
        assert!(parse_tuple("('a)").is_err());
        assert_eq!(parse_tuple("()").unwrap(), Vec::<Value>::new());
    }
}
