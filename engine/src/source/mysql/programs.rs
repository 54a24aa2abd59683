//! Stored programs: routines (procedures, functions, packages), triggers
//! and events. Each is kept as `SHOW CREATE` prints it, in the character
//! set it was written in, with the `sql_mode`, character sets, collation
//! (and an event's time zone) it was created under, as `mariadb-dump`
//! keeps them; the restore replays each under the same settings, triggers
//! once the tables hold their rows.

use sqlx::mysql::MySqlConnection;
use sqlx::{Executor, Row};

use super::conn::{my_error, quote_ident, MyLocation};
use super::STATEMENT_END;
use crate::error::{EngineError, Result};

pub const ROUTINES: &str = "_schema/routines.sql";
pub const TRIGGERS: &str = "_schema/triggers.sql";
pub const EVENTS: &str = "_schema/events.sql";

/// Marks the statements of one program: `<kind> <name>`.
const OBJECT: &str = "-- tidemark: object ";
/// A note for the administrator, given when the program is replayed.
const NOTE: &str = "-- tidemark: note ";
const DATABASE_COLLATION: &str = "ALTER DATABASE COLLATE ";

/// `(kind, name)` of each program of one structure object, in the order
/// they are created (a table's triggers fire in the order they were made).
async fn list(
    conn: &mut MySqlConnection,
    object: &str,
) -> std::result::Result<Vec<(String, String)>, sqlx::Error> {
    let sql = match object {
        ROUTINES => {
            "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES \
             WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_TYPE, ROUTINE_NAME"
        }
        TRIGGERS => {
            "SELECT 'TRIGGER', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
             ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER"
        }
        _ => {
            "SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE() \
             ORDER BY EVENT_NAME"
        }
    };
    sqlx::query_as(sql).fetch_all(&mut *conn).await
}

/// Every program of `object` (one of [`ROUTINES`], [`TRIGGERS`], [`EVENTS`]).
pub async fn read(conn: &mut MySqlConnection, at: &MyLocation, object: &str) -> Result<Vec<u8>> {
    let fail = |e| my_error(at, "read the stored programs of", e);
    let programs = list(conn, object).await.map_err(fail)?;
    let mut out = String::new();
    for (kind, name) in programs {
        // The definition as stored, in the character set it was written in.
        conn.execute("SET SESSION character_set_results = binary")
            .await
            .map_err(fail)?;
        let shown = show(conn, &kind, &name).await;
        conn.execute("SET SESSION character_set_results = utf8mb4")
            .await
            .map_err(fail)?;
        let shown = shown.map_err(fail)?;
        let what = format!("{} {name}", kind.to_lowercase());
        let create = shown.create.ok_or_else(|| EngineError::Database {
            what: format!("read {what} of {}", at.display()),
            detail: "its definition is hidden from this user (it needs the SHOW CREATE ROUTINE or SELECT privilege on mysql.proc, or to be its definer)".into(),
        })?;
        let mut client = shown.client;
        let create = match String::from_utf8(create) {
            Ok(text) => text,
            Err(_) => {
                // Not UTF-8 (e.g. latin1 text): the statement can only be
                // sent as utf8mb4, converted by the server.
                let again = show(conn, &kind, &name).await.map_err(fail)?;
                let text = again.create.map(String::from_utf8).and_then(|t| t.ok());
                let text = text.ok_or_else(|| EngineError::Database {
                    what: format!("read {what} of {}", at.display()),
                    detail: "its definition cannot be read as utf8mb4".into(),
                })?;
                out.push_str(&format!(
                    "{NOTE}{what} was written in character set {client} and is recreated from its utf8mb4 form (same text, its character_set_client is now utf8mb4){STATEMENT_END}"
                ));
                client = "utf8mb4".into();
                text
            }
        };
        out.push_str(&format!("{OBJECT}{kind} {name}{STATEMENT_END}"));
        let zone = shown
            .time_zone
            .map(|z| format!(", time_zone = '{}'", z.replace('\'', "''")))
            .unwrap_or_default();
        out.push_str(&format!(
            "SET SESSION sql_mode = '{}', character_set_client = {client}, collation_connection = {}{zone}{STATEMENT_END}",
            shown.sql_mode.replace('\'', "''"),
            shown.collation,
        ));
        out.push_str(&format!(
            "{DATABASE_COLLATION}{}{STATEMENT_END}",
            shown.database_collation
        ));
        out.push_str(&create);
        out.push_str(STATEMENT_END);
    }
    Ok(out.into_bytes())
}

struct Shown {
    sql_mode: String,
    create: Option<Vec<u8>>,
    client: String,
    collation: String,
    database_collation: String,
    time_zone: Option<String>,
}

async fn show(
    conn: &mut MySqlConnection,
    kind: &str,
    name: &str,
) -> std::result::Result<Shown, sqlx::Error> {
    let row = sqlx::raw_sql(&format!("SHOW CREATE {kind} {}", quote_ident(name)))
        .fetch_one(&mut *conn)
        .await?;
    let text = |i: usize| -> std::result::Result<String, sqlx::Error> {
        let bytes: Option<Vec<u8>> = row.try_get_unchecked(i)?;
        Ok(String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned())
    };
    // The columns: name, sql_mode, [time_zone,] statement, client,
    // connection collation, database collation.
    let event = kind == "EVENT";
    let at = usize::from(event);
    Ok(Shown {
        sql_mode: text(1)?,
        time_zone: if event { Some(text(2)?) } else { None },
        create: row.try_get_unchecked(2 + at)?,
        client: text(3 + at)?,
        collation: text(4 + at)?,
        database_collation: text(5 + at)?,
    })
}

