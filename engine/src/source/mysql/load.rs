//! Loading one table into MariaDB/MySQL: rows in batched INSERTs inside
//! one transaction, into the table, a staging copy swapped in at commit, or
//! a temporary table whose rows join the existing table at commit.
//!
//! Each value is sent as bytes and named with the character set it is in
//! (`CONVERT(? USING cs)`), so text goes into a column of the same
//! character set unchanged and into any other one converted by the server.

use std::collections::HashMap;

use sqlx::mysql::MySqlConnection;
use sqlx::{Executor, Row as _};

use super::columns::TableColumn;
use super::conn::{my_error, quote_ident, MyLocation};
use super::rows::{Row, RowReader};
use crate::error::{EngineError, Result};
use crate::source::dbio::duplicate_key;
use crate::source::ObjectSink;

/// Rows per INSERT statement, at most.
const ROWS_PER_INSERT: usize = 500;
/// Placeholders per statement (the protocol counts them in 16 bits).
const MAX_PLACEHOLDERS: usize = 65_535;
/// Bytes of values per INSERT statement, at most (rows larger than this
/// go one at a time, up to the server's max_allowed_packet).
const BATCH_BYTES: u64 = 4 * 1024 * 1024;
/// What a statement needs besides its values' bytes.
const PACKET_HEADROOM: u64 = 64 * 1024;
/// How the restore's session checks values: strictly (an error, never a
/// silent truncation), but keeping what a permissive source could hold:
/// zero and invalid dates, a zero in an AUTO_INCREMENT column.
pub const SQL_MODE: &str =
    "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,NO_ENGINE_SUBSTITUTION";
/// [`SQL_MODE`] without strictness, for a row holding an ENUM's error value
/// ('' where it is no member), which loads only as a warning; the
/// warnings are then checked to be that and nothing else.
const LENIENT_MODE: &str = "NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,NO_ENGINE_SUBSTITUTION";
/// "Data truncated for column".
const TRUNCATED: u32 = 1265;
/// The temporary table merges and time ranges load into first.
pub const STAGE_NAME: &str = "tidemark_stage";
pub const STAGE: &str = "`tidemark_stage`";

/// A duplicate key while merging says which table and what to do.
fn duplicate_or(at: &MyLocation, table: &str, err: sqlx::Error) -> EngineError {
    duplicate_key(&err, table, &at.display())
        .unwrap_or_else(|| my_error(at, &format!("load table {table} into"), err))
}

/// How staged rows join the table at commit.
pub struct Merged {
    pub delete_first: bool,
    /// Delete only the rows of the time range (a rewrite of a range keeps
    /// the table's other rows; a replace empties it).
    pub delete_range_only: bool,
    pub ignore_duplicates: bool,
    /// ` WHERE ...` of a time range, or nothing.
    pub filter: String,
}

pub struct TableSink<'a> {
    pub at: MyLocation,
    /// The runtime the connection was made on (its socket belongs to it).
    pub rt: &'a tokio::runtime::Runtime,
    pub conn: &'a mut MySqlConnection,
    pub table: String,
    pub load_into: String,
    pub swap: bool,
    /// Rows go through a temporary table into the existing one.
    pub merged: Option<Merged>,
    pub expected: Option<u64>,
    pub reader: RowReader,
    pub batch: Vec<Row>,
    pub loaded: u64,
    /// Bytes the rows in `batch` take in a statement.
    pub batch_bytes: u64,
    /// The target's max_allowed_packet: no statement may be larger.
    pub max_packet: u64,
    /// The target's columns by name: their character sets (streams of
    /// older points hold text as utf8mb4 and say nothing of it) and types.
    pub target_columns: HashMap<String, TableColumn>,
    /// Where the stream's column order is kept for the read-back.
    pub loaded_columns: &'a mut HashMap<String, Vec<String>>,
}

/// A character set name from a stream goes into SQL: only a plain word.
fn charset_word(table: &str, charset: &str) -> Result<String> {
    if !charset.is_empty()
        && charset
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(charset.to_owned())
    } else {
        Err(EngineError::corrupt(
            format!("table {table}"),
            format!("its stream names the character set {charset:?}"),
        ))
    }
}

