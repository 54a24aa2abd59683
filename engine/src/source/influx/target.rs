//! Restoring measurements into an InfluxDB 1.x database (created when
//! missing, when the restore starts).
//!
//! InfluxDB has no transactions. A new measurement is written directly,
//! and dropped again if its load fails. A measurement that exists
//! (overwrite, or loading into it) is only changed once the backup's
//! points are all loaded and counted: they go first into a staging
//! database, then the old points are dropped (overwrite) and the staged
//! ones copied in by the server (`SELECT * INTO ... GROUP BY *`). Only that
//! last server-side step can leave the measurement partial; its error then
//! names the staging database, which is kept and holds every restored point.
//!
//! Loading into an existing measurement: a point of the same series and
//! timestamp would overwrite the existing one in InfluxDB, so `skip` leaves
//! those points out and `stop` fails before anything changes (both look
//! for them batch by batch); `rewrite` deletes the measurement's points in
//! the restored time range (all of them without one) and writes the
//! backup's. A field of several types at the target (one per shard) is not
//! loaded into: the server casts its values when they are read.

use std::collections::HashMap;

use super::http::Http;
use super::point::Columns;
use super::query::{
    databases, for_each_row, measurements, ns_of, point_stats, quote_ident, rfc3339, time_where,
    PointStats, Shape,
};
use super::sink::MeasurementSink;
use super::InfluxLocation;
use crate::error::{EngineError, Result};
use crate::repo::manifest::{ObjectEntry, ObjectKind};
use crate::source::{DuplicatePolicy, Load, LoadMode, ObjectSink, Target, TimeRange};

pub struct InfluxTarget {
    pub(super) http: Http,
    /// What each restored measurement received, for [`Target::verify_object`].
    pub(super) loaded: HashMap<String, PointStats>,
    /// Staging databases made so far (their names are numbered).
    staged: u32,
}

impl InfluxTarget {
    /// Makes no connection yet: the pre-checks do.
    pub fn open(at: InfluxLocation) -> Result<Self> {
        Ok(InfluxTarget {
            http: Http::new(at)?,
            loaded: HashMap::new(),
            staged: 0,
        })
    }

    pub(super) fn db(&self) -> &str {
        &self.http.at.database
    }

    fn database_exists(&self) -> Result<bool> {
        Ok(databases(&self.http, "list the databases of")?
            .iter()
            .any(|d| d == self.db()))
    }

    /// Whether the database exists, and drops it when `drop` (a drill's
    /// scratch database; never a restore target).
    pub(crate) fn scratch_database(&self, drop: bool) -> Result<bool> {
        let exists = self.database_exists()?;
        if exists && drop {
            let q = format!("DROP DATABASE {}", quote_ident(self.db()));
            self.http
                .execute(None, &q, "drop the scratch database on")?;
        }
        Ok(exists)
    }

    /// A drill's check: the first value (after `time`) of the first row of
    /// an InfluxQL SELECT or SHOW, run read-only.
    pub(crate) fn check_value(&self, q: &str) -> Result<String> {
        let doing = format!("run the check {q:?} on");
        // InfluxDB 1.x has no read-only session, and runs some writes sent
        // over GET: only statements that cannot write are sent at all.
        if !reads_only(q) {
            return Err(EngineError::invalid(
                format!("check {q:?}"),
                "InfluxDB checks must be a SELECT (without INTO) or a SHOW",
            ));
        }
        let series = self.http.query_read_only(self.db(), q, &doing)?;
        let Some(first) = series.first() else {
            return Ok(String::new());
        };
        let skip = usize::from(
            first.columns.first().is_some_and(|c| c == "time") && first.columns.len() > 1,
        );
        Ok(match first.values.first().and_then(|row| row.get(skip)) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        })
    }

    /// Whether a measurement holds points (the index may still list a
    /// dropped one).
    pub(super) fn holds_points(&self, name: &str) -> Result<bool> {
        Ok(!Shape::read(&self.http, self.db(), name)?.fields.is_empty())
    }
}

