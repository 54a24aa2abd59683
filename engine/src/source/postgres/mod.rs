//! PostgreSQL: a consistent logical backup of one database.
//!
//! One coordinating connection opens a REPEATABLE READ transaction and
//! exports its snapshot; everything is read in that snapshot: the
//! structure by `pg_dump --snapshot` (pre-data: tables, types, sequences,
//! views; post-data: indexes, constraints, triggers), each table's own rows
//! (not its children's) by `COPY` on its own connection — binary, or text
//! for tables with types binary COPY cannot carry exactly (see
//! [`meta::text_only_types`]) — the large objects, sequence values, and
//! which materialized views to refresh. Each table's rows are digested
//! ([`rows`]) and the restore reads them back the same way to prove them.

pub(crate) mod binaries;
pub(crate) mod cluster;
mod conn;
mod copy;
mod dump;
mod load;
mod lobs;
mod matviews;
mod meta;
mod readback;
mod rows;
mod rowtime;
mod session;
mod split;
mod target;

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use sqlx::{Executor, PgConnection};

pub use conn::{parse as parse_url, PgLocation};
pub use target::PostgresTarget;

use super::dbio::runtime;
use super::selector::Selector;
use super::{Source, SourceDescription};
use crate::error::Result;
use crate::repo::manifest::{ObjectEntry, ObjectKind, Selection};
pub(crate) use conn::pg_error;
pub(crate) use conn::PgAccess;
use conn::{quote_ident, quote_qualified};

/// Structure objects, named so they sort apart from `schema.table` names.
pub const STRUCTURE_DIR: &str = "_schema";
pub const PRE_DATA: &str = "_schema/pre-data.sql";
pub const POST_DATA: &str = "_schema/post-data.sql";
pub const SEQUENCES: &str = "_schema/sequences.sql";
/// Refreshes of the materialized views that were populated, after the data.
pub const REFRESH: &str = "_schema/refresh.sql";

/// Tables larger than this are read in slices of this size by parallel
/// readers (a slice of pages; growth at the end leaves the earlier slices,
/// and so their chunks, as they were).
const SLICE_BYTES: u64 = 64 * 1024 * 1024;
/// TID range scans, which read a slice without reading the whole table.
const TID_RANGE_SCANS: i32 = 140_000;

pub struct PostgresSource {
    at: PgLocation,
    selector: Selector,
    /// The time range of time-series tables, if any.
    selection: Selection,
    rt: tokio::runtime::Runtime,
    /// Holds the snapshot's transaction open for as long as the source lives.
    coordinator: Mutex<PgConnection>,
    snapshot: String,
    server_version: String,
    /// The parent point's time-series tables (watermark incrementals).
    parent: Mutex<Vec<ObjectEntry>>,
    /// Pages per slice; 0 reads every table whole (servers before 14).
    slice_pages: u64,
    /// The server has multirange types (14 and later).
    multiranges: bool,
    /// Each listed table's size in pages, as `describe` saw it.
    pages: Mutex<HashMap<String, u64>>,
}

impl PostgresSource {
    /// Connects and takes the snapshot every read of this source will see.
    pub fn new(at: PgLocation, selection: &Selection) -> Result<Self> {
        let selector = Selector::new(&selection.include, &selection.exclude)?;
        let rt = runtime()?;
        let (conn, snapshot, server_version, server_num, slice_pages) = rt.block_on(async {
            let mut conn = at.connect().await?;
            let fail = |e| pg_error(&at, "take a snapshot of", e);
            // Time bounds are UTC; so is every time this session prints.
            conn.execute("SET TIME ZONE 'UTC'").await.map_err(fail)?;
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map_err(fail)?;
            let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
                .fetch_one(&mut conn)
                .await
                .map_err(fail)?;
            let (version, number, block): (String, i32, i32) = sqlx::query_as(
                "SELECT current_setting('server_version'), \
                 current_setting('server_version_num')::int, current_setting('block_size')::int",
            )
            .fetch_one(&mut conn)
            .await
            .map_err(fail)?;
            let slice_pages = if number >= TID_RANGE_SCANS {
                SLICE_BYTES / u64::try_from(block.max(1)).unwrap_or(8192)
            } else {
                0
            };
            Ok::<_, crate::error::EngineError>((conn, snapshot, version, number, slice_pages))
        })?;
        Ok(PostgresSource {
            at,
            selector,
            selection: selection.clone(),
            rt,
            coordinator: Mutex::new(conn),
            snapshot,
            server_version,
            parent: Mutex::new(Vec::new()),
            slice_pages,
            multiranges: server_num >= 140_000,
            pages: Mutex::new(HashMap::new()),
        })
    }

    /// Reads tables larger than `pages` pages in slices of that many
    /// (tests use small slices; 0 reads every table whole). Servers older
    /// than 14 always read tables whole: without TID range scans every
    /// slice would scan the whole table.
    pub fn with_slice_pages(mut self, pages: u64) -> Self {
        if self.slice_pages > 0 {
            self.slice_pages = pages;
        }
        self
    }

