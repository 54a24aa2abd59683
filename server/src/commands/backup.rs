use clap::Args;
use tidemark_engine::backup::{plan_backup, run_backup, BackupOptions};
use tidemark_engine::{open_source, CancelToken, Compression, Selection, SourceUrl};

use super::progress::CliProgress;
use super::{parse_bytes, parse_size, print_json, Outcome, RepoArgs};

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// What to back up: file:///ABSOLUTE/DIR or sqlite:///ABSOLUTE/FILE.db
    #[arg(long, value_name = "URL")]
    pub source: String,
    /// Back up only paths (or tables) matching this regular expression; repeatable.
    #[arg(long, value_name = "RE")]
    pub include: Vec<String>,
    /// Leave out paths (or tables) matching this regular expression; repeatable.
    #[arg(long, value_name = "RE")]
    pub exclude: Vec<String>,
    /// The task this backup belongs to (incrementals follow the task's last point).
    #[arg(long, default_value = "cli", value_name = "NAME")]
    pub task: String,
    #[arg(long, default_value = "balanced", value_parser = ["fastest", "balanced", "best"])]
    pub compression: String,
    /// Time-series tables (a database table with one time column): only rows
    /// at or after this UTC time (YYYY-MM-DD[ HH:MM[:SS]] or RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// ... and before this one.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Incrementals read only the rows of time-series tables newer than the
    /// last point's latest time (for append-only tables; PostgreSQL).
    #[arg(long)]
    pub watermark: bool,
    /// Read everything instead of reusing unchanged files of the task's last point.
    #[arg(long)]
    pub full: bool,
    /// Size limit of one pack file, e.g. 16MiB.
    #[arg(long, default_value = "16MiB", value_parser = parse_size, value_name = "SIZE")]
    pub pack_size: u64,
    /// Read the source at most this fast, per second (all readers together), e.g. 20MiB.
    #[arg(long, value_parser = parse_bytes, value_name = "SIZE")]
    pub limit_read: Option<u64>,
    /// Write to the repository at most this fast, per second, e.g. 5MiB.
    #[arg(long, value_parser = parse_bytes, value_name = "SIZE")]
    pub limit_upload: Option<u64>,
    /// Print the result as JSON on standard output.
    #[arg(long)]
    pub json: bool,
}

impl BackupArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let repo = self.repo.open()?;
        let selection = Selection {
            include: self.include,
            exclude: self.exclude,
            since: self
                .since
                .as_deref()
                .map(Selection::parse_time)
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(Selection::parse_time)
                .transpose()?,
            watermark: self.watermark,
        };
        let source = open_source(&SourceUrl::parse(&self.source)?, &selection)?;
        let options = BackupOptions {
            task: self.task,
            compression: self.compression.parse::<Compression>()?,
            pack_size: self.pack_size,
            full: self.full,
            selection,
            limit_read: self.limit_read,
            limit_upload: self.limit_upload,
        };
        let plan = plan_backup(&repo, source.as_ref(), &options)?;
        if !self.json {
            eprintln!(
                "{} backup of {} ({} objects, {}) into {}{}",
                if plan.parent.is_some() {
                    "incremental"
                } else {
                    "full"
                },
                plan.source_url,
                plan.objects.len(),
                indicatif::HumanBytes(plan.bytes),
                repo.location(),
                [("reading", self.limit_read), ("writing", self.limit_upload)]
                    .iter()
                    .filter_map(|(what, limit)| limit
                        .map(|l| format!(", {what} at most {}/s", indicatif::HumanBytes(l))))
                    .collect::<String>()
                    + &plan
                        .parent
                        .as_ref()
                        .map(|p| format!(", parent {}", p.id))
                        .unwrap_or_default()
            );
        }
        let progress = CliProgress::new(self.json);
        let stats = run_backup(
            &repo,
            source.as_ref(),
            plan,
            &options,
            &progress,
            &CancelToken::new(),
        )?;
        for warning in &stats.warnings {
            eprintln!("warning: {warning}");
        }
        if self.json {
            print_json(&serde_json::json!({
                "point": stats.point,
                "mode": stats.mode,
                "parent": stats.parent,
                "objects": stats.objects,
                "bytes": stats.bytes,
                "bytes_read": stats.bytes_read,
                "totals": stats.totals,
                "seconds": stats.seconds,
                "warnings": stats.warnings,
            }))?;
        } else {
            println!("{}", stats.point);
            eprintln!(
                "backed up {} objects, {} ({} read) in {:.1} s; stored {} new chunks, {} after compression",
                stats.objects,
                indicatif::HumanBytes(stats.bytes),
                indicatif::HumanBytes(stats.bytes_read),
                stats.seconds,
                stats.totals.new_chunks,
                indicatif::HumanBytes(stats.totals.new_bytes_stored)
            );
        }
        Ok(Outcome::Success)
    }
}
