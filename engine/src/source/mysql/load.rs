//! Loading one table into MariaDB/MySQL: rows in batched INSERTs inside
//! one transaction, into the table, a staging copy swapped in at commit, or
//! a temporary table whose rows join the existing table at commit.

use sqlx::mysql::MySqlConnection;
use sqlx::Executor;

use super::conn::{my_error, quote_ident, MyLocation};
use super::rows::{Row, RowReader};
use crate::error::{EngineError, Result};
use crate::source::dbio::duplicate_key;
use crate::source::ObjectSink;

/// Rows per INSERT statement (well under the placeholder limit).
const ROWS_PER_INSERT: usize = 500;
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
        let one = format!("({})", vec!["?"; columns.len()].join(", "));
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
        Ok(())
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
        while let Some(row) = self.reader.next_row(&what)? {
            self.batch.push(row);
            if self.batch.len() >= ROWS_PER_INSERT {
                if let Err(err) = self.flush() {
                    self.rollback();
                    return Err(err);
                }
            }
        }
        Ok(())
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
                statements.push(format!("DELETE FROM {table}"));
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
