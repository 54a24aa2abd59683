//! One measurement's points as a stream of line protocol, rendered chunk
//! by chunk from a streamed query: memory holds one chunk of rows.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use super::http::{parse_document, Http, QueryStream};
use super::line::{next_line, Renderer};
use super::point::parse_line;
use super::query::{rfc3339, PointStats};
use crate::digest::RowSplitter;
use crate::error::{EngineError, Result};
use crate::source::ReadStats;

pub struct MeasurementReader<'a> {
    pub http: &'a Http,
    pub stream: QueryStream,
    pub renderer: Renderer,
    /// Where the counts go once the stream has ended.
    pub report: &'a Mutex<HashMap<String, ReadStats>>,
    pub name: String,
    pub out: Vec<u8>,
    pub pos: usize,
    pub stats: PointStats,
    pub ended: bool,
}

impl MeasurementReader<'_> {
    /// Renders the next chunk of rows; `false` at the end.
    fn fill(&mut self) -> std::result::Result<bool, String> {
        self.out.clear();
        self.pos = 0;
        while self.out.is_empty() {
            let Some(doc) = self.http.next_document(&mut self.stream)? else {
                let stats = ReadStats {
                    rows: self.stats.points,
                    time_min: self.stats.min.map(rfc3339),
                    time_max: self.stats.max.map(rfc3339),
                };
                self.report
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(self.name.clone(), stats);
                return Ok(false);
            };
            for series in parse_document(&doc)? {
                for row in &series.values {
                    if let Some(time) = self.renderer.render(row, &mut self.out)? {
                        self.stats.add(time);
                    }
                }
            }
        }
        Ok(true)
    }
}

impl Read for MeasurementReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.out.len() {
            if self.ended {
                return Ok(0);
            }
            match self.fill() {
                Ok(true) => {}
                Ok(false) => {
                    self.ended = true;
                    return Ok(0);
                }
                Err(message) => {
                    return Err(std::io::Error::other(format!(
                        "measurement {} of {}: {message}",
                        self.name,
                        self.http.at.display()
                    )))
                }
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Cuts a stored measurement stream into points in their canonical form
/// ([`super::point::Point::canonical`]), the form the target's read-back
/// gives too.
pub struct LineSplitter {
    pub name: String,
    pub buf: Vec<u8>,
    pub row: Vec<u8>,
}

impl LineSplitter {
    fn corrupt(&self, detail: impl Into<String>) -> EngineError {
        EngineError::corrupt(format!("measurement {} in the backup", self.name), detail)
    }
}

impl RowSplitter for LineSplitter {
    fn feed(&mut self, data: &[u8], row: &mut dyn FnMut(&[u8])) -> Result<()> {
        self.buf.extend_from_slice(data);
        let mut used = 0;
        let result = loop {
            match next_line(&self.buf[used..]) {
                Ok(Some(line)) => {
                    let bytes = &self.buf[used..used + line.len];
                    match parse_line(bytes) {
                        Ok(mut point) => {
                            point.canonical(&mut self.row);
                            row(&self.row);
                        }
                        Err(detail) => break Err(detail),
                    }
                    used += line.len;
                }
                Ok(None) => break Ok(()),
                Err(detail) => break Err(detail),
            }
        };
        self.buf.drain(..used);
        result.map_err(|detail| self.corrupt(detail))
    }

    fn end(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.corrupt("the stream ends in the middle of a line"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_in_any_pieces_gives_the_same_points() {
        let stream = b"m,t=a\\ b f=1.5,s=\"x\ny\" 5\nm g=2i,h=true -7\n";
        let rows = |piece: usize| {
            let mut splitter = LineSplitter {
                name: "m".into(),
                buf: Vec::new(),
                row: Vec::new(),
            };
            let mut rows = Vec::new();
            for chunk in stream.chunks(piece) {
                splitter
                    .feed(chunk, &mut |r| {
                        rows.push(String::from_utf8(r.to_vec()).unwrap())
                    })
                    .unwrap();
            }
            splitter.end().unwrap();
            rows
        };
        let whole = rows(stream.len());
        assert_eq!(whole, ["m,t=a\\ b f=1.5,s=\"x\ny\" 5", "m g=2i,h=true -7"]);
        assert_eq!(rows(1), whole);
        assert_eq!(rows(7), whole);

        let mut splitter = LineSplitter {
            name: "m".into(),
            buf: Vec::new(),
            row: Vec::new(),
        };
        splitter.feed(b"m f=1 5\nm f=", &mut |_| {}).unwrap();
        assert!(splitter
            .end()
            .unwrap_err()
            .to_string()
            .contains("measurement m"));
        assert!(splitter.feed(b"1 x\n", &mut |_| {}).is_err());
    }
}
