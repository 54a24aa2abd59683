//! SQLite databases as a source: a consistent snapshot (the online backup
//! API, safe while other processes write), then one object per table or view.

use std::io::{PipeReader, PipeWriter, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

use super::selector::Selector;
use super::sqlite_frames::{
    column_entry, encode_value, frame, is_time_type, quote_ident, DatabaseSettings, ExtraPlace,
    Header, Statistic, FORMAT, STAT_TABLES,
};
use super::{Source, SourceDescription};
use crate::error::{EngineError, Result};
use crate::repo::manifest::{ObjectEntry, ObjectKind};

pub struct SqliteSource {
    path: PathBuf,
    selector: Selector,
    /// Taken once per backup: every table is read from the same moment.
    snapshot: Mutex<Option<Arc<tempfile::TempPath>>>,
}

/// A SQLite error, naming the database file.
pub(super) fn sql_error(path: &std::path::Path, e: rusqlite::Error) -> EngineError {
    EngineError::invalid(format!("SQLite database {}", path.display()), e.to_string())
}

fn open_read_only(path: &std::path::Path) -> Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sql_error(path, e))
}

impl SqliteSource {
    pub fn new(path: PathBuf, include: &[String], exclude: &[String]) -> Result<Self> {
        let selector = Selector::new(include, exclude)?;
        std::fs::metadata(&path).map_err(|e| EngineError::io(&path, e))?;
        // Reading the schema proves the file is a database we can open.
        let conn = open_read_only(&path)?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| sql_error(&path, e))?;
        Ok(SqliteSource {
            selector,
            path,
            snapshot: Mutex::new(None),
        })
    }

    fn snapshot(&self) -> Result<Arc<tempfile::TempPath>> {
        let mut guard = self
            .snapshot
            .lock()
            .map_err(|_| EngineError::invalid("SQLite snapshot", "lock poisoned"))?;
        if let Some(snapshot) = guard.as_ref() {
            return Ok(Arc::clone(snapshot));
        }
        let temp = tempfile::Builder::new()
            .prefix("tidemark-sqlite-snapshot-")
            .tempfile()
            .map_err(|e| EngineError::io(std::env::temp_dir(), e))?
            .into_temp_path();
        let source = open_read_only(&self.path)?;
        let mut copy = Connection::open(&temp).map_err(|e| sql_error(&temp, e))?;
        rusqlite::backup::Backup::new(&source, &mut copy)
            .and_then(|b| b.run_to_completion(1024, std::time::Duration::ZERO, None))
            .map_err(|e| sql_error(&self.path, e))?;
        // The copy of a WAL database is in WAL mode too, and every reader
        // would leave -wal and -shm files beside the temporary file.
        copy.pragma_update(None, "journal_mode", "DELETE")
            .map_err(|e| sql_error(&temp, e))?;
        drop(copy);
        let snapshot = Arc::new(temp);
        *guard = Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }
}

impl Source for SqliteSource {
    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    fn name(&self) -> String {
        self.path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sqlite".into())
    }

    fn describe(&self) -> Result<SourceDescription> {
        let snapshot = self.snapshot()?;
        let conn = open_read_only(&snapshot)?;
        let err = |e| sql_error(&self.path, e);
        let version: String = conn
            .query_row("SELECT sqlite_version()", [], |r| r.get(0))
            .map_err(err)?;
        let mut stmt = conn
            .prepare("SELECT name, type, coalesce(sql, '') FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")
            .map_err(err)?;
        let listed: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect())
            .map_err(err)?;
        let selected: Vec<&str> = listed
            .iter()
            .map(|(n, _, _)| n.as_str())
            .filter(|n| self.selector.selects(n))
            .collect();
        let shadows = shadow_tables(&conn);
        let mut objects = Vec::new();
        for (name, kind, sql) in listed
            .iter()
            .filter(|(n, _, _)| selected.contains(&n.as_str()))
        {
            let mut entry = ObjectEntry::new(name.clone(), ObjectKind::Table);
            entry.format = Some(FORMAT.into());
            if is_virtual(sql) {
                // Its rows live in its shadow tables: without them it restores broken.
                let prefix = format!("{name}_");
                if let Some(left_out) = shadows
                    .iter()
                    .find(|s| s.starts_with(&prefix) && !selected.contains(&s.as_str()))
                {
                    return Err(EngineError::invalid(
                        format!("virtual table {name}"),
                        format!("its rows are in its shadow table {left_out}, which the selection leaves out; select both or neither"),
                    ));
                }
            } else if kind == "table" {
                describe_table(&conn, name, &mut entry).map_err(err)?;
            }
            objects.push(entry);
        }
        Ok(SourceDescription {
            kind: "sqlite".into(),
            server_version: Some(format!("SQLite {version}")),
            objects,
        })
    }

    fn open(&self, object: &ObjectEntry) -> Result<Box<dyn Read + Send + '_>> {
        let snapshot = self.snapshot()?;
        let (reader, writer) = std::io::pipe().map_err(|e| EngineError::io(&self.path, e))?;
        let name = object.name.clone();
        let handle = std::thread::spawn(move || {
            write_table(&snapshot, &name, writer).map_err(|e| e.to_string())
        });
        Ok(Box::new(TableReader {
            reader,
            handle: Some(handle),
        }))
    }
}

