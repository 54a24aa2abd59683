//! A physical base backup as one stream: `pg_basebackup` writing the
//! cluster as a tar archive to standard output, straight into the chunker.
//! On its way the stream's `backup_label` and `backup_manifest` entries
//! are kept: they say where in the WAL the copy starts and where it is
//! consistent.

use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use chrono::{NaiveDateTime, Utc};

use super::super::conn::{PgAccess, PgLocation};
use super::wal::{parse_lsn, SegmentName, DEFAULT_SEGMENT_SIZE};
use crate::repo::manifest::LogPosition;

/// What the base backup's own files said.
#[derive(Debug, Clone, Default)]
pub struct BaseInfo {
    pub label: String,
    pub manifest: String,
}

impl BaseInfo {
    /// The WAL range: from `START WAL LOCATION` in the label to the
    /// manifest's `WAL-Ranges` end.
    pub fn position(&self, system_id: Option<u64>) -> Option<LogPosition> {
        let field = |name: &str| {
            self.label
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(str::trim)
        };
        let start = parse_lsn(field("START WAL LOCATION:")?.split_whitespace().next()?)?;
        let timeline: u32 = field("START TIMELINE:")?.parse().ok()?;
        let taken_at = field("START TIME:")
            .and_then(|t| {
                NaiveDateTime::parse_from_str(t.trim_end_matches(" UTC"), "%Y-%m-%d %H:%M:%S").ok()
            })
            .map(|t| t.and_utc())
            .unwrap_or_else(Utc::now);
        let manifest: serde_json::Value = serde_json::from_str(&self.manifest).ok()?;
        let end = manifest["WAL-Ranges"]
            .as_array()?
            .iter()
            .filter_map(|r| r["End-LSN"].as_str().and_then(parse_lsn))
            .max()?;
        Some(LogPosition {
            file: SegmentName::of(timeline, start, DEFAULT_SEGMENT_SIZE).to_string(),
            pos: start,
            gtid: String::new(),
            taken_at,
            end_pos: Some(end),
            timeline: Some(timeline),
            system_id,
        })
    }
}

/// pg_basebackup's standard output, watched for its two files of
/// interest; its exit status is checked at the end, so a failed copy is an
/// error, never a short base backup.
pub struct BaseBackupStream {
    child: Child,
    stdout: ChildStdout,
    stderr: Arc<Mutex<String>>,
    tar: TarWatch,
    found: Arc<Mutex<Option<BaseInfo>>>,
    at: String,
}

impl BaseBackupStream {
    pub fn start(
        pg_basebackup: &Path,
        at: &PgLocation,
        found: Arc<Mutex<Option<BaseInfo>>>,
    ) -> crate::error::Result<Self> {
        let mut child = Command::new(pg_basebackup)
            .envs(at.libpq_env())
            .args([
                "--pgdata=-",
                "--format=tar",
                // The WAL the copy needs to be consistent goes in it too:
                // the point restores without the archive.
                "--wal-method=fetch",
                "--checkpoint=fast",
                "--label=tidemark",
                "--no-password",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| crate::error::EngineError::io(pg_basebackup, e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| crate::error::EngineError::Database {
                what: format!("copy {}", at.display()),
                detail: "pg_basebackup gave no output stream".into(),
            })?;
        // Read apart, so a chatty pg_basebackup never blocks on a full pipe.
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let sink = stderr.clone();
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = err.read_to_string(&mut text);
                if let Ok(mut s) = sink.lock() {
                    *s = text;
                }
            });
        }
        Ok(BaseBackupStream {
            child,
            stdout,
            stderr,
            tar: TarWatch::default(),
            found,
            at: at.display(),
        })
    }
}

