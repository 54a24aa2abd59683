//! Point-in-time recovery of a MariaDB database: restore the newest full
//! point that precedes the chosen moment, then replay the archived binary
//! log from that point's snapshot position up to the last transaction
//! committed at or before the moment (or up to a GTID).
//!
//! The moment is resolved to a position with the archive's own index of
//! commit times and the replay stops by position (`--stop-datetime` has
//! known bugs across files). The replay stops at the first transaction in
//! log order that committed later, so the result is a state the database
//! really had.

use std::collections::BTreeMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use super::{plan_restore, run_restore, RestoreOptions, RestorePlan, RestoreStats};
use crate::commands::archive::{ArchiverStatus, BINLOG};
use crate::commands::timeline::{self, time, Run};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::archive::{file_number, LogArchive};
use crate::repo::manifest::Manifest;
use crate::repo::Repository;
use crate::source::mysql::binlog::{
    ClientReplayer, Gtid, ReplayRange, ReplayStats, Replayer, Scanner,
};
use crate::source::{MyLocation, MySqlTarget, SourceUrl};

/// Where to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryTarget {
    /// Everything committed at or before this second (UTC).
    Time(DateTime<Utc>),
    /// Everything up to and including this transaction.
    Gtid(Gtid),
}

impl RecoveryTarget {
    /// `YYYY-MM-DD HH:MM:SS` in UTC (or the other forms `--since` takes).
    pub fn time(text: &str) -> Result<Self> {
        let normal = crate::repo::manifest::Selection::parse_time(text)?;
        let naive = NaiveDateTime::parse_from_str(&normal, "%Y-%m-%d %H:%M:%S")
            .map_err(|e| EngineError::invalid(format!("time {text:?}"), e.to_string()))?;
        Ok(RecoveryTarget::Time(naive.and_utc()))
    }

    pub fn gtid(text: &str) -> Result<Self> {
        text.parse().map(RecoveryTarget::Gtid)
    }

    pub fn describe(&self) -> String {
        match self {
            RecoveryTarget::Time(t) => format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S")),
            RecoveryTarget::Gtid(g) => format!("GTID {g}"),
        }
    }
}

/// A log position: file and offset, ordered as the server wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogPos {
    pub file: String,
    pub pos: u64,
}

