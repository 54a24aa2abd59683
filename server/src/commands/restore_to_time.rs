//! `tidemark restore --to-time` / `--to-gtid`: a MariaDB database as it was
//! at a chosen second, from a full point and the archived binary log.

use tidemark_engine::restore::to_time::{
    plan_restore_to_time, run_restore_to_time, RecoveryTarget,
};
use tidemark_engine::restore::RestoreOptions;
use tidemark_engine::{CancelToken, Repository, SourceUrl};

use super::progress::CliProgress;
use super::restore::{print_plan, print_stats, RestoreArgs};
use super::{print_json, Outcome};

pub(super) fn run(
    args: &RestoreArgs,
    repo: &Repository,
    options: &RestoreOptions,
) -> anyhow::Result<Outcome> {
    let task = args
        .task
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--to-time and --to-gtid need --task"))?;
    let to = match (&args.to_time, &args.to_gtid) {
        (Some(time), _) => RecoveryTarget::time(time)?,
        (None, Some(gtid)) => RecoveryTarget::gtid(gtid)?,
        (None, None) => anyhow::bail!("give --to-time or --to-gtid"),
    };
    let target = SourceUrl::parse(&args.target)?;
    let plan = plan_restore_to_time(repo, task, &target, options, &to)?;
    if args.dry_run {
        if args.json {
            print_json(&plan)?;
        } else {
            println!(
                "point-in-time recovery of task {} to {}",
                plan.task, plan.to
            );
            for note in &plan.notes {
                println!("  {note}");
            }
            if let Some(commit) = plan.last_commit {
                println!(
                    "  the last transaction replayed committed at {}",
                    commit.format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
            print_plan(&plan.base);
        }
        return Ok(Outcome::Success);
    }
    if let Some(reason) = &plan.base.blocked {
        anyhow::bail!("the restore cannot run: {reason}");
    }
    let work_dir = args.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    let cancel = CancelToken::new();
    super::cancel_on_signal(cancel.clone(), "stopping the restore…");
    let progress = CliProgress::new(args.json);
    let stats = run_restore_to_time(repo, &plan, &work_dir, &progress, &cancel)?;
    if args.json {
        print_json(&stats)?;
    } else {
        print_stats(&stats.base);
        eprintln!(
            "replayed {} transactions ({} row changes) from {} offset {} to {} offset {} in {:.1} s",
            stats.replay.transactions,
            stats.replay.rows,
            plan.from.file,
            plan.from.pos,
            plan.until.file,
            plan.until.pos,
            stats.replay_seconds
        );
        for (table, rows) in &stats.counts_checked {
            eprintln!(
                "counts  {table}: {rows} rows, as the point and the replayed events add up to"
            );
        }
        for note in &stats.notes {
            eprintln!("note: {note}");
        }
        eprintln!(
            "{} recovered to {} in {:.1} s",
            plan.target_database, plan.to, stats.seconds
        );
    }
    Ok(if stats.base.failed.is_empty() {
        Outcome::Success
    } else {
        Outcome::VerificationFailed
    })
}
