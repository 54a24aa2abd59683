//! SQLite restores are exact (issue 17): a corpus of awkward values and
//! schema features backs up and restores bit for bit, compared with the
//! `sqlite3` tool itself (`.dump`, and every value's storage class and
//! bytes), and each restore proves it by content digests.

use std::path::Path;
use std::process::Command;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::Connection;
use tidemark_engine::backup::{plan_backup, run_backup, BackupOptions};
use tidemark_engine::restore::{
    plan_restore, run_restore, CheckOutcome, ConflictPolicy, RestoreOptions, RestoreStats,
};
use tidemark_engine::{
    CancelToken, DuplicatePolicy, NoProgress, RepoLocation, Repository, SqliteSource, SqliteTarget,
};

/// Random REAL bit patterns in the corpus.
const REALS: usize = 100_000;

/// A deterministic generator (SplitMix64): the corpus is the same every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// What `sqlite3` prints, as bytes: TEXT that is not UTF-8 prints as is.
fn sqlite3(db: &Path, input: &str) -> Vec<u8> {
    let out = Command::new("sqlite3")
        .arg("-batch")
        .arg(db)
        .arg(input)
        .output()
        .expect("sqlite3 is installed by scripts/setup.sh");
    assert!(
        out.status.success(),
        "sqlite3 {input:.80}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn sqlite3_text(db: &Path, input: &str) -> String {
    String::from_utf8(sqlite3(db, input)).expect("the output is text")
}

/// Equal output, or the first line that differs (outputs are large).
fn assert_same(what: &str, expected: &[u8], actual: &[u8]) {
    if expected != actual {
        let first = expected
            .split(|&b| b == b'\n')
            .zip(actual.split(|&b| b == b'\n'))
            .find(|(a, b)| a != b)
            .map(|(a, b)| {
                (
                    String::from_utf8_lossy(&a[..a.len().min(300)]).into_owned(),
                    String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned(),
                )
            });
        panic!(
            "{what} differs ({} bytes expected, {} restored), first: {first:?}",
            expected.len(),
            actual.len()
        );
    }
}

/// The REAL edges; NaN is among them, though SQLite itself stores NULL
/// for it (sqlite3_bind_double), so it is NULL in the source already.
fn edge_reals() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        f64::from_bits(1), // smallest subnormal
        -f64::from_bits(1),
        f64::from_bits(0x000F_FFFF_FFFF_FFFF), // largest subnormal
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        0.1,
        -793_764.408_951_202,        // the issue's example
        9_223_372_036_854_775_808.0, // 2^63 as a REAL
        -9_223_372_036_854_775_808.0,
        1e308,
        4.9e-324,
    ]
}

