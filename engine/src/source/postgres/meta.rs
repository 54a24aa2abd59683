//! What the system catalogs say about a table, asked the same way by the
//! source (at backup) and the target (at restore).

use sqlx::PgConnection;

use super::conn::quote_qualified;

/// The table's only timestamp column, when it has exactly one.
pub async fn time_column(
    conn: &mut PgConnection,
    table: &str,
) -> Result<Option<String>, sqlx::Error> {
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass \
         AND attnum > 0 AND NOT attisdropped \
         AND atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) \
         ORDER BY attnum",
    )
    .bind(quote_qualified(table))
    .fetch_all(conn)
    .await?;
    Ok((columns.len() == 1).then(|| columns[0].clone()))
}

/// The columns COPY reads and writes (not generated ones), in order, each
/// as `name type`.
pub async fn columns(conn: &mut PgConnection, table: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT format('%s %s', attname, format_type(atttypid, atttypmod)) FROM pg_attribute \
         WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' \
         ORDER BY attnum",
    )
    .bind(quote_qualified(table))
    .fetch_all(conn)
    .await
}

/// The columns `COPY table` reads, quoted and comma-separated, for a
/// `COPY (SELECT ...)` of some rows to match it (`*` would add generated
/// columns, which a load cannot take).
pub async fn copy_column_list(conn: &mut PgConnection, table: &str) -> Result<String, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT coalesce(string_agg(quote_ident(attname), ', ' ORDER BY attnum), '') \
         FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 \
         AND NOT attisdropped AND attgenerated = ''",
    )
    .bind(quote_qualified(table))
    .fetch_one(conn)
    .await
}
