use clap::Args;
use tidemark_engine::restore::{
    plan_restore, run_restore, Action, ConflictPolicy, Outcome as CheckOutcome, RestoreOptions,
    RestorePlan, RestoreStats, VerifyMode,
};
use tidemark_engine::{open_target, CancelToken, DuplicatePolicy, Selection, SourceUrl, TimeRange};

use super::progress::CliProgress;
use super::{print_json, Outcome, RepoArgs};

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The point to restore: its id, or `latest`.
    #[arg(long, value_name = "ID|latest", required_unless_present_any = ["to_time", "to_gtid"])]
    pub point: Option<String>,
    /// Restore a MariaDB database, or a PostgreSQL cluster, as it was at
    /// this second (UTC, 'YYYY-MM-DD HH:MM:SS'): the newest full point of
    /// --task before it, then its archived log up to the last transaction
    /// committed at or before it.
    #[arg(long, value_name = "TIME", conflicts_with_all = ["point", "to_gtid"], requires = "task")]
    pub to_time: Option<String>,
    /// ... or up to and including this transaction (DOMAIN-SERVER-SEQ).
    #[arg(long, value_name = "GTID", conflicts_with = "point", requires = "task")]
    pub to_gtid: Option<String>,
    /// The task whose points and archived log --to-time uses.
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
    /// Where --to-time keeps the fetched logs while replaying them.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<std::path::PathBuf>,
    /// Where to restore: file:///ABSOLUTE/DIR or sqlite:///ABSOLUTE/FILE.db
    /// (a cluster task's point or --to-time: the new data directory)
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// Restore only this object (a directory selects what is below it),
    /// optionally under a new name: NAME=NEWNAME. Repeatable.
    #[arg(long, value_name = "NAME[=NEWNAME]")]
    pub object: Vec<String>,
    /// What to do with objects that already exist at the target.
    /// `merge` keeps an existing table and loads the backup's rows into it.
    #[arg(long, default_value = "stop", value_parser = ["stop", "skip", "overwrite", "merge"])]
    pub on_conflict: String,
    /// With `--on-conflict merge`: rows whose key exists stop the restore,
    /// are skipped, or the table's rows are deleted and rewritten.
    #[arg(long, default_value = "stop", value_parser = ["stop", "skip", "rewrite"])]
    pub on_duplicate: String,
    /// Restore only a time range of a table: TABLE=SINCE..UNTIL (either
    /// end may be empty; UTC times as for backup --since). Repeatable.
    #[arg(long, value_name = "TABLE=SINCE..UNTIL")]
    pub range: Vec<String>,
    /// Stop at the first object that fails and leave a SQLite or file
    /// target exactly as it was.
    #[arg(long)]
    pub all_or_nothing: bool,
    /// Keep others out of the target while restoring: a PostgreSQL database
    /// refuses new connections until the restore ends, even if it fails.
    #[arg(long)]
    pub lock: bool,
    /// How restored objects are read back and compared with the point:
    /// `content` (every value, by digest), `counts` (rows and time spans)
    /// or `off`.
    #[arg(long, default_value = "content", value_parser = ["content", "counts", "off"])]
    pub verify: String,
    /// A cluster task: start the recovered cluster on this port and leave
    /// it running (else it is stopped cleanly once recovered).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// A cluster task: afterwards, restore this database of the recovered
    /// cluster (only the tables --object names, if any, each optionally
    /// renamed) into --extract-into, with the logical restore, its
    /// --on-conflict, --lock and --verify.
    #[arg(long, value_name = "DATABASE", requires = "extract_into")]
    pub extract: Option<String>,
    /// The database the extraction restores into: postgres://USER:PASSWORD@HOST:PORT/DATABASE.
    #[arg(long, value_name = "URL", requires = "extract")]
    pub extract_into: Option<String>,
    /// Remove the recovered data directory once the extraction is done.
    #[arg(long, requires = "extract", conflicts_with = "port")]
    pub remove_recovered: bool,
    /// A cluster task: longest the server's replay of the WAL may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 6 * 3600)]
    pub recovery_time_limit: u64,
    /// Show the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