/// The schema's order is a migration's: indexes and triggers created
/// after later tables (`.dump` prints the schema in its creation order).
fn make_corpus(path: &Path) -> usize {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        r#"
        CREATE TABLE reals (id INTEGER PRIMARY KEY, r REAL, raw);
        CREATE TABLE ints (id INTEGER PRIMARY KEY, i INTEGER, n NUMERIC, raw);
        CREATE TABLE log (at INTEGER, what TEXT);
        CREATE TABLE texts (id INTEGER PRIMARY KEY, t TEXT, b BLOB, raw);
        CREATE TRIGGER texts_log AFTER UPDATE ON texts BEGIN INSERT INTO log VALUES (new.id, 'update'); END;
        CREATE TABLE "odd ""name"" with spaces" ("key ""q"" col" TEXT PRIMARY KEY, "v a l" ANY) WITHOUT ROWID;
        CREATE INDEX "idx ""odd""" ON "odd ""name"" with spaces"("v a l");
        CREATE TABLE strict_t (i INTEGER, r REAL, t TEXT, b BLOB, a ANY) STRICT;
        CREATE TABLE strict_wr (k INTEGER PRIMARY KEY, a ANY) STRICT, WITHOUT ROWID;
        CREATE TABLE gen (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL, c TEXT GENERATED ALWAYS AS (a || 'x') STORED);
        CREATE TABLE counter (id INTEGER PRIMARY KEY AUTOINCREMENT, v);
        CREATE TABLE sqlite3_history (v);
        CREATE INDEX reals_r ON reals(r);
        CREATE VIEW "big reals" AS SELECT id, r FROM reals WHERE r > 1e300;
        CREATE TRIGGER "big reals insert" INSTEAD OF INSERT ON "big reals" BEGIN INSERT INTO reals (r) VALUES (new.r); END;
        CREATE VIRTUAL TABLE docs USING fts5(title, "the body");
        CREATE TABLE notes (body TEXT);
        CREATE VIRTUAL TABLE notes_fts USING fts5(body, content = 'notes', content_rowid = 'rowid');
        CREATE TRIGGER ints_kept BEFORE DELETE ON ints BEGIN SELECT RAISE(ABORT, 'ints are kept'); END;
        CREATE UNIQUE INDEX "texts by t" ON texts(t) WHERE t IS NOT NULL;
        "#,
    )
    .unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    let mut random = SplitMix(17);
    let mut reals = edge_reals();
    reals.extend((0..REALS).map(|_| f64::from_bits(random.next())));
    let nans = reals.iter().filter(|r| r.is_nan()).count();
    {
        let mut insert = tx
            .prepare("INSERT INTO reals (r, raw) VALUES (?1, ?1)")
            .unwrap();
        for r in &reals {
            insert.execute([r]).unwrap();
        }
        let mut insert = tx
            .prepare("INSERT INTO ints (i, n, raw) VALUES (?1, ?1, ?1)")
            .unwrap();
        for i in [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            i64::MAX - 1,
            i64::MAX,
            1 << 53,
            (1 << 53) + 1,
        ] {
            insert.execute([i]).unwrap();
        }
        let mut insert = tx
            .prepare("INSERT INTO texts (t, b, raw) VALUES (?1, ?2, ?3)")
            .unwrap();
        let big: Vec<u8> = (0..1 << 20).map(|_| random.next() as u8).collect();
        let texts = vec![
            // TEXT that is not UTF-8, as bytes bound as text.
            [
                text(&[0xFF, 0xFE, 0x41]),
                owned(Value::Blob(vec![0xFF, 0xFE, 0x41])),
                text(&[0xC3]),
            ],
            [
                text(b""),
                owned(Value::Blob(Vec::new())),
                owned(Value::Null),
            ],
            [
                text(b"a\0b"),
                owned(Value::Blob(vec![0])),
                text(b"\xED\xA0\x80"),
            ],
            [
                text("caf\u{e9} \u{1F600} it's \"quoted\"".as_bytes()),
                owned(Value::Null),
                text(b"123"),
            ],
            [
                owned(Value::Text("x".repeat(100_000))),
                owned(Value::Blob(big)),
                owned(Value::Integer(7)),
            ],
            [
                owned(Value::Null),
                owned(Value::Null),
                owned(Value::Real(-0.0)),
            ],
        ];
        for row in &texts {
            insert.execute(rusqlite::params_from_iter(row)).unwrap();
        }
    }
    tx.execute_batch(
        r#"
        UPDATE texts SET raw = raw WHERE id = 4;
        INSERT INTO "odd ""name"" with spaces" VALUES ('a''b', 1), ('big', 9223372036854775807), ('real', 1.0), ('null', NULL), ('text', '1'), ('blob', X'00FF'), ('tab	nl
        ', -0.0);
        INSERT INTO strict_t VALUES (-9223372036854775808, 2.5, 'é', X'', '123'), (NULL, -0.0, NULL, NULL, 1.5), (1, 1.0, '', X'00', X'01');
        INSERT INTO strict_wr VALUES (1, 'one'), (2, 2.0), (3, NULL), (4, X'FF');
        INSERT INTO gen (a) VALUES (1), (NULL), (-5);
        INSERT INTO sqlite3_history VALUES ('a name like SQLite''s own, but not reserved');
        INSERT INTO counter (v) VALUES ('a'), ('b'), ('c'), ('d'), ('e');
        DELETE FROM counter WHERE id > 3;
        INSERT INTO docs VALUES ('first', 'hello exact world'), ('zweite', 'grüße aus köln'), ('third', 'gone soon');
        DELETE FROM docs WHERE title = 'third';
        INSERT INTO docs VALUES ('fourth', 'after a delete');
        INSERT INTO notes VALUES ('one note'), ('two notes'), ('three'), ('four notes'), ('five');
        DELETE FROM notes WHERE body IN ('one note', 'three');
        INSERT INTO notes_fts (rowid, body) SELECT rowid, body FROM notes;
        ANALYZE;
        "#,
    )
    .unwrap();
    tx.commit().unwrap();
    nans
}