    fn with_conn<T>(
        &self,
        work: impl AsyncFnOnce(&mut PgConnection) -> std::result::Result<T, sqlx::Error>,
        doing: &str,
    ) -> Result<T> {
        let mut conn = self.coordinator.lock().unwrap_or_else(|p| p.into_inner());
        self.rt
            .block_on(work(&mut conn))
            .map_err(|e| pg_error(&self.at, doing, e))
    }

    fn tables(&self) -> Result<Vec<ObjectEntry>> {
        let rows: Vec<(String, i64, i64)> = self.with_conn(
            async |c| {
                sqlx::query_as(
                    "SELECT format('%s.%s', n.nspname, c.relname), pg_total_relation_size(c.oid), \
                     pg_relation_size(c.oid) / current_setting('block_size')::bigint \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                     AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1",
                )
                .fetch_all(c)
                .await
            },
            "list the tables of",
        )?;
        let mut entries = Vec::new();
        for (name, size, pages) in rows.into_iter().filter(|(n, ..)| self.selector.selects(n)) {
            self.pages
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.clone(), u64::try_from(pages).unwrap_or(0));
            let mut entry = ObjectEntry::new(name.clone(), ObjectKind::Table);
            entry.size = u64::try_from(size).unwrap_or(0);
            let text_only = self.with_conn(
                async |c| meta::text_only_types(c, &name, self.multiranges).await,
                &format!("read the column types of {name} in"),
            )?;
            if !text_only.is_empty() {
                entry.format = Some(rows::TEXT.into());
            }
            let time_column = self.time_column(&name)?;
            // A parent stored in another format cannot be continued.
            let parent = time_column
                .as_ref()
                .and_then(|_| self.parent_entry(&name))
                .filter(|p| p.format == entry.format);
            let mut filter = self.filter(time_column.as_deref());
            if let (Some(column), Some(parent)) = (&time_column, &parent) {
                filter = watermark_filter(column, parent);
                entry.watermark = parent.time_max.clone();
            }
            let quoted = quote_qualified(&name);
            let count: i64 = self.with_conn(
                async |c| {
                    sqlx::query_scalar(&format!("SELECT count(*) FROM ONLY {quoted}{filter}"))
                        .fetch_one(c)
                        .await
                },
                &format!("count the rows of {name} in"),
            )?;
            let count = u64::try_from(count).unwrap_or(0);
            entry.rows = Some(count + parent.as_ref().and_then(|p| p.rows).unwrap_or(0));
            entry.columns = self.with_conn(
                async |c| meta::columns(c, &name).await,
                &format!("read the columns of {name} in"),
            )?;
            if let Some(column) = time_column {
                let column = quote_ident(&column);
                let (min, max): (Option<String>, Option<String>) = self.with_conn(
                    async |c| {
                        sqlx::query_as(&format!(
                            "SELECT min({column})::text, max({column})::text FROM ONLY {quoted}{filter}"
                        ))
                        .fetch_one(c)
                        .await
                    },
                    &format!("read the time range of {name} in"),
                )?;
                entry.time_min = min;
                entry.time_max = max;
                if let Some(parent) = parent {
                    // Rows up to the watermark are the parent's.
                    entry.time_min = parent.time_min.clone();
                    entry.time_max = entry.time_max.or(parent.time_max.clone());
                }
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The parent point's entry of a table read after a watermark.
    fn parent_entry(&self, table: &str) -> Option<ObjectEntry> {
        let parent = self.parent.lock().unwrap_or_else(|p| p.into_inner());
        parent.iter().find(|p| p.name == table).cloned()
    }

    /// ` WHERE ...` for the selected time range on `column`, or nothing.
    fn filter(&self, column: Option<&str>) -> String {
        column
            .and_then(|c| self.selection.time_condition(&quote_ident(c)))
            .map(|c| format!(" WHERE {c}"))
            .unwrap_or_default()
    }

    /// The table's only timestamp column, when it has exactly one.
    fn time_column(&self, table: &str) -> Result<Option<String>> {
        self.with_conn(
            async |c| meta::time_column(c, table).await,
            &format!("read the columns of {table} in"),
        )
    }

    /// `setval` statements for every sequence, as of now.
    fn sequences_sql(&self) -> Result<String> {
        self.with_conn(
            async |c| meta::sequences_sql(c).await,
            "read the sequences of",
        )
    }
}

/// Rows of a stored table stream in their canonical form (none for a
/// format this version does not know: restoring it is refused).
pub fn row_splitter(entry: &ObjectEntry) -> Option<Box<dyn crate::digest::RowSplitter>> {
    rows::Format::of(entry).ok().map(rows::Format::splitter)
}

/// The time of a stored table's row, for digesting only a time range's
/// rows (see [`rowtime`]); `None` when the entry names no one time column.
pub fn row_time(entry: &ObjectEntry) -> Option<crate::digest::RowTime> {
    rowtime::row_time(entry)
}

/// ` WHERE column > the parent's latest time`.
fn watermark_filter(column: &str, parent: &ObjectEntry) -> String {
    let after = parent.time_max.as_deref().unwrap_or_default();
    format!(
        " WHERE {} > '{}'",
        quote_ident(column),
        after.replace('\'', "''")
    )
}

impl Source for PostgresSource {
    fn url(&self) -> String {
        self.at.display()
    }

    fn name(&self) -> String {
        self.at.database.clone()
    }

    fn use_watermarks(&self, parent: &[ObjectEntry]) {
        let usable = parent
            .iter()
            .filter(|p| p.kind == ObjectKind::Table && p.time_max.is_some() && p.rows.is_some())
            .cloned()
            .collect();
        *self.parent.lock().unwrap_or_else(|p| p.into_inner()) = usable;
    }

    fn describe(&self) -> Result<SourceDescription> {
        let mut objects = vec![ObjectEntry::new(PRE_DATA, ObjectKind::Schema)];
        objects.extend(self.tables()?);
        if self.selector.selects(lobs::LARGE_OBJECTS) {
            let facts =
                self.with_conn(async |c| lobs::facts(c).await, "read the large objects of")?;
            if let Some((rows, bytes)) = facts {
                let mut entry = ObjectEntry::new(lobs::LARGE_OBJECTS, ObjectKind::Table);
                entry.rows = Some(rows);
                entry.size = bytes;
                objects.push(entry);
            }
        }
        objects.push(ObjectEntry::new(POST_DATA, ObjectKind::Schema));
        objects.push(ObjectEntry::new(SEQUENCES, ObjectKind::Schema));
        objects.push(ObjectEntry::new(REFRESH, ObjectKind::Schema));
        Ok(SourceDescription {
            kind: "postgres".into(),
            server_version: Some(self.server_version.clone()),
            objects,
        })
    }

    fn open(&self, object: &ObjectEntry) -> Result<Box<dyn Read + Send + '_>> {
        match object.name.as_str() {
            PRE_DATA => Ok(Box::new(dump::PgDump::start(
                &self.at,
                &self.snapshot,
                "pre-data",
            )?)),
            POST_DATA => Ok(Box::new(dump::PgDump::start(
                &self.at,
                &self.snapshot,
                "post-data",
            )?)),
            SEQUENCES => Ok(Box::new(std::io::Cursor::new(
                self.sequences_sql()?.into_bytes(),
            ))),
            REFRESH => {
                let sql = self.with_conn(
                    async |c| matviews::refresh_sql(c).await,
                    "read the materialized views of",
                )?;
                Ok(Box::new(std::io::Cursor::new(sql.into_bytes())))
            }
            lobs::LARGE_OBJECTS => Ok(Box::new(copy::CopyOut::query(
                &self.at,
                &self.snapshot,
                "the large objects",
                lobs::copy_sql(),
            ))),
            table => {
                let filter = self.row_filter(object)?;
                Ok(Box::new(copy::CopyOut::start(
                    &self.at,
                    &self.snapshot,
                    table,
                    &filter,
                    rows::Format::of(object)?,
                )))
            }
        }
    }

    /// A table (not one read after a watermark: those rows are few, at
    /// the end) larger than a slice is read a slice of pages at a time.
    fn slices(&self, object: &ObjectEntry) -> u32 {
        if self.slice_pages == 0 || object.kind != ObjectKind::Table || object.watermark.is_some() {
            return 1;
        }
        let pages = self
            .pages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&object.name)
            .copied()
            .unwrap_or(0);
        u32::try_from(pages.div_ceil(self.slice_pages))
            .unwrap_or(u32::MAX)
            .max(1)
    }

