use std::path::PathBuf;

/// Errors of the engine. Each carries the path or object it concerns so the
/// message alone tells an administrator what to look at.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} exists but is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("directory {path} is not writable: {source}")]
    NotWritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;