/// TEXT holding exactly these bytes (even when not UTF-8): SQLite takes
/// them as they are.
fn text(bytes: &'static [u8]) -> ToSqlOutput<'static> {
    ToSqlOutput::Borrowed(ValueRef::Text(bytes))
}

fn owned(value: Value) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(value)
}

fn repo(dir: &Path) -> Repository {
    Repository::init(&RepoLocation::Local(dir.join("repo")), None).unwrap()
}

fn backup(repo: &Repository, db: &Path) -> String {
    let source = SqliteSource::new(db.to_owned(), &[], &[]).unwrap();
    let options = BackupOptions::default();
    let plan = plan_backup(repo, &source, &options).unwrap();
    run_backup(
        repo,
        &source,
        plan,
        &options,
        &NoProgress,
        &CancelToken::new(),
    )
    .unwrap()
    .point
}

fn restore(repo: &Repository, point: &str, db: &Path, options: &RestoreOptions) -> RestoreStats {
    let manifest = repo.point(point).unwrap();
    let mut target = SqliteTarget::open(db.to_owned()).unwrap();
    let plan = plan_restore(&manifest, &target, options).unwrap();
    run_restore(repo, &plan, &mut target, &NoProgress, &CancelToken::new()).unwrap()
}

/// Every value of every table (shadow tables included), as sqlite3 shows
/// its storage class and exact bytes: REALs as their IEEE 754 bits, since
/// `.dump` prints them with 15 to 17 digits and `hex()` of a REAL is of text.
fn exact_values(db: &Path) -> String {
    let conn = Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut query = String::new();
    for table in tables {
        let q = format!("\"{}\"", table.replace('"', "\"\""));
        let columns: Vec<String> = conn
            .prepare(&format!(
                "SELECT name FROM pragma_table_xinfo({})",
                quote_literal(&table)
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // The rowid too, where the table has one (WITHOUT ROWID tables do not).
        let rowid: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_list WHERE name = ?1 AND wr = 0",
                [&table],
                |r| r.get(0),
            )
            .unwrap();
        let rowid = if rowid == 1 {
            "'rowid:' || _rowid_ || ' ' || "
        } else {
            ""
        };
        let values: Vec<String> = columns
            .iter()
            .map(|c| {
                let c = format!("\"{}\"", c.replace('"', "\"\""));
                format!("typeof({c}) || ':' || CASE typeof({c}) WHEN 'real' THEN hex(ieee754_to_blob({c})) ELSE hex({c}) END")
            })
            .collect();
        query.push_str(&format!(
            "SELECT {} || ' ' || {rowid}{} FROM {q};\n",
            quote_literal(&table),
            values.join(" || ' ' || ")
        ));
    }
    drop(conn);
    sqlite3_text(db, &query)
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[test]
fn the_corpus_restores_bit_for_bit_and_each_table_is_content_verified() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("corpus.db");
    let nans = make_corpus(&source);
    // SQLite stores NULL for NaN: the source holds no NaN to restore.
    let nulls = sqlite3_text(
        &source,
        "SELECT count(*) FROM reals WHERE r IS NULL AND raw IS NULL;",
    );
    assert_eq!(nulls.trim(), nans.to_string());
    assert!(nans > 0);

    let repo = repo(dir.path());
    let point = backup(&repo, &source);
    let restored = dir.path().join("restored.db");
    let stats = restore(&repo, &point, &restored, &RestoreOptions::default());
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);

    assert_same(
        "sqlite3 .dump",
        &sqlite3(&source, ".dump"),
        &sqlite3(&restored, ".dump"),
    );
    let (expected, actual) = (exact_values(&source), exact_values(&restored));
    assert!(
        expected.lines().count() > REALS,
        "{}",
        expected.lines().count()
    );
    assert!(expected.contains("real:8000000000000000"), "-0.0 is kept");
    assert!(expected.contains("text:FFFE41"), "TEXT that is not UTF-8");
    if expected != actual {
        let first = expected.lines().zip(actual.lines()).find(|(a, b)| a != b);
        panic!("values differ, first: {first:?}");
    }
    // The FTS5 index restored is the source's, and it works.
    assert_eq!(
        sqlite3_text(&restored, "SELECT title FROM docs WHERE docs MATCH 'exact'; INSERT INTO docs(docs) VALUES ('integrity-check');"),
        "first\n"
    );
    assert_eq!(
        sqlite3_text(
            &restored,
            "SELECT seq FROM sqlite_sequence WHERE name = 'counter';"
        ),
        "5\n",
        "the AUTOINCREMENT counter is the source's, not the highest id"
    );

    let manifest = repo.point(&point).unwrap();
    for entry in &manifest.objects {
        let check = stats
            .checks
            .iter()
            .find(|c| c.name == entry.name)
            .unwrap_or_else(|| panic!("{} was not checked", entry.name));
        match entry.rows {
            Some(rows) => assert_eq!(
                check.outcome,
                CheckOutcome::Content { rows: Some(rows) },
                "{}",
                entry.name
            ),
            // Views and the virtual table hold no rows of their own.
            None => assert!(
                matches!(check.outcome, CheckOutcome::Counts { .. }),
                "{}: {:?}",
                entry.name,
                check.outcome
            ),
        }
    }
    let verified = stats
        .checks
        .iter()
        .filter(|c| matches!(c.outcome, CheckOutcome::Content { .. }))
        .count();
    assert!(verified >= 14, "{verified} tables content verified");
}

