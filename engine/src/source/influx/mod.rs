//! InfluxDB 1.x over its HTTP API: each measurement of one database is an
//! object ([`ObjectKind::Table`]) whose content is its points as line
//! protocol, in time order, nanosecond timestamps.
//!
//! InfluxDB 1.x has no snapshot, so a backup is not a point in time the way
//! a PostgreSQL one is. Each measurement is read up to an upper time bound
//! fixed when the backup starts: the later of that moment and the
//! measurement's newest point then (so future-dated points, forecasts, are
//! kept). Points arriving while the backup runs are therefore left out,
//! unless they are late points timestamped inside that span, which a
//! measurement read after their arrival includes. Rows and time spans are
//! counted while the points stream (see [`Source::read_stats`]), so the
//! manifest always describes exactly what the point holds; `describe` only
//! estimates them. Only the database's default retention policy is read
//! and written.
//!
//! Points are backed up exactly or refused: every line rendered is parsed
//! again and must give the server's values (see [`point`]); names line
//! protocol cannot hold, string values the JSON output cannot tell apart
//! (U+FFFD) and fields of several types refuse the backup, naming the
//! measurement. A restore reads each measurement back through the same
//! query and compares the points' canonical form with the backup's.

mod http;
mod line;
mod point;
mod query;
mod reader;
mod sink;
mod target;

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use chrono::Utc;

pub use target::InfluxTarget;

use super::selector::Selector;
use super::{ReadStats, Source, SourceDescription};
use crate::error::Result;
use crate::repo::manifest::{ObjectEntry, ObjectKind, Selection};
use http::Http;
use line::Renderer;
use query::{
    edge_time, for_each_row, measurements, ns_of, quote_ident, rfc3339, time_where, Shape,
};

pub use super::dburl::DbLocation as InfluxLocation;

/// Cuts a stored measurement stream into its points in their canonical
/// form (see [`point::Point::canonical`]).
pub fn row_splitter(entry: &ObjectEntry) -> Option<Box<dyn crate::digest::RowSplitter>> {
    Some(Box::new(reader::LineSplitter {
        name: entry.name.clone(),
        buf: Vec::new(),
        row: Vec::new(),
    }))
}

/// A point's time: the last field of its canonical form, nanoseconds
/// since the epoch.
pub fn row_time(_entry: &ObjectEntry) -> Option<crate::digest::RowTime> {
    Some(Box::new(|row: &[u8]| {
        let at = row.iter().rposition(|&b| b == b' ')?;
        let ns: i64 = std::str::from_utf8(&row[at + 1..]).ok()?.parse().ok()?;
        let time = chrono::DateTime::from_timestamp_nanos(ns);
        Some(crate::digest::RowInstant::At(
            time.format("%Y-%m-%d %H:%M:%S%.9f").to_string(),
        ))
    }))
}

/// Parses an `influxdb://[user[:password]@]host[:port]/database` URL.
pub fn parse_url(text: &str) -> Result<InfluxLocation> {
    InfluxLocation::parse(text, "influxdb", &[], 8086, "")
}

/// Refuses a measurement whose name or keys line protocol cannot hold
/// exactly, or with a field of several types (one per shard: the server
/// casts its values to one type when they are read). Tag and string
/// values are checked point by point as they are rendered.
fn refuse_inexact(name: &str, shape: &Shape) -> Result<()> {
    let refuse = |why: String| {
        Err(crate::error::EngineError::invalid(
            format!("measurement {name}"),
            format!("it cannot be backed up exactly: {why}"),
        ))
    };
    if let Some(why) = point::unwritable(name, point::Part::Measurement) {
        return refuse(format!("its name: {why}"));
    }
    for tag in &shape.tags {
        if let Some(why) = point::unwritable(tag, point::Part::Tag) {
            return refuse(format!("tag key {tag:?}: {why}"));
        }
    }
    for (field, types) in &shape.fields {
        if let Some(why) = point::unwritable(field, point::Part::FieldKey) {
            return refuse(format!("field key {field:?}: {why}"));
        }
        if types.names().len() > 1 {
            return refuse(format!(
                "field {field} has the types {} (one per shard), and the server casts its values to one of them when they are read",
                types.names().join(" and ")
            ));
        }
    }
    Ok(())
}

/// How one measurement is read: its keys and its time bounds.
#[derive(Debug, Clone)]
struct Plan {
    shape: Shape,
    lower: Option<i64>,
    upper: i64,
}

pub struct InfluxSource {
    http: Http,
    selector: Selector,
    since: Option<i64>,
    until: Option<i64>,
    /// When the backup started, in nanoseconds.
    started: i64,
    version: String,
    plans: Mutex<HashMap<String, Plan>>,
    read: Mutex<HashMap<String, ReadStats>>,
}

