//! `tidemark restore` of a PostgreSQL cluster task into a new data
//! directory (`--target file:///DIR`): to a second (`--to-time`) or to a
//! base point as it was copied (`--point`); and `tidemark wal-get`, the
//! `restore_command` the recovering server runs.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tidemark_engine::restore::pg_recovery::{
    plan_recovery, run_recovery, PgExtract, PgRecoveryOptions, PgRecoveryTarget, StopAt,
};
use tidemark_engine::restore::to_time::RecoveryTarget;
use tidemark_engine::restore::wal_get::{fetch_wal, fetch_wal_via};
use tidemark_engine::restore::{ConflictPolicy, VerifyMode};
use tidemark_engine::{CancelToken, Repository};
use tidemark_engine::{DuplicatePolicy, SourceUrl};

use super::progress::CliProgress;
use super::restore::{print_stats, RestoreArgs};
use super::{print_json, Outcome, RepoArgs};

pub(super) fn run(
    args: &RestoreArgs,
    repo: &Repository,
    task: &str,
    to: PgRecoveryTarget,
    data_dir: PathBuf,
) -> anyhow::Result<Outcome> {
    let options = PgRecoveryOptions {
        data_dir,
        port: args.port,
        wal_get: std::env::current_exe()?,
        time_limit: Duration::from_secs(args.recovery_time_limit),
        extract: extract(args)?,
    };
    let plan = plan_recovery(repo, task, &to, &options)?;
    let stop = match &plan.stop {
        StopAt::Before { lsn } => {
            format!("just before the record at {lsn} (the first commit after the moment)")
        }
        StopAt::After { lsn } => format!("just after the commit at {lsn}"),
        StopAt::Consistent => "as soon as the copy is consistent".to_owned(),
    };
    if args.dry_run {
        if args.json {
            print_json(&plan)?;
        } else {
            println!(
                "recovery of cluster task {} to {} into {}",
                plan.task,
                plan.to,
                plan.data_dir.display()
            );
            println!(
                "  base point {} (consistent at {}, timeline {})",
                plan.base_point, plan.consistent_at, plan.timeline
            );
            println!(
                "  WAL {} to {}; the server stops {stop}",
                plan.first_segment, plan.last_segment
            );
            for note in &plan.notes {
                println!("  {note}");
            }
            if let Some(extract) = &plan.extract {
                println!(
                    "  then {} is restored into {}{}",
                    extract.describe(),
                    extract.target,
                    if extract.remove_cluster {
                        ", and the recovered cluster removed"
                    } else {
                        ""
                    }
                );
            }
        }
        return Ok(Outcome::Success);
    }
    let cancel = CancelToken::new();
    super::cancel_on_signal(cancel.clone(), "stopping the recovery…");
    let progress = CliProgress::new(args.json);
    let stats = run_recovery(repo, &plan, &options, &progress, &cancel)?;
    if args.json {
        print_json(&stats)?;
    } else {
        print_stats(&stats.base);
        for line in [&stats.stopped, &stats.last_transaction]
            .into_iter()
            .flatten()
        {
            eprintln!("server: {line}");
        }
        eprintln!(
            "{} recovered to {} in {:.1} s ({:.1} s of replay, {} WAL files from the repository){}",
            plan.data_dir.display(),
            plan.to,
            stats.seconds,
            stats.recovery_seconds,
            stats.wal_files_served,
            match (stats.running_on_port, &stats.extracted) {
                (Some(port), _) => format!("; running on port {port}"),
                (None, Some(e)) if e.removed_cluster => "; removed after the extraction".to_owned(),
                (None, _) => "; stopped cleanly (start it with pg_ctl)".to_owned(),
            }
        );
        if let Some(extracted) = &stats.extracted {
            eprintln!(
                "database {} extracted into {} in {:.1} s:",
                extracted.database, extracted.target, extracted.seconds
            );
            print_stats(&extracted.restore);
        }
    }
    Ok(Outcome::Success)
}

/// The extraction the arguments ask for; --object without --extract is
/// refused (a cluster is recovered whole).
fn extract(args: &RestoreArgs) -> anyhow::Result<Option<PgExtract>> {
    let (Some(database), Some(into)) = (&args.extract, &args.extract_into) else {
        if !args.object.is_empty() || !args.range.is_empty() {
            anyhow::bail!(
                "a cluster is recovered whole: choose tables with --extract DATABASE --extract-into URL"
            );
        }
        return Ok(None);
    };
    if !args.range.is_empty() {
        anyhow::bail!("an extraction takes whole tables (--range is not supported with --extract)");
    }
    let SourceUrl::Postgres(target) = SourceUrl::parse(into)? else {
        anyhow::bail!("--extract-into takes a postgres:// URL");
    };
    Ok(Some(PgExtract {
        database: database.clone(),
        target,
        tables: super::renames(&args.object),
        on_conflict: args.on_conflict.parse::<ConflictPolicy>()?,
        on_duplicate: args.on_duplicate.parse::<DuplicatePolicy>()?,
        lock: args.lock,
        verify: args.verify.parse::<VerifyMode>()?,
        remove_cluster: args.remove_recovered,
    }))
}

/// Cluster tasks recover with the server's own replay; the others with
/// the engine's (MariaDB).
pub(super) fn to_time(text: &str) -> anyhow::Result<PgRecoveryTarget> {
    match RecoveryTarget::time(text)? {
        RecoveryTarget::Time(t) => Ok(PgRecoveryTarget::Time(t)),
        RecoveryTarget::Gtid(_) => anyhow::bail!("a cluster recovers to a time"),
    }
}

#[derive(Debug, Args)]
pub struct WalGetArgs {
    /// The recovery's socket (what `tidemark restore` sets up).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["repo", "task"])]
    pub socket: Option<PathBuf>,
    /// ... or straight from a repository (with --task).
    #[arg(long, env = "TIDEMARK_REPO", value_name = "REPO", requires = "task")]
    pub repo: Option<String>,
    #[arg(long, env = "TIDEMARK_PASSPHRASE_FILE", value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
    /// The file the server asks for (%f).
    pub name: String,
    /// Where the server wants it (%p).
    pub dest: PathBuf,
}

impl WalGetArgs {
    /// Exit 0 with the file written, 1 when the archive does not hold it
    /// (the server then ends recovery or looks elsewhere).
    pub fn run(self) -> anyhow::Result<Outcome> {
        let found = match (&self.socket, &self.repo, &self.task) {
            (Some(socket), _, _) => fetch_wal_via(socket, &self.name, &self.dest)?,
            (None, Some(repo), Some(task)) => {
                let args = RepoArgs {
                    repo: repo.clone(),
                    passphrase_file: self.passphrase_file.clone(),
                    s3_key_file: None,
                };
                fetch_wal(&args.open()?, task, &self.name, &self.dest)?
            }
            _ => anyhow::bail!("give --socket, or --repo and --task"),
        };
        Ok(if found {
            Outcome::Success
        } else {
            Outcome::NotFound
        })
    }
}