/// Rows, an estimate of the size, and the time range when the table has
/// exactly one date/time column.
fn describe_table(conn: &Connection, name: &str, entry: &mut ObjectEntry) -> rusqlite::Result<()> {
    let q = quote_ident(name);
    let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM {q}"), [], |r| r.get(0))?;
    entry.rows = Some(rows as u64);
    // dbstat may be missing from a build; the size is then known after reading.
    entry.size = conn
        .query_row(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_or(0) as u64;
    // The stored columns, as each row holds them after its rowid: a
    // time-range restore reads the time column's values from the rows.
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({q})"))?;
    let columns = stmt
        .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    entry.columns = columns
        .iter()
        .map(|(col, ty)| column_entry(col, ty))
        .collect();
    let time_columns: Vec<&String> = columns
        .iter()
        .filter(|(_, ty)| is_time_type(ty))
        .map(|(col, _)| col)
        .collect();
    if let [column] = time_columns.as_slice() {
        let c = quote_ident(column);
        let (min, max): (Option<String>, Option<String>) = conn.query_row(
            &format!("SELECT CAST(min({c}) AS TEXT), CAST(max({c}) AS TEXT) FROM {q}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        entry.time_min = min;
        entry.time_max = max;
    }
    Ok(())
}

/// Writes one table's records into the pipe (on its own thread).
fn write_table(snapshot: &std::path::Path, name: &str, mut out: PipeWriter) -> Result<()> {
    let conn = open_read_only(snapshot)?;
    let err = |e| sql_error(snapshot, e);
    let (kind, sql): (String, String) = conn
        .query_row(
            "SELECT type, sql FROM sqlite_master WHERE name = ?1 AND type IN ('table','view')",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(err)?;
    let virtual_table = is_virtual(&sql);
    let table = kind == "table" && !virtual_table;
    let (rowid, columns) = if table {
        (
            rowid_alias(&conn, name).map_err(err)?,
            stored_columns(&conn, name).map_err(err)?,
        )
    } else {
        (None, Vec::new())
    };
    // Indexes and triggers, each with its place in the schema.
    let mut stmt = conn
        .prepare(
            "SELECT e.rowid, e.sql, (SELECT o.name FROM sqlite_master o WHERE o.type IN ('table','view') \
             AND o.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND o.rowid > e.rowid ORDER BY o.rowid LIMIT 1) \
             FROM sqlite_master e WHERE e.tbl_name = ?1 AND e.type IN ('index','trigger') AND e.sql IS NOT NULL ORDER BY e.rowid",
        )
        .map_err(err)?;
    let extras: Vec<(ExtraPlace, String)> = stmt
        .query_map([name], |r| {
            Ok((
                ExtraPlace {
                    order: r.get(0)?,
                    before: r.get(2)?,
                },
                r.get(1)?,
            ))
        })
        .and_then(|r| r.collect())
        .map_err(err)?;
    drop(stmt);
    let header = Header {
        format: FORMAT.into(),
        name: name.to_owned(),
        view: kind == "view",
        columns,
        rowid: rowid.map(str::to_owned),
        extras: extras.iter().map(|(place, _)| place.clone()).collect(),
        virtual_table,
        sequence: if table {
            sequence(&conn, name).map_err(err)?
        } else {
            None
        },
        statistics: if table {
            statistics(&conn, name).map_err(err)?
        } else {
            Vec::new()
        },
        database: Some(settings(&conn).map_err(err)?),
    };
    let mut buf = Vec::with_capacity(128 * 1024);
    let json =
        serde_json::to_vec(&header).map_err(|e| EngineError::invalid("header", e.to_string()))?;
    frame(b'H', &json, &mut buf);
    frame(b'S', sql.as_bytes(), &mut buf);
    let io = |e| EngineError::io(snapshot, e);
    if table {
        let q = quote_ident(name);
        let list = row_list(header.rowid.as_deref(), &header.columns);
        // Row order by rowid keeps unchanged rows in the same chunks; tables
        // WITHOUT ROWID have none and scan in key order anyway.
        let mut stmt = conn
            .prepare(&format!("SELECT {list} FROM {q} ORDER BY rowid"))
            .or_else(|_| conn.prepare(&format!("SELECT {list} FROM {q}")))
            .map_err(err)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).map_err(err)?;
        let mut record = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            record.clear();
            for i in 0..columns {
                encode_value(row.get_ref(i).map_err(err)?, &mut record);
            }
            frame(b'R', &record, &mut buf);
            if buf.len() >= 64 * 1024 {
                out.write_all(&buf).map_err(io)?;
                buf.clear();
            }
        }
    }
    for (_, extra) in &extras {
        frame(b'X', extra.as_bytes(), &mut buf);
    }
    out.write_all(&buf).map_err(io)
}

/// Whether a CREATE statement makes a virtual table.
pub(super) fn is_virtual(sql: &str) -> bool {
    sql.get(..21)
        .is_some_and(|p| p.eq_ignore_ascii_case("CREATE VIRTUAL TABLE "))
}

/// Shadow tables of the database's virtual tables (FTS5's `x_data`, ...),
/// where SQLite can tell (3.37 and later).
fn shadow_tables(conn: &Connection) -> Vec<String> {
    conn.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default()
}

/// The columns a table stores, in order: generated columns are computed
/// from them, and cannot be inserted.
pub(super) fn stored_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_xinfo({})", quote_ident(table)))?;
    let columns = stmt
        .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(6)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(columns
        .into_iter()
        .filter(|(_, hidden)| *hidden == 0)
        .map(|(name, _)| name)
        .collect())
}

/// The name a table's rowid can be read and written as, unless it is a
/// table WITHOUT ROWID or has columns of all three names.
pub(super) fn rowid_alias(
    conn: &Connection,
    table: &str,
) -> rusqlite::Result<Option<&'static str>> {
    let q = quote_ident(table);
    let mut stmt = conn.prepare(&format!("PRAGMA table_xinfo({q})"))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let alias = ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|a| !names.iter().any(|n| n.eq_ignore_ascii_case(a)));
    Ok(alias.filter(|a| {
        conn.prepare(&format!("SELECT {a} FROM {q} LIMIT 0"))
            .is_ok()
    }))
}

