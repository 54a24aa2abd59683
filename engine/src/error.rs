use std::path::PathBuf;

/// Errors of the engine. Each names the thing it concerns (repository,
/// point, object, pack, path) so the message alone tells an administrator
/// what to look at.
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
    #[error("invalid {what}: {message}")]
    InvalidInput { what: String, message: String },
    #[error("cannot {op} {path} in {location}: {source}")]
    Storage {
        op: &'static str,
        path: String,
        location: String,
        #[source]
        source: Box<opendal::Error>,
    },
    #[error("no Tidemark repository at {location} (config.json is missing); create one with `tidemark repo init`")]
    RepositoryNotFound { location: String },
    #[error("a repository already exists at {location}")]
    RepositoryExists { location: String },
    #[error("repository {location} is encrypted: give its passphrase (command line: TIDEMARK_PASSPHRASE or --passphrase-file; console: Repositories → Unlock)")]
    PassphraseRequired { location: String },
    #[error("wrong passphrase for repository {location}")]
    WrongPassphrase { location: String },
    #[error("damaged {what}: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("repository {location} is not writable: {source}")]
    RepositoryNotWritable {
        location: String,
        #[source]
        source: Box<EngineError>,
    },
    #[error("repository {location} is locked by {holder}; wait for it to finish")]
    Locked { location: String, holder: String },
    #[error("backup point {point} not found in {location}")]
    PointNotFound { point: String, location: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: cannot {what}: {detail}")]
    Database { what: String, detail: String },
    #[error("restore refused: {0}")]
    Conflict(String),
    #[error("restoring {object} failed: {message}")]
    RestoreFailed { object: String, message: String },
    #[error("the operation was cancelled")]
    Cancelled,
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    /// A stable name for what went wrong, for the console to head the
    /// message with in the reader's language (the message itself names the
    /// object and stays as written).
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::CreateDir { .. }
            | EngineError::NotADirectory { .. }
            | EngineError::NotWritable { .. }
            | EngineError::Io { .. } => "file_system",
            EngineError::InvalidInput { .. } => "invalid_input",
            EngineError::Storage { .. } => "storage",
            EngineError::RepositoryNotFound { .. } => "repository_not_found",
            EngineError::RepositoryExists { .. } => "repository_exists",
            EngineError::PassphraseRequired { .. } => "passphrase_required",
            EngineError::WrongPassphrase { .. } => "wrong_passphrase",
            EngineError::Corrupt { .. } => "corrupt",
            EngineError::RepositoryNotWritable { .. } => "repository_not_writable",
            EngineError::Locked { .. } => "locked",
            EngineError::PointNotFound { .. } => "point_not_found",
            EngineError::Database { .. } => "database",
            EngineError::Conflict(_) => "refused",
            EngineError::RestoreFailed { .. } => "restore_failed",
            EngineError::Cancelled => "cancelled",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, detail: impl Into<String>) -> Self {
        EngineError::Corrupt {
            what: what.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> Self {
        EngineError::InvalidInput {
            what: what.into(),
            message: message.into(),
        }
    }
}