/// What replaying one structure object of programs did.
#[derive(Default)]
pub struct Replayed {
    pub notes: Vec<String>,
    /// `(kind, name)` of every program the object holds.
    pub programs: Vec<(String, String)>,
}

/// Replays a structure object of programs. A program whose name is
/// already taken at the target is kept as it is, with a note.
pub async fn replay(
    conn: &mut MySqlConnection,
    at: &MyLocation,
    sql: &str,
    session: &str,
) -> Result<Replayed> {
    let database = at.database.as_str();
    let fail = |doing: &str, e| my_error(at, doing, e);
    let original: String = sqlx::query_scalar(
        "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    )
    .bind(database)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| fail("read the collation of", e))?;
    let mut current = original.clone();
    let mut done = Replayed::default();
    let mut skipping = false;
    let mut doing = String::new();
    let result = async {
        for statement in sql
            .split(STATEMENT_END)
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if let Some(note) = statement.strip_prefix(NOTE) {
                done.notes.push(note.to_owned());
            } else if let Some(program) = statement.strip_prefix(OBJECT) {
                let (kind, name) = program.split_once(' ').unwrap_or((program, ""));
                skipping = exists(conn, database, kind, name).await?;
                doing = format!("restore {} {name} into", kind.to_lowercase());
                if skipping {
                    done.notes.push(format!(
                        "{} {name} already exists at {}: it was kept as it is",
                        kind.to_lowercase(),
                        at.display()
                    ));
                }
                done.programs.push((kind.to_owned(), name.to_owned()));
            } else if skipping {
                continue;
            } else if let Some(collation) = statement.strip_prefix(DATABASE_COLLATION) {
                // A routine's parameters take the database's character set
                // when created: create it under the one it had.
                if collation != current {
                    conn.execute(statement).await?;
                    current = collation.to_owned();
                }
            } else {
                conn.execute(statement).await?;
            }
        }
        Ok::<_, sqlx::Error>(())
    }
    .await;
    let result = result.map_err(|e| fail(&doing, e));
    let mut reset = conn.execute(session).await.map(drop);
    if current != original {
        let restore = format!("{DATABASE_COLLATION}{original}");
        reset = reset.and(conn.execute(restore.as_str()).await.map(drop));
    }
    result?;
    reset.map_err(|e| fail("reset the session of", e))?;
    Ok(done)
}

async fn exists(
    conn: &mut MySqlConnection,
    database: &str,
    kind: &str,
    name: &str,
) -> std::result::Result<bool, sqlx::Error> {
    let count: i64 = match kind {
        "TRIGGER" | "EVENT" => {
            let sql = if kind == "TRIGGER" {
                "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?"
            } else {
                "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? AND EVENT_NAME = ?"
            };
            sqlx::query_scalar(sql)
                .bind(database)
                .bind(name)
                .fetch_one(&mut *conn)
                .await?
        }
        _ => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_NAME = ? AND ROUTINE_TYPE = ?",
            )
            .bind(database)
            .bind(name)
            .bind(kind)
            .fetch_one(&mut *conn)
            .await?
        }
    };
    Ok(count > 0)
}

/// The programs of `expected` the target does not have, as a difference.
pub async fn missing(
    conn: &mut MySqlConnection,
    at: &MyLocation,
    expected: &[(String, String)],
) -> Result<Option<String>> {
    let mut absent = Vec::new();
    for (kind, name) in expected {
        let there = exists(conn, &at.database, kind, name)
            .await
            .map_err(|e| my_error(at, "read back the stored programs of", e))?;
        if !there {
            absent.push(format!("{} {name}", kind.to_lowercase()));
        }
    }
    Ok((!absent.is_empty()).then(|| {
        format!(
            "{} of {} stored programs are not at the target: {}",
            absent.len(),
            expected.len(),
            absent.join(", ")
        )
    }))
}

/// Replays the views object: each view (the `SET` of the character sets
/// it was made under, then its `CREATE`) after the views it reads, which
/// may come later by name: one that names a view not made yet fails with
/// "table not found" and is tried again once the others exist.
pub async fn replay_views(conn: &mut MySqlConnection, at: &MyLocation, sql: &str) -> Result<()> {
    let mut pending: Vec<Vec<&str>> = Vec::new();
    for statement in sql
        .split(STATEMENT_END)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match pending.last_mut() {
            Some(view) if !statement.starts_with("SET ") => view.push(statement),
            _ => pending.push(vec![statement]),
        }
    }
    loop {
        let (mut waiting, mut last) = (Vec::new(), None);
        let before = pending.len();
        for view in pending {
            let mut result = Ok(());
            for statement in &view {
                result = conn.execute(*statement).await.map(drop);
                if result.is_err() {
                    break;
                }
            }
            match result {
                Ok(()) => {}
                Err(err)
                    if err.as_database_error().and_then(|d| d.code()).as_deref()
                        == Some("42S02") =>
                {
                    waiting.push(view);
                    last = Some(err);
                }
                Err(err) => return Err(my_error(at, "restore views into", err)),
            }
        }
        match last {
            None => return Ok(()),
            Some(err) if waiting.len() == before => {
                return Err(my_error(at, "restore views into", err))
            }
            Some(_) => pending = waiting,
        }
    }
}
