//! A table's indexes, triggers and planner statistics. Indexes and
//! triggers are created where they stood in the source's schema (before
//! the table or view that followed them there), so the restored schema
//! lists everything in the source's order, as `sqlite3 .dump` prints it.

use rusqlite::types::ValueRef;

use super::sink::TableSink;
use super::SqliteTarget;
use crate::error::{EngineError, Result};
use crate::source::sqlite_frames::{
    decode_row, encode_value, name_span, quote_ident, Statistic, STAT_TABLES,
};
use crate::source::LoadMode;

/// An index or trigger of a restored table, created once the restore
/// reaches its place in the schema.
pub(super) struct Pending {
    /// Its place (rowid) in the source's schema.
    order: i64,
    /// The object it stood before, by its name in the backup.
    pub(super) before: Option<String>,
    sql: String,
    table: String,
}

/// A table's indexes and triggers as it gets them: each statement with its
/// place when the stream records one.
pub(super) type Extras = Vec<(Option<Pending>, String)>;

impl SqliteTarget {
    /// Creates the pending indexes and triggers that `due` selects, in
    /// the source's order.
    pub(super) fn create_pending(&mut self, due: impl Fn(&Pending) -> bool) -> Result<()> {
        let (mut now, later) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition::<Vec<_>, _>(|p| due(p));
        self.pending = later;
        now.sort_by_key(|p| p.order);
        for p in now {
            self.conn.execute_batch(&p.sql).map_err(|e| {
                EngineError::invalid(
                    format!(
                        "restoring an index or trigger of table {} into {}",
                        p.table,
                        self.path.display()
                    ),
                    e.to_string(),
                )
            })?;
        }
        Ok(())
    }
}

impl TableSink<'_> {
    /// The indexes and triggers as the restored table gets them (not on a
    /// table merged into, which keeps its own), each with its place in the
    /// source's schema when the stream records it; and notes for the
    /// administrator.
    pub(super) fn extras(&mut self) -> Result<(Extras, Vec<String>)> {
        let mut notes = Vec::new();
        let mut out = Vec::new();
        let extras = std::mem::take(&mut self.extras);
        if matches!(self.mode, LoadMode::Merge(_)) {
            return Ok((out, notes));
        }
        let places = self
            .header
            .as_ref()
            .map(|h| h.extras.clone())
            .unwrap_or_default();
        let placed = places.len() == extras.len();
        for (i, extra) in extras.into_iter().enumerate() {
            if extra.to_ascii_uppercase().starts_with("CREATE TRIGGER")
                && self.name != self.source_name
            {
                // A trigger's body names other tables; on a renamed copy it
                // would act on live data, so the copy gets none.
                let trigger = name_span(&extra)
                    .map(|r| extra[r].to_owned())
                    .unwrap_or_default();
                notes.push(format!(
                    "trigger {trigger} of {} was not created on the renamed copy {}",
                    self.source_name, self.name
                ));
                continue;
            }
            let sql = if self.name == self.source_name {
                extra
            } else {
                self.renamed_index(&extra)?
            };
            let pending = placed.then(|| Pending {
                order: places[i].order,
                before: places[i].before.clone(),
                sql: sql.clone(),
                table: self.name.clone(),
            });
            out.push((pending, sql));
        }
        Ok((out, notes))
    }

    /// The index is renamed after its table so names stay unique, and
    /// pointed at it.
    fn renamed_index(&self, extra: &str) -> Result<String> {
        let span = name_span(extra).ok_or_else(|| self.fail("cannot find an index name"))?;
        let index = format!(
            "{}_{}",
            self.name,
            extra[span.clone()].trim_matches(['"', '[', ']', '`'])
        );
        let rest = &extra[span.end..];
        let on = rest
            .to_ascii_uppercase()
            .find(" ON ")
            .ok_or_else(|| self.fail("index without ON"))?
            + 4;
        let table_end = rest[on..].find('(').map(|p| on + p).unwrap_or(rest.len());
        Ok(format!(
            "{}{}{}{}{}",
            &extra[..span.start],
            quote_ident(&index),
            &rest[..on],
            quote_ident(&self.name),
            &rest[table_end..]
        ))
    }

    /// A table created from the backup gets its planner statistics (with
    /// its indexes' names on a renamed copy); one merged into keeps its own.
    pub(super) fn statistics(&self) -> Result<Vec<(String, Statistic)>> {
        if matches!(self.mode, LoadMode::Merge(_)) {
            return Ok(Vec::new());
        }
        let Some(header) = &self.header else {
            return Ok(Vec::new());
        };
        let mut kept = Vec::new();
        for stat in &header.statistics {
            let mut stat = stat.clone();
            if !STAT_TABLES.contains(&stat.table.as_str()) {
                return Err(self.fail(format!("unknown statistics table {:?}", stat.table)));
            }
            if self.name != self.source_name {
                stat.values = self.renamed_statistic(&stat.values)?;
            }
            kept.push((self.name.clone(), stat));
        }
        Ok(kept)
    }

    /// A statistic of a renamed copy names the copy's index.
    fn renamed_statistic(&self, values: &str) -> Result<String> {
        let bytes = hex::decode(values).map_err(|e| self.fail(e.to_string()))?;
        let values = decode_row(&bytes).map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for (i, value) in values.into_iter().enumerate() {
            match value {
                ValueRef::Text(index) if i == 0 => {
                    let renamed = format!("{}_{}", self.name, String::from_utf8_lossy(index));
                    encode_value(ValueRef::Text(renamed.as_bytes()), &mut out);
                }
                other => encode_value(other, &mut out),
            }
        }
        Ok(hex::encode(out))
    }
}
