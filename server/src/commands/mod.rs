//! The engine's commands on the command line. Each parses its arguments,
//! calls the engine (Options → Plan → Stats) and prints the result for
//! people or, with `--json`, for scripts.

mod archive;
mod backup;
mod copy;
mod diff;
mod drill;
mod inspect;
mod pg_recovery;
mod progress;
mod prune;
mod repo;
mod restore;
mod restore_to_time;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use tidemark_engine::{RepoLocation, Repository};

pub use archive::{ArchiveArgs, TimelineArgs};
pub use backup::BackupArgs;
pub use copy::CopyArgs;
pub use diff::DiffArgs;
pub use drill::DrillArgs;
pub use inspect::{PointsArgs, VerifyArgs};
pub use pg_recovery::WalGetArgs;
pub use prune::PruneArgs;
pub use repo::RepoCommand;
pub use restore::RestoreArgs;

/// How a command ended, beyond success and error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Verification found damage, or restored objects failed their checks.
    VerificationFailed,
    /// What was asked for does not exist (`wal-get`: exit 1, no message).
    NotFound,
}

/// Exit codes: 0 success, 1 failure, 2 usage error (from clap), 3 damage found.
pub const EXIT_VERIFICATION_FAILED: u8 = 3;

/// Where the repository is and how to unlock it; shared by every command.
#[derive(Debug, Clone, Args)]
pub struct RepoArgs {
    /// Repository: a path, or s3://BUCKET/PREFIX?endpoint=URL&region=NAME
    /// (credentials from --s3-key-file, else AWS_ACCESS_KEY_ID /
    /// AWS_SECRET_ACCESS_KEY).
    #[arg(long, env = "TIDEMARK_REPO", value_name = "REPO")]
    pub repo: String,
    /// An S3 repository's own access key: a file with the key id on its
    /// first line and the secret on its second (instead of the environment).
    #[arg(long, env = "TIDEMARK_S3_KEY_FILE", value_name = "PATH")]
    pub s3_key_file: Option<PathBuf>,
    /// File holding the passphrase of an encrypted repository (first line).
    /// TIDEMARK_PASSPHRASE is used when this is not given.
    #[arg(long, env = "TIDEMARK_PASSPHRASE_FILE", value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,
}

/// `location` with the access key in `key_file`, when one is given.
pub fn location_with_key(location: &str, key_file: Option<&Path>) -> anyhow::Result<RepoLocation> {
    let location = RepoLocation::parse(location)?;
    let Some(path) = key_file else {
        return Ok(location);
    };
    anyhow::ensure!(
        matches!(location, RepoLocation::S3 { .. }),
        "--s3-key-file is for an s3:// repository, not {}",
        location.display()
    );
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the S3 key file {}", path.display()))?;
    let mut lines = text.lines().map(str::trim);
    let (Some(id), Some(secret)) = (lines.next(), lines.next()) else {
        anyhow::bail!(
            "the S3 key file {} needs the key id on its first line and the secret on its second",
            path.display()
        );
    };
    anyhow::ensure!(
        !id.is_empty() && !secret.is_empty(),
        "the S3 key file {} has an empty key id or secret",
        path.display()
    );
    Ok(
        location.with_credentials(Some(tidemark_engine::S3Credentials {
            access_key_id: id.to_owned(),
            secret_access_key: secret.to_owned(),
        })),
    )
}

impl RepoArgs {
    pub fn location(&self) -> anyhow::Result<RepoLocation> {
        location_with_key(&self.repo, self.s3_key_file.as_deref())
    }

    pub fn passphrase(&self) -> anyhow::Result<Option<String>> {
        if let Some(path) = &self.passphrase_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
            let line = text.lines().next().unwrap_or_default().to_owned();
            anyhow::ensure!(
                !line.is_empty(),
                "the passphrase file {} is empty",
                path.display()
            );
            return Ok(Some(line));
        }
        Ok(std::env::var("TIDEMARK_PASSPHRASE")
            .ok()
            .filter(|p| !p.is_empty()))
    }

    pub fn open(&self) -> anyhow::Result<Repository> {
        Ok(Repository::open(
            &self.location()?,
            self.passphrase()?.as_deref(),
        )?)
    }
}

/// Ctrl-C or SIGTERM cancels `cancel` (saying `message`): the command
/// then stops cleanly (a drill removes its sandbox, the archiver stores
/// what it has).
pub fn cancel_on_signal(cancel: tidemark_engine::CancelToken, message: &'static str) {
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        });
        eprintln!("{message}");
        cancel.cancel();
    });
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `--object NAME[=NEWNAME]` values as the engine takes them.
pub fn renames(objects: &[String]) -> Vec<(String, Option<String>)> {
    objects
        .iter()
        .map(|o| match o.split_once('=') {
            Some((name, new)) => (name.to_owned(), Some(new.to_owned())),
            None => (o.clone(), None),
        })
        .collect()
}

/// One line per object read back: how it compared with the point.
pub fn print_checks(checks: &[tidemark_engine::restore::ObjectCheck]) {
    use tidemark_engine::restore::CheckOutcome;
    for check in checks {
        let mark = match check.outcome {
            CheckOutcome::Differs(_) => "DIFFERS",
            CheckOutcome::Content { .. } | CheckOutcome::RowsPresent { .. } => "exact",
            CheckOutcome::Counts { .. } => "counts",
            CheckOutcome::NotChecked => continue,
        };
        let at = if check.name == check.target_name {
            String::new()
        } else {
            format!(" as {}", check.target_name)
        };
        eprintln!("{mark:<7} {}{at}: {}", check.name, check.outcome.describe());
    }
}

/// `16MiB`, `64M`, `1G`, `4096`: binary units.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let size = parse_bytes(text)?;
    if size < 1 << 16 {
        return Err(format!(
            "{:?} is below the smallest pack size, 64KiB",
            text.trim()
        ));
    }
    Ok(size)
}

/// A number of bytes with an optional binary unit (a rate: bytes per second).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 16MiB)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} (use B, KiB, MiB or GiB)")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("65536"), Ok(65536));
        assert!(parse_size("12").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("MiB").is_err());
    }
}
