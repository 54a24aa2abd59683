use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use server::cli::{Cli, Command};
use server::config::ServeConfig;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tidemark: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    server::telemetry::init(&cli.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve(args) => {
            let config = ServeConfig::prepare(args)?;
            runtime.block_on(server::serve(config))?;
        }
    }
    Ok(())
}