/// The values of a row as the stream holds them: the rowid, then the columns.
pub(super) fn row_list(rowid: Option<&str>, columns: &[String]) -> String {
    match rowid {
        Some(alias) if columns.is_empty() => alias.to_owned(),
        Some(alias) => format!("{alias},{}", column_list(columns)),
        None => column_list(columns),
    }
}

/// `"a","b"`: columns for SELECT and INSERT.
pub(super) fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(",")
}

/// The database-wide settings a restore into a new file takes over.
pub(super) fn settings(conn: &Connection) -> rusqlite::Result<DatabaseSettings> {
    let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
    Ok(DatabaseSettings {
        encoding: conn.query_row("PRAGMA encoding", [], |r| r.get(0))?,
        user_version: pragma("user_version")?,
        application_id: pragma("application_id")?,
    })
}

/// The table's rows in the planner's statistics, if ANALYZE made them.
fn statistics(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Statistic>> {
    let mut found = Vec::new();
    for stat_table in STAT_TABLES {
        let exists = conn
            .prepare("SELECT 1 FROM sqlite_master WHERE name = ?1")?
            .exists([stat_table])?;
        if !exists {
            continue;
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT rowid, * FROM {stat_table} WHERE tbl = ?1 ORDER BY rowid"
        ))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query([table])?;
        while let Some(row) = rows.next()? {
            let mut values = Vec::new();
            for i in 2..columns {
                encode_value(row.get_ref(i)?, &mut values);
            }
            found.push(Statistic {
                table: stat_table.to_owned(),
                order: row.get(0)?,
                values: hex::encode(values),
            });
        }
    }
    Ok(found)
}

/// The table's AUTOINCREMENT counter, if it has one.
fn sequence(conn: &Connection, table: &str) -> rusqlite::Result<Option<i64>> {
    let exists = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")?
        .exists([])?;
    if !exists {
        return Ok(None);
    }
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT seq FROM sqlite_sequence WHERE name = ?1",
        [table],
        |r| r.get::<_, Option<i64>>(0),
    )
    .optional()
    .map(Option::flatten)
}

/// Reads the pipe; at its end, reports the writer thread's error if it had
/// one, so a failed read never looks like a short table.
struct TableReader {
    reader: PipeReader,
    handle: Option<JoinHandle<std::result::Result<(), String>>>,
}

impl Read for TableReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.reader.read(buf)?;
        if n == 0 {
            if let Some(handle) = self.handle.take() {
                match handle.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(message)) => return Err(std::io::Error::other(message)),
                    Err(_) => return Err(std::io::Error::other("the table reader panicked")),
                }
            }
        }
        Ok(n)
    }
}
