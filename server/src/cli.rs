//! The `tidemark` command line: the console server and, beside it, the
//! engine's commands.

use clap::{Parser, Subcommand};

use crate::config::{LogArgs, ServeArgs};

#[derive(Debug, Parser)]
#[command(
    name = "tidemark",
    version,
    about = "Tidemark: back up and restore database and time-series data"
)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web console.
    Serve(ServeArgs),
}
