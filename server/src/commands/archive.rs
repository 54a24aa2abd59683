//! `tidemark archive` (continuous archiving of MariaDB binary logs) and
//! `tidemark timeline` (what a task can be recovered to).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tidemark_engine::archive::{plan_archive, run_archive, ArchiveOptions};
use tidemark_engine::restore::Outcome as CheckOutcome;
use tidemark_engine::timeline::{timeline, Timeline};
use tidemark_engine::{CancelToken, SourceUrl};

use super::{print_json, Outcome, RepoArgs};

#[derive(Debug, Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The MariaDB server: mysql://USER:PASSWORD@HOST:PORT/DATABASE (the
    /// database the task backs up; the whole server's log is archived).
    #[arg(long, value_name = "URL")]
    pub source: String,
    /// The task whose points the archive continues.
    #[arg(long, value_name = "NAME")]
    pub task: String,
    /// Where the streamer writes before upload (emptied at start).
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// How often the growing log's new events are uploaded.
    #[arg(long, default_value = "2", value_name = "SECONDS")]
    pub upload_every: f64,
    /// Stop once the archive holds everything the server has written.
    #[arg(long)]
    pub until_caught_up: bool,
    /// Show the pre-checks and where archiving would start; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// A PostgreSQL cluster: force a WAL switch and wait (up to --timeout)
    /// until the segment it closed is in the repository, while an archiver
    /// runs for the task; exit 1 if it does not arrive.
    #[arg(long, conflicts_with = "dry_run")]
    pub check_switch: bool,
    #[arg(long, default_value = "60", value_name = "SECONDS")]
    pub timeout: u64,
    #[arg(long)]
    pub json: bool,
}

impl ArchiveArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let repo = self.repo.open()?;
        let source = SourceUrl::parse(&self.source)?;
        let spool = self.spool_dir.clone().unwrap_or_else(|| {
            let name: String = self
                .task
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            std::env::temp_dir().join(format!("tidemark-archive-{name}"))
        });
        anyhow::ensure!(
            self.upload_every > 0.0 && self.upload_every <= 3600.0,
            "--upload-every must be between 0 and 3600 seconds"
        );
        let mut options = ArchiveOptions::new(&self.task, spool);
        options.upload_every = Duration::from_secs_f64(self.upload_every);
        options.until_caught_up = self.until_caught_up;
        if self.check_switch {
            let SourceUrl::PgCluster(at) = &source else {
                anyhow::bail!("--check-switch is for postgres-cluster:// sources");
            };
            let cancel = CancelToken::new();
            super::cancel_on_signal(cancel.clone(), "stopping the check…");
            let check = tidemark_engine::archive::check_wal_switch(
                &repo,
                at,
                &self.task,
                Duration::from_secs(self.timeout),
                &cancel,
            )?;
            if self.json {
                print_json(&check)?;
            } else {
                println!(
                    "WAL switch at {}: segment {} was in the repository after {:.1} s",
                    check.switched_at, check.segment, check.seconds
                );
            }
            return Ok(Outcome::Success);
        }
        let plan = plan_archive(&repo, &source, &options)?;
        if self.dry_run {
            if self.json {
                print_json(&plan)?;
            } else {
                println!("archive plan: {} for task {}", plan.source, plan.task);
                for check in &plan.checks {
                    let outcome = match check.outcome {
                        CheckOutcome::Pass => "pass",
                        CheckOutcome::Warn => "WARN",
                        CheckOutcome::Fail => "FAIL",
                    };
                    println!("  {outcome:<4} {}: {}", check.name, check.detail);
                }
                if let Some(file) = &plan.start_file {
                    println!(
                        "  starts at {file} ({} bytes already archived)",
                        plan.archived
                    );
                }
                if let Some(gap) = &plan.gap {
                    println!("  GAP: {gap}");
                }
            }
            return Ok(Outcome::Success);
        }
        if let Some(check) = plan.blocked() {
            anyhow::bail!("archiving cannot start: {}: {}", check.name, check.detail);
        }
        let cancel = CancelToken::new();
        super::cancel_on_signal(cancel.clone(), "stopping the archiver…");
        let stats = run_archive(
            &repo,
            &source,
            &plan,
            &options,
            &ArchiveProgress::default(),
            &cancel,
        )?;
        if self.json {
            print_json(&stats)?;
        } else {
            eprintln!(
                "archived {} finished files, {} bytes, {} transactions; {} restarts; {} gaps",
                stats.files,
                stats.bytes,
                stats.transactions,
                stats.restarts,
                stats.gaps.len()
            );
            for gap in &stats.gaps {
                eprintln!("GAP: {gap}");
            }
        }
        Ok(Outcome::Success)
    }
}

#[derive(Debug, Args)]
pub struct TimelineArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[arg(long, value_name = "NAME")]
    pub task: String,
    #[arg(long)]
    pub json: bool,
}

impl TimelineArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let repo = self.repo.open()?;
        let line = timeline(&repo, &self.task)?;
        if self.json {
            print_json(&line)?;
        } else {
            print_timeline(&line);
        }
        Ok(Outcome::Success)
    }
}

fn print_timeline(line: &Timeline) {
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
    println!(
        "task {}: {} archived log files, {}",
        line.task,
        line.files,
        indicatif::HumanBytes(line.bytes)
    );
    if line.ranges.is_empty() {
        println!("  no recoverable range (a full point of the task and the log archived after it are needed)");
    }
    for range in &line.ranges {
        println!(
            "  recoverable {} .. {} UTC (from point {}, {} to {})",
            when(range.from),
            when(range.to),
            range.base_points.join(", "),
            range.first_file,
            range.last_file
        );
    }
    for gap in &line.gaps {
        println!(
            "  GAP after {}: {}",
            gap.from.map(when).unwrap_or_else(|| "the start".into()),
            gap.reason
        );
    }
    for point in line.points.iter().filter(|p| p.unusable.is_some()) {
        println!(
            "  point {} cannot be a base: {}",
            point.id,
            point.unusable.as_deref().unwrap_or_default()
        );
    }
    match (&line.archiver, line.lag_seconds) {
        (Some(a), Some(lag)) => println!(
            "  archiver {} on {} (pid {}): last complete {:.1} s ago{}{}",
            if a.running { "running" } else { "stopped" },
            a.host,
            a.pid,
            lag,
            a.slot_retained_bytes
                .map(|b| format!(
                    "; the slot holds back {:.1} MiB of WAL",
                    b as f64 / 1048576.0
                ))
                .unwrap_or_default(),
            a.error
                .as_deref()
                .map(|e| format!("; error: {e}"))
                .unwrap_or_default()
        ),
        _ => println!("  no archiver has run"),
    }
}

/// A line when archiving (re)starts and every half minute while it runs.
#[derive(Default)]
struct ArchiveProgress {
    bytes: std::sync::atomic::AtomicU64,
    transactions: std::sync::atomic::AtomicU64,
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

impl tidemark_engine::Progress for ArchiveProgress {
    fn set_title(&self, title: &str) {
        eprintln!("{title}");
    }

    fn set_length(&self, _: u64, _: u64) {}

    fn inc(&self, bytes: u64, items: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let bytes = self.bytes.fetch_add(bytes, Relaxed) + bytes;
        let transactions = self.transactions.fetch_add(items, Relaxed) + items;
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(30)) {
            *last = Some(std::time::Instant::now());
            eprintln!(
                "archived {} in {transactions} transactions so far",
                indicatif::HumanBytes(bytes)
            );
        }
    }

    fn finish(&self) {}
}
