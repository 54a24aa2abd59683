//! `tidemark diff`: what changed between two points, read from their
//! manifests alone (no pack is read).

use clap::Args;
use tidemark_engine::diff::{diff_points, plan_diff, Change, DiffOptions, ObjectDiff};

use super::{print_json, Outcome, RepoArgs};

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The older point (an id, or `latest`); with one point only, it is the
    /// newer one and is compared with its parent (or the task's point before it).
    #[arg(value_name = "POINT_A")]
    pub first: String,
    /// The newer point (an id, or `latest`).
    #[arg(value_name = "POINT_B")]
    pub second: Option<String>,
    #[arg(long)]
    pub json: bool,
}

fn sign(change: Change) -> char {
    match change {
        Change::Added => '+',
        Change::Removed => '-',
        Change::Changed => 'M',
    }
}

/// "size 10 B → 12 B, rows 2 → 3, until … → …" for one line of the text report.
fn detail(o: &ObjectDiff) -> String {
    let mut parts = Vec::new();
    let size = |f: &tidemark_engine::diff::ObjectFacts| indicatif::HumanBytes(f.size).to_string();
    match (&o.before, &o.after) {
        (Some(b), Some(a)) => {
            if b.size != a.size {
                parts.push(format!("{} → {}", size(b), size(a)));
            }
            if b.rows != a.rows {
                let rows = |r: Option<u64>| r.map_or("?".into(), |r| r.to_string());
                parts.push(format!("rows {} → {}", rows(b.rows), rows(a.rows)));
            }
            if (&b.time_min, &b.time_max) != (&a.time_min, &a.time_max) {
                let span = |f: &tidemark_engine::diff::ObjectFacts| {
                    format!(
                        "{}..{}",
                        f.time_min.as_deref().unwrap_or(""),
                        f.time_max.as_deref().unwrap_or("")
                    )
                };
                parts.push(format!("time {} → {}", span(b), span(a)));
            }
            if !o.differs.is_empty() {
                parts.push(format!("({})", o.differs.join(", ")));
            }
        }
        (Some(f), None) | (None, Some(f)) => {
            parts.push(size(f));
            if let Some(rows) = f.rows {
                parts.push(format!("{rows} rows"));
            }
        }
        (None, None) => {}
    }
    parts.join(", ")
}

impl DiffArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        let repo = self.repo.open()?;
        let options = match self.second {
            Some(second) => DiffOptions {
                from: Some(self.first),
                to: second,
            },
            None => DiffOptions {
                from: None,
                to: self.first,
            },
        };
        let diff = diff_points(&plan_diff(&repo, &options)?);
        if self.json {
            print_json(&diff)?;
            return Ok(Outcome::Success);
        }
        println!("{} → {}", diff.from, diff.to);
        for object in &diff.objects {
            println!(
                "{}  {}  {}",
                sign(object.change),
                object.name,
                detail(object)
            );
        }
        println!(
            "{} added, {} removed, {} changed, {} unchanged; {} → {}",
            diff.added,
            diff.removed,
            diff.changed,
            diff.unchanged,
            indicatif::HumanBytes(diff.bytes_from),
            indicatif::HumanBytes(diff.bytes_to)
        );
        Ok(Outcome::Success)
    }
}
