//! Reading a restored table back through SQLite, each row in the
//! canonical form the backup's stream holds it in, for VERIFYING.

use super::SqliteTarget;
use crate::error::Result;
use crate::repo::manifest::ObjectEntry;
use crate::source::sqlite::{row_list, rowid_alias, sql_error, stored_columns};
use crate::source::sqlite_frames::{encode_value, literal, quote_ident, time_column, FORMAT};
use crate::source::Load;

pub(super) fn read_back(
    target: &SqliteTarget,
    entry: &ObjectEntry,
    load: &Load,
    row: &mut dyn FnMut(&[u8]),
) -> Result<bool> {
    // Views and virtual tables have no rows of their own (a virtual
    // table's are checked in its shadow tables).
    if entry.rows.is_none() {
        return Ok(false);
    }
    // Entries without a format are of -1 streams: value tuples.
    let exact = match entry.format.as_deref() {
        None => false,
        Some(FORMAT) => true,
        Some(_) => return Ok(false),
    };
    let err = |e| sql_error(&target.path, e);
    let q = quote_ident(&load.name);
    let list = if exact {
        // The backup's columns, in its order, whatever the target's order.
        match target.loaded.get(&load.name) {
            Some((rowid, columns)) => row_list(rowid.as_deref(), columns),
            None => row_list(
                rowid_alias(&target.conn, &load.name).map_err(err)?,
                &stored_columns(&target.conn, &load.name).map_err(err)?,
            ),
        }
    } else {
        "*".to_owned()
    };
    let mut filter = String::new();
    if let Some(range) = load.range.as_ref().filter(|r| !r.is_unbounded()) {
        if let Some((_, column)) = target.time_column(&load.name)? {
            // The backup's rows of the range were picked by the backup's
            // time column, ordering TEXT as UTF-8 and UTF-16be databases
            // do; a table merged into may filter on another column, and a
            // UTF-16le database orders some non-ASCII text otherwise.
            let picked = time_column(entry).is_some_and(|(_, c)| c == column);
            let encoding: String = target
                .conn
                .query_row("PRAGMA encoding", [], |r| r.get(0))
                .map_err(err)?;
            if !picked || encoding.eq_ignore_ascii_case("UTF-16le") {
                return Ok(false);
            }
            filter = format!(" WHERE {}", range.sql_condition(&quote_ident(&column)));
        }
    }
    let mut stmt = target
        .conn
        .prepare(&format!("SELECT {list} FROM {q}{filter}"))
        .map_err(err)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).map_err(err)?;
    let (mut bytes, mut tuple) = (Vec::new(), String::new());
    while let Some(values) = rows.next().map_err(err)? {
        if exact {
            bytes.clear();
            for i in 0..columns {
                encode_value(values.get_ref(i).map_err(err)?, &mut bytes);
            }
            row(&bytes);
        } else {
            tuple.clear();
            tuple.push('(');
            for i in 0..columns {
                if i > 0 {
                    tuple.push(',');
                }
                literal(values.get_ref(i).map_err(err)?, &mut tuple);
            }
            tuple.push(')');
            row(tuple.as_bytes());
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use rusqlite::types::ValueRef;

    use super::*;
    use crate::repo::manifest::ObjectKind;
    use crate::source::sqlite_frames::{frame, FORMAT_V1};
    use crate::source::{LoadMode, Target};

    /// REALs whose shortest notation SQLite's own text parsing turns
    /// into a neighbouring double (deterministic search).
    fn misparsed_reals(conn: &rusqlite::Connection, wanted: usize) -> Vec<f64> {
        let mut state = 17u64;
        let mut found = Vec::new();
        while found.len() < wanted {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let f = f64::from_bits(state);
            if !f.is_finite() {
                continue;
            }
            let mut text = String::new();
            literal(ValueRef::Real(f), &mut text);
            let parsed: f64 = conn
                .query_row(&format!("SELECT {text}"), [], |r| r.get(0))
                .unwrap();
            if parsed.to_bits() != f.to_bits() {
                found.push(f);
            }
        }
        found
    }

    fn restore(db: &std::path::Path, entry: &ObjectEntry, stream: &[u8]) -> SqliteTarget {
        let mut target = SqliteTarget::open(db.to_owned()).unwrap();
        target.prepare().unwrap();
        let load = Load {
            name: entry.name.clone(),
            mode: LoadMode::Create,
            range: None,
        };
        let mut sink = target.begin(entry, &load).unwrap();
        // In pieces, as the repository hands it over.
        for piece in stream.chunks(7) {
            sink.write(piece).unwrap();
        }
        sink.commit().unwrap();
        target.finish(&[]).unwrap();
        target
    }

    fn read_rows(target: &mut SqliteTarget, entry: &ObjectEntry) -> Vec<Vec<u8>> {
        let load = Load {
            name: entry.name.clone(),
            mode: LoadMode::Create,
            range: None,
        };
        let mut rows = Vec::new();
        assert!(target
            .read_back(entry, &load, &mut |r| rows.push(r.to_vec()))
            .unwrap());
        rows
    }

    #[test]
    fn old_streams_restore_exactly_and_read_back_in_their_form() {
        let dir = tempfile::tempdir().unwrap();
        let memory = rusqlite::Connection::open_in_memory().unwrap();
        let reals = misparsed_reals(&memory, 5);
        let mut stream = Vec::new();
        frame(
            b'H',
            format!(r#"{{"format":"{FORMAT_V1}","name":"t","view":false}}"#).as_bytes(),
            &mut stream,
        );
        frame(
            b'S',
            b"CREATE TABLE t (id INTEGER PRIMARY KEY, v)",
            &mut stream,
        );
        let mut payloads = Vec::new();
        for (i, f) in reals.iter().enumerate() {
            let mut tuple = format!("({i},");
            literal(ValueRef::Real(*f), &mut tuple);
            tuple.push(')');
            frame(b'R', tuple.as_bytes(), &mut stream);
            payloads.push(tuple.into_bytes());
        }
        frame(b'R', b"(99,'it''s')", &mut stream);
        payloads.push(b"(99,'it''s')".to_vec());
        // A point taken before -2: its entry names no format.
        let mut entry = ObjectEntry::new("t", ObjectKind::Table);
        entry.rows = Some(payloads.len() as u64);
        let db = dir.path().join("old.db");
        let mut target = restore(&db, &entry, &stream);

        let conn = rusqlite::Connection::open(&db).unwrap();
        for (i, f) in reals.iter().enumerate() {
            let v: f64 = conn
                .query_row("SELECT v FROM t WHERE id = ?1", [i as i64], |r| r.get(0))
                .unwrap();
            assert_eq!(v.to_bits(), f.to_bits(), "row {i}");
        }
        assert_eq!(read_rows(&mut target, &entry), payloads);
    }

    #[test]
    fn exact_streams_read_back_as_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut stream = Vec::new();
        frame(
            b'H',
            format!(r#"{{"format":"{FORMAT}","name":"t","view":false,"columns":["b","a"]}}"#)
                .as_bytes(),
            &mut stream,
        );
        frame(b'S', b"CREATE TABLE t (a, b)", &mut stream);
        let mut payloads = Vec::new();
        for values in [
            [ValueRef::Text(&[0xFF, 0xFE, 0x41]), ValueRef::Real(-0.0)],
            [ValueRef::Integer(i64::MIN), ValueRef::Blob(b"")],
            [ValueRef::Null, ValueRef::Real(f64::from_bits(1))],
        ] {
            let mut row = Vec::new();
            for v in values {
                encode_value(v, &mut row);
            }
            frame(b'R', &row, &mut stream);
            payloads.push(row);
        }
        let mut entry = ObjectEntry::new("t", ObjectKind::Table);
        entry.rows = Some(3);
        entry.format = Some(FORMAT.into());
        let db = dir.path().join("new.db");
        let mut target = restore(&db, &entry, &stream);
        assert_eq!(read_rows(&mut target, &entry), payloads);
        let conn = rusqlite::Connection::open(&db).unwrap();
        let (a, b): (Vec<u8>, f64) = conn
            .query_row("SELECT CAST(b AS BLOB), a FROM t LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            (a, b.to_bits()),
            (vec![0xFF, 0xFE, 0x41], (-0.0f64).to_bits())
        );
    }
}
