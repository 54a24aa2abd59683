//! PostgreSQL connection settings from a `postgres://` URL, and the one
//! place that turns database errors into engine errors.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};

use crate::error::{EngineError, Result};

pub use crate::source::dburl::DbLocation as PgLocation;

/// Parses a `postgres://` URL.
pub fn parse(text: &str) -> Result<PgLocation> {
    PgLocation::parse(text, "postgres", &["postgresql"], 5432, "postgres")
}

/// Connecting to PostgreSQL, and the environment of its client tools.
pub trait PgAccess {
    fn options(&self) -> PgConnectOptions;
    /// Environment for libpq tools (pg_dump, psql): the password goes in
    /// the environment of the child only, never on its command line.
    fn libpq_env(&self) -> Vec<(&'static str, String)>;
    async fn connect(&self) -> Result<PgConnection>;
}

impl PgAccess for PgLocation {
    fn options(&self) -> PgConnectOptions {
        let mut options = PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .database(&self.database)
            .application_name("tidemark")
            .log_statements(tracing::log::LevelFilter::Debug);
        if let Some(password) = self.password() {
            options = options.password(password);
        }
        options
    }

    fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.database.clone()),
            ("PGCONNECT_TIMEOUT", "10".into()),
            ("PGAPPNAME", "tidemark".into()),
        ];
        if let Some(password) = self.password() {
            env.push(("PGPASSWORD", password.to_owned()));
        }
        env
    }

    async fn connect(&self) -> Result<PgConnection> {
        self.options()
            .connect()
            .await
            .map_err(|e| pg_error(self, "connect to", e))
    }
}

/// A database error as an engine error naming the database (never the
/// password: sqlx's messages do not contain it).
pub fn pg_error(at: &PgLocation, doing: &str, err: sqlx::Error) -> EngineError {
    let detail = match &err {
        // A database left with ALLOW_CONNECTIONS false (a locked restore
        // killed before it could unlock) refuses everyone: say how out.
        sqlx::Error::Database(db)
            if db.code().as_deref() == Some("55000")
                && db.message().contains("not currently accepting connections") =>
        {
            format!(
                "{}: it is locked (ALLOW_CONNECTIONS false), perhaps by a `tidemark restore --lock` \
                 that was killed; once nothing restores into it, run \
                 ALTER DATABASE {} ALLOW_CONNECTIONS true",
                db.message(),
                quote_ident(&at.database)
            )
        }
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
    fn identifiers_are_quoted() {
        assert_eq!(
            quote_qualified("public.we\"ird"),
            "\"public\".\"we\"\"ird\""
        );
        assert_eq!(
            parse("postgresql://u@h:1/d").unwrap().display(),
            "postgres://u@h:1/d"
        );
    }
}
