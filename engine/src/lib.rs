//! Tidemark's backup and restore engine.
//!
//! The engine has no web dependencies: the console (`app`, `server`) and the
//! command-line interface are two faces of it. This first slice holds the
//! local-storage primitives the console needs at start-up: preparing a
//! writable directory for the data directory and the default local
//! repository. Sources, the repository format and the commands build on it.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let repo = tidemark_engine::prepare_local_dir(&dir.path().join("repo")).unwrap();
//! assert!(repo.is_dir());
//! ```

mod error;
mod storage;

pub use error::{EngineError, Result};
pub use storage::local::prepare_local_dir;

/// The engine's version, recorded in every manifest it writes.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
