//! The administrator's own checks: a query run read-only in the sandbox
//! and the one value it must return.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::source::{MyLocation, PgAccess, PgLocation};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlCheck {
    /// One statement returning one value (first column of the first row).
    pub sql: String,
    /// That value as text, as `psql -At` or `sqlite3` print it.
    pub expected: String,
}

impl std::str::FromStr for SqlCheck {
    type Err = EngineError;

    /// `SQL=EXPECTED`, split at the last `=` (queries have their own).
    fn from_str(text: &str) -> Result<Self> {
        let (sql, expected) = text.rsplit_once('=').ok_or_else(|| {
            EngineError::invalid(
                format!("check {text:?}"),
                "expected SQL=EXPECTED, e.g. \"SELECT count(*) FROM orders=120\"",
            )
        })?;
        let check = SqlCheck {
            sql: sql.trim().to_owned(),
            expected: expected.trim().to_owned(),
        };
        check.validate()?;
        Ok(check)
    }
}

impl SqlCheck {
    pub fn validate(&self) -> Result<()> {
        let sql = self.sql.trim().trim_end_matches(';');
        if sql.is_empty() {
            return Err(EngineError::invalid("check", "the query is empty"));
        }
        // One statement: the read-only session guards writes, and a second
        // statement would hide which one produced the value.
        if sql.contains(';') {
            return Err(EngineError::invalid(
                format!("check {:?}", self.sql),
                "give one statement per check",
            ));
        }
        Ok(())
    }
}

/// Runs `sql` in a read-only session on PostgreSQL; its first value as psql
/// prints it (`t`/`f`, `NULL` as empty).
pub(super) fn query_postgres(at: &PgLocation, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .envs(at.libpq_env())
        .env("PGOPTIONS", "-c default_transaction_read_only=on")
        .output()
        .map_err(|e| EngineError::io("psql", e))?;
    if !out.status.success() {
        return Err(EngineError::Database {
            what: format!("run the check {sql:?}"),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout
        .lines()
        .next()
        .unwrap_or("")
        .split('|')
        .next()
        .unwrap_or("")
        .to_owned())
}

/// Runs `sql` in a read-only session on MariaDB/MySQL; its first value as
/// the `mariadb` client prints it in batch mode (`NULL` for NULL).
pub(super) fn query_mysql(at: &MyLocation, sql: &str) -> Result<String> {
    let mut cmd = Command::new("mariadb");
    cmd.arg("--no-defaults")
        .args([
            "-h",
            &at.host,
            "-P",
            &at.port.to_string(),
            "-u",
            &at.user,
            "-D",
            &at.database,
        ])
        .args([
            "-N",
            "-B",
            "--init-command=SET SESSION TRANSACTION READ ONLY",
            "-e",
            sql,
        ]);
    if let Some(password) = at.password() {
        // The environment of the child only, never its command line.
        cmd.env("MYSQL_PWD", password);
    }
    let out = cmd.output().map_err(|e| EngineError::io("mariadb", e))?;
    if !out.status.success() {
        return Err(EngineError::Database {
            what: format!("run the check {sql:?}"),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout
        .lines()
        .next()
        .unwrap_or("")
        .split('\t')
        .next()
        .unwrap_or("")
        .to_owned())
}

/// Runs `sql` on a SQLite file opened read-only; its first value as the
/// `sqlite3` shell prints it.
pub(super) fn query_sqlite(path: &Path, sql: &str) -> Result<String> {
    use rusqlite::types::ValueRef;
    let failed = |e: rusqlite::Error| EngineError::Database {
        what: format!("run the check {sql:?}"),
        detail: e.to_string(),
    };
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(failed)?;
    let mut statement = conn.prepare(sql).map_err(failed)?;
    let mut rows = statement.query([]).map_err(failed)?;
    let Some(row) = rows.next().map_err(failed)? else {
        return Ok(String::new());
    };
    Ok(match row.get_ref(0).map_err(failed)? {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => hex::encode(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_parse_at_the_last_equals_sign() {
        let check: SqlCheck = "SELECT count(*) FROM t WHERE a = 1 = 3".parse().unwrap();
        assert_eq!(check.sql, "SELECT count(*) FROM t WHERE a = 1");
        assert_eq!(check.expected, "3");
        assert!("SELECT 1".parse::<SqlCheck>().is_err());
        assert!(" =3".parse::<SqlCheck>().is_err());
        assert!("SELECT 1; DELETE FROM t=1".parse::<SqlCheck>().is_err());
    }
}
