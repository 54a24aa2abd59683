//! Tidemark's backup and restore engine.
//!
//! The engine has no web dependencies: the console (`app`, `server`) and the
//! command-line interface are two faces of it. Every command follows
//! Options → Plan → Stats: the plan can be shown before anything changes.
//!
//! ```
//! use tidemark_engine::{backup, restore, FileTreeSource, FileTreeTarget, NoProgress, CancelToken, RepoLocation, Repository};
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::create_dir(dir.path().join("data")).unwrap();
//! std::fs::write(dir.path().join("data/readings.csv"), "ts,value\n1,2\n").unwrap();
//!
//! let repo = Repository::init(&RepoLocation::Local(dir.path().join("repo")), None).unwrap();
//! let source = FileTreeSource::new(dir.path().join("data"), &[], &[]).unwrap();
//! let options = backup::BackupOptions::default();
//! let plan = backup::plan_backup(&repo, &source, &options).unwrap();
//! let stats = backup::run_backup(&repo, &source, plan, &options, &NoProgress, &CancelToken::new()).unwrap();
//!
//! let mut target = FileTreeTarget::new(dir.path().join("restored"));
//! let point = repo.point(&stats.point).unwrap();
//! let plan = restore::plan_restore(&point, &target, &restore::RestoreOptions::default()).unwrap();
//! let done = restore::run_restore(&repo, &plan, &mut target, &NoProgress, &CancelToken::new()).unwrap();
//! assert!(done.failed.is_empty());
//! assert_eq!(std::fs::read_to_string(dir.path().join("restored/readings.csv")).unwrap(), "ts,value\n1,2\n");
//! ```

mod commands;
mod digest;
mod error;
mod progress;
mod repo;
mod source;
mod storage;
mod throttle;

pub use commands::{archive, backup, compare, copy, diff, drill, prune, restore, timeline, verify};
pub use digest::RowDigest;
pub use error::{EngineError, Result};
pub use progress::{CancelToken, NoProgress, Phase, Progress};
pub use repo::manifest::{
    BackupMode, LogPosition, Manifest, ObjectEntry, ObjectKind, PointSummary, Selection, Totals,
};
pub use repo::{Compression, RepoUsage, Repository};
pub use source::mysql::binlog::{Gtid, ReplayStats};
pub use source::postgres::cluster::KIND as CLUSTER_KIND;
pub use source::{
    open_source, open_target, DuplicatePolicy, FileReader, FileTreeSource, FileTreeTarget,
    InfluxSource, InfluxTarget, Load, LoadMode, ObjectSink, PostgresSource, ReadStats, Source,
    SourceDescription, SourceUrl, SqliteSource, SqliteTarget, Target, TimeRange,
};
pub use storage::local::prepare_local_dir;
pub use storage::{Backend, RepoLocation, S3Credentials};
pub use throttle::Throttle;

/// The engine's version, recorded in every manifest it writes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