fn small_db(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL, s TEXT);
         INSERT INTO t VALUES (1, 0.5, 'a'), (7, -793764.40895120194182, 'b'), (9, NULL, NULL);",
    )
    .unwrap();
}

/// The target's table has a trigger that changes a value as rows arrive.
fn target_with_trigger(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL, s TEXT);
         CREATE TRIGGER tamper AFTER INSERT ON t WHEN new.id = 7 BEGIN UPDATE t SET s = 'changed' WHERE id = 7; END;",
    )
    .unwrap();
}

#[test]
fn data_changed_while_loading_fails_the_table_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("small.db");
    small_db(&source);
    let repo = repo(dir.path());
    let point = backup(&repo, &source);

    for duplicates in [DuplicatePolicy::Rewrite, DuplicatePolicy::Stop] {
        let target = dir
            .path()
            .join(format!("target-{}.db", duplicates.as_str()));
        target_with_trigger(&target);
        let options = RestoreOptions {
            on_conflict: ConflictPolicy::Merge,
            on_duplicate: duplicates,
            ..RestoreOptions::default()
        };
        let stats = restore(&repo, &point, &target, &options);
        assert_eq!(stats.failed.len(), 1, "{:?}", stats.failed);
        let (name, why) = &stats.failed[0];
        assert_eq!(name, "t");
        let expected = match duplicates {
            DuplicatePolicy::Rewrite => "t has the backup's 3 rows, but their content differs",
            _ => "1 of the backup's 3 rows are not in t",
        };
        assert!(why.starts_with(expected), "{duplicates:?}: {why}");
        assert!(matches!(
            stats.checks.iter().find(|c| c.name == "t").unwrap().outcome,
            CheckOutcome::Differs(_)
        ));
    }

    // Without the trigger the same merge is verified row for row.
    let clean = dir.path().join("clean.db");
    Connection::open(&clean)
        .unwrap()
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL, s TEXT);")
        .unwrap();
    let options = RestoreOptions {
        on_conflict: ConflictPolicy::Merge,
        on_duplicate: DuplicatePolicy::Stop,
        ..RestoreOptions::default()
    };
    let stats = restore(&repo, &point, &clean, &options);
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(
        stats.checks[0].outcome,
        CheckOutcome::RowsPresent { rows: 3 }
    );
}

#[test]
fn a_new_database_takes_the_source_encoding_and_header_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("utf16.db");
    Connection::open(&source)
        .unwrap()
        .execute_batch(
            "PRAGMA encoding = 'UTF-16le'; PRAGMA user_version = 42; PRAGMA application_id = 1414087749;
             CREATE TABLE t (s TEXT, n);
             INSERT INTO t VALUES ('caf\u{e9} \u{1F600}', 1), ('', NULL);",
        )
        .unwrap();
    let repo = repo(dir.path());
    let point = backup(&repo, &source);
    let restored = dir.path().join("restored.db");
    let stats = restore(&repo, &point, &restored, &RestoreOptions::default());
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_eq!(
        stats.checks[0].outcome,
        CheckOutcome::Content { rows: Some(2) }
    );
    let settings = "PRAGMA encoding; PRAGMA user_version; PRAGMA application_id;";
    assert_eq!(
        sqlite3_text(&restored, settings),
        "UTF-16le\n42\n1414087749\n"
    );
    assert_same(
        "sqlite3 .dump",
        &sqlite3(&source, ".dump"),
        &sqlite3(&restored, ".dump"),
    );
    assert_eq!(
        sqlite3_text(&restored, "SELECT hex(s) FROM t;"),
        sqlite3_text(&source, "SELECT hex(s) FROM t;"),
        "hex() shows the UTF-16 bytes as stored"
    );
}

