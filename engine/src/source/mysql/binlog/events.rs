//! MariaDB binary log events: just enough of the format to know where each
//! transaction (event group) ends, when it committed and its GTID, and to
//! read a file's server, starting GTID state and successor.
//!
//! Events are checked against their CRC32 when the server writes one, so
//! a damaged archive is found when it is indexed or read, not when the
//! replay trips over it.

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// Every binary log file starts with these four bytes.
pub const MAGIC: &[u8; 4] = b"\xfebin";
const HEADER: usize = 19;

const QUERY: u8 = 2;
const ROTATE: u8 = 4;
const FORMAT_DESCRIPTION: u8 = 15;
const XID: u8 = 16;
const XA_PREPARE: u8 = 38;
const GTID: u8 = 162;
const GTID_LIST: u8 = 163;
const START_ENCRYPTION: u8 = 164;
/// A GTID event's flag: the group is this one statement, with no COMMIT.
const FL_STANDALONE: u8 = 1;

/// A MariaDB GTID: `domain-server-sequence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gtid {
    pub domain: u32,
    pub server: u32,
    pub seq: u64,
}

impl std::fmt::Display for Gtid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

impl std::str::FromStr for Gtid {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            EngineError::invalid(
                format!("GTID {text:?}"),
                "expected DOMAIN-SERVER-SEQUENCE, as 0-1-42",
            )
        };
        let mut parts = text.trim().split('-');
        let mut next = || parts.next().ok_or_else(bad);
        let gtid = Gtid {
            domain: next()?.parse().map_err(|_| bad())?,
            server: next()?.parse().map_err(|_| bad())?,
            seq: next()?.parse().map_err(|_| bad())?,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(gtid)
    }
}

/// One committed event group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Offset of its first event (the GTID event).
    pub start: u64,
    /// Offset just past its last event.
    pub end: u64,
    /// When it committed: the terminating event's time, UTC seconds.
    pub time: u32,
    pub gtid: Option<Gtid>,
    /// A group that is one statement (DDL): its default database and text.
    pub statement: Option<(String, String)>,
}

/// Reads one binary log file as it grows: feed it bytes from where it
/// stopped; it keeps no bytes itself.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Offset of the next byte it expects (after the magic: 4).
    pub pos: u64,
    checksum: usize,
    pub server_id: Option<u32>,
    /// The GTID state the file starts from (its Gtid_list event).
    pub start_gtids: Option<Vec<Gtid>>,
    /// The file the server went on with (its Rotate event).
    pub next: Option<String>,
    open: Option<OpenGroup>,
    /// Offset just past the last complete group (where a replay may stop).
    pub last_end: u64,
}

#[derive(Debug)]
struct OpenGroup {
    start: u64,
    gtid: Gtid,
    standalone: bool,
}

