//! MariaDB/MySQL: a consistent logical backup of one database.
//!
//! One connection starts `START TRANSACTION WITH CONSISTENT SNAPSHOT` and
//! reads everything in it, on its own thread: the structure (`SHOW CREATE
//! TABLE`, `SHOW CREATE VIEW`, the stored programs) and each table's rows,
//! streamed as the columns' own bytes.

mod account_lock;
pub mod binlog;
mod columns;
mod conn;
mod load;
mod programs;
mod range;
mod rows;
mod target;

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use std::thread::JoinHandle;

use sqlx::mysql::MySqlConnection;
use sqlx::{Executor, Row};

pub use conn::{parse as parse_url, MyLocation};
pub use range::row_time;
pub use target::MySqlTarget;

use super::dbio::{runtime, ChannelReader};
use super::selector::Selector;
use super::{Source, SourceDescription};
use crate::error::{EngineError, Result};
use crate::repo::manifest::{LogPosition, ObjectEntry, ObjectKind, Selection};
use conn::{connect, my_error, quote_ident};

pub const TABLES: &str = "_schema/tables.sql";
pub const VIEWS: &str = "_schema/views.sql";
pub use programs::{EVENTS, ROUTINES, TRIGGERS};
/// Separates statements in the structure objects.
pub const STATEMENT_END: &str = "\n-- tidemark: end of statement\n";

/// Bytes per message from the snapshot thread.
const BATCH: usize = 256 * 1024;

type Chunk = std::result::Result<Vec<u8>, String>;

enum Command {
    Describe(SyncSender<Result<SourceDescription>>),
    Position(SyncSender<Result<Option<LogPosition>>>),
    Stream(String, SyncSender<Chunk>),
}

