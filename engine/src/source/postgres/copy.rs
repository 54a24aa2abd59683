//! COPY streams on their own threads, so the engine's synchronous readers
//! and sinks can use the async driver: a table streams out through a
//! bounded channel (memory stays at a few buffers) and in the same way back.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use futures::StreamExt;
use sqlx::{Connection, Executor, PgConnection};

use super::conn::{pg_error, quote_qualified, PgAccess, PgLocation};
use super::rows::{session_sql, Format};
use crate::error::{EngineError, Result};
use crate::source::dbio::{duplicate_key, runtime, ChannelReader};

/// Buffers in flight between the driver thread and the engine.
const DEPTH: usize = 8;
/// Bytes of rows sent on together.
const BATCH: usize = 256 * 1024;

/// Reads one table as `COPY ... TO STDOUT` (binary, or text for tables
/// with types binary COPY cannot carry exactly) inside the exported
/// snapshot, so every table is read as of the same instant.
pub struct CopyOut {
    reader: ChannelReader,
    thread: Option<JoinHandle<()>>,
}

impl CopyOut {
    /// `filter` is empty or ` WHERE ...` (a time range).
    pub fn start(
        at: &PgLocation,
        snapshot: &str,
        table: &str,
        filter: &str,
        format: Format,
    ) -> CopyOut {
        let what = What::Table {
            table: table.to_owned(),
            filter: filter.to_owned(),
            format,
        };
        Self::spawn(at, snapshot, what)
    }

    /// Runs the `COPY (query) TO STDOUT` statement `sql`, `name` in messages.
    pub fn query(at: &PgLocation, snapshot: &str, name: &str, sql: String) -> CopyOut {
        let what = What::Query {
            name: name.to_owned(),
            sql,
        };
        Self::spawn(at, snapshot, what)
    }

    fn spawn(at: &PgLocation, snapshot: &str, what: What) -> CopyOut {
        let (tx, rx) = sync_channel(DEPTH);
        let (at, snapshot) = (at.clone(), snapshot.to_owned());
        let thread = std::thread::spawn(move || {
            let sent = tx.clone();
            let result =
                runtime().and_then(|rt| rt.block_on(copy_out(&at, &snapshot, &what, &sent)));
            if let Err(err) = result {
                let _ = tx.send(Err(err.to_string()));
            }
        });
        CopyOut {
            reader: ChannelReader::new(rx),
            thread: Some(thread),
        }
    }
}

/// What a [`CopyOut`] reads.
enum What {
    Table {
        table: String,
        filter: String,
        format: Format,
    },
    Query {
        name: String,
        sql: String,
    },
}

async fn copy_out(
    at: &PgLocation,
    snapshot: &str,
    what: &What,
    tx: &SyncSender<std::result::Result<Vec<u8>, String>>,
) -> Result<()> {
    let mut conn = at.connect().await?;
    let reading = match what {
        What::Table { table, .. } => format!("read table {table} of"),
        What::Query { name, .. } => format!("read {name} of"),
    };
    for set in session_sql(false) {
        conn.execute(set.as_str())
            .await
            .map_err(|e| pg_error(at, &reading, e))?;
    }
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(|e| pg_error(at, &reading, e))?;
    conn.execute(format!("SET TRANSACTION SNAPSHOT '{}'", snapshot.replace('\'', "")).as_str())
        .await
        .map_err(|e| pg_error(at, &reading, e))?;
    let sql = match what {
        What::Query { sql, .. } => sql.clone(),
        // `COPY table` reads the table's own rows, not its children's.
        What::Table {
            table,
            filter,
            format,
        } if filter.is_empty() => {
            format!(
                "COPY {} TO STDOUT ({})",
                quote_qualified(table),
                format.option()
            )
        }
        What::Table {
            table,
            filter,
            format,
        } => {
            let columns = super::meta::copy_column_list(&mut conn, table)
                .await
                .map_err(|e| pg_error(at, &reading, e))?;
            format!(
                "COPY (SELECT {columns} FROM ONLY {}{filter}) TO STDOUT ({})",
                quote_qualified(table),
                format.option()
            )
        }
    };
    send_copy(&mut conn, &sql, tx)
        .await
        .map_err(|e| pg_error(at, &reading, e))?;
    let _ = conn.close().await;
    Ok(())
}

/// Runs `COPY ... TO STDOUT` and sends its bytes on in batches; stops
/// early (without error) when the receiver is gone.
pub(super) async fn send_copy(
    conn: &mut PgConnection,
    sql: &str,
    tx: &SyncSender<std::result::Result<Vec<u8>, String>>,
) -> std::result::Result<(), sqlx::Error> {
    let mut stream = conn.copy_out_raw(sql).await?;
    // The server sends a message per row: hand them on in batches, or the
    // channel's wake-ups per row cost more than the rows.
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(chunk) = stream.next().await {
        batch.extend_from_slice(&chunk?);
        if batch.len() >= BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.send(Ok(full)).is_err() {
                // The engine stopped reading (cancelled or failed): stop too.
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(batch));
    }
    Ok(())
}

