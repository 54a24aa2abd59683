//! MariaDB/MySQL connections from a `mysql://` URL, and their errors.

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::ConnectOptions;

use crate::error::{EngineError, Result};

pub use crate::source::dburl::DbLocation as MyLocation;

/// Parses a `mysql://` (or `mariadb://`) URL.
pub fn parse(text: &str) -> Result<MyLocation> {
    MyLocation::parse(text, "mysql", &["mariadb"], 3306, "root")
}

pub fn options(at: &MyLocation, with_database: bool) -> MySqlConnectOptions {
    let mut options = MySqlConnectOptions::new()
        .host(&at.host)
        .port(at.port)
        .username(&at.user)
        .charset("utf8mb4")
        .log_statements(tracing::log::LevelFilter::Debug);
    if with_database {
        options = options.database(&at.database);
    }
    if let Some(password) = at.password() {
        options = options.password(password);
    }
    options
}

pub async fn connect(at: &MyLocation, with_database: bool) -> Result<MySqlConnection> {
    options(at, with_database)
        .connect()
        .await
        .map_err(|e| my_error(at, "connect to", e))
}

/// A database error naming the database (never the password).
pub fn my_error(at: &MyLocation, doing: &str, err: sqlx::Error) -> EngineError {
    let detail = match &err {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(io) => format!("cannot reach the server: {io}"),
        other => other.to_string(),
    };
    EngineError::Database {
        what: format!("{doing} {}", at.display()),
        detail,
    }
}

pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}