fn restore_result(
    repo: &Repository,
    point: &str,
    db: &Path,
    options: &RestoreOptions,
) -> tidemark_engine::Result<RestoreStats> {
    let manifest = repo.point(point)?;
    let mut target = SqliteTarget::open(db.to_owned())?;
    let plan = plan_restore(&manifest, &target, options)?;
    run_restore(repo, &plan, &mut target, &NoProgress, &CancelToken::new())
}

#[test]
fn a_virtual_table_restores_over_itself_and_is_never_split_from_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("fts.db");
    Connection::open(&source)
        .unwrap()
        .execute_batch(
            "CREATE VIRTUAL TABLE docs USING fts5(body);
             INSERT INTO docs VALUES ('alpha beta'), ('gamma');",
        )
        .unwrap();
    let repo = repo(dir.path());
    let point = backup(&repo, &source);
    let restored = dir.path().join("restored.db");
    restore(&repo, &point, &restored, &RestoreOptions::default());
    Connection::open(&restored)
        .unwrap()
        .execute_batch("INSERT INTO docs VALUES ('changed since')")
        .unwrap();

    // Overwrite: the module drops its index, the backup's comes back.
    let overwrite = RestoreOptions {
        on_conflict: ConflictPolicy::Overwrite,
        ..RestoreOptions::default()
    };
    let stats = restore(&repo, &point, &restored, &overwrite);
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    assert_same(
        "sqlite3 .dump",
        &sqlite3(&source, ".dump"),
        &sqlite3(&restored, ".dump"),
    );
    assert_eq!(
        sqlite3_text(&restored, "SELECT body FROM docs WHERE docs MATCH 'beta'; INSERT INTO docs(docs) VALUES ('integrity-check');"),
        "alpha beta\n"
    );

    // Rows merged into a shadow table would corrupt the index.
    let merge = RestoreOptions {
        on_conflict: ConflictPolicy::Merge,
        on_duplicate: DuplicatePolicy::Skip,
        ..RestoreOptions::default()
    };
    let failed = match restore_result(&repo, &point, &restored, &merge) {
        Ok(stats) => format!("{:?}", stats.failed),
        Err(err) => err.to_string(),
    };
    assert!(
        failed.contains("docs_data") && failed.contains("shadow table"),
        "{failed}"
    );

    // Under another name its shadow tables would not be its own.
    let renamed = RestoreOptions {
        objects: vec![("docs".into(), Some("docs2".into()))],
        ..RestoreOptions::default()
    };
    let failed = match restore_result(&repo, &point, &dir.path().join("other.db"), &renamed) {
        Ok(stats) => format!("{:?}", stats.failed),
        Err(err) => err.to_string(),
    };
    assert!(
        failed.contains("cannot be restored under another name"),
        "{failed}"
    );

    // A backup of the virtual table without its shadow tables is refused.
    let err = SqliteSource::new(source.clone(), &["^docs$".into()], &[])
        .and_then(|s| plan_backup(&repo, &s, &BackupOptions::default()).map(|_| ()))
        .unwrap_err();
    assert!(err.to_string().contains("shadow table docs_"), "{err}");
}

#[test]
fn text_an_existing_database_would_change_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("bytes.db");
    let conn = Connection::open(&source).unwrap();
    conn.execute_batch("CREATE TABLE t (s TEXT);").unwrap();
    conn.execute("INSERT INTO t VALUES (?1)", [text(&[0xFF, 0xFE, 0x41])])
        .unwrap();
    drop(conn);
    let repo = repo(dir.path());
    let point = backup(&repo, &source);
    // An existing UTF-16 database converts the text, replacing bytes that are not UTF-8.
    let target = dir.path().join("utf16.db");
    Connection::open(&target)
        .unwrap()
        .execute_batch("PRAGMA encoding = 'UTF-16le'; CREATE TABLE other (x);")
        .unwrap();
    let stats = restore(&repo, &point, &target, &RestoreOptions::default());
    assert_eq!(stats.failed.len(), 1, "{:?}", stats.failed);
    assert_eq!(stats.failed[0].0, "t");
    assert!(
        stats.failed[0].1.contains("content differs"),
        "{:?}",
        stats.failed
    );
}