/// Whether an InfluxQL statement only reads: a SELECT without INTO, or a
/// SHOW. Quoted names and strings are left out of the look.
fn reads_only(q: &str) -> bool {
    let mut words = String::new();
    let mut quote = None;
    let mut escaped = false;
    for c in q.chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                words.push(' ');
            }
            None => words.push(c),
        }
    }
    let words: Vec<String> = words
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_uppercase())
        .collect();
    match words.first().map(String::as_str) {
        Some("SELECT") => !words.iter().any(|w| w == "INTO"),
        Some("SHOW") => true,
        _ => false,
    }
}

/// A restore's time range in nanoseconds.
pub(super) fn bounds(range: Option<&TimeRange>) -> Result<(Option<i64>, Option<i64>)> {
    let Some(range) = range else {
        return Ok((None, None));
    };
    Ok((
        range.since.as_deref().map(ns_of).transpose()?,
        range.until.as_deref().map(ns_of).transpose()?,
    ))
}

impl Target for InfluxTarget {
    fn url(&self) -> String {
        self.http.at.display()
    }

    fn kind(&self) -> &'static str {
        "influxdb"
    }

    /// `/ping` answers without credentials: listing the databases checks them.
    fn server_version(&self) -> Result<Option<String>> {
        let version = self.http.version()?;
        databases(&self.http, "sign in to")?;
        Ok(Some(version))
    }

    fn existing(&self, names: &[&str]) -> Result<Vec<String>> {
        if !self.database_exists()? {
            return Ok(Vec::new());
        }
        let listed = measurements(&self.http, self.db())?;
        let mut found = Vec::new();
        for name in names {
            if listed.iter().any(|m| m == name) && self.holds_points(name)? {
                found.push((*name).to_owned());
            }
        }
        Ok(found)
    }

    fn is_empty(&self) -> Result<bool> {
        if !self.database_exists()? {
            return Ok(true);
        }
        for name in measurements(&self.http, self.db())? {
            if self.holds_points(&name)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn can_filter_time(&self) -> bool {
        true
    }

    fn prepare(&mut self) -> Result<()> {
        if !self.database_exists()? {
            let q = format!("CREATE DATABASE {}", quote_ident(self.db()));
            self.http.execute(None, &q, "create the database")?;
        }
        Ok(())
    }

    fn begin(&mut self, entry: &ObjectEntry, load: &Load) -> Result<Box<dyn ObjectSink + '_>> {
        if entry.kind != ObjectKind::Table {
            return Err(EngineError::invalid(
                format!("object {}", entry.name),
                "only measurements can be restored into InfluxDB",
            ));
        }
        let range = bounds(load.range.as_ref())?;
        let staging = match load.mode {
            LoadMode::Create if self.holds_points(&load.name)? => {
                return Err(EngineError::Conflict(format!(
                    "measurement {} exists at {}",
                    load.name,
                    self.url()
                )));
            }
            LoadMode::Create => None,
            LoadMode::Replace | LoadMode::Merge(_) => {
                self.staged += 1;
                let name = format!(
                    "{}__tidemark_staging_{}_{}",
                    self.db(),
                    std::process::id(),
                    self.staged
                );
                let q = format!("CREATE DATABASE {}", quote_ident(&name));
                self.http.execute(
                    None,
                    &q,
                    "create a staging database (needs an admin user) on",
                )?;
                Some(name)
            }
        };
        Ok(Box::new(MeasurementSink::new(
            self, entry, load, range, staging,
        )))
    }

    fn finish(&mut self, _restored: &[(ObjectEntry, String)]) -> Result<()> {
        Ok(())
    }

    /// Counts the restored measurement's points and time span on the
    /// server. Without a time range (and when it was not loaded into), they
    /// must be the manifest's; with one, those of the backup's points in it.
    fn verify_object(&mut self, entry: &ObjectEntry, load: &Load) -> Result<Option<String>> {
        let Some(kept) = self.loaded.get(&load.name).copied() else {
            return Ok(None);
        };
        let range = bounds(load.range.as_ref())?;
        let ranged = range != (None, None);
        let (scope, exact) = match load.mode {
            LoadMode::Create | LoadMode::Replace => ((None, None), true),
            LoadMode::Merge(DuplicatePolicy::Rewrite) => (range, true),
            // Existing points stay beside the backup's.
            LoadMode::Merge(_) => (range, false),
        };
        let found = point_stats(&self.http, self.db(), &load.name, scope)?;
        let time = |t: Option<i64>| t.map(rfc3339).unwrap_or_else(|| "-".into());
        let (rows, min, max) = if ranged {
            (kept.points, time(kept.min), time(kept.max))
        } else {
            (
                entry.rows.unwrap_or(kept.points),
                entry.time_min.clone().unwrap_or_else(|| "-".into()),
                entry.time_max.clone().unwrap_or_else(|| "-".into()),
            )
        };
        let recorded = if ranged {
            "the backup holds in the restored time range"
        } else {
            "the backup recorded"
        };
        let (found_min, found_max) = (time(found.min), time(found.max));
        if exact {
            if found.points != rows {
                return Ok(Some(format!(
                    "{} has {} points after the restore, {recorded} {rows}",
                    load.name, found.points
                )));
            }
            if (found_min.as_str(), found_max.as_str()) != (min.as_str(), max.as_str()) {
                return Ok(Some(format!(
                    "{} spans {found_min} to {found_max} after the restore, {recorded} {min} to {max}",
                    load.name
                )));
            }
        } else if found.points < rows
            || found.min.zip(kept.min).is_some_and(|(f, k)| f > k)
            || found.max.zip(kept.max).is_some_and(|(f, k)| f < k)
        {
            return Ok(Some(format!(
                "{} has {} points from {found_min} to {found_max} after loading into it, fewer than the {rows} from {min} to {max} {recorded}",
                load.name, found.points
            )));
        }
        Ok(None)
    }

    /// Reads the restored measurement back through the query API, as the
    /// backup read it, each point in the canonical form the backup's
    /// stream gives ([`super::point::Point::canonical`], under the backup's
    /// name). A merge that kept existing points is read in the span loaded.
    fn read_back(
        &mut self,
        entry: &ObjectEntry,
        load: &Load,
        row: &mut dyn FnMut(&[u8]),
    ) -> Result<bool> {
        let shape = Shape::read(&self.http, self.db(), &load.name)?;
        if shape.fields.is_empty() {
            return Ok(true);
        }
        let (lower, upper) = match (load.mode, self.loaded.get(&load.name)) {
            (LoadMode::Merge(DuplicatePolicy::Stop | DuplicatePolicy::Skip), Some(kept)) => {
                match (kept.min, kept.max) {
                    (Some(lo), Some(hi)) => (Some(lo), Some(hi.saturating_add(1))),
                    _ => return Ok(true),
                }
            }
            _ => bounds(load.range.as_ref())?,
        };
        let q = format!(
            "SELECT {} FROM {}{}",
            shape.select_list(),
            quote_ident(&load.name),
            time_where(lower, upper)
        );
        let columns = Columns {
            measurement: entry.name.clone(),
            tags: shape.tags,
            fields: shape.fields,
        };
        let mut canonical = Vec::new();
        for_each_row(
            &self.http,
            self.db(),
            &q,
            &format!("read measurement {} back from", load.name),
            |cells| {
                if let Some(mut point) = columns.point(cells)? {
                    point.canonical(&mut canonical);
                    row(&canonical);
                }
                Ok(())
            },
        )?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::reads_only;

    #[test]
    fn only_statements_that_cannot_write_are_checks() {
        assert!(reads_only("SELECT count(value) FROM metrics"));
        assert!(reads_only("select * from \"into\" where note = 'INTO x'"));
        assert!(reads_only("SHOW MEASUREMENTS"));
        assert!(!reads_only("SELECT * INTO copy FROM metrics"));
        assert!(!reads_only("DROP MEASUREMENT metrics"));
        assert!(!reads_only("DELETE FROM metrics"));
        assert!(!reads_only(""));
    }
}
