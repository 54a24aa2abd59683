//! Read-only commands: list points, verify the repository.

use clap::Args;
use tidemark_engine::compare::{plan_compare, run_compare, CompareOptions};
use tidemark_engine::verify::{verify, ReadSubset, VerifyOptions};
use tidemark_engine::{open_target, CancelToken, PointSummary, SourceUrl};

use super::progress::CliProgress;
use super::{print_json, Outcome, RepoArgs};

#[derive(Debug, Args)]
pub struct PointsArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[arg(long)]
    pub json: bool,
}

impl PointsArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let repo = self.repo.open()?;
        let (points, damaged) = repo.points()?;
        for err in &damaged {
            eprintln!("warning: {err}");
        }
        let summaries: Vec<PointSummary> = points.iter().map(PointSummary::from).collect();
        if self.json {
            print_json(&summaries)?;
        } else if summaries.is_empty() {
            eprintln!("no backup points in {}", repo.location());
        } else {
            println!(
                "{:<52} {:<11} {:>10} {:>10}  FINISHED",
                "POINT", "MODE", "SIZE", "ADDED"
            );
            for p in &summaries {
                println!(
                    "{:<52} {:<11} {:>10} {:>10}  {}",
                    p.id,
                    format!("{:?}", p.mode).to_lowercase(),
                    indicatif::HumanBytes(p.totals.bytes).to_string(),
                    indicatif::HumanBytes(p.totals.new_bytes_stored).to_string(),
                    p.finished_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
        }
        Ok(Outcome::Success)
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Check only this point (or `latest`).
    #[arg(long, value_name = "ID|latest")]
    pub point: Option<String>,
    /// Read back every pack and re-hash every chunk.
    #[arg(long)]
    pub read_data: bool,
    /// Read back only this share of the packs (1–100): round N of a
    /// rotation that covers every pack in ⌈100/PERCENT⌉ rounds.
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub read_data_subset: Option<u8>,
    /// With --read-data-subset: which round of the rotation (0 first).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        requires = "read_data_subset"
    )]
    pub round: u64,
    /// Instead of the repository, compare a live target (a database or
    /// directory URL, as for restore) with the point, read-only: every
    /// object is read back and compared value for value.
    #[arg(long, value_name = "URL", requires = "point")]
    pub against: Option<String>,
    /// With --against: compare only this object, optionally under another
    /// name at the target (NAME[=NEWNAME]). Repeatable.
    #[arg(long, value_name = "NAME[=NEWNAME]", requires = "against")]
    pub object: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

impl VerifyArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        if self.against.is_some() {
            return self.against();
        }
        let repo = self.repo.open()?;
        let options = VerifyOptions {
            point: self.point,
            read_data: self.read_data || self.read_data_subset.is_some(),
            read_subset: self.read_data_subset.map(|percent| ReadSubset {
                percent,
                round: self.round,
            }),
        };
        let progress = CliProgress::new(self.json);
        let report = verify(&repo, &options, &progress, &CancelToken::new())?;
        if self.json {
            print_json(&report)?;
        } else {
            println!(
                "checked {} points, {} objects, {} chunks{}",
                report.points,
                report.objects,
                report.chunks,
                if options.read_data {
                    format!(
                        "; read {} of {} packs",
                        report.packs_read, report.packs_total
                    )
                } else {
                    String::new()
                }
            );
            for problem in &report.problems {
                println!("DAMAGED {}: {}", problem.what, problem.detail);
                for affected in &problem.affects {
                    println!("  affects {affected}");
                }
            }
            println!(
                "{}",
                if report.is_clean() {
                    "no problems found"
                } else {
                    "problems found"
                }
            );
        }
        Ok(if report.is_clean() {
            Outcome::Success
        } else {
            Outcome::VerificationFailed
        })
    }
}

impl VerifyArgs {
    /// `verify --point ID --against URL`.
    fn against(self) -> anyhow::Result<Outcome> {
        let repo = self.repo.open()?;
        let point = self.point.as_deref().unwrap_or("latest");
        let manifest = repo.point(point)?;
        let url = self.against.as_deref().unwrap_or_default();
        let mut target = open_target(&SourceUrl::parse(url)?)?;
        let options = CompareOptions {
            objects: super::renames(&self.object),
        };
        let plan = plan_compare(&manifest, target.as_ref(), &options)?;
        let progress = CliProgress::new(self.json);
        let report = run_compare(
            &repo,
            &plan,
            target.as_mut(),
            &progress,
            &CancelToken::new(),
        )?;
        if self.json {
            print_json(&report)?;
        } else {
            super::print_checks(&report.checks);
            println!(
                "compared point {} with {}: {} equal, {} different, {} not compared by content",
                plan.point, plan.target, report.equal, report.different, report.unchecked
            );
        }
        Ok(if report.is_equal() {
            Outcome::Success
        } else {
            Outcome::VerificationFailed
        })
    }
}
