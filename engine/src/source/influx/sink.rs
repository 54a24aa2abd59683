//! Loads one measurement's line protocol: renamed, cut to a time range,
//! checked against existing points, written in batches; see
//! [`super::target`] for where the points go and when they become visible.

use std::collections::HashSet;
use std::ops::Range;

use super::http::{parse_document, raw_i64};
use super::line::{escape_measurement, next_line, Line};
use super::query::{quote_ident, time_where, PointStats, Shape};
use super::target::InfluxTarget;
use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;
use crate::source::{DuplicatePolicy, Load, LoadMode, ObjectSink};

/// Points per write request, and bytes (the server takes 25 MB at most).
const BATCH_LINES: usize = 5000;
const BATCH_BYTES: usize = 4 << 20;

/// A point's identity: its tags (sorted, unescaped) and its time.
type PointKey = (Vec<(String, String)>, i64);

pub struct MeasurementSink<'a> {
    target: &'a mut InfluxTarget,
    /// The name in the backup, and the one restored under.
    source_name: String,
    name: String,
    mode: LoadMode,
    range: (Option<i64>, Option<i64>),
    expected: Option<u64>,
    /// The staging database, for a measurement that exists.
    staging: Option<String>,
    /// The new name as line protocol writes it, when renamed.
    rename: Option<String>,
    buf: Vec<u8>,
    batch: Vec<u8>,
    /// Each batched line's point and bytes, when existing points matter.
    keys: Vec<(PointKey, Range<usize>)>,
    batched: usize,
    /// Lines read, and the points in the range.
    lines: u64,
    kept: PointStats,
    written: u64,
    /// Past this, a failure keeps the staging database (it holds the points).
    destructive: bool,
    done: bool,
}

impl<'a> MeasurementSink<'a> {
    pub fn new(
        target: &'a mut InfluxTarget,
        entry: &ObjectEntry,
        load: &Load,
        range: (Option<i64>, Option<i64>),
        staging: Option<String>,
    ) -> Self {
        MeasurementSink {
            target,
            source_name: entry.name.clone(),
            name: load.name.clone(),
            mode: load.mode,
            range,
            expected: entry.rows,
            staging,
            rename: (load.name != entry.name).then(|| escape_measurement(&load.name)),
            buf: Vec::new(),
            batch: Vec::new(),
            keys: Vec::new(),
            batched: 0,
            lines: 0,
            kept: PointStats::default(),
            written: 0,
            destructive: false,
            done: false,
        }
    }

    fn duplicates(&self) -> DuplicatePolicy {
        match self.mode {
            LoadMode::Merge(policy) => policy,
            _ => DuplicatePolicy::Rewrite,
        }
    }

    fn checks_existing(&self) -> bool {
        matches!(
            self.mode,
            LoadMode::Merge(DuplicatePolicy::Skip | DuplicatePolicy::Stop)
        )
    }

    fn corrupt(&self, detail: impl Into<String>) -> EngineError {
        EngineError::corrupt(
            format!("measurement {} in the backup", self.source_name),
            detail,
        )
    }

    fn doing(&self) -> String {
        format!("restore measurement {} into", self.name)
    }

