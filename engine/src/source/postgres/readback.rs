//! Reading a restored table back through the server's own output, in the
//! format and under the settings its rows were backed up with, so that
//! each row comes out byte for byte as the backup stored it.

use futures::StreamExt;
use sqlx::{Connection, Executor, PgConnection};

use super::conn::quote_qualified;
use super::lobs::{self, LARGE_OBJECTS};
use super::meta;
use super::rows::{session_sql, Format};
use super::session::Sessions;
use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;

/// Reads `entry`'s rows back from the restored table `name`, each in the
/// canonical form the backup's stream is cut into.
pub fn read_rows(
    sessions: &Sessions,
    entry: &ObjectEntry,
    name: &str,
    row: &mut dyn FnMut(&[u8]),
) -> Result<()> {
    let format = Format::of(entry)?;
    let mut splitter = format.splitter();
    let mut cut = Ok(());
    sessions.query(&format!("read back table {name} of"), async |conn| {
        let sql = if entry.name == LARGE_OBJECTS {
            lobs::copy_sql()
        } else {
            copy_sql(conn, name, format).await?
        };
        copy_rows(conn, &sql, &mut |data| {
            if cut.is_ok() {
                cut = splitter.feed(data, row);
            }
        })
        .await
    })?;
    cut.and_then(|()| splitter.end())
        .map_err(|e| EngineError::invalid(format!("table {name} read back"), e.to_string()))
}

/// `COPY (SELECT <the columns COPY reads> FROM ONLY table) TO STDOUT`:
/// the table's children are tables of their own, as when backed up.
pub async fn copy_sql(
    conn: &mut PgConnection,
    table: &str,
    format: Format,
) -> std::result::Result<String, sqlx::Error> {
    let columns = meta::copy_column_list(conn, table).await?;
    Ok(format!(
        "COPY (SELECT {columns} FROM ONLY {}) TO STDOUT ({})",
        quote_qualified(table),
        format.option()
    ))
}

/// Runs the `COPY ... TO STDOUT` statement `sql` in a read-only
/// transaction under the backup's session settings, handing on its bytes.
pub async fn copy_rows(
    conn: &mut PgConnection,
    sql: &str,
    data: &mut dyn FnMut(&[u8]),
) -> std::result::Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    tx.execute("SET TRANSACTION READ ONLY").await?;
    for set in session_sql(true) {
        tx.execute(set.as_str()).await?;
    }
    let mut stream = tx.copy_out_raw(sql).await?;
    while let Some(chunk) = stream.next().await {
        data(&chunk?);
    }
    drop(stream);
    tx.commit().await
}