impl TableSink<'_> {
    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let columns = self.reader.columns.clone().unwrap_or_default();
        let list = columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let placeholders = self.placeholders(&columns)?;
        let one = format!("({})", placeholders.join(", "));
        let sql = format!(
            "INSERT INTO {} ({list}) VALUES {}",
            quote_ident(&self.load_into),
            vec![one; self.batch.len()].join(", ")
        );
        let rows = std::mem::take(&mut self.batch);
        let count = rows.len() as u64;
        let (at, conn) = (&self.at, &mut *self.conn);
        self.rt.block_on(async {
            let mut query = sqlx::query(&sql);
            for value in rows.into_iter().flatten() {
                query = query.bind(value);
            }
            query
                .execute(&mut *conn)
                .await
                .map_err(|e| my_error(at, &format!("load table {} into", self.table), e))
        })?;
        self.loaded += count;
        self.batch_bytes = 0;
        Ok(())
    }

    /// One placeholder per column, naming the character set of its bytes.
    fn placeholders(&self, columns: &[String]) -> Result<Vec<String>> {
        let convert = |charset: &str| -> Result<String> {
            Ok(format!(
                "CONVERT(? USING {})",
                charset_word(&self.table, charset)?
            ))
        };
        match &self.reader.charsets {
            Some(charsets) => charsets
                .iter()
                .map(|cs| {
                    if cs.is_empty() {
                        Ok("?".into())
                    } else {
                        convert(cs)
                    }
                })
                .collect(),
            None => columns
                .iter()
                .map(|c| match self.target_columns.get(c) {
                    Some(column) if !column.charset.is_empty() => convert("utf8mb4"),
                    _ => Ok("?".into()),
                })
                .collect(),
        }
    }

    /// Takes one row into the batch, sending the batch first when the row
    /// would make its statement too large.
    fn take(&mut self, row: Row) -> Result<()> {
        // A value costs its bytes, a length and its type in the statement.
        let bytes: u64 = row
            .iter()
            .map(|v| v.as_ref().map_or(0, |b| b.len() as u64 + 9) + 2)
            .sum();
        let limit = self.max_packet.saturating_sub(PACKET_HEADROOM);
        if bytes > limit {
            return Err(EngineError::invalid(
                format!("table {}", self.table),
                format!(
                    "row {} holds {bytes} bytes, more than the target's max_allowed_packet ({} bytes) lets one statement carry; \
                     raise max_allowed_packet on the target server (e.g. SET GLOBAL max_allowed_packet = {}) and restore again; nothing was committed",
                    self.loaded + self.batch.len() as u64 + 1,
                    self.max_packet,
                    (bytes + PACKET_HEADROOM).next_power_of_two()
                ),
            ));
        }
        let width = row.len().max(1);
        let rows = ROWS_PER_INSERT.min(MAX_PLACEHOLDERS / width).max(1);
        if !self.batch.is_empty()
            && (self.batch_bytes + bytes > BATCH_BYTES.min(limit) || self.batch.len() >= rows)
        {
            self.flush()?;
        }
        let columns = self.reader.columns.as_deref().unwrap_or_default();
        let error_values: Vec<String> = columns
            .iter()
            .zip(&row)
            .filter(|(name, value)| {
                value.as_deref() == Some(&[][..])
                    && self
                        .target_columns
                        .get(*name)
                        .is_some_and(|c| c.data_type == "enum")
            })
            .map(|(name, _)| name.clone())
            .collect();
        if !error_values.is_empty() {
            self.flush()?;
            self.batch.push(row);
            return self.flush_lenient(&error_values);
        }
        self.batch.push(row);
        self.batch_bytes += bytes;
        Ok(())
    }

    /// Loads the one row in `batch`, whose `enums` hold '', without
    /// strictness; any warning but the ENUM's own error value refuses it.
    fn flush_lenient(&mut self, enums: &[String]) -> Result<()> {
        let row = self.loaded + 1;
        let set = |mode: &str| format!("SET SESSION sql_mode = '{mode}'");
        let (at, table) = (self.at.clone(), self.table.clone());
        let fail = |e| my_error(&at, &format!("load table {table} into"), e);
        self.rt
            .block_on(self.conn.execute(set(LENIENT_MODE).as_str()))
            .map_err(fail)?;
        let loaded = self.flush();
        let warnings = self.rt.block_on(async {
            let rows = sqlx::raw_sql("SHOW WARNINGS")
                .fetch_all(&mut *self.conn)
                .await;
            let strict = self.conn.execute(set(SQL_MODE).as_str()).await;
            strict.and(rows)
        });
        loaded?;
        let unexpected: Vec<String> = warnings
            .map_err(fail)?
            .iter()
            .filter_map(|w| {
                let code: u32 = w.try_get_unchecked(1).unwrap_or(0);
                let message: String = w.try_get_unchecked(2).unwrap_or_default();
                let expected = code == TRUNCATED
                    && enums
                        .iter()
                        .any(|c| message.contains(&format!("column '{c}'")));
                (!expected).then_some(message)
            })
            .collect();
        if unexpected.is_empty() {
            return Ok(());
        }
        Err(EngineError::invalid(
            format!("table {table}"),
            format!(
                "row {row} would not load exactly ({}); nothing was committed",
                unexpected.join("; ")
            ),
        ))
    }

    fn rollback(&mut self) {
        let (conn, staging, swap) = (&mut *self.conn, quote_ident(&self.load_into), self.swap);
        let _ = self.rt.block_on(async {
            let _ = conn.execute("ROLLBACK").await;
            let _ = conn
                .execute(format!("DROP TEMPORARY TABLE IF EXISTS {STAGE}").as_str())
                .await;
            if swap {
                let _ = conn
                    .execute(format!("DROP TABLE IF EXISTS {staging}").as_str())
                    .await;
            }
            Ok::<_, sqlx::Error>(())
        });
    }
}

