use clap::Args;
use tidemark_engine::prune::{plan_prune, run_prune, PruneOptions};
use tidemark_engine::CancelToken;

use super::progress::CliProgress;
use super::{print_json, Outcome, RepoArgs};

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Keep the newest N points of each task and source.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// Keep the newest point of each of the last N days.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<usize>,
    /// Keep the newest point of each of the last N ISO weeks.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<usize>,
    /// Keep the newest point of each of the last N months.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<usize>,
    /// Show what would be removed and kept, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

impl PruneArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let repo = self.repo.open()?;
        let options = PruneOptions {
            keep_last: self.keep_last,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            ..Default::default()
        };
        let plan = plan_prune(&repo, &options)?;
        if self.dry_run {
            if self.json {
                return print_json(&plan).map(|()| Outcome::Success);
            }
            for kept in &plan.keep {
                println!("keep   {} ({})", kept.id, kept.reasons.join(", "));
            }
            for removed in &plan.remove {
                println!("remove {removed}");
            }
            for (task, file) in &plan.log_files_to_delete {
                println!("remove archived log {file} of task {task} (older than every kept point)");
            }
            println!(
                "would delete {} packs ({}); {} packs stay because kept points still need part of them",
                plan.packs_to_delete.len(),
                indicatif::HumanBytes(plan.bytes_to_free),
                plan.packs_partly_needed
            );
            return Ok(Outcome::Success);
        }
        let progress = CliProgress::new(self.json);
        let stats = run_prune(&repo, &plan, &progress, &CancelToken::new())?;
        if self.json {
            print_json(&stats)?;
        } else {
            println!(
                "removed {} points, deleted {} packs and {} archived log files, freed {}",
                stats.points_removed,
                stats.packs_deleted,
                stats.log_files_deleted,
                indicatif::HumanBytes(stats.bytes_freed)
            );
        }
        Ok(Outcome::Success)
    }
}
