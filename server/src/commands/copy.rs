//! `tidemark copy`: the points a second repository lacks, to it, with its
//! own retention afterwards.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tidemark_engine::copy::{plan_copy, run_copy, CopyOptions};
use tidemark_engine::prune::{plan_prune, run_prune, PruneOptions};
use tidemark_engine::{CancelToken, Repository};

use super::progress::CliProgress;
use super::{print_json, Outcome};

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The repository to copy from (a path or s3://…).
    #[arg(long, value_name = "REPO")]
    pub from: String,
    /// File holding the source repository's passphrase (first line);
    /// TIDEMARK_FROM_PASSPHRASE when not given.
    #[arg(long, env = "TIDEMARK_FROM_PASSPHRASE_FILE", value_name = "PATH")]
    pub from_passphrase_file: Option<PathBuf>,
    /// The repository to copy to; it must exist (`tidemark repo init`).
    #[arg(long, value_name = "REPO")]
    pub to: String,
    /// File holding the destination's passphrase; TIDEMARK_TO_PASSPHRASE
    /// when not given.
    #[arg(long, env = "TIDEMARK_TO_PASSPHRASE_FILE", value_name = "PATH")]
    pub to_passphrase_file: Option<PathBuf>,
    /// The source's own S3 access key (key id, then secret, a line each).
    #[arg(long, env = "TIDEMARK_FROM_S3_KEY_FILE", value_name = "PATH")]
    pub from_s3_key_file: Option<PathBuf>,
    /// The destination's own S3 access key (another account or provider).
    #[arg(long, env = "TIDEMARK_TO_S3_KEY_FILE", value_name = "PATH")]
    pub to_s3_key_file: Option<PathBuf>,
    /// Only the points of this task.
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
    /// Only this point (or `latest`), with the ancestors of its chain.
    #[arg(long, value_name = "ID|latest")]
    pub point: Option<String>,
    /// Copy only the newest N points of each task, and afterwards keep
    /// only the newest N in the destination (of --task alone, when given):
    /// its own retention; the source is not touched.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// Write to the destination at most this fast, per second, e.g. 5MiB.
    #[arg(long, value_parser = super::parse_bytes, value_name = "SIZE")]
    pub limit_upload: Option<u64>,
    /// Show the points that would be copied, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

fn open(
    location: &str,
    key_file: Option<&PathBuf>,
    file: Option<&PathBuf>,
    env: &str,
) -> anyhow::Result<Repository> {
    let passphrase = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
            let line = text.lines().next().unwrap_or_default().to_owned();
            anyhow::ensure!(
                !line.is_empty(),
                "the passphrase file {} is empty",
                path.display()
            );
            Some(line)
        }
        None => std::env::var(env).ok().filter(|p| !p.is_empty()),
    };
    Ok(Repository::open(
        &super::location_with_key(location, key_file.map(PathBuf::as_path))?,
        passphrase.as_deref(),
    )?)
}

impl CopyArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let from = open(
            &self.from,
            self.from_s3_key_file.as_ref(),
            self.from_passphrase_file.as_ref(),
            "TIDEMARK_FROM_PASSPHRASE",
        )
        .context("the source repository (--from)")?;
        let to = open(
            &self.to,
            self.to_s3_key_file.as_ref(),
            self.to_passphrase_file.as_ref(),
            "TIDEMARK_TO_PASSPHRASE",
        )
        .context("the destination repository (--to)")?;
        let options = CopyOptions {
            task: self.task.clone(),
            point: self.point.clone(),
            newest: self.keep_last,
            limit_upload: self.limit_upload,
            ..CopyOptions::default()
        };
        let plan = plan_copy(&from, &to, &options)?;
        if self.dry_run {
            let ids: Vec<&str> = plan.points.iter().map(|p| p.id.as_str()).collect();
            if self.json {
                print_json(&serde_json::json!({ "copy": ids, "present": plan.present }))?;
            } else {
                for id in &ids {
                    println!("copy    {id}");
                }
                for id in &plan.present {
                    println!("present {id}");
                }
            }
            return Ok(Outcome::Success);
        }
        let progress = CliProgress::new(self.json);
        let stats = run_copy(&from, &to, plan, &options, &progress, &CancelToken::new())?;
        let pruned = match self.keep_last {
            Some(keep) => {
                let prune = PruneOptions {
                    keep_last: Some(keep),
                    task: self.task.clone(),
                    ..Default::default()
                };
                let plan = plan_prune(&to, &prune)?;
                Some(run_prune(&to, &plan, &progress, &CancelToken::new())?)
            }
            None => None,
        };
        if self.json {
            print_json(&serde_json::json!({ "copy": stats, "prune": pruned }))?;
        } else {
            for id in &stats.copied {
                println!("copied  {id}");
            }
            println!(
                "copied {} points ({} already there): {} chunks written ({}), {} already held",
                stats.copied.len(),
                stats.present.len(),
                stats.chunks_written,
                indicatif::HumanBytes(stats.bytes_written),
                stats.chunks_present
            );
            if let Some(pruned) = pruned {
                println!(
                    "destination retention: removed {} points, freed {}",
                    pruned.points_removed,
                    indicatif::HumanBytes(pruned.bytes_freed)
                );
            }
        }
        Ok(Outcome::Success)
    }
}