impl LogPos {
    fn key(&self) -> (Option<u64>, u64) {
        (file_number(&self.file), self.pos)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PitrPlan {
    pub task: String,
    pub to: String,
    pub base_point: String,
    /// The base point's restore.
    pub base: RestorePlan,
    /// Replay from the base point's snapshot position ...
    pub from: LogPos,
    /// ... to just before this one.
    pub until: LogPos,
    pub files: Vec<String>,
    /// Commit time of the last transaction the replay applies.
    pub last_commit: Option<DateTime<Utc>>,
    pub source_database: String,
    pub target_database: String,
    pub notes: Vec<String>,
    #[serde(skip)]
    target: MyLocation,
}

#[derive(Debug, Clone, Serialize)]
pub struct PitrStats {
    pub base: RestoreStats,
    pub replay: ReplayStats,
    /// Tables whose row count after the replay was read back and matched.
    pub counts_checked: Vec<(String, u64)>,
    pub notes: Vec<String>,
    pub seconds: f64,
}

fn refuse(message: impl Into<String>) -> EngineError {
    EngineError::Conflict(message.into())
}

pub fn plan_restore_to_time(
    repo: &Repository,
    task: &str,
    target_url: &SourceUrl,
    options: &RestoreOptions,
    to: &RecoveryTarget,
) -> Result<PitrPlan> {
    let SourceUrl::MySql(target_at) = target_url else {
        return Err(EngineError::invalid(
            "target",
            "point-in-time recovery restores MariaDB databases: give a mysql:// target",
        ));
    };
    if !options.objects.is_empty() || !options.ranges.is_empty() {
        return Err(refuse(
            "point-in-time recovery restores the whole database: the replayed log events cannot be limited to chosen tables, renamed or cut to time ranges (restore the whole database under another name, then copy what you need)",
        ));
    }
    let archive = LogArchive::new(repo, task, BINLOG);
    let gaps = archive.gaps()?;
    let runs = timeline::runs(archive.segments()?, &gaps);
    let bases = timeline::base_points(repo, task)?;
    if bases.is_empty() {
        return Err(refuse(format!(
            "task {task} has no full backup point with binary log coordinates (take a full backup of a MariaDB source with log_bin on)"
        )));
    }
    if runs.is_empty() {
        return Err(refuse(format!(
            "task {task} has no archived binary logs: run `tidemark archive` (or make the task continuous) first"
        )));
    }
    let (run, until, last_commit) = match to {
        RecoveryTarget::Time(t) => {
            let status: Option<ArchiverStatus> = archive.status()?;
            resolve_time(&runs, *t, &gaps, status.and_then(|s| s.synced_at))?
        }
        RecoveryTarget::Gtid(g) => resolve_gtid(&archive, &runs, *g)?,
    };
    let base = bases
        .iter()
        .rev()
        .find(|m| {
            m.log_position.as_ref().is_some_and(|p| {
                let at = LogPos { file: p.file.clone(), pos: p.pos };
                run.contains(&p.file, p.pos) && at.key() <= until.key()
            })
        })
        .ok_or_else(|| {
            refuse(format!(
                "no full point of task {task} precedes {} within the archived logs it can replay: the oldest usable one was taken at {}",
                to.describe(),
                bases
                    .iter()
                    .find_map(|m| m.log_position.as_ref().map(|p| p.taken_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()))
                    .unwrap_or_default()
            ))
        })?;
    let Some(position) = &base.log_position else {
        return Err(refuse("the base point has no log position"));
    };
    let from = LogPos {
        file: position.file.clone(),
        pos: position.pos,
    };
    let files: Vec<String> = run
        .segments
        .iter()
        .filter(|s| {
            let n = file_number(&s.name);
            n >= file_number(&from.file) && n <= file_number(&until.file)
        })
        .map(|s| s.name.clone())
        .collect();
    let target = MySqlTarget::open(target_at.clone())?;
    let base_plan = plan_restore(base, &target, options)?;
    let source_database = source_database(base)?;
    let mut notes = vec![format!(
        "restores point {} (snapshot at {}), then replays {} to {} offset {}",
        base.id,
        position.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
        files.first().cloned().unwrap_or_default(),
        until.file,
        until.pos
    )];
    if source_database != target_at.database {
        // mariadb-binlog's --rewrite-db cannot express a name with a space
        // (it cuts the name there, so events would go elsewhere).
        for name in [&source_database, &target_at.database] {
            if name.contains(char::is_whitespace) || name.contains("->") {
                return Err(refuse(format!(
                    "the replay cannot rename database {source_database:?} to {:?}: mariadb-binlog's --rewrite-db takes no name with spaces or \"->\"; restore under a name without them",
                    target_at.database
                )));
            }
        }
        notes.push(format!(
            "events of database {source_database} are applied to {}",
            target_at.database
        ));
    }
    Ok(PitrPlan {
        task: task.to_owned(),
        to: to.describe(),
        base_point: base.id.clone(),
        base: base_plan,
        from,
        until,
        files,
        last_commit,
        source_database,
        target_database: target_at.database.clone(),
        notes,
        target: target_at.clone(),
    })
}

fn source_database(manifest: &Manifest) -> Result<String> {
    crate::source::parse_my_url(&manifest.source.url).map(|at| at.database)
}

/// The run holding `t`, and where its replay stops: before the first
/// transaction committed after `t`. `synced_at`: the last moment the
/// archive held everything the server had written.
fn resolve_time<'a>(
    runs: &'a [Run],
    t: DateTime<Utc>,
    gaps: &[crate::repo::archive::Gap],
    synced_at: Option<DateTime<Utc>>,
) -> Result<(&'a Run, LogPos, Option<DateTime<Utc>>)> {
    let secs = t.timestamp();
    let shown = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let first_commit = |run: &Run| {
        run.segments
            .iter()
            .find_map(|s| s.marks.first().map(|m| m.time))
    };
    let Some(index) = runs
        .iter()
        .rposition(|run| first_commit(run).is_some_and(|f| f <= secs))
    else {
        return Err(refuse(format!(
            "{} is before the first archived transaction; nothing older can be recovered to the second",
            shown(t)
        )));
    };
    let run = &runs[index];
    let mut last_commit = None;
    for segment in &run.segments {
        for mark in &segment.marks {
            if mark.time > secs {
                let until = LogPos {
                    file: segment.name.clone(),
                    pos: mark.pos,
                };
                return Ok((run, until, last_commit.and_then(time)));
            }
            last_commit = Some(mark.time);
        }
        last_commit = segment.last_time.or(last_commit);
    }
    let Some(last) = run.last() else {
        return Err(refuse("the archive's run is empty"));
    };
    // After the run's last commit: the state holds only as long as the
    // archive is known to have had everything.
    if let Some(next) = runs.get(index + 1) {
        let first = next
            .segments
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let reason = gaps
            .iter()
            .find(|g| g.resumed_at == first)
            .map(|g| g.reason.clone())
            .unwrap_or_else(|| {
                format!(
                    "the logs between {} and {first} are not archived",
                    last.name
                )
            });
        return Err(refuse(format!(
            "{} falls in a hole of the archive (after the last archived commit, at {}): {reason}",
            shown(t),
            last_commit.and_then(time).map(shown).unwrap_or_default()
        )));
    }
    match synced_at {
        Some(synced) if synced >= t => {}
        _ => {
            return Err(refuse(format!(
                "{} is after the end of the archive: it holds transactions up to {}{}; wait for the archiver to catch up",
                shown(t),
                last_commit.and_then(time).map(shown).unwrap_or_default(),
                synced_at.map(|s| format!(" and was last complete at {}", shown(s))).unwrap_or_default()
            )))
        }
    }
    Ok((
        run,
        LogPos {
            file: last.name.clone(),
            pos: last.last_end,
        },
        last_commit.and_then(time),
    ))
}

/// The run holding transaction `g`, and the position just after it.
fn resolve_gtid<'a>(
    archive: &LogArchive<'_>,
    runs: &'a [Run],
    g: Gtid,
) -> Result<(&'a Run, LogPos, Option<DateTime<Utc>>)> {
    for run in runs.iter().rev() {
        for segment in run.segments.iter().rev() {
            let bytes = archive.read(segment, 0, segment.size)?;
            let mut scanner = Scanner::default();
            let (_, transactions) =
                scanner.feed(&bytes, &|| format!("archived binary log {}", segment.name))?;
            if let Some(t) = transactions.iter().find(|t| t.gtid == Some(g)) {
                return Ok((
                    run,
                    LogPos {
                        file: segment.name.clone(),
                        pos: t.end,
                    },
                    time(i64::from(t.time)),
                ));
            }
        }
    }
    Err(refuse(format!(
        "transaction {g} is not in the archived binary logs"
    )))
}