impl Read for CopyOut {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Drop for CopyOut {
    fn drop(&mut self) {
        // Unblock the thread if it waits on a full channel, then reap it.
        self.reader.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

enum InMsg {
    Data(Vec<u8>),
    /// One COPY stream ended; another follows in the same transaction.
    NextPart,
    /// Finish the COPY, check the row count, then commit.
    Commit(Option<u64>),
}

/// Loads one table with `COPY ... FROM STDIN (FORMAT binary)` inside a
/// transaction: nothing is visible until `commit`, and dropping it rolls
/// back. `prepare` statements run first in the same transaction.
pub struct CopyIn {
    tx: Option<SyncSender<InMsg>>,
    done: Receiver<(Result<u64>, PgConnection)>,
    thread: Option<JoinHandle<()>>,
    /// The connection, once the load ended.
    conn: Option<PgConnection>,
}

/// The statements of one table load, all in one transaction.
#[derive(Debug, Clone, Default)]
pub struct LoadSql {
    /// The table as named in messages.
    pub table: String,
    /// What COPY writes into (quoted): the table or a staging table.
    pub copy_into: String,
    /// Run before the COPY.
    pub prepare: Vec<String>,
    /// Run after it, before the commit.
    pub finish: Vec<String>,
    /// How the rows are encoded.
    pub format: Format,
}

impl CopyIn {
    /// Loads over `conn` on a thread of its own, driven by `rt`.
    pub fn start(
        rt: tokio::runtime::Handle,
        mut conn: PgConnection,
        at: &PgLocation,
        sql: LoadSql,
    ) -> CopyIn {
        let (tx, rx) = sync_channel(DEPTH);
        let (done_tx, done) = sync_channel(1);
        let at = at.clone();
        let thread = std::thread::spawn(move || {
            let result = rt.block_on(copy_in(&mut conn, &at, &sql, &rx));
            let _ = done_tx.send((result, conn));
        });
        CopyIn {
            tx: Some(tx),
            done,
            thread: Some(thread),
            conn: None,
        }
    }

    /// The connection back, once the load has ended.
    pub fn take_connection(&mut self) -> Option<PgConnection> {
        self.conn.take()
    }

    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(InMsg::Data(data.to_vec())).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.stopped())
        }
    }

    /// The loader stopped: its error says why.
    fn stopped(&mut self) -> EngineError {
        self.outcome()
            .err()
            .unwrap_or_else(|| EngineError::Database {
                what: "load a table".into(),
                detail: "the loader stopped early".into(),
            })
    }

    /// Ends this COPY stream and starts the next in the same transaction.
    pub fn next_part(&mut self) -> Result<()> {
        let sent = self
            .tx
            .as_ref()
            .is_some_and(|tx| tx.send(InMsg::NextPart).is_ok());
        if sent {
            Ok(())
        } else {
            Err(self.stopped())
        }
    }

    /// Ends the COPY, checks the rows, commits; returns the rows loaded.
    pub fn finish(&mut self, expected_rows: Option<u64>) -> Result<u64> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(InMsg::Commit(expected_rows));
        }
        self.outcome()
    }

    /// Stops the load: the transaction rolls back.
    pub fn abort(&mut self) -> Result<u64> {
        self.tx = None;
        self.outcome()
    }

    fn outcome(&mut self) -> Result<u64> {
        self.tx = None;
        let result = match self.done.recv() {
            Ok((result, conn)) => {
                self.conn = Some(conn);
                result
            }
            Err(_) => Err(EngineError::Database {
                what: "load a table".into(),
                detail: "the loader thread ended without a result".into(),
            }),
        };
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        result
    }
}

impl Drop for CopyIn {
    fn drop(&mut self) {
        // Closing the channel without Commit makes the loader roll back.
        if self.thread.is_some() {
            let _ = self.outcome();
        }
    }
}

async fn copy_in(
    conn: &mut PgConnection,
    at: &PgLocation,
    sql: &LoadSql,
    rx: &Receiver<InMsg>,
) -> Result<u64> {
    let table = &sql.table;
    let doing = format!("load table {table} into");
    let mut tx = conn.begin().await.map_err(|e| pg_error(at, &doing, e))?;
    // Text rows are read under the settings they were printed with.
    for statement in session_sql(true).iter().chain(&sql.prepare) {
        tx.execute(statement.as_str())
            .await
            .map_err(|e| pg_error(at, &doing, e))?;
    }
    let copy_sql = format!(
        "COPY {} FROM STDIN ({})",
        sql.copy_into,
        sql.format.option()
    );
    let mut copy = tx
        .copy_in_raw(&copy_sql)
        .await
        .map_err(|e| pg_error(at, &doing, e))?;
    let mut rows = 0;
    let expected = loop {
        match rx.recv() {
            Ok(InMsg::Data(data)) => {
                copy.send(data).await.map_err(|e| pg_error(at, &doing, e))?;
            }
            Ok(InMsg::NextPart) => {
                rows += copy.finish().await.map_err(|e| pg_error(at, &doing, e))?;
                copy = tx
                    .copy_in_raw(&copy_sql)
                    .await
                    .map_err(|e| pg_error(at, &doing, e))?;
            }
            Ok(InMsg::Commit(expected)) => break expected,
            // Dropped without commit: abort the COPY; the transaction rolls back.
            Err(_) => {
                let _ = copy.abort("restore stopped").await;
                return Err(EngineError::Cancelled);
            }
        }
    };
    rows += copy.finish().await.map_err(|e| pg_error(at, &doing, e))?;
    if let Some(expected) = expected.filter(|e| *e != rows) {
        return Err(EngineError::corrupt(
            format!("table {table}"),
            format!("{rows} rows loaded but the backup point recorded {expected}; nothing was committed"),
        ));
    }
    for statement in &sql.finish {
        tx.execute(statement.as_str())
            .await
            .map_err(|e| duplicate_or(at, table, &doing, e))?;
    }
    tx.commit().await.map_err(|e| pg_error(at, &doing, e))?;
    Ok(rows)
}

/// A unique violation while merging says which table and what to do.
fn duplicate_or(at: &PgLocation, table: &str, doing: &str, err: sqlx::Error) -> EngineError {
    duplicate_key(&err, table, &at.display()).unwrap_or_else(|| pg_error(at, doing, err))
}
