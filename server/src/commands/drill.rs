//! `tidemark drill`: prove a point restorable in a throwaway sandbox.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tidemark_engine::drill::{
    plan_drill, run_drill, sweep_sandboxes, DrillOptions, DrillPlan, DrillStats, PointChoice,
    SandboxChoice, SqlCheck,
};
use tidemark_engine::CancelToken;

use super::progress::CliProgress;
use super::{print_json, Outcome, RepoArgs};

#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The point to drill: its id, `latest`, or `random` (any retained point,
    /// to catch old damage).
    #[arg(long, default_value = "latest", value_name = "ID|latest|random")]
    pub point: String,
    /// The task whose points `latest` and `random` choose from.
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
    /// Where to restore: `auto` (a scratch directory, or a throwaway
    /// PostgreSQL server from the installed binaries), or a drill server
    /// URL on which a scratch database is created and dropped.
    #[arg(long, default_value = "auto", value_name = "auto|URL")]
    pub sandbox: String,
    /// A query run read-only in the sandbox and the value it must return:
    /// "SELECT count(*) FROM orders=120". Repeatable.
    #[arg(long = "check", value_name = "SQL=EXPECTED")]
    pub checks: Vec<String>,
    /// Fail (and clean up) a drill that takes longer.
    #[arg(long, value_name = "SECONDS")]
    pub time_limit: Option<u64>,
    /// Where sandboxes are recorded; leftovers of killed drills there are
    /// removed first.
    #[arg(long, env = "TIDEMARK_DRILL_DIR", value_name = "DIR")]
    pub scratch_dir: Option<PathBuf>,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

impl DrillArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let repo = self.repo.open()?;
        let scratch_dir = self
            .scratch_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("tidemark-drills"));
        let options = DrillOptions {
            task: self.task.clone(),
            point: self.point.parse::<PointChoice>()?,
            sandbox: self.sandbox.parse::<SandboxChoice>()?,
            checks: self
                .checks
                .iter()
                .map(|c| c.parse::<SqlCheck>())
                .collect::<Result<_, _>>()?,
            time_limit: self.time_limit.map(Duration::from_secs),
            scratch_dir: scratch_dir.clone(),
        };
        let plan = plan_drill(&repo, &options)?;
        if self.dry_run {
            if self.json {
                print_json(&plan)?;
            } else {
                print_plan(&plan);
            }
            return Ok(Outcome::Success);
        }
        if let Some(reason) = &plan.blocked {
            anyhow::bail!("the drill cannot run: {reason}");
        }
        for removed in sweep_sandboxes(&scratch_dir)? {
            eprintln!("removed {removed}");
        }
        let cancel = CancelToken::new();
        super::cancel_on_signal(
            cancel.clone(),
            "stopping the drill and removing its sandbox…",
        );
        let progress = CliProgress::new(self.json);
        let stats = run_drill(&repo, &plan, &progress, &cancel)?;
        if self.json {
            print_json(&stats)?;
        } else {
            print_stats(&stats);
        }
        Ok(if stats.passed {
            Outcome::Success
        } else {
            Outcome::VerificationFailed
        })
    }
}

fn print_plan(plan: &DrillPlan) {
    println!(
        "drill plan: point {} of task {} ({}, taken {})",
        plan.point,
        plan.task,
        plan.source_kind,
        plan.point_finished_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    println!("  sandbox: {}", plan.sandbox);
    println!(
        "  {} objects, {}, {} rows",
        plan.objects,
        indicatif::HumanBytes(plan.bytes),
        plan.rows
    );
    for check in &plan.checks {
        println!("  check: {} = {}", check.sql, check.expected);
    }
    for check in &plan.prechecks {
        println!("  pre-check {}: {}", check.name, check.detail);
    }
    if let Some(reason) = &plan.blocked {
        println!("BLOCKED: {reason}");
    }
}

fn print_stats(stats: &DrillStats) {
    for phase in &stats.phases {
        let took = (phase.finished_at - phase.started_at).num_milliseconds() as f64 / 1000.0;
        let error = phase
            .error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        eprintln!("{:<8} {took:>8.2} s{error}", phase.name);
    }
    for check in &stats.checks {
        let mark = if check.passed { "pass" } else { "FAIL" };
        eprintln!("{mark} {}: {}", check.name, check.detail);
    }
    eprintln!(
        "{} point {} in {}: restored and proved {} objects ({}, {} rows) in {:.1} s (the measured RTO); {:.1} s in all",
        if stats.passed { "PROVEN" } else { "FAILED" },
        stats.point,
        stats.sandbox,
        stats.objects,
        indicatif::HumanBytes(stats.bytes),
        stats.rows,
        stats.rto_seconds,
        stats.seconds
    );
    if let Some(error) = &stats.error {
        eprintln!("error: {error}");
    }
}