pub struct MySqlSource {
    at: MyLocation,
    commands: Mutex<Option<SyncSender<Command>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl MySqlSource {
    /// Connects and opens the snapshot every read of this source will see.
    pub fn new(at: MyLocation, selection: &Selection) -> Result<Self> {
        let selector = Selector::new(&selection.include, &selection.exclude)?;
        let selection = selection.clone();
        let (tx, rx) = sync_channel(1);
        let (ready_tx, ready) = sync_channel(1);
        let thread_at = at.clone();
        let thread = std::thread::spawn(move || {
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(err) => {
                    let _ = ready_tx.send(Err(err));
                    return;
                }
            };
            rt.block_on(async move {
                let taken_at = chrono::Utc::now();
                let conn = match open_snapshot(&thread_at).await {
                    Ok(conn) => conn,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                serve(conn, &thread_at, &selector, &selection, rx, taken_at).await;
            });
        });
        match ready.recv() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(err),
            Err(_) => {
                return Err(EngineError::Database {
                    what: format!("open {}", at.display()),
                    detail: "the snapshot thread stopped".into(),
                })
            }
        }
        Ok(MySqlSource {
            at,
            commands: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    fn send(&self, command: Command) -> Result<()> {
        let guard = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .and_then(|tx| tx.send(command).ok())
            .ok_or_else(|| EngineError::Database {
                what: format!("read {}", self.at.display()),
                detail: "the snapshot connection is gone".into(),
            })
    }
}

impl Drop for MySqlSource {
    fn drop(&mut self) {
        self.commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

/// Rows of a stored table stream in their canonical form.
pub fn row_splitter(entry: &ObjectEntry) -> Option<Box<dyn crate::digest::RowSplitter>> {
    (entry.kind == ObjectKind::Table).then(|| Box::new(rows::Splitter::default()) as _)
}

async fn open_snapshot(at: &MyLocation) -> Result<MySqlConnection> {
    let mut conn = connect(at, true).await?;
    for sql in [
        // Structure is printed with backquotes and full options, whatever
        // the server's own sql_mode.
        "SET SESSION sql_mode = '', sql_quote_show_create = 1",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    ] {
        conn.execute(sql)
            .await
            .map_err(|e| my_error(at, "take a snapshot of", e))?;
    }
    Ok(conn)
}

/// Answers commands on the snapshot's connection until the source is dropped.
async fn serve(
    mut conn: MySqlConnection,
    at: &MyLocation,
    selector: &Selector,
    selection: &Selection,
    rx: Receiver<Command>,
    taken_at: chrono::DateTime<chrono::Utc>,
) {
    while let Ok(command) = rx.recv() {
        match command {
            Command::Describe(reply) => {
                let _ = reply.send(describe(&mut conn, at, selector, selection).await);
            }
            Command::Position(reply) => {
                let position = binlog::snapshot_position(&mut conn, at).await.map(|p| {
                    p.map(|(file, pos, gtid)| LogPosition {
                        file,
                        pos,
                        gtid,
                        taken_at,
                        end_pos: None,
                        timeline: None,
                        system_id: None,
                    })
                });
                let _ = reply.send(position);
            }
            Command::Stream(object, tx) => {
                let result = match object.as_str() {
                    TABLES => structure(&mut conn, at, "BASE TABLE")
                        .await
                        .map(|sql| drop(tx.send(Ok(sql)))),
                    VIEWS => structure(&mut conn, at, "VIEW")
                        .await
                        .map(|sql| drop(tx.send(Ok(sql)))),
                    ROUTINES | TRIGGERS | EVENTS => programs::read(&mut conn, at, &object)
                        .await
                        .map(|sql| drop(tx.send(Ok(sql)))),
                    table => stream_table(&mut conn, at, table, selection, &tx).await,
                };
                if let Err(err) = result {
                    let _ = tx.send(Err(err.to_string()));
                }
            }
        }
    }
    let _ = conn.execute("ROLLBACK").await;
}

async fn describe(
    conn: &mut MySqlConnection,
    at: &MyLocation,
    selector: &Selector,
    selection: &Selection,
) -> Result<SourceDescription> {
    let fail = |doing: &'static str| move |e| my_error(at, doing, e);
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await
        .map_err(fail("read the version of"))?;
    let tables: Vec<(String, i64)> = sqlx::query_as(
        "SELECT TABLE_NAME, CAST(COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) AS SIGNED) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
         AND COALESCE(ENGINE, '') NOT IN ('MRG_MyISAM', 'MRG_ISAM', 'FEDERATED') ORDER BY TABLE_NAME",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(fail("list the tables of"))?;
    // A MERGE or FEDERATED table's rows belong to other tables (here or
    // on another server), as mariadb-dump treats them: its structure is
    // restored, its rows come back with those tables.
    let mut objects = vec![ObjectEntry::new(TABLES, ObjectKind::Schema)];
    for (name, size) in tables.into_iter().filter(|(n, _)| selector.selects(n)) {
        let mut entry = ObjectEntry::new(name.clone(), ObjectKind::Table);
        entry.format = Some(rows::FORMAT_BYTES.into());
        entry.size = u64::try_from(size).unwrap_or(0);
        let shape = columns::table_columns(conn, &name)
            .await
            .map_err(fail("read the columns of"))?;
        // Which value of a row is its time, for digesting a time range.
        entry.columns = shape
            .columns
            .iter()
            .map(columns::TableColumn::manifest_text)
            .collect();
        let quoted = quote_ident(&name)
            + if shape.versioned {
                " FOR SYSTEM_TIME ALL"
            } else {
                ""
            };
        let (time_column, filter) = time_filter(conn, at, &name, selection).await?;
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {quoted}{filter}"))
            .fetch_one(&mut *conn)
            .await
            .map_err(fail("count the rows of a table in"))?;
        entry.rows = Some(u64::try_from(count).unwrap_or(0));
        if let Some(column) = time_column {
            let column = quote_ident(&column);
            let (min, max): (Option<String>, Option<String>) = sqlx::query_as(&format!(
                "SELECT CAST(MIN({column}) AS CHAR), CAST(MAX({column}) AS CHAR) FROM {quoted}{filter}"
            ))
            .fetch_one(&mut *conn)
            .await
            .map_err(fail("read the time range of"))?;
            entry.time_min = min;
            entry.time_max = max;
        }
        objects.push(entry);
    }
    // After the tables: views and routines once every table exists,
    // triggers once they hold their rows.
    for name in [VIEWS, ROUTINES, TRIGGERS, EVENTS] {
        objects.push(ObjectEntry::new(name, ObjectKind::Schema));
    }
    Ok(SourceDescription {
        kind: "mysql".into(),
        server_version: Some(version),
        objects,
    })
}

/// Every `SHOW CREATE` statement of one kind (tables, sequences first,
/// or views), separated by [`STATEMENT_END`].
async fn structure(conn: &mut MySqlConnection, at: &MyLocation, kind: &str) -> Result<Vec<u8>> {
    let types = if kind == "VIEW" {
        ["VIEW"; 3]
    } else {
        ["SEQUENCE", "BASE TABLE", "SYSTEM VERSIONED"]
    };
    let names: Vec<(String, String)> = sqlx::query_as(
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_TYPE IN (?, ?, ?) ORDER BY TABLE_TYPE <> 'SEQUENCE', TABLE_NAME",
    )
    .bind(types[0])
    .bind(types[1])
    .bind(types[2])
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| my_error(at, "list the structure of", e))?;
    let mut out = String::new();
    if kind == "BASE TABLE" {
        // The database's defaults, which tables, routines and parameters
        // created later take.
        let (charset, collation): (String, String) = sqlx::query_as(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| my_error(at, "read the character set of", e))?;
        out.push_str(&format!(
            "ALTER DATABASE CHARACTER SET {charset} COLLATE {collation}{STATEMENT_END}"
        ));
    }
    for (name, table_type) in names {
        let what = match table_type.as_str() {
            "VIEW" | "SEQUENCE" => table_type.as_str(),
            _ => "TABLE",
        };
        let row = sqlx::raw_sql(&format!("SHOW CREATE {what} {}", quote_ident(&name)))
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| my_error(at, "read the structure of", e))?;
        let create: Vec<u8> = row
            .try_get_unchecked(1)
            .map_err(|e| my_error(at, "read the structure of", e))?;
        if what == "VIEW" {
            // A view keeps the character set it was created with: recreate it under the same one.
            let client: Vec<u8> = row
                .try_get_unchecked(2)
                .map_err(|e| my_error(at, "read the structure of", e))?;
            let collation: Vec<u8> = row
                .try_get_unchecked(3)
                .map_err(|e| my_error(at, "read the structure of", e))?;
            let (client, collation) = (
                String::from_utf8_lossy(&client),
                String::from_utf8_lossy(&collation),
            );
            out.push_str(&format!(
                "SET character_set_client = '{client}', character_set_results = '{client}', collation_connection = '{collation}'"
            ));
            out.push_str(STATEMENT_END);
        }
        let mut create = String::from_utf8_lossy(&create).into_owned();
        if what == "TABLE" {
            // A sequence in a default is printed with this database's name:
            // restored elsewhere, it must name the restored one's.
            let own = format!("{}.", quote_ident(&at.database));
            for call in ["nextval(", "lastval(", "setval("] {
                create = create.replace(&format!("{call}{own}"), call);
            }
        }
        out.push_str(&create);
        out.push_str(STATEMENT_END);
        if what == "SEQUENCE" {
            // Where it stands, as mariadb-dump keeps it: the next value.
            let next: i64 = sqlx::query_scalar(&format!(
                "SELECT next_not_cached_value FROM {}",
                quote_ident(&name)
            ))
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| my_error(at, "read a sequence of", e))?;
            out.push_str(&format!(
                "SELECT SETVAL({}, {next}, 0){STATEMENT_END}",
                quote_ident(&name)
            ));
        }
    }
    Ok(out.into_bytes())
}

/// A table's only time column, when it has exactly one.
pub(super) async fn time_column(
    conn: &mut MySqlConnection,
    table: &str,
) -> std::result::Result<Option<String>, sqlx::Error> {
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
         AND DATA_TYPE IN ('datetime', 'timestamp', 'date')",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    Ok(match columns.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    })
}

/// A table's only time column (when it has exactly one) and the
/// ` WHERE ...` the selected time range puts on it (or nothing).
async fn time_filter(
    conn: &mut MySqlConnection,
    at: &MyLocation,
    table: &str,
    selection: &Selection,
) -> Result<(Option<String>, String)> {
    let column = time_column(conn, table)
        .await
        .map_err(|e| my_error(at, "read the columns of", e))?;
    let filter = column
        .as_deref()
        .and_then(|c| selection.time_condition(&quote_ident(c)))
        .map(|c| format!(" WHERE {c}"))
        .unwrap_or_default();
    Ok((column, filter))
}

async fn stream_table(
    conn: &mut MySqlConnection,
    at: &MyLocation,
    table: &str,
    selection: &Selection,
    tx: &SyncSender<Chunk>,
) -> Result<()> {
    let doing = format!("read table {table} of");
    let (_, filter) = time_filter(conn, at, table, selection).await?;
    let shape = columns::table_columns(conn, table)
        .await
        .map_err(|e| my_error(at, &doing, e))?;
    let columns = &shape.columns;
    let stream_columns: Vec<_> = columns.iter().map(columns::TableColumn::stream).collect();
    let mut out = rows::header(&stream_columns);
    // The text protocol, results in `binary`: every value arrives as the
    // column's own bytes (text in its character set, numbers and times in
    // the server's text form).
    let sql = format!(
        "SELECT {} FROM {}{filter}",
        columns::select_list(columns),
        shape.from(table)
    );
    let mut gone = false;
    columns::read_rows(conn, &sql, columns.len(), true, |values| {
        rows::push_row(&mut out, &values);
        if out.len() >= BATCH && tx.send(Ok(std::mem::take(&mut out))).is_err() {
            gone = true;
        }
        !gone
    })
    .await
    .map_err(|e| my_error(at, &doing, e))?;
    if !gone {
        out.extend_from_slice(&rows::end());
        let _ = tx.send(Ok(out));
    }
    Ok(())
}

impl Source for MySqlSource {
    fn url(&self) -> String {
        self.at.display()
    }

    fn name(&self) -> String {
        self.at.database.clone()
    }

    fn describe(&self) -> Result<SourceDescription> {
        let (tx, rx) = sync_channel(1);
        self.send(Command::Describe(tx))?;
        rx.recv().unwrap_or_else(|_| {
            Err(EngineError::Database {
                what: format!("describe {}", self.at.display()),
                detail: "the snapshot connection stopped".into(),
            })
        })
    }

    fn log_position(&self) -> Result<Option<LogPosition>> {
        let (tx, rx) = sync_channel(1);
        self.send(Command::Position(tx))?;
        rx.recv().unwrap_or_else(|_| {
            Err(EngineError::Database {
                what: format!("read the snapshot position of {}", self.at.display()),
                detail: "the snapshot connection stopped".into(),
            })
        })
    }

    fn open(&self, object: &ObjectEntry) -> Result<Box<dyn Read + Send + '_>> {
        let (tx, rx) = sync_channel(8);
        self.send(Command::Stream(object.name.clone(), tx))?;
        Ok(Box::new(ChannelReader::new(rx)))
    }
}