impl Scanner {
    /// Consumes the complete events at the start of `bytes` (which begin
    /// at [`Scanner::pos`]; at 0 they must begin with the magic) and
    /// returns the groups they complete. Bytes of an event not yet whole
    /// are left for the next call: the caller keeps them.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        what: &dyn Fn() -> String,
    ) -> Result<(usize, Vec<Transaction>)> {
        let mut used = 0usize;
        if self.pos == 0 {
            if bytes.len() < MAGIC.len() {
                return Ok((0, Vec::new()));
            }
            if &bytes[..4] != MAGIC {
                return Err(EngineError::corrupt(
                    what(),
                    "not a binary log (no magic number)",
                ));
            }
            used = 4;
            self.pos = 4;
            self.last_end = 4;
        }
        let mut done = Vec::new();
        while bytes.len() - used >= HEADER {
            let event = &bytes[used..];
            let size = u32::from_le_bytes([event[9], event[10], event[11], event[12]]) as usize;
            if !(HEADER..=1 << 30).contains(&size) {
                return Err(EngineError::corrupt(
                    what(),
                    format!("an event at offset {} claims {size} bytes", self.pos),
                ));
            }
            if event.len() < size {
                break;
            }
            if let Some(t) = self.event(&event[..size], what)? {
                done.push(t);
            }
            used += size;
            self.pos += size as u64;
        }
        Ok((used, done))
    }

    fn event(&mut self, event: &[u8], what: &dyn Fn() -> String) -> Result<Option<Transaction>> {
        let time = u32::from_le_bytes([event[0], event[1], event[2], event[3]]);
        let kind = event[4];
        let server = u32::from_le_bytes([event[5], event[6], event[7], event[8]]);
        let start = self.pos;
        let end = start + event.len() as u64;
        if kind == FORMAT_DESCRIPTION {
            // Its last five bytes: the checksum algorithm, then a checksum.
            self.checksum = match event.len().checked_sub(5).map(|i| event[i]) {
                Some(1) => 4,
                _ => 0,
            };
            self.server_id = Some(server);
            return Ok(None);
        }
        if self.checksum == 4 {
            let (data, sum) = event.split_at(event.len() - 4);
            let stored = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
            if crc32(data) != stored {
                return Err(EngineError::corrupt(
                    what(),
                    format!("the event at offset {start} fails its CRC32 checksum"),
                ));
            }
        }
        let body = &event[HEADER..event.len() - self.checksum];
        match kind {
            START_ENCRYPTION => Err(EngineError::invalid(
                what(),
                "the binary log is encrypted (encrypt_binlog=ON); Tidemark reads the events the server sends, which it decrypts, so archive with `tidemark archive`, not from copied files",
            )),
            GTID if body.len() >= 13 => {
                let gtid = Gtid {
                    seq: u64::from_le_bytes(body[0..8].try_into().unwrap_or_default()),
                    domain: u32::from_le_bytes(body[8..12].try_into().unwrap_or_default()),
                    server,
                };
                // A group left open (the server stopped mid-write) never committed.
                self.open = Some(OpenGroup {
                    start,
                    gtid,
                    standalone: body[12] & FL_STANDALONE != 0,
                });
                Ok(None)
            }
            GTID_LIST if body.len() >= 4 => {
                let count = (u32::from_le_bytes(body[0..4].try_into().unwrap_or_default()) & 0x0fff_ffff) as usize;
                let list = body[4..]
                    .chunks_exact(16)
                    .take(count)
                    .map(|e| Gtid {
                        domain: u32::from_le_bytes(e[0..4].try_into().unwrap_or_default()),
                        server: u32::from_le_bytes(e[4..8].try_into().unwrap_or_default()),
                        seq: u64::from_le_bytes(e[8..16].try_into().unwrap_or_default()),
                    })
                    .collect();
                self.start_gtids.get_or_insert(list);
                Ok(None)
            }
            ROTATE if body.len() >= 8 => {
                self.next = Some(String::from_utf8_lossy(&body[8..]).into_owned());
                Ok(None)
            }
            _ => {
                let Some(open) = &self.open else {
                    return Ok(None);
                };
                let ends = open.standalone
                    || kind == XID
                    || kind == XA_PREPARE
                    || (kind == QUERY && ends_group(body));
                if !ends {
                    return Ok(None);
                }
                let statement = (open.standalone && kind == QUERY)
                    .then(|| query_parts(body))
                    .flatten()
                    .map(|(db, q)| (db.into_owned(), q.chars().take(200).collect::<String>()));
                let done = Transaction {
                    start: open.start,
                    end,
                    time,
                    gtid: Some(open.gtid),
                    statement,
                };
                self.open = None;
                self.last_end = end;
                Ok(Some(done))
            }
        }
    }
}

/// A Query event's default database and statement.
fn query_parts(body: &[u8]) -> Option<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)> {
    // Post-header: thread id 4, time 4, database length 1, error 2, status length 2.
    if body.len() < 13 {
        return None;
    }
    let db_len = body[8] as usize;
    let status_len = u16::from_le_bytes([body[11], body[12]]) as usize;
    let db_at = 13 + status_len;
    let db = body.get(db_at..db_at + db_len)?;
    let query = body.get(db_at + db_len + 1..)?;
    Some((String::from_utf8_lossy(db), String::from_utf8_lossy(query)))
}

