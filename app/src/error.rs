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
    /// The request's arguments could not be read (not decodable, a field
    /// missing or of the wrong type): a mistake of the caller, not the form.
    #[error("the request could not be read: {0}")]
    BadRequest(String),
    /// The request's body is larger than the server accepts.
    #[error("the request is too large")]
    TooLarge,
    /// The request did not reach the server function or its answer was unreadable.
    #[error("request failed: {0}")]
    Transport(String),
}

fn summary(errors: &[crate::model::FieldError]) -> String {
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    format!("please correct: {}", fields.join(", "))
}

impl AppError {
    /// The HTTP status of an answer carrying this error: 4xx for what the
    /// caller can fix, 5xx only for the server's own faults.
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthorized => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            // Only names in use: the form is right but the state conflicts.
            AppError::Validation(errors)
                if !errors.is_empty() && errors.iter().all(|e| e.in_use) =>
            {
                409
            }
            AppError::TooLarge => 413,
            // The engine refused what the request names (a source, a
            // repository, a target): the message says what to change.
            AppError::Invalid { .. } | AppError::Validation(_) | AppError::Engine(_) => 422,
            AppError::TooManyAttempts(_) => 429,
            AppError::Internal { .. } | AppError::Transport(_) => 500,
            AppError::CatalogUnavailable { .. } => 503,
        }
    }

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

impl AppError {
    /// The error as the console shows it, in the user's language. The
    /// frame is translated here; what the server filled in (a name, the
    /// engine's reason) comes as the server wrote it.
    pub fn localized(&self, i18n: crate::I18n) -> String {
        use crate::i18n::*;
        match self {
            AppError::NotFound(what) => t_string!(i18n, errors.not_found, what).to_string(),
            AppError::Invalid { field, message } => format!("{field}: {message}"),
            AppError::Validation(errors) => {
                // The messages, not the field ids: each names what to fix
                // and is already in the user's language.
                let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
                t_string!(i18n, errors.please_correct, fields = messages.join("; ")).to_string()
            }
            AppError::Conflict(message) | AppError::Engine(message) => message.clone(),
            AppError::Unauthorized => t_string!(i18n, errors.sign_in_first).to_string(),
            AppError::Forbidden(why) => t_string!(i18n, errors.forbidden, why).to_string(),
            AppError::TooManyAttempts(secs) => {
                t_string!(i18n, errors.too_many_attempts, secs).to_string()
            }
            AppError::CatalogUnavailable { reference } => {
                t_string!(i18n, errors.catalog_unavailable, reference).to_string()
            }
            AppError::Internal { reference } => {
                t_string!(i18n, errors.internal, reference).to_string()
            }
            AppError::BadRequest(why) => t_string!(i18n, errors.bad_request, why).to_string(),
            AppError::TooLarge => t_string!(i18n, errors.too_large).to_string(),
            AppError::Transport(why) => t_string!(i18n, errors.transport, why).to_string(),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// On the server these are failures to read the request (the caller's
    /// mistake) or to build the answer (the server's); in the browser, to
    /// reach the server or read its answer.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        {
            server_side::from_server_fn_error(value)
        }
        #[cfg(not(feature = "ssr"))]
        {
            AppError::Transport(value.to_string())
        }
    }
}

#[cfg(feature = "ssr")]
mod server_side {
    use super::AppError;
    use leptos::server_fn::error::ServerFnErrorErr;
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

    /// What axum's body limit says when a body is larger than allowed.
    const BODY_LIMIT_EXCEEDED: &str = "length limit exceeded";

    pub(super) fn from_server_fn_error(value: ServerFnErrorErr) -> AppError {
        match value {
            ServerFnErrorErr::Deserialization(message) if message.contains(BODY_LIMIT_EXCEEDED) => {
                AppError::TooLarge
            }
            // Arguments that do not decode, and bodies that cannot be read.
            ServerFnErrorErr::Args(message)
            | ServerFnErrorErr::MissingArg(message)
            | ServerFnErrorErr::Deserialization(message) => AppError::BadRequest(message),
            other => AppError::internal("server function failed", &other),
        }
    }