impl InfluxSource {
    /// Connects, checks the credentials and that the database exists.
    pub fn new(at: InfluxLocation, selection: &Selection) -> Result<Self> {
        let selector = Selector::new(&selection.include, &selection.exclude)?;
        let since = selection.since.as_deref().map(ns_of).transpose()?;
        let until = selection.until.as_deref().map(ns_of).transpose()?;
        let http = Http::new(at)?;
        let version = http.version()?;
        let databases = query::databases(&http, "list the databases of")?;
        if !databases.contains(&http.at.database) {
            return Err(http.fail(
                "back up",
                format!(
                    "the server has no database named {:?} (or the user may not read it)",
                    http.at.database
                ),
            ));
        }
        Ok(InfluxSource {
            http,
            selector,
            since,
            until,
            started: Utc::now().timestamp_nanos_opt().unwrap_or(query::MAX_TIME),
            version,
            plans: Mutex::new(HashMap::new()),
            read: Mutex::new(HashMap::new()),
        })
    }

    fn db(&self) -> &str {
        &self.http.at.database
    }

    /// The keys and bounds of a measurement; `None` when it holds nothing
    /// (listed by the index after being dropped).
    fn plan(&self, name: &str) -> Result<Option<Plan>> {
        if let Some(plan) = self
            .plans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Ok(Some(plan.clone()));
        }
        let shape = Shape::read(&self.http, self.db(), name)?;
        if shape.fields.is_empty() {
            return Ok(None);
        }
        refuse_inexact(name, &shape)?;
        let newest = edge_time(&self.http, self.db(), name, &shape, (None, None), true)?;
        let upper = self.until.unwrap_or_else(|| {
            newest
                .map_or(self.started, |t| t.saturating_add(1).max(self.started))
                // Exclusive: a point at the latest time is read too.
                .min(query::MAX_TIME.saturating_add(1))
        });
        let plan = Plan {
            shape,
            lower: self.since,
            upper,
        };
        self.plans
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), plan.clone());
        Ok(Some(plan))
    }

    fn select(&self, name: &str, plan: &Plan) -> String {
        format!(
            "SELECT {} FROM {}{}",
            plan.shape.select_list(),
            quote_ident(name),
            time_where(plan.lower, Some(plan.upper))
        )
    }

    /// The entry with estimates: the largest per-field count (exact unless
    /// fields are sparse), the first and last times, and the size as the
    /// first point's line times the count.
    fn entry(&self, name: &str, plan: &Plan) -> Result<ObjectEntry> {
        let bounds = (plan.lower, Some(plan.upper));
        let from = quote_ident(name);
        let mut estimate = 0u64;
        for_each_row(
            &self.http,
            self.db(),
            &format!(
                "SELECT COUNT(*) FROM {from}{}",
                time_where(bounds.0, bounds.1)
            ),
            &format!("count the points of {name} in"),
            |row| {
                for count in row.iter().skip(1) {
                    estimate = estimate.max(count.get().parse().unwrap_or(0));
                }
                Ok(())
            },
        )?;
        let mut renderer = Renderer::new(name, &plan.shape.tags, &plan.shape.fields);
        let mut first = Vec::new();
        let mut time_min = None;
        for_each_row(
            &self.http,
            self.db(),
            &format!("{} ORDER BY time ASC LIMIT 1", self.select(name, plan)),
            &format!("read the first point of {name} in"),
            |row| {
                time_min = renderer.render(row, &mut first)?;
                Ok(())
            },
        )?;
        let time_max = edge_time(&self.http, self.db(), name, &plan.shape, bounds, true)?;
        let mut entry = ObjectEntry::new(name, ObjectKind::Table);
        entry.rows = Some(estimate);
        entry.size = estimate.saturating_mul(first.len() as u64);
        entry.time_min = time_min.map(rfc3339);
        entry.time_max = time_max.map(rfc3339);
        Ok(entry)
    }
}

impl Source for InfluxSource {
    fn url(&self) -> String {
        self.http.at.display()
    }

    fn name(&self) -> String {
        self.db().to_owned()
    }

    fn describe(&self) -> Result<SourceDescription> {
        let mut objects = Vec::new();
        let mut names = measurements(&self.http, self.db())?;
        names.retain(|n| self.selector.selects(n));
        for name in names {
            if let Some(plan) = self.plan(&name)? {
                objects.push(self.entry(&name, &plan)?);
            }
        }
        Ok(SourceDescription {
            kind: "influxdb".into(),
            server_version: Some(self.version.clone()),
            objects,
        })
    }

    fn open(&self, object: &ObjectEntry) -> Result<Box<dyn Read + Send + '_>> {
        let name = object.name.as_str();
        let Some(plan) = self.plan(name)? else {
            // Dropped since it was listed: nothing to read.
            self.read
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.to_owned(), ReadStats::default());
            return Ok(Box::new(std::io::empty()));
        };
        let stream = self.http.stream(
            self.db(),
            &self.select(name, &plan),
            &format!("read measurement {name} of"),
        )?;
        Ok(Box::new(reader::MeasurementReader {
            http: &self.http,
            stream,
            renderer: Renderer::new(name, &plan.shape.tags, &plan.shape.fields),
            report: &self.read,
            name: name.to_owned(),
            out: Vec::new(),
            pos: 0,
            stats: Default::default(),
            ended: false,
        }))
    }

    fn read_stats(&self, object: &ObjectEntry) -> Option<ReadStats> {
        self.read
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&object.name)
    }
}
