use clap::Subcommand;
use tidemark_engine::Repository;

use super::{print_json, Outcome, RepoArgs};

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Create a repository.
    Init {
        /// Repository: a path or an s3:// URL.
        repo: String,
        /// Encrypt everything stored, with a key sealed by the passphrase
        /// (TIDEMARK_PASSPHRASE or --passphrase-file).
        #[arg(long)]
        encrypt: bool,
        #[arg(long, env = "TIDEMARK_PASSPHRASE_FILE", value_name = "PATH")]
        passphrase_file: Option<std::path::PathBuf>,
        /// An S3 repository's own access key (key id, then secret, a line each).
        #[arg(long, env = "TIDEMARK_S3_KEY_FILE", value_name = "PATH")]
        s3_key_file: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

impl RepoCommand {
    pub fn run(self) -> anyhow::Result<Outcome> {
        match self {
            RepoCommand::Init {
                repo,
                encrypt,
                passphrase_file,
                s3_key_file,
                json,
            } => {
                let args = RepoArgs {
                    repo,
                    passphrase_file,
                    s3_key_file,
                };
                let passphrase = if encrypt {
                    let p = args.passphrase()?;
                    anyhow::ensure!(p.is_some(), "--encrypt needs a passphrase: set TIDEMARK_PASSPHRASE or give --passphrase-file");
                    p
                } else {
                    None
                };
                let location = args.location()?;
                let repository = Repository::init(&location, passphrase.as_deref())?;
                if json {
                    print_json(&serde_json::json!({
                        "location": repository.location(),
                        "id": repository.config().id,
                        "encrypted": repository.is_encrypted(),
                    }))?;
                } else {
                    println!(
                        "created {} repository {} at {}",
                        if repository.is_encrypted() {
                            "an encrypted"
                        } else {
                            "a"
                        },
                        repository.config().id,
                        repository.location()
                    );
                }
                Ok(Outcome::Success)
            }
        }
    }
}
