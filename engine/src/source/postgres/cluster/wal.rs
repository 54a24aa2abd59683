//! Write-ahead log: segment names and positions, the server's own reader
//! (`pg_waldump`) for the commit times an archive indexes, and the
//! streamer (`pg_receivewal` through a replication slot).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::NaiveDateTime;

use super::super::conn::{PgAccess, PgLocation};
use crate::error::{EngineError, Result};

/// The usual segment size; an archive reads the real one from each
/// segment's first page.
pub const DEFAULT_SEGMENT_SIZE: u64 = 16 << 20;

/// A position in the log, `X/Y` as the server prints it.
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    let hi = u64::from_str_radix(hi, 16).ok()?;
    let lo = u64::from_str_radix(lo, 16).ok()?;
    (hi <= u64::from(u32::MAX) && lo <= u64::from(u32::MAX)).then_some((hi << 32) | lo)
}

/// A segment file's name: timeline, then the segment's place in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SegmentName {
    pub timeline: u32,
    pub log: u32,
    pub seg: u32,
}

impl SegmentName {
    pub fn parse(name: &str) -> Option<Self> {
        if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let part = |i: usize| u32::from_str_radix(&name[i..i + 8], 16).ok();
        Some(SegmentName {
            timeline: part(0)?,
            log: part(8)?,
            seg: part(16)?,
        })
    }

    /// The segment holding `lsn`.
    pub fn of(timeline: u32, lsn: u64, segment_size: u64) -> Self {
        let per_log = segments_per_log(segment_size);
        let number = lsn / segment_size;
        SegmentName {
            timeline,
            log: (number / per_log) as u32,
            seg: (number % per_log) as u32,
        }
    }

    /// The position the segment starts at.
    pub fn start(&self, segment_size: u64) -> u64 {
        (u64::from(self.log) * segments_per_log(segment_size) + u64::from(self.seg)) * segment_size
    }

    /// The segment after this one on the same timeline.
    pub fn next(&self, segment_size: u64) -> Self {
        Self::of(
            self.timeline,
            self.start(segment_size) + segment_size,
            segment_size,
        )
    }
}

impl std::fmt::Display for SegmentName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08X}{:08X}{:08X}", self.timeline, self.log, self.seg)
    }
}

fn segments_per_log(segment_size: u64) -> u64 {
    0x1_0000_0000 / segment_size.max(1)
}

/// A timeline history file's name (`00000002.history`).
pub fn is_history(name: &str) -> bool {
    name.len() == 16
        && name.ends_with(".history")
        && name[..8].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The system identifier and segment size in a segment's first page (its
/// long header): which cluster wrote it, and how big its segments are.
pub fn segment_header(bytes: &[u8]) -> Option<(u64, u64)> {
    let sysid = u64::from_le_bytes(bytes.get(24..32)?.try_into().ok()?);
    let size = u32::from_le_bytes(bytes.get(32..36)?.try_into().ok()?);
    (sysid != 0 && size.is_power_of_two()).then_some((sysid, u64::from(size)))
}

/// One line of a history file: the timeline `parent` ended at `switch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub parent: u32,
    pub switch: u64,
}

/// The branches a timeline's history file lists, oldest first.
pub fn parse_history(text: &str) -> Vec<Branch> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let parent = parts.next()?.parse().ok()?;
            let switch = parse_lsn(parts.next()?)?;
            Some(Branch { parent, switch })
        })
        .collect()
}

/// A commit record: where it starts, and when it committed (µs, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    pub lsn: u64,
    pub micros: i64,
}

/// What `pg_waldump` read from a stretch of log.
#[derive(Debug, Clone, Default)]
pub struct WalScan {
    pub commits: Vec<Commit>,
    /// Where readable log ended before the end asked for (a segment still
    /// being written), if it did.
    pub stopped_at: Option<u64>,
}

