//! The `tidemark` command line: the console server and, beside it, the
//! engine's commands.

use clap::{Parser, Subcommand};

use crate::commands::{
    ArchiveArgs, BackupArgs, CopyArgs, DiffArgs, DrillArgs, PointsArgs, PruneArgs, RepoCommand,
    RestoreArgs, TimelineArgs, VerifyArgs, WalGetArgs,
};
use crate::config::{LogArgs, ServeArgs};

#[derive(Debug, Parser)]
#[command(
    name = "tidemark",
    version,
    about = "Tidemark: back up and restore database and time-series data",
    after_help = "Exit codes: 0 success, 1 failure, 2 usage error, 3 damage found (verify), restored objects failed their checks, or a drill failed."
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
    /// Manage repositories.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Back up a source into a repository, publishing a new point.
    Backup(BackupArgs),
    /// List the backup points of a repository.
    Points(PointsArgs),
    /// What changed between two points (or a point and its parent): objects
    /// added, removed and changed, from the manifests alone.
    Diff(DiffArgs),
    /// Restore a point, or chosen objects of it, to a target; or a MariaDB
    /// database or a PostgreSQL cluster (into a new data directory) to a
    /// chosen second (--to-time) from a point and the archived log.
    Restore(RestoreArgs),
    /// Copy a MariaDB server's binary logs, or a PostgreSQL cluster's WAL
    /// (postgres-cluster://), into the repository as they are written
    /// (continuous archiving, for point-in-time recovery), until stopped.
    Archive(ArchiveArgs),
    /// Show the times a task can be recovered to, the holes, and the lag.
    Timeline(TimelineArgs),
    /// Give a recovering PostgreSQL server a WAL file from the repository
    /// (its restore_command: `tidemark wal-get --repo R --task T %f %p`).
    WalGet(WalGetArgs),
    /// Check a repository: structure, and with --read-data every chunk.
    Verify(VerifyArgs),
    /// Prove a point restorable: restore it into a throwaway sandbox, check
    /// every value, run your checks, measure the time, throw it away.
    Drill(DrillArgs),
    /// Forget points by retention rules and delete data no kept point needs.
    Prune(PruneArgs),
    /// Copy the points a second repository lacks to it (only the chunks it
    /// does not hold, re-encrypted for it, read back before each point is
    /// published), e.g. a local repository to S3.
    Copy(CopyArgs),
}