/// Restores the base point, replays the log range, then reads back each
/// table's row count and compares it with what the point and the replayed
/// row events add up to.
pub fn run_restore_to_time(
    repo: &Repository,
    plan: &PitrPlan,
    work_dir: &Path,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<PitrStats> {
    let started = Instant::now();
    let mut target = MySqlTarget::open(plan.target.clone())?;
    let base = run_restore(repo, &plan.base, &mut target, progress, cancel)?;
    if let Some((object, reason)) = base.failed.first() {
        return Err(EngineError::RestoreFailed {
            object: object.clone(),
            message: format!("{reason} (the base point did not restore, so no log was replayed)"),
        });
    }
    drop(target);
    cancel.check()?;

    progress.set_title("fetching binary logs");
    let dir = tempfile::Builder::new()
        .prefix("tidemark-replay-")
        .tempdir_in(work_dir)
        .map_err(|e| EngineError::io(work_dir, e))?;
    let archive = LogArchive::new(repo, &plan.task, BINLOG);
    let mut paths = Vec::new();
    let mut notes = Vec::new();
    for name in &plan.files {
        let segment = archive.segment(name)?.ok_or_else(|| {
            EngineError::corrupt(
                format!("archived binary log {name}"),
                "it is gone from the repository",
            )
        })?;
        let end = if *name == plan.until.file {
            plan.until.pos.min(segment.size)
        } else {
            segment.size
        };
        let bytes = archive.read(&segment, 0, end)?;
        // Every event's checksum, and whether DDL changes the tables.
        let mut scanner = Scanner::default();
        let (_, transactions) = scanner.feed(&bytes, &|| format!("archived binary log {name}"))?;
        let from = if *name == plan.from.file {
            plan.from.pos
        } else {
            0
        };
        for t in transactions.iter().filter(|t| t.start >= from) {
            if let Some((db, statement)) = &t.statement {
                if *db == plan.source_database {
                    notes.push(format!("the log changes the structure: {statement}"));
                }
            }
        }
        progress.fetched(bytes.len() as u64);
        let path = dir.path().join(name);
        write_private(&path, &bytes)?;
        paths.push(path);
    }
    cancel.check()?;
    progress.set_title("replaying binary logs");
    let range = ReplayRange {
        files: paths,
        start: plan.from.pos,
        stop: plan.until.pos,
        database: plan.source_database.clone(),
        rewrite_to: (plan.target_database != plan.source_database)
            .then(|| plan.target_database.clone()),
        table: None,
    };
    let replay = ClientReplayer {
        work_dir: dir.path().to_owned(),
    }
    .replay(&range, &plan.target, cancel)?;
    progress.rows(replay.rows);

    let mut counts_checked = Vec::new();
    if notes.is_empty() {
        counts_checked = check_counts(plan, &replay)?;
    } else {
        notes.push("row counts are not compared after a structure change".into());
    }
    progress.finish();
    Ok(PitrStats {
        base,
        replay,
        counts_checked,
        notes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Each table's rows after the replay: the point's plus those the row
/// events inserted minus those they deleted.
fn check_counts(plan: &PitrPlan, replay: &ReplayStats) -> Result<Vec<(String, u64)>> {
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for object in &plan.base.objects {
        if let Some(rows) = object.rows {
            expected.insert(object.target_name.clone(), rows as i64);
        }
    }
    for (table, net) in &replay.net_rows {
        *expected.entry(table.clone()).or_default() += net;
    }
    let target = MySqlTarget::open(plan.target.clone())?;
    let mut checked = Vec::new();
    for (table, want) in expected {
        let found = target.count_rows(&table)?;
        if found as i64 != want {
            return Err(EngineError::RestoreFailed {
                object: table.clone(),
                message: format!(
                    "after the replay it holds {found} rows, but the point and the replayed events add up to {want}"
                ),
            });
        }
        checked.push((table, found));
    }
    Ok(checked)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| EngineError::io(path, e))?;
    file.write_all(bytes).map_err(|e| EngineError::io(path, e))
}
