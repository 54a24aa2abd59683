//! The restore's VERIFYING phase for one object: the target reads it back
//! through its own output, and its content is compared with the point's
//! (digests of every row, a file's BLAKE3), after the counts and time
//! spans the target checks itself.

use serde::Serialize;

use crate::digest::{difference, digest_rows, RowDigest, RowTally};
use crate::error::{EngineError, Result};
use crate::repo::manifest::ObjectEntry;
use crate::repo::manifest::ObjectKind;
use crate::source::{DuplicatePolicy, FileReader, Load, LoadMode, Target};

/// How restored objects are read back and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyMode {
    /// Every value: rows' digests, files' content, as well as counts.
    #[default]
    Content,
    /// Row counts and time spans only.
    Counts,
    /// Nothing is read back.
    Off,
}

impl std::str::FromStr for VerifyMode {
    type Err = EngineError;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "content" => Ok(VerifyMode::Content),
            "counts" => Ok(VerifyMode::Counts),
            "off" => Ok(VerifyMode::Off),
            other => Err(EngineError::invalid(
                "verification",
                format!("{other:?} (expected content, counts or off)"),
            )),
        }
    }
}

impl VerifyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyMode::Content => "content",
            VerifyMode::Counts => "counts",
            VerifyMode::Off => "off",
        }
    }
}

/// How one restored object was checked.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectCheck {
    pub name: String,
    pub target_name: String,
    pub outcome: CheckOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "detail")]
pub enum CheckOutcome {
    /// Read back and equal to the point's content, value for value
    /// (`rows` for tables).
    Content { rows: Option<u64> },
    /// Every row of the backup is in the table, which has rows of its own.
    RowsPresent { rows: u64 },
    /// Counts and time spans equal; the content was not compared, and why.
    Counts { why: String },
    /// Not read back (structure, directories, verification off).
    NotChecked,
    /// Differs from the point: how.
    Differs(String),
}

impl CheckOutcome {
    pub fn difference(&self) -> Option<&str> {
        match self {
            CheckOutcome::Differs(how) => Some(how),
            _ => None,
        }
    }

    /// The outcome as an administrator reads it.
    pub fn describe(&self) -> String {
        match self {
            CheckOutcome::Content { rows: Some(rows) } => {
                format!("content verified ({rows} rows)")
            }
            CheckOutcome::Content { rows: None } => "content verified".into(),
            CheckOutcome::RowsPresent { rows } => {
                format!("all {rows} rows of the backup present")
            }
            CheckOutcome::Counts { why } => format!("counts verified ({why})"),
            CheckOutcome::NotChecked => "not read back".into(),
            CheckOutcome::Differs(how) => how.clone(),
        }
    }
}

/// Whether the rows' hashes are kept while loading: a merge that keeps
/// the table's own rows is checked row by row.
pub(super) fn keeps_rows(load: &Load) -> bool {
    matches!(
        load.mode,
        LoadMode::Merge(DuplicatePolicy::Stop | DuplicatePolicy::Skip)
    )
}

/// What the restore computed from the stored stream while loading an
/// object: the digest of the rows it loaded (of its time range only when
/// `ranged`) and, for a merge, each row's hash.
#[derive(Default)]
pub(crate) struct Expected {
    pub digest: Option<RowDigest>,
    pub tally: Option<RowTally>,
    pub ranged: bool,
    /// A file's read-back, already done (in parallel with other files).
    pub file: Option<CheckOutcome>,
}