    impl From<tidemark_engine::EngineError> for AppError {
        fn from(err: tidemark_engine::EngineError) -> Self {
            use tidemark_engine::EngineError;
            tracing::warn!(error = %ErrorChain(&err), "engine operation failed");
            match err {
                EngineError::PointNotFound { point, location } => {
                    AppError::NotFound(format!("backup point {point} in {location}"))
                }
                EngineError::RepositoryExists { .. }
                | EngineError::Locked { .. }
                | EngineError::Conflict(_) => AppError::Conflict(err.to_string()),
                other => AppError::Engine(other.to_string()),
            }
        }
    }

    impl From<crate::catalog::CatalogWriteError> for AppError {
        fn from(err: crate::catalog::CatalogWriteError) -> Self {
            match err {
                crate::catalog::CatalogWriteError::Duplicate { field } => {
                    AppError::Validation(vec![crate::model::FieldError::in_use(
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
    fn each_error_answers_the_status_it_means() {
        use crate::model::FieldError;
        let invalid = AppError::Invalid {
            field: "name".into(),
            message: "must not be empty".into(),
        };
        let reference = || "r-1".to_owned();
        let cases = [
            (AppError::BadRequest("missing field `id`".into()), 400),
            (AppError::Unauthorized, 401),
            (AppError::Forbidden("needs the admin role".into()), 403),
            (AppError::NotFound("task 9".into()), 404),
            (AppError::Conflict("task is running".into()), 409),
            (
                AppError::Validation(vec![FieldError::in_use("name", "in use")]),
                409,
            ),
            (AppError::TooLarge, 413),
            (invalid, 422),
            (
                AppError::Validation(vec![
                    FieldError::in_use("name", "in use"),
                    FieldError::new("kind", "choose a kind"),
                ]),
                422,
            ),
            (AppError::Engine("no such directory".into()), 422),
            (AppError::Validation(Vec::new()), 422),
            (AppError::TooManyAttempts(30), 429),
            (
                AppError::Internal {
                    reference: reference(),
                },
                500,
            ),
            (
                AppError::CatalogUnavailable {
                    reference: reference(),
                },
                503,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(err.status(), status, "{err:?}");
        }
    }

    #[test]
    fn requests_that_do_not_decode_are_the_callers_mistake() {
        let args = AppError::from_server_fn_error(ServerFnErrorErr::Args(
            "invalid digit found in string".into(),
        ));
        assert_eq!(args.status(), 400, "{args:?}");
        assert!(args.to_string().contains("invalid digit"), "{args}");
        let unreadable = AppError::from_server_fn_error(ServerFnErrorErr::Deserialization(
            "invalid utf-8 sequence".into(),
        ));
        assert_eq!(unreadable.status(), 400, "{unreadable:?}");
        let too_large = AppError::from_server_fn_error(ServerFnErrorErr::Deserialization(
            "length limit exceeded".into(),
        ));
        assert_eq!(too_large, AppError::TooLarge);
        // Failing to build the answer is the server's fault.
        let response = AppError::from_server_fn_error(ServerFnErrorErr::Response(
            "could not serialize".into(),
        ));
        assert!(
            matches!(response, AppError::Internal { .. }),
            "{response:?}"
        );
    }

    #[test]
    fn engine_errors_keep_what_they_mean() {
        use tidemark_engine::EngineError;
        let point: AppError = EngineError::PointNotFound {
            point: "p1".into(),
            location: "/r".into(),
        }
        .into();
        assert_eq!(point.status(), 404, "{point:?}");
        let locked: AppError = EngineError::Locked {
            location: "/r".into(),
            holder: "backup".into(),
        }
        .into();
        assert_eq!(locked.status(), 409, "{locked:?}");
        let invalid: AppError = EngineError::InvalidInput {
            what: "location".into(),
            message: "relative".into(),
        }
        .into();
        assert_eq!(invalid.status(), 422, "{invalid:?}");
        let running: AppError = crate::jobs::StartError::AlreadyRunning("nightly".into()).into();
        assert_eq!(running.status(), 409, "{running:?}");
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