    fn open_slice(&self, object: &ObjectEntry, n: u32) -> Result<Box<dyn Read + Send + '_>> {
        let of = self.slices(object);
        if of <= 1 {
            return self.open(object);
        }
        // The last slice is open-ended: whatever lies past the pages counted.
        let first = u64::from(n) * self.slice_pages;
        let mut pages = format!("ctid >= '({first},0)'::tid");
        if n + 1 < of {
            pages += &format!(" AND ctid < '({},0)'::tid", first + self.slice_pages);
        }
        let filter = match self.row_filter(object)? {
            rows if rows.is_empty() => format!(" WHERE {pages}"),
            rows => format!("{rows} AND {pages}"),
        };
        Ok(Box::new(copy::CopyOut::start(
            &self.at,
            &self.snapshot,
            &object.name,
            &filter,
            rows::Format::of(object)?,
        )))
    }
}

impl PostgresSource {
    /// ` WHERE ...` choosing a table's rows: the time range, or those after
    /// the parent's watermark; empty for all of them.
    fn row_filter(&self, object: &ObjectEntry) -> Result<String> {
        let column = self.time_column(&object.name)?;
        Ok(
            match (&column, &object.watermark, self.parent_entry(&object.name)) {
                (Some(column), Some(_), Some(parent)) => watermark_filter(column, &parent),
                _ => self.filter(column.as_deref()),
            },
        )
    }
}
