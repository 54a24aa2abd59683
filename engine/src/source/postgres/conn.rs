//! PostgreSQL connection settings from a `postgres://` URL, and the one
//! place that turns database errors into engine errors.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};

use crate::error::{EngineError, Result};

/// Where a PostgreSQL database is. The password never appears in
/// [`PgLocation::display`] or in any error.
#[derive(Clone, PartialEq, Eq)]
pub struct PgLocation {
    pub host: String,
    pub port: u16,
    pub user: String,
    password: Option<String>,
    pub database: String,
}

impl std::fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl PgLocation {
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |m: &str| EngineError::invalid("PostgreSQL URL", m.to_owned());
        let url = url::Url::parse(text).map_err(|e| {
            invalid(&format!(
                "{e} (expected postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
            ))
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(invalid("the scheme must be postgres://"));
        }
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let database = url.path().trim_start_matches('/').to_owned();
        if database.is_empty() || database.contains('/') {
            return Err(invalid(
                "name the database: postgres://USER@HOST:PORT/DATABASE",
            ));
        }
        let user = decode(url.username());
        Ok(PgLocation {
            host: url.host_str().unwrap_or("127.0.0.1").to_owned(),
            port: url.port().unwrap_or(5432),
            user: if user.is_empty() {
                "postgres".into()
            } else {
                user
            },
            password: url.password().map(decode),
            database: decode(&database),
        })
    }

    /// The URL without the password, for manifests and messages.
    pub fn display(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    /// The same server, another database.
    pub fn with_database(&self, database: &str) -> Self {
        PgLocation {
            database: database.to_owned(),
            ..self.clone()
        }
    }

    pub fn options(&self) -> PgConnectOptions {
        let mut options = PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .database(&self.database)
            .application_name("tidemark")
            .log_statements(tracing::log::LevelFilter::Debug);
        if let Some(password) = &self.password {
            options = options.password(password);
        }
        options
    }

    /// Environment for libpq tools (pg_dump, psql): the password goes in
    /// the environment of the child only, never on its command line.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.database.clone()),
            ("PGCONNECT_TIMEOUT", "10".into()),
            ("PGAPPNAME", "tidemark".into()),
        ];
        if let Some(password) = &self.password {
            env.push(("PGPASSWORD", password.clone()));
        }
        env
    }

    pub async fn connect(&self) -> Result<PgConnection> {
        self.options()
            .connect()
            .await
            .map_err(|e| pg_error(self, "connect to", e))
    }
}

impl FromStr for PgLocation {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A database error as an engine error naming the database (never the
/// password: sqlx's messages do not contain it).
pub fn pg_error(at: &PgLocation, doing: &str, err: sqlx::Error) -> EngineError {
    let detail = match &err {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(io) => format!("cannot reach the server: {io}"),
        sqlx::Error::PoolTimedOut => "timed out".into(),
        other => other.to_string(),
    };
    EngineError::Database {
        what: format!("{doing} {}", at.display()),
        detail,
    }
}

/// A runtime for the async driver, owned by the calling (blocking) thread.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| EngineError::io("tokio runtime", e))
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `schema.table` (as objects are named) quoted for SQL.
pub fn quote_qualified(name: &str) -> String {
    match name.split_once('.') {
        Some((schema, table)) => format!("{}.{}", quote_ident(schema), quote_ident(table)),
        None => quote_ident(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_never_show_the_password() {
        let l = PgLocation::parse("postgres://admin:s%40cret@127.0.0.1:5433/metrics").unwrap();
        assert_eq!(
            (l.host.as_str(), l.port, l.user.as_str()),
            ("127.0.0.1", 5433, "admin")
        );
        assert_eq!(l.password.as_deref(), Some("s@cret"));
        assert_eq!(l.display(), "postgres://admin@127.0.0.1:5433/metrics");
        assert!(!format!("{l:?}").contains("cret"));
        assert!(PgLocation::parse("postgres://u@127.0.0.1:5432/").is_err());
        assert!(PgLocation::parse("mysql://u@127.0.0.1/db").is_err());
        assert_eq!(
            quote_qualified("public.we\"ird"),
            "\"public\".\"we\"\"ird\""
        );
    }
}
