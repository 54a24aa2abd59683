//! InfluxDB 1.x's HTTP API: `/ping` (the version), `/query` (InfluxQL,
//! answered in JSON, in chunks of rows for big selects) and `/write` (line
//! protocol). The credentials go in a basic-auth header, never in a URL,
//! so no log line and no error message can show them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::InfluxLocation;
use crate::error::{EngineError, Result};
use crate::source::dbio::runtime;

/// Rows per chunk of a streamed query.
const CHUNK_ROWS: &str = "10000";

/// One server, with the runtime its requests run on (engine calls are
/// synchronous; the client is async).
pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    pub at: InfluxLocation,
    base: String,
}

/// One statement's answer: `V` is [`serde_json::Value`] for small answers
/// and `&RawValue` for streamed rows (numbers keep their exact text).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de>"))]
pub struct Series<V> {
    /// With `GROUP BY *`: the series' tags (empty for a key it lacks).
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    /// The columns' names (`time` first for a SELECT).
    #[serde(default)]
    pub columns: Vec<String>,
    /// Rows, with the columns in the order the statement listed them.
    #[serde(default = "Vec::new")]
    pub values: Vec<Vec<V>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de>"))]
struct Statement<V> {
    #[serde(default = "Vec::new")]
    series: Vec<Series<V>>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "V: Deserialize<'de>"))]
struct Body<V> {
    #[serde(default = "Vec::new")]
    results: Vec<Statement<V>>,
    #[serde(default)]
    error: Option<String>,
}

/// A streamed query's answer, one JSON document per line.
pub struct QueryStream {
    response: reqwest::Response,
    buf: Vec<u8>,
    ended: bool,
}