/// Reads `[start, end)` of the segment file `file` (named as its segment)
/// with `pg_waldump` and returns its commit records.
pub fn scan(pg_waldump: &Path, dir: &Path, start: u64, end: u64) -> Result<WalScan> {
    let out = Command::new(pg_waldump)
        .env("TZ", "UTC")
        .arg(format!("--path={}", dir.display()))
        .arg(format!("--start={}", lsn_text(start)))
        .arg(format!("--end={}", lsn_text(end)))
        .args(["--rmgr=Transaction"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| EngineError::io(pg_waldump, e))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut scan = WalScan {
        commits: stdout.lines().filter_map(commit_line).collect(),
        stopped_at: None,
    };
    if !out.status.success() {
        scan.stopped_at = stopped_at(&stderr, start)
            .ok_or_else(|| EngineError::Database {
                what: format!("read the write-ahead log from {}", lsn_text(start)),
                detail: format!("pg_waldump: {}", stderr.trim()),
            })?
            .into();
    }
    Ok(scan)
}

/// `... lsn: 0/030028E8, prev ..., desc: COMMIT 2026-12-01 21:06:37.134943 UTC`
/// (or `COMMIT_PREPARED 5: <time>`).
fn commit_line(line: &str) -> Option<Commit> {
    let lsn = parse_lsn(line.split("lsn: ").nth(1)?.split(',').next()?)?;
    let desc = line.split("desc: ").nth(1)?;
    let rest = desc
        .strip_prefix("COMMIT_PREPARED ")
        .and_then(|r| r.split_once(": ").map(|(_, t)| t))
        .or_else(|| desc.strip_prefix("COMMIT "))?;
    let text = rest.split(" UTC").next()?;
    let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    Some(Commit {
        lsn,
        micros: time.and_utc().timestamp_micros(),
    })
}

/// Where the log stopped being readable, from pg_waldump's last error
/// (`error in WAL record at A: invalid record length at B: ...`): the last
/// position in the message, never before `start`. `None` for an error that
/// is not about the end of what was written.
fn stopped_at(stderr: &str, start: u64) -> Option<u64> {
    let line = stderr.lines().rev().find(|l| l.contains("error"))?;
    if line.contains("could not find a valid record after") {
        return Some(start);
    }
    let (_, reason) = line.split_once("error in WAL record at ")?;
    let positions: Vec<u64> = reason
        .split(|c: char| !(c.is_ascii_hexdigit() || c == '/'))
        .filter(|w| w.contains('/'))
        .filter_map(parse_lsn)
        .collect();
    let last = positions.last().copied()?;
    Some(last.max(start))
}

/// A running `pg_receivewal`. Dropping it stops the process.
pub struct WalReceiver {
    child: Child,
    log: PathBuf,
}

impl WalReceiver {
    /// Streams through `slot` into `spool`, which keeps what earlier runs
    /// wrote: it goes on from the newest segment there (from the start of
    /// that segment), or from the slot's position.
    pub fn start(pg_receivewal: &Path, at: &PgLocation, spool: &Path, slot: &str) -> Result<Self> {
        let log = spool.join(".receiver.log");
        let stderr = std::fs::File::create(&log).map_err(|e| EngineError::io(&log, e))?;
        let child = Command::new(pg_receivewal)
            .envs(at.libpq_env())
            .arg(format!("--directory={}", spool.display()))
            .arg(format!("--slot={slot}"))
            // Each write is flushed before the server is told: the slot
            // never moves past what is on disk here.
            .args(["--synchronous", "--no-loop", "--no-password"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| EngineError::io(pg_receivewal, e))?;
        Ok(WalReceiver { child, log })
    }

    /// `Some(reason)` once the process has ended.
    pub fn ended(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => {
                let text = std::fs::read_to_string(&self.log).unwrap_or_default();
                Some(match why_stopped(&text) {
                    Some(why) => format!("pg_receivewal stopped ({status}): {why}"),
                    None => format!("pg_receivewal stopped ({status})"),
                })
            }
            Err(e) => Some(e.to_string()),
        }
    }

    pub fn stop(&mut self) {
        crate::source::dbio::terminate(&mut self.child);
    }
}

/// What pg_receivewal said before it ended: its closing "disconnected"
/// follows the line that says why.
fn why_stopped(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let (last, before) = lines.split_last()?;
    match before.last() {
        Some(reason) if last.ends_with("error: disconnected") => Some(format!("{reason}; {last}")),
        _ => Some((*last).to_owned()),
    }
}

impl Drop for WalReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_before_disconnected_is_kept() {
        let stderr = "pg_receivewal: error: unexpected termination of replication stream: ERROR:  requested WAL segment 000000010000000000000001 has already been removed\npg_receivewal: error: disconnected\n";
        assert_eq!(
            why_stopped(stderr).unwrap(),
            "pg_receivewal: error: unexpected termination of replication stream: ERROR:  requested WAL segment 000000010000000000000001 has already been removed; pg_receivewal: error: disconnected"
        );
        assert_eq!(why_stopped("\n").as_deref(), None);
        assert_eq!(
            why_stopped("pg_receivewal: error: could not connect\n").as_deref(),
            Some("pg_receivewal: error: could not connect")
        );
    }

    #[test]
    fn names_and_positions() {
        let name = SegmentName::parse("000000010000000000000003").unwrap();
        assert_eq!(name.start(DEFAULT_SEGMENT_SIZE), 0x300_0000);
        assert_eq!(
            SegmentName::of(1, parse_lsn("0/30028E8").unwrap(), DEFAULT_SEGMENT_SIZE),
            name
        );
        let last = SegmentName::parse("0000000200000004000000FF").unwrap();
        assert_eq!(
            last.next(DEFAULT_SEGMENT_SIZE).to_string(),
            "000000020000000500000000"
        );
        assert_eq!(lsn_text(0x1_0300_28E8), "1/30028E8");
        assert!(SegmentName::parse("00000001000000000000000G").is_none());
        assert!(is_history("00000002.history"));
        assert_eq!(
            parse_history("1\t0/3000158\tno recovery target specified\n"),
            vec![Branch {
                parent: 1,
                switch: 0x300_0158
            }]
        );
    }

    #[test]
    fn waldump_lines_are_read() {
        let line = "rmgr: Transaction len (rec/tot):     34/    34, tx:        727, lsn: 0/030028E8, prev 0/030028A8, desc: COMMIT 2026-12-01 21:06:37.134943 UTC";
        let commit = commit_line(line).unwrap();
        assert_eq!(commit.lsn, 0x30028E8);
        assert_eq!(commit.micros % 1_000_000, 134_943);
        let prepared = "rmgr: Transaction len (rec/tot): 1/1, tx: 0, lsn: 0/05000028, prev 0/0, desc: COMMIT_PREPARED 731: 2026-12-01 21:06:38.000001 UTC; inval msgs: catcache 1";
        assert_eq!(commit_line(prepared).unwrap().lsn, 0x500_0028);
        assert!(commit_line(
            "rmgr: Transaction ... lsn: 0/1, prev 0/0, desc: ABORT 2026-12-01 21:06:37.1 UTC"
        )
        .is_none());
        let err = "pg_waldump: error: error in WAL record at 0/30028E8: invalid record length at 0/3002910: wanted 24, got 0";
        assert_eq!(stopped_at(err, 0x300_0000), Some(0x300_2910));
        assert_eq!(
            stopped_at("pg_waldump: error: could not open file", 5),
            None
        );
    }
}
