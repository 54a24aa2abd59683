use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use server::cli::{Cli, Command};
use server::commands::{Outcome, EXIT_VERIFICATION_FAILED};
use server::config::ServeConfig;

fn main() -> ExitCode {
    match run() {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::VerificationFailed) => ExitCode::from(EXIT_VERIFICATION_FAILED),
        Ok(Outcome::NotFound) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("tidemark: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<Outcome> {
    let cli = Cli::parse();
    server::telemetry::init(&cli.log)?;
    match cli.command {
        Command::Serve(args) => {
            let config = ServeConfig::prepare(args)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(server::serve(config))?;
            Ok(Outcome::Success)
        }
        Command::Repo(command) => command.run(),
        Command::Backup(args) => args.run(),
        Command::Points(args) => args.run(),
        Command::Diff(args) => args.run(),
        Command::Restore(args) => args.run(),
        Command::Archive(args) => args.run(),
        Command::Timeline(args) => args.run(),
        Command::WalGet(args) => args.run(),
        Command::Verify(args) => args.run(),
        Command::Prune(args) => args.run(),
        Command::Copy(args) => args.run(),
        Command::Drill(args) => args.run(),
    }
}