impl ObjectSink for TableSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.reader.feed(data);
        let what = format!("table {}", self.table);
        loop {
            let row = match self.reader.next_row(&what) {
                Ok(Some(row)) => row,
                Ok(None) => return Ok(()),
                Err(err) => {
                    self.rollback();
                    return Err(err);
                }
            };
            if let Err(err) = self.take(row) {
                self.rollback();
                return Err(err);
            }
        }
    }

    fn commit(mut self: Box<Self>) -> Result<Vec<String>> {
        let result = self.flush().and_then(|()| {
            if !self.reader.ended {
                return Err(EngineError::corrupt(format!("table {}", self.table), "the row stream ended early"));
            }
            match self.expected {
                Some(expected) if expected != self.loaded => Err(EngineError::corrupt(
                    format!("table {}", self.table),
                    format!("{} rows loaded but the backup point recorded {expected}; nothing was committed", self.loaded),
                )),
                _ => Ok(()),
            }
        });
        if let Err(err) = result {
            self.rollback();
            return Err(err);
        }
        let (at, conn, table, staging, swap) = (
            &self.at,
            &mut *self.conn,
            quote_ident(&self.table),
            quote_ident(&self.load_into),
            self.swap,
        );
        let old = quote_ident(&format!("{}__tidemark_old", self.table));
        let columns = self.reader.columns.clone().unwrap_or_default();
        if let Some(merged) = &self.merged {
            let list = columns
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", ");
            let mut statements = Vec::new();
            if merged.delete_first {
                let only = if merged.delete_range_only {
                    merged.filter.as_str()
                } else {
                    ""
                };
                statements.push(format!("DELETE FROM {table}{only}"));
            }
            statements.push(format!(
                "INSERT {}INTO {table} ({list}) SELECT {list} FROM {STAGE}{}",
                if merged.ignore_duplicates {
                    "IGNORE "
                } else {
                    ""
                },
                merged.filter
            ));
            let joined = self.rt.block_on(async {
                for sql in &statements {
                    conn.execute(sql.as_str()).await?;
                }
                conn.execute(format!("DROP TEMPORARY TABLE {STAGE}").as_str())
                    .await
                    .map(drop)
            });
            if let Err(err) = joined {
                let err = duplicate_or(at, &self.table, err);
                self.rollback();
                return Err(err);
            }
        }
        self.loaded_columns.insert(self.table.clone(), columns);
        let (at, conn) = (&self.at, &mut *self.conn);
        self.rt.block_on(async {
            conn.execute("COMMIT")
                .await
                .map_err(|e| my_error(at, "commit into", e))?;
            if swap {
                conn.execute(
                    format!("RENAME TABLE {table} TO {old}, {staging} TO {table}").as_str(),
                )
                .await
                .map_err(|e| my_error(at, "swap in the restored table in", e))?;
                conn.execute(format!("DROP TABLE {old}").as_str())
                    .await
                    .map_err(|e| my_error(at, "drop the replaced table in", e))?;
            }
            Ok(Vec::new())
        })
    }

    fn abort(mut self: Box<Self>) {
        self.rollback();
    }
}