/// A Query event whose statement is `COMMIT` or `ROLLBACK`.
fn ends_group(body: &[u8]) -> bool {
    let Some((_, query)) = query_parts(body) else {
        return false;
    };
    let query = query.trim().trim_end_matches(';').trim();
    query.eq_ignore_ascii_case("COMMIT") || query.eq_ignore_ascii_case("ROLLBACK")
}

fn crc32(data: &[u8]) -> u32 {
    const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    CRC.checksum(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: u8, time: u32, body: &[u8], checksum: bool) -> Vec<u8> {
        let size = HEADER + body.len() + if checksum { 4 } else { 0 };
        let mut e = Vec::new();
        e.extend_from_slice(&time.to_le_bytes());
        e.push(kind);
        e.extend_from_slice(&7u32.to_le_bytes());
        e.extend_from_slice(&(size as u32).to_le_bytes());
        e.extend_from_slice(&0u32.to_le_bytes());
        e.extend_from_slice(&0u16.to_le_bytes());
        e.extend_from_slice(body);
        if checksum {
            let sum = crc32(&e);
            e.extend_from_slice(&sum.to_le_bytes());
        }
        e
    }

    fn gtid(seq: u64, flags: u8) -> Vec<u8> {
        let mut b = seq.to_le_bytes().to_vec();
        b.extend_from_slice(&0u32.to_le_bytes());
        b.push(flags);
        b
    }

    fn query(text: &str) -> Vec<u8> {
        let mut b = vec![0u8; 13];
        b[8] = 1; // database "a"
        b.extend_from_slice(b"a\0");
        b.extend_from_slice(text.as_bytes());
        b
    }

    fn file() -> Vec<u8> {
        let mut f = MAGIC.to_vec();
        let mut fde = vec![0u8; 60];
        fde.push(1); // CRC32, then the event's own checksum
        fde.extend_from_slice(&[0; 4]);
        f.extend(event(FORMAT_DESCRIPTION, 100, &fde, false));
        f.extend(event(GTID, 100, &gtid(5, 0), true));
        f.extend(event(QUERY, 100, &query("BEGIN"), true));
        f.extend(event(XID, 101, &[0; 8], true));
        f.extend(event(GTID, 102, &gtid(6, FL_STANDALONE), true));
        f.extend(event(QUERY, 102, &query("CREATE TABLE t (a INT)"), true));
        f.extend(event(GTID, 103, &gtid(7, 0), true));
        f.extend(event(QUERY, 103, &query("COMMIT"), true));
        f
    }

    #[test]
    fn groups_end_at_xid_commit_or_their_one_statement_and_partial_bytes_wait() {
        let bytes = file();
        let mut scanner = Scanner::default();
        let cut = bytes.len() - 10;
        let (used, first) = scanner.feed(&bytes[..cut], &|| "test".into()).unwrap();
        assert_eq!(first.iter().map(|t| t.time).collect::<Vec<_>>(), [101, 102]);
        assert_eq!(first[0].gtid.unwrap().to_string(), "0-7-5");
        assert_eq!(first[0].statement, None);
        assert_eq!(
            first[1].statement,
            Some(("a".into(), "CREATE TABLE t (a INT)".into()))
        );
        assert!(used < cut);
        let (_, rest) = scanner.feed(&bytes[used..], &|| "test".into()).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].end, bytes.len() as u64);
        assert_eq!(scanner.last_end, bytes.len() as u64);
        assert_eq!(scanner.server_id, Some(7));
    }

    #[test]
    fn a_damaged_event_is_named_by_offset() {
        let mut bytes = file();
        let at = bytes.len() - 8;
        bytes[at] ^= 0xff;
        let err = Scanner::default()
            .feed(&bytes, &|| "binlog.000001".into())
            .unwrap_err();
        assert!(err.to_string().contains("CRC32"), "{err}");
        assert!(err.to_string().contains("binlog.000001"), "{err}");
    }

    #[test]
    fn gtids_parse_and_print() {
        let g: Gtid = "0-1-42".parse().unwrap();
        assert_eq!(g.to_string(), "0-1-42");
        assert!("0-1".parse::<Gtid>().is_err());
        assert!("a-b-c".parse::<Gtid>().is_err());
    }
}