impl RestoreArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let repo = self.repo.open()?;
        let options = self.options()?;
        let target_url = SourceUrl::parse(&self.target)?;
        if let (Some(time), Some(task), SourceUrl::FileTree(dir)) =
            (&self.to_time, &self.task, &target_url)
        {
            let to = super::pg_recovery::to_time(time)?;
            return super::pg_recovery::run(&self, &repo, task, to, dir.clone());
        }
        if self.to_time.is_some() || self.to_gtid.is_some() {
            return super::restore_to_time::run(&self, &repo, &options);
        }
        let point = self.point.as_deref().unwrap_or("latest");
        let manifest = repo.point(point)?;
        if let (true, SourceUrl::FileTree(dir)) = (
            manifest.source.kind == tidemark_engine::CLUSTER_KIND,
            &target_url,
        ) {
            let to =
                tidemark_engine::restore::pg_recovery::PgRecoveryTarget::Point(manifest.id.clone());
            return super::pg_recovery::run(&self, &repo, &manifest.task, to, dir.clone());
        }
        let mut target = open_target(&SourceUrl::parse(&self.target)?)?;
        let plan = plan_restore(&manifest, target.as_ref(), &options)?;
        if self.dry_run {
            if self.json {
                print_json(&plan)?;
            } else {
                print_plan(&plan);
            }
            return Ok(Outcome::Success);
        }
        let progress = CliProgress::new(self.json);
        let stats = run_restore(
            &repo,
            &plan,
            target.as_mut(),
            &progress,
            &CancelToken::new(),
        )?;
        if self.json {
            print_json(&stats)?;
        } else {
            print_stats(&stats);
        }
        Ok(if stats.failed.is_empty() {
            Outcome::Success
        } else {
            Outcome::VerificationFailed
        })
    }

    fn options(&self) -> anyhow::Result<RestoreOptions> {
        Ok(RestoreOptions {
            objects: super::renames(&self.object),
            on_conflict: self.on_conflict.parse::<ConflictPolicy>()?,
            on_duplicate: self.on_duplicate.parse::<DuplicatePolicy>()?,
            ranges: self
                .range
                .iter()
                .map(|r| parse_range(r))
                .collect::<anyhow::Result<_>>()?,
            stop_on_failure: self.all_or_nothing,
            lock: self.lock,
            verify: self.verify.parse::<VerifyMode>()?,
        })
    }
}

pub(super) fn print_plan(plan: &RestorePlan) {
    println!("restore plan: point {} -> {}", plan.point, plan.target);
    for object in &plan.objects {
        let action = match object.action {
            Action::Create => "create",
            Action::Overwrite => "OVERWRITE",
            Action::Merge => "merge",
            Action::Skip => "skip",
        };
        let rename = if object.name == object.target_name {
            String::new()
        } else {
            format!(" as {}", object.target_name)
        };
        println!(
            "  {action:<9} {}{rename} ({})",
            object.name,
            indicatif::HumanBytes(object.size)
        );
    }
    println!(
        "{} objects, {}, about {:.0} s",
        plan.objects.len(),
        indicatif::HumanBytes(plan.bytes),
        plan.estimated_seconds.ceil()
    );
    println!("pre-checks:");
    for check in &plan.checks {
        let outcome = match check.outcome {
            CheckOutcome::Pass => "pass",
            CheckOutcome::Warn => "WARN",
            CheckOutcome::Fail => "FAIL",
        };
        println!("  {outcome:<4} {}: {}", check.name, check.detail);
    }
    if let Some(reason) = &plan.blocked {
        println!("BLOCKED: {reason}");
    }
}

pub(super) fn print_stats(stats: &RestoreStats) {
    eprintln!(
        "restored {} objects ({}), skipped {}, in {:.1} s (of which {:.1} s reading back and comparing)",
        stats.restored,
        indicatif::HumanBytes(stats.bytes),
        stats.skipped,
        stats.seconds,
        stats.verify_seconds
    );
    for note in &stats.notes {
        eprintln!("note: {note}");
    }
    super::print_checks(&stats.checks);
    for (object, reason) in &stats.failed {
        eprintln!("FAILED {object}: {reason}");
    }
}

/// `TABLE=SINCE..UNTIL`, either end optional.
fn parse_range(text: &str) -> anyhow::Result<(String, TimeRange)> {
    let (table, span) = text
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--range {text:?}: expected TABLE=SINCE..UNTIL"))?;
    let (since, until) = span
        .split_once("..")
        .ok_or_else(|| anyhow::anyhow!("--range {text:?}: expected SINCE..UNTIL after '='"))?;
    let bound = |t: &str| -> anyhow::Result<Option<String>> {
        Ok(if t.trim().is_empty() {
            None
        } else {
            Some(Selection::parse_time(t)?)
        })
    };
    Ok((
        table.to_owned(),
        TimeRange {
            since: bound(since)?,
            until: bound(until)?,
        },
    ))
}
