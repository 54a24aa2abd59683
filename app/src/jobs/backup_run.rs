//! One backup run of a task on the engine, on a blocking thread: plan,
//! back up, apply retention. The async side records what it reports.

use tidemark_engine::backup::{plan_backup, run_backup, BackupOptions, BackupStats};
use tidemark_engine::prune::{plan_prune, run_prune, PruneOptions};
use tidemark_engine::{
    open_source, BackupMode, CancelToken, Compression, EngineError, Progress, Repository,
    Selection, SourceUrl,
};

use super::tracker::Tracker;
use crate::model::{JobText, TaskSettings};

/// Everything a run needs, resolved from the catalog before it starts.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub settings: TaskSettings,
    pub source_url: String,
    /// The repository and what opens it (passphrases never in `Debug`).
    pub repository: crate::repo_access::RepoAccess,
    /// Read everything (the task's policy asks for a full point).
    pub full: bool,
    /// The repository's upload limit (bytes per second), on top of the task's.
    pub repository_upload: Option<u64>,
}

/// What the run tells the catalog while it goes.
pub trait RunLog {
    /// A line: its English text and, when it is one of the console's
    /// sentences, its key and values (the engine's own text has none).
    fn line(&self, level: &str, message: &str, text: Option<JobText>);
    /// The plan is made: full or incremental, and the point's name and path.
    fn planned(&self, mode: &str, point: &str, backup_path: &str);
}

pub fn mode_name(mode: BackupMode) -> &'static str {
    match mode {
        BackupMode::Full => "full",
        BackupMode::Incremental => "incremental",
    }
}

/// Runs the backup and then the task's retention. A retention failure is
/// logged as a warning: the new point is already safely published.
pub fn execute(
    spec: &RunSpec,
    tracker: &Tracker,
    cancel: &CancelToken,
    log: &dyn RunLog,
) -> Result<BackupStats, EngineError> {
    let settings = &spec.settings;
    tidemark_engine::Progress::set_title(tracker, "planning");
    let repo = spec.repository.open()?;
    let selection = Selection {
        include: settings.content.include_patterns(),
        exclude: Vec::new(),
        watermark: settings.watermark,
        ..Selection::default()
    };
    let source_url = SourceUrl::parse(&spec.source_url)?;
    if settings.continuous {
        // The archiver may not have streamed yet: the server must keep the
        // log from this base backup on until it has.
        tidemark_engine::archive::reserve_log(&source_url, &settings.name)?;
    }
    let source = open_source(&source_url, &selection)?;
    let options = BackupOptions {
        task: settings.name.clone(),
        compression: settings.compression.parse::<Compression>()?,
        pack_size: u64::from(settings.pack_size_mib) * 1024 * 1024,
        full: spec.full,
        selection,
        limit_read: settings.limits.bytes_per_second().0,
        // The stricter of the task's and the repository's.
        limit_upload: match (settings.limits.bytes_per_second().1, spec.repository_upload) {
            (Some(task), Some(repository)) => Some(task.min(repository)),
            (task, repository) => task.or(repository),
        },
    };
    let plan = plan_backup(&repo, source.as_ref(), &options)?;
    if plan.objects.is_empty() {
        return Err(EngineError::InvalidInput {
            what: "backup content".into(),
            message: format!(
                "nothing in {} matches the task's selection; edit the task's content",
                plan.source_url
            ),
        });
    }
    let backup_path = format!(
        "{}/runs/{}",
        repo.location().trim_end_matches('/'),
        plan.point
    );
    log.planned(mode_name(plan.mode), &plan.point, &backup_path);
    let planned = JobText::new(if plan.parent.is_some() {
        "backup_planned_parent"
    } else {
        "backup_planned"
    })
    .arg("mode", mode_name(plan.mode))
    .arg("source", &plan.source_url)
    .arg("objects", plan.objects.len())
    .arg("bytes", plan.bytes)
    .arg("path", &backup_path)
    .arg(
        "parent",
        plan.parent
            .as_ref()
            .map(|p| p.id.as_str())
            .unwrap_or_default(),
    );
    log.line(
        "info",
        &format!(
            "{} backup of {} ({} objects, {} bytes) into {}{}",
            mode_name(plan.mode),
            plan.source_url,
            plan.objects.len(),
            plan.bytes,
            backup_path,
            plan.parent
                .as_ref()
                .map(|p| format!(", parent point {}", p.id))
                .unwrap_or_default()
        ),
        Some(planned),
    );
    let notes: Vec<String> = settings
        .limits
        .describe()
        .into_iter()
        .chain(
            spec.repository_upload
                .map(|l| format!("the repository's writes at most {} MiB/s", l >> 20)),
        )
        .collect();
    let limited = (!notes.is_empty()).then(|| notes.join("; ")).map(|note| {
        log.line("info", &format!("bandwidth limits: {note}"), None);
        Limited {
            inner: tracker,
            note,
        }
    });
    let progress: &dyn Progress = match &limited {
        Some(limited) => limited,
        None => tracker,
    };
    let stats = run_backup(&repo, source.as_ref(), plan, &options, progress, cancel)?;
    for warning in &stats.warnings {
        log.line("warn", warning, None);
    }
    let seconds = format!("{:.1}", stats.seconds);
    let published = JobText::new("point_published")
        .arg("point", &stats.point)
        .arg("objects", stats.objects)
        .arg("bytes", stats.bytes)
        .arg("read", stats.bytes_read)
        .arg("new_chunks", stats.totals.new_chunks)
        .arg("chunks", stats.totals.chunks)
        .arg("stored", stats.totals.new_bytes_stored)
        .arg("seconds", &seconds);
    log.line(
        "info",
        &format!(
            "published point {}: {} objects, {} bytes ({} read), {} of {} chunks new, {} bytes stored, {seconds} s",
            stats.point,
            stats.objects,
            stats.bytes,
            stats.bytes_read,
            stats.totals.new_chunks,
            stats.totals.chunks,
            stats.totals.new_bytes_stored,
        ),
        Some(published),
    );
    if let Some(keep) = settings.keep_last {
        if let Err(err) = apply_retention(&repo, &settings.name, keep, tracker, cancel, log) {
            let text = JobText::new("retention_failed")
                .arg("keep", keep)
                .arg("error", &err);
            log.line(
                "warn",
                &format!("retention (keep {keep}) was not applied: {err}"),
                Some(text),
            );
        }
    }
    Ok(stats)
}

