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

/// The types of a table's columns (through arrays, domains, ranges and
/// composites) that its rows cannot be stored in binary COPY for: types
/// without binary send/receive functions, and types without a fixed OID
/// in the server's catalogs (below 10000): enums, composites, domains,
/// extension types, and those initdb creates (`information_schema`'s). Binary COPY of
/// arrays and composites embeds their element types' OIDs, which differ
/// once such a type is created again in another database, and an
/// extension's binary form may change between its versions; their text
/// form is what `pg_dump` relies on.
pub async fn text_only_types(
    conn: &mut PgConnection,
    table: &str,
    multiranges: bool,
) -> Result<Vec<String>, sqlx::Error> {
    // Multiranges (and the catalog column naming their range) are new in 14.
    let multirange = if multiranges {
        "UNION ALL SELECT rngtypid FROM pg_range WHERE rngmultitypid = t.oid"
    } else {
        ""
    };
    sqlx::query_scalar(&format!(
        "WITH RECURSIVE used(oid) AS ( \
           SELECT atttypid FROM pg_attribute WHERE attrelid = $1::regclass \
             AND attnum > 0 AND NOT attisdropped AND attgenerated = '' \
           UNION \
           SELECT inner_type FROM used JOIN pg_type t ON t.oid = used.oid \
           CROSS JOIN LATERAL ( \
             SELECT nullif(t.typelem, 0) UNION ALL SELECT nullif(t.typbasetype, 0) \
             UNION ALL SELECT rngsubtype FROM pg_range WHERE rngtypid = t.oid {multirange} \
             UNION ALL SELECT atttypid FROM pg_attribute WHERE attrelid = t.typrelid \
               AND t.typrelid <> 0 AND attnum > 0 AND NOT attisdropped \
           ) AS inner_types(inner_type) WHERE inner_type IS NOT NULL \
         ) \
         SELECT format_type(t.oid, NULL) FROM used JOIN pg_type t ON t.oid = used.oid \
         WHERE t.oid >= 10000 OR t.typsend = 0 OR t.typreceive = 0 ORDER BY 1"
    ))
    .bind(quote_qualified(table))
    .fetch_all(conn)
    .await
}

/// `setval` statements putting every sequence where it is now: its last
/// value and whether that was handed out (`setval(s, 42, false)` makes
/// 42 the next value; `pg_sequences` shows no value then, so each
/// sequence is read itself; one this user may not read fails the backup).
pub async fn sequences_sql(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut sql = String::new();
    for name in names {
        let (value, called): (i64, bool) =
            sqlx::query_as(&format!("SELECT last_value, is_called FROM {name}"))
                .fetch_one(&mut *conn)
                .await?;
        sql += &format!(
            "SELECT pg_catalog.setval('{}', {value}, {called});\n",
            name.replace('\'', "''")
        );
    }
    Ok(sql)
}
