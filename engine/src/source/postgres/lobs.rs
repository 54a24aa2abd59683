//! Large objects (`lo_create`, `lo_from_bytea`, the `lo` extension): not
//! in any table, so not in any table's COPY, and left out by `pg_dump
//! --schema-only`. They are backed up as one object of their own, a
//! binary COPY of rows `(oid, offset, data, comment)`, read in the
//! snapshot: one row per large object with its comment (offset null), and
//! its content in pieces of [`PIECE`] bytes. The restore creates each
//! with its OID, so columns referring to them stay valid, and the same
//! query read at the target proves their content.
//!
//! Owners and privileges are not restored, as for every other object
//! (the structure is dumped `--no-owner --no-privileges`): the restoring
//! user owns them.

use sqlx::PgConnection;

use super::copy::LoadSql;
use crate::source::{DuplicatePolicy, LoadMode};

/// The object holding a database's large objects.
pub const LARGE_OBJECTS: &str = "_data/large-objects";

/// Bytes of a large object in one row.
const PIECE: i64 = 256 * 1024;
/// `INV_READ`, for `lo_open`.
const INV_READ: i32 = 0x40000;

/// The rows, the same at backup and read-back: sizes come from seeking to
/// the end (the descriptors close with the transaction).
pub fn rows_query() -> String {
    format!(
        "WITH lo AS (SELECT oid, lo_lseek64(lo_open(oid, {INV_READ}), 0, 2) AS size \
           FROM pg_catalog.pg_largeobject_metadata) \
         SELECT oid, NULL::int8, NULL::bytea, pg_catalog.obj_description(oid, 'pg_largeobject') FROM lo \
         UNION ALL \
         SELECT oid, at, pg_catalog.lo_get(oid, at, {PIECE}), NULL::text FROM lo, \
           pg_catalog.generate_series(0::int8, size - 1, {PIECE}) AS at"
    )
}

pub fn copy_sql() -> String {
    format!("COPY ({}) TO STDOUT (FORMAT binary)", rows_query())
}

/// How many large objects, their rows in the stream and their bytes;
/// none: the database has no large objects.
pub async fn facts(conn: &mut PgConnection) -> Result<Option<(u64, u64)>, sqlx::Error> {
    let (objects, rows, bytes): (i64, i64, i64) = sqlx::query_as(&format!(
        "WITH lo AS (SELECT lo_lseek64(lo_open(oid, {INV_READ}), 0, 2) AS size \
           FROM pg_catalog.pg_largeobject_metadata) \
         SELECT count(*), count(*) + coalesce(sum((size + {PIECE} - 1) / {PIECE}), 0)::int8, \
           coalesce(sum(size), 0)::int8 FROM lo"
    ))
    .fetch_one(conn)
    .await?;
    Ok((objects > 0).then(|| {
        (
            u64::try_from(rows).unwrap_or(0),
            u64::try_from(bytes).unwrap_or(0),
        )
    }))
}

/// Whether the database holds large objects.
pub async fn any(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_catalog.pg_largeobject_metadata)")
        .fetch_one(conn)
        .await
}

/// Loading: the rows go to a staging table, then each large object is
/// created with its OID, written, and given its comment, all in the load's
/// transaction. Replacing removes the target's large objects first; a merge
/// that skips duplicates leaves those with an OID already taken as they are.
/// Otherwise a taken OID fails the load (`lo_create` refuses it).
pub fn load_sql(mode: LoadMode) -> LoadSql {
    let stage = "pg_temp.tidemark_lobs";
    let mut prepare = vec![
        "CREATE TEMP TABLE tidemark_lobs (loid oid, at int8, data bytea, note text) ON COMMIT DROP"
            .to_owned(),
    ];
    if matches!(
        mode,
        LoadMode::Replace | LoadMode::Merge(DuplicatePolicy::Rewrite)
    ) {
        prepare.push(
            "SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata".to_owned(),
        );
    }
    let taken = if mode == LoadMode::Merge(DuplicatePolicy::Skip) {
        " AND NOT EXISTS (SELECT FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = s.loid)"
    } else {
        ""
    };
    let finish = vec![
        format!(
            "CREATE TEMP TABLE tidemark_new ON COMMIT DROP AS \
             SELECT loid, note FROM {stage} s WHERE at IS NULL{taken}"
        ),
        "SELECT pg_catalog.lo_create(loid) FROM pg_temp.tidemark_new".to_owned(),
        format!(
            "SELECT pg_catalog.lo_put(loid, at, data) FROM {stage} \
             WHERE at IS NOT NULL AND loid IN (SELECT loid FROM pg_temp.tidemark_new) ORDER BY loid, at"
        ),
        "DO $tidemark$ DECLARE r record; BEGIN \
         FOR r IN SELECT loid, note FROM pg_temp.tidemark_new WHERE note IS NOT NULL LOOP \
         EXECUTE pg_catalog.format('COMMENT ON LARGE OBJECT %s IS %L', r.loid, r.note); \
         END LOOP; END $tidemark$"
            .to_owned(),
    ];
    LoadSql {
        table: "large objects".into(),
        copy_into: stage.into(),
        prepare,
        finish,
        format: super::rows::Format::Binary,
    }
}