impl Http {
    pub fn new(at: InfluxLocation) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| EngineError::Database {
                what: format!("connect to {}", at.display()),
                detail: chain(&e),
            })?;
        let base = format!("http://{}:{}", at.host, at.port);
        Ok(Http {
            rt: runtime()?,
            client,
            at,
            base,
        })
    }

    /// An error naming the server and what was being done.
    pub fn fail(&self, doing: &str, detail: impl Into<String>) -> EngineError {
        EngineError::Database {
            what: format!("{doing} {}", self.at.display()),
            detail: detail.into(),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("User-Agent", "tidemark");
        if self.at.user.is_empty() {
            request
        } else {
            request.basic_auth(&self.at.user, self.at.password())
        }
    }

    /// Sends a request; a transport error or an error status becomes an
    /// engine error saying what the server answered.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        doing: &str,
    ) -> Result<reqwest::Response> {
        let response = request
            .send()
            .await
            .map_err(|e| self.fail(doing, format!("cannot reach the server: {}", chain(&e))))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let said = serde_json::from_str::<Body<serde_json::Value>>(&text)
            .ok()
            .and_then(|b| b.error)
            .unwrap_or_else(|| text.trim().chars().take(300).collect());
        Err(self.fail(
            doing,
            match status.as_u16() {
                401 => format!(
                    "the server refused the credentials ({said}): check the user name and password"
                ),
                403 => format!("permission denied: {said}"),
                _ => format!("the server answered {status}: {said}"),
            },
        ))
    }

    /// The server's version, from `/ping` (which needs no credentials).
    pub fn version(&self) -> Result<String> {
        let doing = "connect to";
        self.rt.block_on(async {
            let response = self
                .send(self.request(reqwest::Method::GET, "/ping"), doing)
                .await?;
            response
                .headers()
                .get("X-Influxdb-Version")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or_else(|| {
                    self.fail(doing, "the server answered /ping but is not InfluxDB (no X-Influxdb-Version header)")
                })
        })
    }

    fn query_form(db: Option<&str>, q: &str, chunked: bool) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("q", q).append_pair("epoch", "ns");
        if let Some(db) = db {
            form.append_pair("db", db);
        }
        if chunked {
            form.append_pair("chunked", "true")
                .append_pair("chunk_size", CHUNK_ROWS);
        }
        form.finish()
    }

    fn post_query(&self, db: Option<&str>, q: &str, chunked: bool) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, "/query")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(Self::query_form(db, q, chunked))
    }

    /// Runs one statement and returns its series (small answers only).
    pub fn query(
        &self,
        db: Option<&str>,
        q: &str,
        doing: &str,
    ) -> Result<Vec<Series<serde_json::Value>>> {
        self.rt.block_on(async {
            let response = self.send(self.post_query(db, q, false), doing).await?;
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.fail(doing, format!("the answer was cut off: {}", chain(&e))))?;
            let body: Body<serde_json::Value> = serde_json::from_slice(&bytes)
                .map_err(|e| self.fail(doing, format!("unexpected answer: {e}")))?;
            series_of(body).map_err(|e| self.fail(doing, e))
        })
    }

    /// Runs one statement over GET, which the server accepts for SELECT
    /// and SHOW only: it refuses anything that writes.
    pub fn query_read_only(
        &self,
        db: &str,
        q: &str,
        doing: &str,
    ) -> Result<Vec<Series<serde_json::Value>>> {
        self.rt.block_on(async {
            let path = format!("/query?{}", Self::query_form(Some(db), q, false));
            let response = self
                .send(self.request(reqwest::Method::GET, &path), doing)
                .await?;
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.fail(doing, format!("the answer was cut off: {}", chain(&e))))?;
            let body: Body<serde_json::Value> = serde_json::from_slice(&bytes)
                .map_err(|e| self.fail(doing, format!("unexpected answer: {e}")))?;
            series_of(body).map_err(|e| self.fail(doing, e))
        })
    }

    /// Runs a statement that returns nothing (CREATE, DROP, DELETE).
    pub fn execute(&self, db: Option<&str>, q: &str, doing: &str) -> Result<()> {
        self.query(db, q, doing).map(drop)
    }

    /// Starts a streamed (chunked) query.
    pub fn stream(&self, db: &str, q: &str, doing: &str) -> Result<QueryStream> {
        self.rt.block_on(async {
            let response = self.send(self.post_query(Some(db), q, true), doing).await?;
            Ok(QueryStream {
                response,
                buf: Vec::new(),
                ended: false,
            })
        })
    }

    /// The next JSON document of a streamed answer; `None` at its end.
    pub fn next_document(
        &self,
        stream: &mut QueryStream,
    ) -> std::result::Result<Option<Vec<u8>>, String> {
        loop {
            if let Some(end) = stream.buf.iter().position(|&b| b == b'\n') {
                let rest = stream.buf.split_off(end + 1);
                let mut line = std::mem::replace(&mut stream.buf, rest);
                line.pop();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(line));
            }
            if stream.ended {
                if stream.buf.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                return Ok(Some(std::mem::take(&mut stream.buf)));
            }
            match self.rt.block_on(stream.response.chunk()) {
                Ok(Some(bytes)) => stream.buf.extend_from_slice(&bytes),
                Ok(None) => stream.ended = true,
                Err(e) => return Err(format!("the answer was cut off: {}", chain(&e))),
            }
        }
    }

    /// Writes line protocol (nanosecond timestamps) into `db`.
    pub fn write(&self, db: &str, body: Vec<u8>, doing: &str) -> Result<()> {
        let mut path = String::from("/write?precision=ns&");
        path.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .append_pair("db", db)
                .finish(),
        );
        self.rt.block_on(async {
            self.send(self.request(reqwest::Method::POST, &path).body(body), doing)
                .await
                .map(drop)
        })
    }
}

/// The series of one document of a streamed answer, borrowing its rows.
pub fn parse_document(doc: &[u8]) -> std::result::Result<Vec<Series<&RawValue>>, String> {
    let body: Body<&RawValue> =
        serde_json::from_slice(doc).map_err(|e| format!("unexpected answer: {e}"))?;
    series_of(body)
}

fn series_of<V>(body: Body<V>) -> std::result::Result<Vec<Series<V>>, String> {
    if let Some(error) = body.error {
        return Err(error);
    }
    let mut series = Vec::new();
    for statement in body.results {
        if let Some(error) = statement.error {
            return Err(error);
        }
        series.extend(statement.series);
    }
    Ok(series)
}

/// An error with its causes ("error sending request: connection refused").
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The first column of every row, as text (`SHOW MEASUREMENTS`, `SHOW TAG KEYS`).
pub fn first_column(series: &[Series<serde_json::Value>]) -> Vec<String> {
    series
        .iter()
        .flat_map(|s| s.values.iter())
        .filter_map(|row| row.first().and_then(|v| v.as_str()).map(str::to_owned))
        .collect()
}

/// The text of a JSON string cell; `None` for null or another type.
pub fn raw_str(value: &RawValue) -> Option<String> {
    serde_json::from_str::<Option<String>>(value.get())
        .ok()
        .flatten()
}

/// The integer of a JSON number cell (a time with `epoch=ns`).
pub fn raw_i64(value: &RawValue) -> Option<i64> {
    value.get().parse().ok()
}