/// Checks one restored object against what was loaded into it.
pub(crate) fn check_object(
    target: &mut dyn Target,
    mode: VerifyMode,
    entry: &ObjectEntry,
    load: &Load,
    expected: Expected,
) -> Result<CheckOutcome> {
    let Expected {
        digest,
        tally,
        ranged,
        file,
    } = expected;
    if mode == VerifyMode::Off {
        return Ok(CheckOutcome::NotChecked);
    }
    if let Some(difference) = target.verify_object(entry, load)? {
        return Ok(CheckOutcome::Differs(difference));
    }
    let counted = |why: &str| match entry.kind {
        ObjectKind::Table => CheckOutcome::Counts { why: why.into() },
        _ => CheckOutcome::NotChecked,
    };
    if mode == VerifyMode::Counts {
        return Ok(counted("content verification is off"));
    }
    match entry.kind {
        ObjectKind::File => match file {
            Some(outcome) => Ok(outcome),
            None => check_file(entry, load, &mut |e, l, piece| {
                target.read_back(e, l, piece)
            }),
        },
        ObjectKind::Table => {
            if load.range.is_some() && !ranged {
                return Ok(counted(
                    "the rows' time cannot be read from this source's stream, so a time range is compared by rows and time span",
                ));
            }
            if let Some(mut tally) = tally {
                let name = &load.name;
                let read = target.read_back(entry, load, &mut |row| tally.present(row))?;
                if !read {
                    return Ok(counted(unreadable(load)));
                }
                let missing = tally.missing();
                let rows = digest.map_or(0, |d| d.rows);
                return Ok(if missing == 0 {
                    CheckOutcome::RowsPresent { rows }
                } else {
                    CheckOutcome::Differs(format!(
                        "{missing} of the backup's {rows} rows are not in {name} as they were backed up (rows left out as duplicates count only when equal)"
                    ))
                });
            }
            let recorded = entry.digest.filter(|_| load.range.is_none());
            let Some(expected) = digest.or(recorded) else {
                return Ok(counted("rows of this source have no content digest"));
            };
            let Some(actual) = digest_rows(|row| target.read_back(entry, load, row))? else {
                return Ok(counted(unreadable(load)));
            };
            Ok(match difference(&load.name, &expected, &actual) {
                None => CheckOutcome::Content {
                    rows: Some(actual.rows),
                },
                Some(how) => CheckOutcome::Differs(how),
            })
        }
        ObjectKind::Dir | ObjectKind::Symlink | ObjectKind::Schema => Ok(CheckOutcome::NotChecked),
    }
}

/// A file is read back whole and its BLAKE3 compared with the point's.
type ReadFile<'a> = dyn FnMut(&ObjectEntry, &Load, &mut dyn FnMut(&[u8])) -> Result<bool> + 'a;

fn check_file(entry: &ObjectEntry, load: &Load, read: &mut ReadFile<'_>) -> Result<CheckOutcome> {
    if entry.checksum.is_none() {
        return Ok(CheckOutcome::NotChecked);
    }
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    let read = read(entry, load, &mut |piece| {
        size += piece.len() as u64;
        hasher.update(piece);
    })?;
    if !read {
        return Ok(CheckOutcome::NotChecked);
    }
    let actual = hasher.finalize().to_hex().to_string();
    Ok(compare_file(entry, load, size, actual))
}

/// A file's outcome from what it read back as.
fn compare_file(entry: &ObjectEntry, load: &Load, size: u64, actual: String) -> CheckOutcome {
    match &entry.checksum {
        None => CheckOutcome::NotChecked,
        Some(expected) if actual == *expected => CheckOutcome::Content { rows: None },
        Some(expected) => CheckOutcome::Differs(format!(
            "{} reads back as {size} bytes with BLAKE3 {actual}, the backup holds {} bytes with {expected}",
            load.name, entry.size
        )),
    }
}

/// Why a table was not read back: the target cannot, or not this range.
fn unreadable(load: &Load) -> &'static str {
    if load.range.is_some() {
        "this target cannot read this time range back as the backup holds it"
    } else {
        "this target cannot read tables back"
    }
}

/// Reads restored files back on several threads at once (a file tree of
/// many files is bound by reading and hashing, not by one disk queue);
/// the outcome of each by its name at the target.
pub(super) fn files_in_parallel(
    reader: &dyn FileReader,
    files: &[(&ObjectEntry, Load)],
) -> std::collections::HashMap<String, CheckOutcome> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    let done = std::sync::Mutex::new(std::collections::HashMap::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((entry, load)) = files.get(i) else {
                    return;
                };
                let outcome = match reader.read_early(entry, load) {
                    Some((size, actual)) => Ok(compare_file(entry, load, size, actual)),
                    None => check_file(entry, load, &mut |e, l, piece| {
                        reader.read_file(e, l, piece)
                    }),
                }
                .unwrap_or_else(|err| {
                    CheckOutcome::Differs(format!("{} cannot be read back: {err}", load.name))
                });
                done.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(load.name.clone(), outcome);
            });
        }
    });
    done.into_inner().unwrap_or_else(|p| p.into_inner())
}
