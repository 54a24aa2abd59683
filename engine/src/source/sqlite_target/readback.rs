//! Reading a restored table back through SQLite, each row in the
//! canonical form the backup's stream holds it in, for VERIFYING.

use super::SqliteTarget;
use crate::error::Result;
use crate::repo::manifest::ObjectEntry;
use crate::source::sqlite::{column_list, sql_error, stored_columns};
use crate::source::sqlite_frames::{encode_value, literal, quote_ident, FORMAT};
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
            Some(columns) => column_list(columns),
            None => column_list(&stored_columns(&target.conn, &load.name).map_err(err)?),
        }
    } else {
        "*".to_owned()
    };
    let mut filter = String::new();
    if let Some(range) = load.range.as_ref().filter(|r| !r.is_unbounded()) {
        if let Some((_, column)) = target.time_column(&load.name)? {
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