fn apply_retention(
    repo: &Repository,
    task: &str,
    keep: u32,
    tracker: &Tracker,
    cancel: &CancelToken,
    log: &dyn RunLog,
) -> Result<(), EngineError> {
    let options = PruneOptions {
        task: Some(task.to_owned()),
        keep_last: Some(keep as usize),
        ..PruneOptions::default()
    };
    let plan = plan_prune(repo, &options)?;
    if plan.remove.is_empty() {
        return Ok(());
    }
    let stats = run_prune(repo, &plan, tracker, cancel)?;
    let points = plan.remove.join(", ");
    let text = JobText::new("retention_applied")
        .arg("keep", keep)
        .arg("removed", stats.points_removed)
        .arg("points", &points)
        .arg("packs", stats.packs_deleted)
        .arg("freed", stats.bytes_freed);
    log.line(
        "info",
        &format!(
            "retention kept the newest {keep}: removed {} point(s) ({points}), deleted {} pack(s), freed {} bytes",
            stats.points_removed,
            stats.packs_deleted,
            stats.bytes_freed
        ),
        Some(text),
    );
    Ok(())
}

/// The live step names the limits that apply ("backing up (reading at
/// most 20 MiB/s)").
struct Limited<'a> {
    inner: &'a dyn Progress,
    note: String,
}

impl Progress for Limited<'_> {
    fn set_title(&self, title: &str) {
        self.inner.set_title(&format!("{title} ({})", self.note));
    }
    fn set_length(&self, bytes: u64, items: u64) {
        self.inner.set_length(bytes, items);
    }
    fn inc(&self, bytes: u64, items: u64) {
        self.inner.inc(bytes, items);
    }
    fn finish(&self) {
        self.inner.finish();
    }
    fn phase(&self, phase: tidemark_engine::Phase, done: bool) {
        self.inner.phase(phase, done);
    }
    fn fetched(&self, bytes: u64) {
        self.inner.fetched(bytes);
    }
    fn rows(&self, rows: u64) {
        self.inner.rows(rows);
    }
    fn object(&self, name: &str, error: Option<&str>) {
        self.inner.object(name, error);
    }
}
