//! Materialized views: `pg_dump --schema-only` creates them `WITH NO
//! DATA`, so the restore refreshes the ones that were populated, once
//! every table is loaded and in dependency order, as pg_restore does.

use std::collections::BTreeMap;

use sqlx::PgConnection;

/// `REFRESH MATERIALIZED VIEW` statements for the populated views, each
/// after the views it reads.
pub async fn refresh_sql(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    let views: Vec<(i64, String)> = sqlx::query_as(
        "SELECT c.oid::int8, format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'm' AND c.relispopulated \
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 2",
    )
    .fetch_all(&mut *conn)
    .await?;
    // (view, a materialized view its query reads)
    let reads: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT DISTINCT r.ev_class::int8, d.refobjid::int8 FROM pg_depend d \
         JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid \
         JOIN pg_class used ON used.oid = d.refobjid AND used.relkind = 'm' \
         WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(ordered(&views, &reads)
        .into_iter()
        .map(|name| format!("REFRESH MATERIALIZED VIEW {name};\n"))
        .collect())
}

/// The views' names, each after those it reads (by name where free).
fn ordered(views: &[(i64, String)], reads: &[(i64, i64)]) -> Vec<String> {
    let mut left: BTreeMap<&str, i64> = views.iter().map(|(o, n)| (n.as_str(), *o)).collect();
    let mut done = Vec::new();
    let mut out = Vec::new();
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .iter()
            .filter(|(_, oid)| {
                reads.iter().all(|(view, used)| {
                    view != *oid || done.contains(used) || !left.values().any(|o| o == used)
                })
            })
            .map(|(name, _)| *name)
            .collect();
        // A cycle cannot be: views cannot read each other in a loop.
        let ready = if ready.is_empty() {
            left.keys().copied().take(1).collect()
        } else {
            ready
        };
        for name in ready {
            if let Some(oid) = left.remove(name) {
                done.push(oid);
                out.push(name.to_owned());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn views_come_after_the_views_they_read() {
        let views = [(1, "s.a".into()), (2, "s.b".into()), (3, "s.c".into())];
        // a reads c, c reads b; an unpopulated view (9) is not waited for.
        let order = super::ordered(&views, &[(1, 3), (3, 2), (2, 9)]);
        assert_eq!(order, ["s.b", "s.c", "s.a"]);
    }
}
