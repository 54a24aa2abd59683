//! The one error type that crosses from server functions to the browser.
//!
//! It carries only text that is safe and meaningful to an administrator.
//! Internal details (database messages, paths of the server's own files) are
//! logged on the server with a reference the browser shows, never sent.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Something the user asked for does not exist.
    #[error("{0} was not found")]
    NotFound(String),
    /// A user-supplied value was rejected; `field` names the form field.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A form had problems; each is shown beside its field.
    #[error("{}", summary(.0))]
    Validation(Vec<crate::model::FieldError>),
    /// The request conflicts with the current state (a run in progress,
    /// a name in use, files another task needs).
    #[error("{0}")]
    Conflict(String),
    /// The engine refused or failed; its message names what to look at.
    #[error("{0}")]
    Engine(String),
    /// No signed-in user (or API token) came with the request.
    #[error("sign in first")]
    Unauthorized,
    /// The user's role does not allow this, or the password must be changed.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// Too many sign-in attempts from this address.
    #[error("too many sign-in attempts from your address; try again in {0} s")]
    TooManyAttempts(u64),
    /// The catalog database could not answer.
    #[error("the catalog is unavailable (reference {reference}); see the server log")]
    CatalogUnavailable { reference: String },
    /// Any other server-side failure; details are in the server log.
    #[error("internal error (reference {reference}); see the server log")]
    Internal { reference: String },
    /// The request did not reach the server function or its answer was unreadable.
    #[error("request failed: {0}")]
    Transport(String),
}

fn summary(errors: &[crate::model::FieldError]) -> String {
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    format!("please correct: {}", fields.join(", "))
}

impl AppError {
    /// The message for one form field, if the error names it.
    pub fn field(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            AppError::Invalid { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
mod server_side {
    use super::AppError;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A short reference that ties a browser-visible message to its log line.
    fn new_reference() -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        format!("{:x}-{n}", chrono::Utc::now().timestamp())
    }

    impl AppError {
        /// Logs `err` with its full chain and returns an opaque internal error.
        pub fn internal(context: &str, err: &(dyn std::error::Error + 'static)) -> Self {
            let reference = new_reference();
            tracing::error!(%reference, error = %ErrorChain(err), "{context}");
            AppError::Internal { reference }
        }
    }

    impl From<tidemark_engine::EngineError> for AppError {
        fn from(err: tidemark_engine::EngineError) -> Self {
            tracing::warn!(error = %ErrorChain(&err), "engine operation failed");
            AppError::Engine(err.to_string())
        }
    }

    impl From<crate::catalog::CatalogWriteError> for AppError {
        fn from(err: crate::catalog::CatalogWriteError) -> Self {
            match err {
                crate::catalog::CatalogWriteError::Duplicate { field } => {
                    AppError::Validation(vec![crate::model::FieldError::new(
                        field,
                        "this name is already used",
                    )])
                }
                crate::catalog::CatalogWriteError::Db(db) => db.into(),
            }
        }
    }

    impl From<crate::jobs::StartError> for AppError {
        fn from(err: crate::jobs::StartError) -> Self {
            use crate::jobs::StartError;
            match err {
                StartError::NoTask(id) => AppError::NotFound(format!("task {id}")),
                StartError::Catalog(db) => db.into(),
                other => AppError::Conflict(other.to_string()),
            }
        }
    }

    impl From<crate::jobs::restore::RestoreStartError> for AppError {
        fn from(err: crate::jobs::restore::RestoreStartError) -> Self {
            use crate::jobs::restore::RestoreStartError;
            match err {
                RestoreStartError::NotFound(id) => AppError::NotFound(format!("restore task {id}")),
                RestoreStartError::Catalog(db) => db.into(),
                other => AppError::Conflict(other.to_string()),
            }
        }
    }

    /// Runs blocking engine work off the async runtime.
    pub async fn blocking<T: Send + 'static>(
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::internal("blocking task failed", &e))?
    }

    impl From<sqlx::Error> for AppError {
        fn from(err: sqlx::Error) -> Self {
            let reference = new_reference();
            tracing::error!(%reference, error = %ErrorChain(&err), "catalog query failed");
            AppError::CatalogUnavailable { reference }
        }
    }

    /// Displays an error with all its sources, for logs.
    pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

    impl std::fmt::Display for ErrorChain<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}", self.0)?;
            let mut source = self.0.source();
            while let Some(err) = source {
                write!(f, ": {err}")?;
                source = err.source();
            }
            Ok(())
        }
    }
}

#[cfg(feature = "ssr")]
pub use server_side::{blocking, ErrorChain};

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn database_text_never_reaches_the_message() {
        let err: AppError =
            sqlx::Error::Protocol("secret table xyz: password=hunter2".into()).into();
        let shown = err.to_string();
        assert!(
            !shown.contains("hunter2") && !shown.contains("xyz"),
            "{shown}"
        );
        assert!(shown.contains("catalog is unavailable"), "{shown}");
    }

    #[test]
    fn errors_round_trip_through_the_wire_encoding() {
        let err = AppError::Invalid {
            field: "name".into(),
            message: "must not be empty".into(),
        };
        let bytes = err.ser();
        assert_eq!(AppError::de(bytes), err);
    }
}
