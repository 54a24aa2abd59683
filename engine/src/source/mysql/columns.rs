//! A table's stored columns and how they are read: the one SELECT the
//! backup streams and the restore reads back, so the two compare value
//! for value.

use futures::StreamExt;
use sqlx::mysql::MySqlConnection;
use sqlx::{Executor, Row};

use super::conn::{my_error, quote_ident, MyLocation};
use super::rows::{push_row, StreamColumn};
use crate::error::{EngineError, Result};

/// A column the backup stores (generated columns are computed again).
#[derive(Debug, Clone)]
pub struct TableColumn {
    pub name: String,
    pub data_type: String,
    /// Empty for columns without a character set.
    pub charset: String,
    /// A system-versioned table's `row_start` or `row_end` that MariaDB
    /// added itself (not in `information_schema.COLUMNS`).
    pub hidden: bool,
}

impl TableColumn {
    pub fn stream(&self) -> StreamColumn {
        StreamColumn {
            name: self.name.clone(),
            charset: self.charset.clone(),
        }
    }

    /// The column as the manifest lists it (`ObjectEntry.columns`):
    /// `name type`, the type as `information_schema.COLUMNS.DATA_TYPE`
    /// names it (one word), or `row-start`/`row-end` for the hidden ones,
    /// which are not among the columns a time range can be on.
    pub fn manifest_text(&self) -> String {
        let kind = match (self.hidden, self.name.as_str()) {
            (true, "row_start") => "row-start",
            (true, _) => "row-end",
            (false, _) => self.data_type.as_str(),
        };
        format!("{} {kind}", self.name)
    }
}

/// A table's stored columns and whether it keeps its history.
#[derive(Debug, Clone)]
pub struct TableShape {
    pub columns: Vec<TableColumn>,
    /// `WITH SYSTEM VERSIONING`: its rows are read with their history
    /// (`FOR SYSTEM_TIME ALL`) and their row start and end.
    pub versioned: bool,
}

impl TableShape {
    /// What the rows are read from.
    pub fn from(&self, table: &str) -> String {
        let all = if self.versioned {
            " FOR SYSTEM_TIME ALL"
        } else {
            ""
        };
        format!("{}{all}", quote_ident(table))
    }
}

/// Whether `table` of the current database keeps its history.
pub async fn is_versioned(
    conn: &mut MySqlConnection,
    table: &str,
) -> std::result::Result<bool, sqlx::Error> {
    let versioned: Option<i64> = sqlx::query_scalar(
        "SELECT TABLE_TYPE = 'SYSTEM VERSIONED' FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    )
    .bind(table)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(versioned == Some(1))
}

/// The stored columns of `table` in the current database, in order: those
/// not generated, and a system-versioned table's row start and end (its
/// own columns, or the hidden `row_start` and `row_end`).
pub async fn table_columns(
    conn: &mut MySqlConnection,
    table: &str,
) -> std::result::Result<TableShape, sqlx::Error> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
         AND (IS_GENERATED = 'NEVER' OR GENERATION_EXPRESSION IN ('ROW START', 'ROW END')) ORDER BY ORDINAL_POSITION",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    let versioned = is_versioned(conn, table).await?;
    let period: Vec<String> = if versioned {
        sqlx::query_scalar(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
             AND GENERATION_EXPRESSION IN ('ROW START', 'ROW END')",
        )
        .bind(table)
        .fetch_all(&mut *conn)
        .await?
    } else {
        Vec::new()
    };
    let mut columns: Vec<TableColumn> = rows
        .into_iter()
        .map(|(name, data_type, charset)| TableColumn {
            // MySQL's JSON has no character set but is utf8mb4 text.
            charset: charset.unwrap_or_else(|| {
                if data_type == "json" {
                    "utf8mb4".into()
                } else {
                    String::new()
                }
            }),
            name,
            data_type,
            hidden: false,
        })
        .collect();
    if versioned && period.is_empty() {
        for name in ["row_start", "row_end"] {
            columns.push(TableColumn {
                name: name.into(),
                data_type: "timestamp".into(),
                charset: String::new(),
                hidden: true,
            });
        }
    }
    Ok(TableShape { columns, versioned })
}

/// The SELECT list reading `columns`. FLOAT's text form has 6 digits; as
/// DOUBLE it is exact (shortest round-trip form), and storing it back
/// rounds to the same FLOAT.
pub fn select_list(columns: &[TableColumn]) -> String {
    columns
        .iter()
        .map(|c| match c.data_type.as_str() {
            "float" => format!("CAST({} AS DOUBLE)", quote_ident(&c.name)),
            _ => quote_ident(&c.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads `sql`'s rows with every value as the column's own bytes
/// (`binary`: no conversion to the connection's character set) or, for
/// streams of older points, as utf8mb4 text; hands each row's values over.
pub async fn read_rows<F>(
    conn: &mut MySqlConnection,
    sql: &str,
    width: usize,
    column_bytes: bool,
    mut each: F,
) -> std::result::Result<(), sqlx::Error>
where
    F: FnMut(Vec<Option<Vec<u8>>>) -> bool,
{
    let results = if column_bytes { "binary" } else { "utf8mb4" };
    conn.execute(format!("SET SESSION character_set_results = {results}").as_str())
        .await?;
    let result = async {
        let mut stream = sqlx::raw_sql(sql).fetch(&mut *conn);
        while let Some(row) = stream.next().await {
            let row = row?;
            let values = (0..width)
                .map(|i| row.try_get_unchecked::<Option<Vec<u8>>, _>(i))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            if !each(values) {
                break;
            }
        }
        Ok(())
    }
    .await;
    // Everything else on the connection decodes text as utf8mb4.
    let reset = conn
        .execute("SET SESSION character_set_results = utf8mb4")
        .await;
    result.and(reset.map(drop))
}

/// Reads table `name` back as the backup streamed it: its stored columns
/// (in the stream's `order` when known), values in the same encoding,
/// each row in the splitter's canonical form; only the rows `filter`
/// (` WHERE ...` or nothing) keeps.
pub async fn read_back(
    conn: &mut MySqlConnection,
    at: &MyLocation,
    name: &str,
    order: Option<Vec<String>>,
    column_bytes: bool,
    filter: &str,
    row: &mut dyn FnMut(&[u8]),
) -> Result<()> {
    let doing = format!("read back table {name} of");
    let shape = table_columns(conn, name)
        .await
        .map_err(|e| my_error(at, &doing, e))?;
    let mut columns = shape.columns.clone();
    if let Some(order) = order {
        let mut ordered = Vec::with_capacity(order.len());
        for wanted in &order {
            let Some(found) = columns.iter().position(|c| c.name == *wanted) else {
                return Err(EngineError::invalid(
                    format!("table {name}"),
                    format!("column {wanted} of the backup is not in the restored table"),
                ));
            };
            ordered.push(columns.swap_remove(found));
        }
        columns = ordered;
    }
    let sql = format!(
        "SELECT {} FROM {}{filter}",
        select_list(&columns),
        shape.from(name)
    );
    let mut scratch = Vec::new();
    read_rows(conn, &sql, columns.len(), column_bytes, |values| {
        scratch.clear();
        push_row(&mut scratch, &values);
        row(&scratch);
        true
    })
    .await
    .map_err(|e| my_error(at, &doing, e))
}
