//! Reading a restored table back through the server's own output, in the
//! format and under the settings its rows were backed up with, so that
//! each row comes out byte for byte as the backup stored it.
//!
//! A large table is read in two halves of its pages at once, over two
//! connections sharing one snapshot: the digest does not depend on the
//! order rows come in, and the server's COPY is what takes the time.

use std::cell::RefCell;

use futures::StreamExt;
use sqlx::{Connection, Executor, PgConnection};

use super::conn::{quote_ident, quote_qualified};
use super::lobs::{self, LARGE_OBJECTS};
use super::meta;
use super::rows::{session_sql, Format};
use super::session::Sessions;
use crate::digest::RowSplitter;
use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;
use crate::source::TimeRange;

/// Tables of at least this many pages (32 MiB of 8 KiB pages) are read
/// in two halves at once.
const HALVES_FROM_PAGES: i64 = 4096;
/// TID range scans (14), without which each half would scan the table.
const TID_RANGE_SCANS: i32 = 140_000;

type SqlResult<T> = std::result::Result<T, sqlx::Error>;
/// Where each row read back goes.
type RowSink<'r> = &'r mut dyn FnMut(&[u8]);

/// The rows read so far: one splitter per COPY stream, all handing rows
/// to the one `row`; the first error in the streams' content is kept.
struct Rows<'r> {
    row: RefCell<RowSink<'r>>,
    cut: RefCell<Result<()>>,
}

impl Rows<'_> {
    fn feed(&self, splitter: &mut dyn RowSplitter, data: &[u8]) {
        let mut cut = self.cut.borrow_mut();
        if cut.is_ok() {
            *cut = splitter.feed(data, &mut **self.row.borrow_mut());
        }
    }

    fn end(&self, splitter: &mut dyn RowSplitter) {
        let mut cut = self.cut.borrow_mut();
        if cut.is_ok() {
            *cut = splitter.end();
        }
    }
}

/// Reads `entry`'s rows back from the restored table `name`, each in the
/// canonical form the backup's stream is cut into; with `range`, only
/// those its load kept (the same condition on the same column, in UTC).
pub fn read_rows(
    sessions: &Sessions,
    entry: &ObjectEntry,
    name: &str,
    range: Option<&TimeRange>,
    row: &mut dyn FnMut(&[u8]),
) -> Result<()> {
    let format = Format::of(entry)?;
    let in_range = match range {
        None => None,
        Some(range) => {
            let doing = format!("read the columns of {name} in");
            let column = sessions
                .query(&doing, async |c| meta::time_column(c, name).await)?
                .ok_or_else(|| {
                    EngineError::invalid(
                        format!("time range of table {name}"),
                        "the table has no single timestamp column",
                    )
                })?;
            Some(format!("({})", range.sql_condition(&quote_ident(&column))))
        }
    };
    let rows = Rows {
        row: RefCell::new(row),
        cut: RefCell::new(Ok(())),
    };
    sessions.query(&format!("read back table {name} of"), async |conn| {
        if entry.name == LARGE_OBJECTS {
            return whole(conn, &lobs::copy_sql(), format, &rows).await;
        }
        let columns = meta::copy_column_list(&mut *conn, name).await?;
        let from = format!("FROM ONLY {}", quote_qualified(name));
        let copy = |pages: Option<String>| {
            let conditions: Vec<&str> = in_range.iter().chain(&pages).map(String::as_str).collect();
            let filter = if conditions.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", conditions.join(" AND "))
            };
            format!(
                "COPY (SELECT {columns} {from}{filter}) TO STDOUT ({})",
                format.option()
            )
        };
        if let Some(half) = half_point(&mut *conn, name).await? {
            // Without a second connection (all held ones in use), one read.
            if let Ok(mut other) = sessions.take().await {
                let first = copy(Some(format!("ctid < '({half},0)'::tid")));
                let second = copy(Some(format!("ctid >= '({half},0)'::tid")));
                let read = halves(conn, &mut other, [&first, &second], format, &rows).await;
                sessions.give_back(other);
                return read;
            }
        }
        whole(conn, &copy(None), format, &rows).await
    })?;
    rows.cut
        .into_inner()
        .map_err(|e| EngineError::invalid(format!("table {name} read back"), e.to_string()))
}

/// The page halving a table large enough to be read in halves.
async fn half_point(conn: &mut PgConnection, table: &str) -> SqlResult<Option<i64>> {
    let (pages, version): (i64, i32) = sqlx::query_as(
        "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int8, \
         current_setting('server_version_num')::int",
    )
    .bind(quote_qualified(table))
    .fetch_one(conn)
    .await?;
    Ok((version >= TID_RANGE_SCANS && pages >= HALVES_FROM_PAGES).then_some(pages / 2))
}

/// Starts a read-only transaction under the backup's session settings.
async fn begin(conn: &mut PgConnection) -> SqlResult<sqlx::Transaction<'_, sqlx::Postgres>> {
    let mut tx = conn.begin().await?;
    tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    for set in session_sql(true) {
        tx.execute(set.as_str()).await?;
    }
    Ok(tx)
}

/// Runs one `COPY ... TO STDOUT` and cuts its rows.
async fn stream(
    tx: &mut PgConnection,
    sql: &str,
    format: Format,
    rows: &Rows<'_>,
) -> SqlResult<()> {
    let mut splitter = format.splitter();
    let mut copy = tx.copy_out_raw(sql).await?;
    while let Some(chunk) = copy.next().await {
        rows.feed(splitter.as_mut(), &chunk?);
    }
    rows.end(splitter.as_mut());
    Ok(())
}

async fn whole(
    conn: &mut PgConnection,
    sql: &str,
    format: Format,
    rows: &Rows<'_>,
) -> SqlResult<()> {
    let mut tx = begin(conn).await?;
    stream(&mut tx, sql, format, rows).await?;
    tx.commit().await
}

/// Both halves at once, in one snapshot.
async fn halves(
    conn: &mut PgConnection,
    other: &mut PgConnection,
    sql: [&str; 2],
    format: Format,
    rows: &Rows<'_>,
) -> SqlResult<()> {
    let mut tx = begin(conn).await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    let mut other_tx = other.begin().await?;
    other_tx
        .execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    other_tx
        .execute(format!("SET TRANSACTION SNAPSHOT '{}'", snapshot.replace('\'', "")).as_str())
        .await?;
    for set in session_sql(true) {
        other_tx.execute(set.as_str()).await?;
    }
    futures::future::try_join(
        stream(&mut tx, sql[0], format, rows),
        stream(&mut other_tx, sql[1], format, rows),
    )
    .await?;
    other_tx.commit().await?;
    tx.commit().await
}