impl Read for BaseBackupStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.stdout.read(buf)?;
        self.tar.feed(&buf[..n]);
        if n == 0 && !buf.is_empty() {
            let status = self.child.wait()?;
            // The stderr reader ends with the process.
            std::thread::sleep(std::time::Duration::from_millis(20));
            let stderr = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
            if !status.success() {
                return Err(std::io::Error::other(format!(
                    "pg_basebackup of {} failed ({status}): {}",
                    self.at,
                    stderr.trim()
                )));
            }
            if self.tar.label.is_empty() || self.tar.manifest.is_empty() {
                return Err(std::io::Error::other(format!(
                    "pg_basebackup of {} wrote no backup_label or backup_manifest: it is not a base backup this engine can recover",
                    self.at
                )));
            }
            if let Ok(mut found) = self.found.lock() {
                *found = Some(BaseInfo {
                    label: String::from_utf8_lossy(&self.tar.label).into_owned(),
                    manifest: String::from_utf8_lossy(&self.tar.manifest).into_owned(),
                });
            }
        }
        Ok(n)
    }
}

impl Drop for BaseBackupStream {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Follows a tar stream's headers (512-byte blocks) and keeps the content
/// of the entries `backup_label` and `backup_manifest`.
#[derive(Default)]
struct TarWatch {
    header: Vec<u8>,
    /// Content bytes (padded to blocks) left in the current entry.
    left: u64,
    /// Real content bytes left, of an entry being kept.
    keep: u64,
    into: Option<Which>,
    label: Vec<u8>,
    manifest: Vec<u8>,
    ended: bool,
}

#[derive(Clone, Copy)]
enum Which {
    Label,
    Manifest,
}

impl TarWatch {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.ended {
            if self.left > 0 {
                let take = (self.left.min(bytes.len() as u64)) as usize;
                let kept = (self.keep.min(take as u64)) as usize;
                match self.into {
                    Some(Which::Label) => self.label.extend_from_slice(&bytes[..kept]),
                    Some(Which::Manifest) => self.manifest.extend_from_slice(&bytes[..kept]),
                    None => {}
                }
                self.keep -= kept as u64;
                self.left -= take as u64;
                bytes = &bytes[take..];
                continue;
            }
            let need = 512 - self.header.len();
            let take = need.min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < 512 {
                continue;
            }
            let header = std::mem::take(&mut self.header);
            if header.iter().all(|&b| b == 0) {
                // The end-of-archive blocks.
                self.ended = true;
                break;
            }
            let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
            let name = &header[..name_end];
            let size_text = String::from_utf8_lossy(&header[124..136]);
            let size =
                u64::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
                    .unwrap_or(0);
            self.left = size.div_ceil(512) * 512;
            self.keep = size;
            self.into = match name {
                b"backup_label" => Some(Which::Label),
                b"backup_manifest" => Some(Which::Manifest),
                _ => None,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, content: &[u8]) -> Vec<u8> {
        let mut header = vec![0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        let size = format!("{:011o}\0", content.len());
        header[124..136].copy_from_slice(size.as_bytes());
        let mut out = header;
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    #[test]
    fn the_label_and_manifest_are_kept_across_reads() {
        let label = b"START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nSTART TIME: 2026-12-01 21:06:28 UTC\nSTART TIMELINE: 1\n";
        let manifest = br#"{"WAL-Ranges": [{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }]}"#;
        let mut tar = entry("PG_VERSION", b"15\n");
        tar.extend(entry("backup_label", label));
        tar.extend(entry("base/1/1259", &vec![7u8; 9000]));
        tar.extend(entry("backup_manifest", manifest));
        tar.extend(vec![0u8; 1024]);
        let mut watch = TarWatch::default();
        for piece in tar.chunks(37) {
            watch.feed(piece);
        }
        assert_eq!(watch.label, label);
        let info = BaseInfo {
            label: String::from_utf8_lossy(&watch.label).into_owned(),
            manifest: String::from_utf8_lossy(&watch.manifest).into_owned(),
        };
        let position = info.position(Some(7)).unwrap();
        assert_eq!(position.file, "000000010000000000000002");
        assert_eq!(position.pos, 0x200_0028);
        assert_eq!(position.end_pos, Some(0x200_0100));
        assert_eq!(position.timeline, Some(1));
    }
}