    fn take_line(&mut self, line: &Line, bytes: &[u8]) -> Result<()> {
        self.lines += 1;
        let (lower, upper) = self.range;
        if lower.is_some_and(|l| line.time < l) || upper.is_some_and(|u| line.time >= u) {
            return Ok(());
        }
        self.kept.add(line.time);
        let start = self.batch.len();
        match &self.rename {
            Some(name) => {
                self.batch.extend_from_slice(name.as_bytes());
                self.batch.extend_from_slice(&bytes[line.measurement_end..]);
            }
            None => self.batch.extend_from_slice(bytes),
        }
        if self.checks_existing() {
            let key = (line.series(bytes), line.time);
            self.keys.push((key, start..self.batch.len()));
        }
        self.batched += 1;
        if self.batched >= BATCH_LINES || self.batch.len() >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// The batch's points that the target measurement already has.
    fn existing_points(&self) -> Result<HashSet<PointKey>> {
        let times: HashSet<i64> = self.keys.iter().map(|((_, t), _)| *t).collect();
        let (Some(&lo), Some(&hi)) = (times.iter().min(), times.iter().max()) else {
            return Ok(HashSet::new());
        };
        let http = &self.target.http;
        let q = format!(
            "SELECT * FROM {}{} GROUP BY *",
            quote_ident(&self.name),
            time_where(Some(lo), Some(hi.saturating_add(1)))
        );
        let doing = format!("look for existing points of {} in", self.name);
        let mut stream = http.stream(self.target.db(), &q, &doing)?;
        let mut found = HashSet::new();
        while let Some(doc) = http
            .next_document(&mut stream)
            .map_err(|e| http.fail(&doing, e))?
        {
            for series in parse_document(&doc).map_err(|e| http.fail(&doing, e))? {
                let mut tags: Vec<(String, String)> = series
                    .tags
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                tags.sort();
                for row in &series.values {
                    match row.first().and_then(|t| raw_i64(t)) {
                        Some(time) if times.contains(&time) => {
                            found.insert((tags.clone(), time));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(found)
    }

    fn flush(&mut self) -> Result<()> {
        if self.batched == 0 {
            return Ok(());
        }
        let mut body = std::mem::take(&mut self.batch);
        let mut count = self.batched as u64;
        if self.checks_existing() {
            let existing = self.existing_points()?;
            let clash = self.keys.iter().find(|(key, _)| existing.contains(key));
            if let (Some(((tags, time), _)), DuplicatePolicy::Stop) = (clash, self.duplicates()) {
                let series: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                return Err(EngineError::Conflict(format!(
                    "measurement {} at {} already has a point of series [{}] at {} (and duplicates stop the restore); nothing was changed",
                    self.name,
                    self.target.http.at.display(),
                    series.join(","),
                    super::query::rfc3339(*time)
                )));
            }
            if clash.is_some() {
                let mut kept = Vec::with_capacity(body.len());
                count = 0;
                for (key, span) in &self.keys {
                    if !existing.contains(key) {
                        kept.extend_from_slice(&body[span.clone()]);
                        count += 1;
                    }
                }
                body = kept;
            }
        }
        self.keys.clear();
        self.batched = 0;
        if count > 0 {
            let db = self
                .staging
                .as_deref()
                .unwrap_or(self.target.db())
                .to_owned();
            self.target.http.write(&db, body, &self.doing())?;
            self.written += count;
        }
        Ok(())
    }

    /// Makes the staged points the measurement's (see the module notes).
    fn swap_in(&mut self, staging: &str) -> Result<()> {
        let http = &self.target.http;
        let db = self.target.db().to_owned();
        let name = quote_ident(&self.name);
        let doing = self.doing();
        if matches!(self.mode, LoadMode::Merge(_)) {
            // A type clash would fail the copy half-way: look before.
            let have = Shape::read(http, &db, &self.name)?;
            let staged = Shape::read(http, staging, &self.name)?;
            for (field, types) in &staged.fields {
                if let Some((_, at)) = have.fields.iter().find(|(f, _)| f == field) {
                    // Read, such a field's values are cast to one type: what
                    // is loaded into it could not be read back exactly.
                    let kept = self.mode != LoadMode::Merge(DuplicatePolicy::Rewrite)
                        || self.range != (None, None);
                    if kept && at.names().len() > 1 {
                        return Err(EngineError::Conflict(format!(
                            "field {field} of measurement {} has the types {} at {} (one per shard), so the server casts its values when they are read; nothing was changed",
                            self.name,
                            at.names().join(" and "),
                            http.at.display()
                        )));
                    }
                    if types.names().iter().any(|t| !at.names().contains(t)) {
                        return Err(EngineError::Conflict(format!(
                            "field {field} of measurement {} is {} at {} but {} in the backup; nothing was changed",
                            self.name,
                            at.names().join("/"),
                            http.at.display(),
                            types.names().join("/")
                        )));
                    }
                }
            }
        }
        self.destructive = true;
        let rewrite = self.mode == LoadMode::Merge(DuplicatePolicy::Rewrite);
        if self.mode == LoadMode::Replace || (rewrite && self.range == (None, None)) {
            http.execute(Some(&db), &format!("DROP MEASUREMENT {name}"), &doing)?;
        } else if rewrite {
            let q = format!(
                "DELETE FROM {name}{}",
                time_where(self.range.0, self.range.1)
            );
            http.execute(Some(&db), &q, &doing)?;
        }
        if let (true, Some(lo), Some(hi)) = (self.written > 0, self.kept.min, self.kept.max) {
            let q = format!(
                "SELECT * INTO {}..{name} FROM {}..{name} WHERE time >= {lo} AND time <= {hi} GROUP BY *",
                quote_ident(&db),
                quote_ident(staging)
            );
            let answer = http.query(None, &q, &doing)?;
            let copied = answer
                .first()
                .and_then(|s| s.values.first())
                .and_then(|row| row.get(1))
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            if copied != self.written {
                return Err(http.fail(
                    &doing,
                    format!(
                        "{copied} points were copied from the staging database, {} expected",
                        self.written
                    ),
                ));
            }
        }
        self.destructive = false;
        let q = format!("DROP DATABASE {}", quote_ident(staging));
        http.execute(None, &q, "drop the staging database on")
    }

    fn finish_load(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            return Err(self.corrupt("the stream ends in the middle of a line"));
        }
        self.flush()?;
        if let Some(expected) = self.expected.filter(|e| *e != self.lines) {
            return Err(self.corrupt(format!(
                "{} points read but the backup point recorded {expected}",
                self.lines
            )));
        }
        match self.staging.clone() {
            Some(staging) => self.swap_in(&staging),
            None => Ok(()),
        }
    }

    /// Undoes an unfinished load: the staging database goes (unless the
    /// measurement was already dropped: it holds the points), a new
    /// measurement is dropped.
    fn undo(&mut self) {
        let http = &self.target.http;
        match &self.staging {
            Some(staging) if !self.destructive => {
                let _ = http.execute(
                    None,
                    &format!("DROP DATABASE {}", quote_ident(staging)),
                    "clean up",
                );
            }
            Some(_) => {}
            None if self.written > 0 => {
                let q = format!("DROP MEASUREMENT {}", quote_ident(&self.name));
                let _ = http.execute(Some(self.target.db()), &q, "clean up");
            }
            None => {}
        }
    }
}

impl ObjectSink for MeasurementSink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(data);
        let buf = std::mem::take(&mut self.buf);
        let mut used = 0;
        let result = loop {
            match next_line(&buf[used..]) {
                Ok(Some(line)) => {
                    let bytes = &buf[used..used + line.len];
                    if let Err(err) = self.take_line(&line, bytes) {
                        break Err(err);
                    }
                    used += line.len;
                }
                Ok(None) => break Ok(()),
                Err(detail) => break Err(self.corrupt(detail)),
            }
        };
        self.buf = buf;
        self.buf.drain(..used);
        result
    }

    fn commit(mut self: Box<Self>) -> Result<Vec<String>> {
        match self.finish_load() {
            Ok(()) => {
                self.done = true;
                self.target.loaded.insert(self.name.clone(), self.kept);
                let mut notes = Vec::new();
                let skipped = self.kept.points - self.written;
                if skipped > 0 {
                    notes.push(format!(
                        "{skipped} point(s) of {} were left out: {} already had points of the same series and time",
                        self.source_name, self.name
                    ));
                }
                Ok(notes)
            }
            Err(err) if self.destructive => Err(EngineError::Database {
                what: format!(
                    "finish restoring measurement {} into {}",
                    self.name,
                    self.target.http.at.display()
                ),
                detail: format!(
                    "{err}; its old points may be deleted already: every restored point is kept in database {}",
                    self.staging.as_deref().unwrap_or_default()
                ),
            }),
            Err(err) => Err(err),
        }
    }

    fn abort(self: Box<Self>) {}
}

impl Drop for MeasurementSink<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.undo();
        }
    }
}
