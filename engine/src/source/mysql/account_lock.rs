//! Keeping applications out of a MariaDB database during a restore: the
//! accounts that may use it (privileges on the database or its tables)
//! are locked (`ALTER USER … ACCOUNT LOCK`), so they cannot connect, and
//! unlocked afterwards. Accounts already locked stay locked; accounts with
//! privileges on every database (administrators) and the restoring account
//! itself are left alone, and the notes say so.

use sqlx::mysql::MySqlConnection;

use super::conn::{my_error, MyLocation};
use crate::error::Result;

/// `'user'@'host'` for SQL.
fn account(user: &str, host: &str) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"));
    format!("{}@{}", quote(user), quote(host))
}

/// Locks the accounts that may use `at.database`; returns them (to unlock)
/// and notes for the restore's report.
pub async fn lock(
    conn: &mut MySqlConnection,
    at: &MyLocation,
) -> Result<(Vec<(String, String)>, Vec<String>)> {
    let fail = |doing: &'static str| move |e| my_error(at, doing, e);
    let me: String = sqlx::query_scalar("SELECT CURRENT_USER()")
        .fetch_one(&mut *conn)
        .await
        .map_err(fail("read the restoring account on"))?;
    let (my_user, my_host) = me.rsplit_once('@').unwrap_or((me.as_str(), ""));
    let candidates: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT CAST(User AS CHAR), CAST(Host AS CHAR) FROM mysql.db WHERE ? LIKE Db AND Host <> '' \
         UNION SELECT DISTINCT CAST(User AS CHAR), CAST(Host AS CHAR) FROM mysql.tables_priv WHERE Db = ? AND Host <> '' ORDER BY 1, 2",
    )
    .bind(&at.database)
    .bind(&at.database)
    .fetch_all(&mut *conn)
    .await
    .map_err(fail("list (needing SELECT on mysql.*) the accounts with privileges on"))?;
    let mut locked = Vec::new();
    for (user, host) in candidates {
        if user == my_user && host == my_host {
            continue;
        }
        let already: Option<String> = sqlx::query_scalar(
            "SELECT JSON_VALUE(Priv, '$.account_locked') FROM mysql.global_priv WHERE User = ? AND Host = ?",
        )
        .bind(&user)
        .bind(&host)
        .fetch_optional(&mut *conn)
        .await
        .map_err(fail("read the accounts of"))?
        .flatten();
        if already.as_deref() == Some("true") {
            continue;
        }
        sqlx::raw_sql(&format!(
            "ALTER USER {} ACCOUNT LOCK",
            account(&user, &host)
        ))
        .execute(&mut *conn)
        .await
        .map_err(fail(
            "lock (needing CREATE USER) the application accounts of",
        ))?;
        locked.push((user, host));
    }
    let mut notes = Vec::new();
    if locked.is_empty() {
        notes.push(format!(
            "no account other than {me} has privileges on database {} alone: nothing was locked (accounts with privileges on every database are never locked)",
            at.database
        ));
        return Ok((locked, notes));
    }
    let names: Vec<String> = locked.iter().map(|(u, h)| account(u, h)).collect();
    notes.push(format!(
        "accounts {} could not connect while database {} was restored (ACCOUNT LOCK), and were unlocked afterwards",
        names.join(", "),
        at.database
    ));
    let users: Vec<&str> = locked.iter().map(|(u, _)| u.as_str()).collect();
    let mut open = 0i64;
    for user in users {
        open += sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?",
        )
        .bind(user)
        .fetch_one(&mut *conn)
        .await
        .map_err(fail("count the sessions on"))?;
    }
    if open > 0 {
        notes.push(format!(
            "{open} session(s) of those accounts already connected were left connected"
        ));
    }
    Ok((locked, notes))
}

pub async fn unlock(
    conn: &mut MySqlConnection,
    at: &MyLocation,
    accounts: &[(String, String)],
) -> Result<()> {
    for (user, host) in accounts {
        sqlx::raw_sql(&format!(
            "ALTER USER {} ACCOUNT UNLOCK",
            account(user, host)
        ))
        .execute(&mut *conn)
        .await
        .map_err(|e| my_error(at, &format!("unlock account {} on", account(user, host)), e))?;
    }
    Ok(())
}
