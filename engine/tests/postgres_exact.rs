//! PostgreSQL restores are exact: a corpus of every built-in type at its
//! edges, user-defined and extension types, and the schema features that
//! broke restores before (inheritance, materialized views, large objects,
//! types without binary I/O) is backed up, restored into a new database
//! and compared with `pg_dump` (structure and data) of both; every table's
//! content is verified by the restore itself. And a restore whose loaded
//! data is changed before it is read back fails that table by name.

mod support;

use tidemark_engine::backup::BackupOptions;
use tidemark_engine::restore::{CheckOutcome, ConflictPolicy, RestoreOptions, RestoreStats};
use tidemark_engine::{ObjectKind, PostgresSource, Selection, SourceUrl};

use support::postgres::PgServer;
use support::{backup_url, restore_url, Fixture};

const EXTENSIONS: &str = r#"
CREATE EXTENSION hstore; CREATE EXTENSION citext; CREATE EXTENSION ltree; CREATE EXTENSION cube;
CREATE EXTENSION seg; CREATE EXTENSION isn; CREATE EXTENSION intarray; CREATE EXTENSION pg_trgm;
CREATE EXTENSION "uuid-ossp"; CREATE EXTENSION lo;
"#;

/// Built-in types only: stored as binary COPY.
const BUILTIN: &str = r#"
CREATE TABLE scalars (
    id int PRIMARY KEY, f4 real, f8 double precision, n numeric, m money, b bit(8), vb varbit,
    by bytea, t text, x xml, j json, jb jsonb, u uuid, ip inet, net cidr, mac macaddr,
    mac8 macaddr8, pt point, ln line, ls lseg, bx box, pth path, pg polygon, c circle,
    tsv tsvector, tsq tsquery, iv interval, ttz timetz, tm time, d date, ts timestamp,
    tstz timestamptz, i2 smallint, i8 bigint, bo boolean, ch char(5), vc varchar(10), nm name,
    ch1 "char", o oid, lsn pg_lsn, r4 int4range, r8 int8range, nr numrange, tsr tstzrange,
    dr daterange, mr int4multirange, dmr datemultirange
);
INSERT INTO scalars VALUES
 (1, 'NaN', 'NaN', 'NaN', '-92233720368547758.08', B'00000000', B'', '\x', '', '<a/>', '{}', '{}',
  '00000000-0000-0000-0000-000000000000', '0.0.0.0', '0.0.0.0/0', '00:00:00:00:00:00',
  '00:00:00:00:00:00:00:00', '(0,0)', '{1,-1,0}', '[(0,0),(1,1)]', '(0,0),(0,0)', '[(0,0),(1,1)]',
  '((0,0),(1,0),(0,1))', '<(0,0),0>', '', '!a', '-178000000 years', '00:00:00+15:59', '00:00:00',
  '-infinity', '-infinity', '-infinity', -32768, -9223372036854775808, false, '', '', '', '',
  0, '0/0', 'empty', '(,)', '(,)', 'empty', 'empty', '{}', '{}'),
 (2, 'Infinity', 'Infinity', 'Infinity', '92233720368547758.07', B'11111111', B'1010101',
  '\x00ff7f80', E'tab\there\nnew line\\back\\slash ''q'' "dq" \u0001',
  '<?xml version="1.0"?><doc a="1">x &amp; y<![CDATA[<z>]]></doc>',
  '{"b": 1,   "a": [1, 2.50, "x"], "a": null}', '{"b": 1, "a": [1, 2.50, 1e100, -0.0]}',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '2001:db8::ff00:42:8329/64', '2001:db8::/32',
  'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff', '(1.7976931348623157e308,-0)', '{0,1,-1e300}',
  '[(-1.5,2.25),(1e-300,3)]', '(1,1),(-1,-1)', '((0,0),(1,1),(2,0))', '((0,0),(3,0),(0,3))',
  '<(1.5,-2.5),4.75>', 'a:1A fat:2B,4C cat:5D rat:16383', 'fat & (rat | !cat) <-> dog',
  '1 year 2 mons -3 days 04:05:06.789012', '23:59:59.999999-15:59', '24:00:00',
  'infinity', 'infinity', 'infinity', 32767, 9223372036854775807, true, 'ab   ', 'ümlaut',
  'a name', 'z', 4294967295, 'FFFFFFFF/FFFFFFFF', '[1,10)', '[-9223372036854775808,0]',
  '(-1.5,1e40]', '[2026-01-01 00:00:00+00,infinity)', '[2020-01-01,2026-12-31]',
  '{[1,3), [5,7)}', '{[2020-01-01,2020-02-01), [2021-01-01,)}'),
 (3, '-0', '-0', '-0.000', 0.01, B'10000001', B'1', '\xdeadbeef', '', 'text<b/>more', 'null',
  'null', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.1.1/24', '10.0.0.0/8',
  '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '(-0,0)', '{2,3,4}', '[(1,2),(3,4)]',
  '(3,4),(1,2)', '((1,2))', '((1,2),(3,4))', '<(0,0),1e-10>', 'x', 'x:*A', '-00:00:00.000001',
  '12:00:00+05:30', '00:00:00.000001', '4713-01-01 BC', '4713-01-01 00:00:00 BC',
  '4713-01-01 00:00:00+00 BC', 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL);
INSERT INTO scalars (id, f4, f8, n, d, ts, tstz) VALUES
 (4, 1.4e-45, 4.9e-324, 1e-130, '5874897-12-31', '294276-12-31 23:59:59.999999',
  '294276-12-31 23:59:59.999999+00'),
 (5, 3.4028235e38, 1.7976931348623157e308, -1e130, NULL, NULL, NULL),
 (6, 0.1, 0.1, 0.1, NULL, NULL, NULL);
-- 1000 digits before and after the point; every Unicode plane.
INSERT INTO scalars (id, n, t) VALUES
 (7, repeat('9', 1000)::numeric, chr(127) || chr(128) || chr(2047) || chr(2048) || chr(65535)),
 (8, ('-0.' || repeat('0123456789', 100))::numeric,
  (SELECT string_agg(chr(p * 65536 + 65533), '') FROM generate_series(1, 16) p)
  || chr(1114111) || chr(128512) || chr(917505));
SELECT setseed(0.42);
INSERT INTO scalars (id, f8, f4)
 SELECT 100 + i, (random() - 0.5) * 10 ^ (random() * 600 - 300), (random() - 0.5) * 1e30
 FROM generate_series(1, 2000) i;

CREATE TABLE arrays (
    id int, f8 float8[], n numeric[], t text[], r int4range[], mr int4multirange[], grid int[][],
    shifted int[], by bytea[], tstz timestamptz[], pt point[], ip inet[], jb jsonb[], u uuid[],
    tsv tsvector[], iv interval[], b bit(3)[]
);
INSERT INTO arrays VALUES
 (1, '{NaN,Infinity,-Infinity,-0,4.9e-324}', '{NaN,1e-100,-1}', '{"", NULL, "NULL", "q\"uote", "back\\slash", "a,b", "{x}"}',
  '{empty,"[1,2)"}', '{"{[1,2)}","{}"}', '{{1,2},{3,4}}', '[-5:-4]={7,8}', '{"\\x00ff",NULL}',
  '{"2026-01-01 00:00:00+00",infinity}', '{"(1,2)","(-0,1e300)"}', '{::1,10.0.0.1/8}',
  '{"{\"a\": [1, 2.50]}",null}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '{"a:1 b:2"}',
  '{"1 day","-1 mons 00:00:00.5"}', '{101,010}'),
 (2, '{}', NULL, '{}', NULL, NULL, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}');
"#;

/// User-defined types, extension types, types without binary I/O: text COPY.
const DEFINED: &str = r#"
CREATE TYPE mood AS ENUM ('calm', 'busy', 'dïwn, "quoted"');
CREATE TYPE pair AS (label text, n numeric, moods mood[]);
CREATE DOMAIN positive AS numeric CHECK (VALUE > 0);
CREATE TYPE floatrange AS RANGE (subtype = float8);
CREATE TABLE defined (
    id int PRIMARY KEY, m mood, ms mood[], p pair, ps pair[], pos positive, poss positive[],
    fr floatrange, frs floatrange[], fmr floatmultirange
);
INSERT INTO defined VALUES
 (1, 'calm', '{calm,busy}', ROW('a "label"', 'NaN', '{busy}'), ARRAY[ROW('x', 1, NULL)::pair, NULL],
  1e-100, '{1,2}', '[-0,Infinity)', '{"[0.1,0.2]",empty}', '{[1.5,2.5), [3,4)}'),
 (2, 'dïwn, "quoted"', '{}', ROW(NULL, NULL, NULL), '{}', 0.1, NULL, 'empty', NULL, '{}'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- Every built-in type again, in a table that is stored as text COPY.
CREATE TABLE scalars_text AS SELECT *, 'busy'::mood AS tag FROM scalars;
CREATE TABLE arrays_text AS SELECT *, '{calm}'::mood[] AS tags FROM arrays;

CREATE TABLE contrib (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), h hstore, ci citext, path ltree, paths ltree[],
    c cube, s seg, isbn isbn13, ean ean13, issn issn, upc upc, ints int[], doc lo, note text
);
CREATE INDEX contrib_trgm ON contrib USING gin (note gin_trgm_ops);
CREATE INDEX contrib_ints ON contrib USING gin (ints gin__int_ops);
INSERT INTO contrib (id, h, ci, path, paths, c, s, isbn, ean, issn, upc, ints, doc, note) VALUES
 ('00000000-0000-0000-0000-000000000001', 'a=>1, "b c"=>NULL, "q\"t"=>"x\\y"', 'MiXeD Case',
  'Top.Science.Astronomy', '{a.b,c}', '(1.5, -0), (2, 3e300)', '1.5 .. 2.50', '978-0-306-40615-7',
  '4006381333931', '0317-8471', '036000291452', '{3,1,2}', lo_from_bytea(0, '\x00ff'), 'fuzzy text'),
 ('00000000-0000-0000-0000-000000000002', '', '', '', '{}', '(0)', '<1e-3', NULL, NULL, NULL,
  NULL, '{}', NULL, NULL);
"#;

/// Schema features and awkward names.
const FEATURES: &str = r#"
CREATE TABLE ident (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, by_default bigint GENERATED BY DEFAULT AS IDENTITY,
    twice int GENERATED ALWAYS AS (id * 2) STORED, note text
);
INSERT INTO ident (note) VALUES ('a'), ('b'), ('c');
ALTER TABLE ident DROP COLUMN by_default;
CREATE TABLE events (at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE events_other PARTITION OF events DEFAULT;
INSERT INTO events SELECT '2025-06-01'::date + i, i FROM generate_series(0, 900) i;
CREATE TABLE animals (name text, legs int);
CREATE TABLE dogs (breed text) INHERITS (animals);
INSERT INTO animals VALUES ('snake', 0), ('bird', 2);
INSERT INTO dogs VALUES ('rex', 4, 'mutt');
CREATE UNLOGGED TABLE scratch (k text, v int);
INSERT INTO scratch VALUES ('x', 1);
CREATE MATERIALIZED VIEW animal_legs AS SELECT name, legs FROM animals;
CREATE MATERIALIZED VIEW leg_total AS SELECT sum(legs) AS legs FROM animal_legs;
CREATE UNIQUE INDEX animal_legs_name ON animal_legs (name);
CREATE MATERIALIZED VIEW never_filled AS SELECT 1 AS one WITH NO DATA;
CREATE TABLE owned (id int DEFAULT 0, tag serial);
CREATE SEQUENCE owned_ids OWNED BY owned.id;
ALTER TABLE owned ALTER COLUMN id SET DEFAULT nextval('owned_ids');
INSERT INTO owned DEFAULT VALUES; INSERT INTO owned DEFAULT VALUES;
CREATE SEQUENCE unused_seq;
CREATE SEQUENCE next_is_42 START 5; SELECT setval('next_is_42', 42, false);
CREATE TABLE secrets (owner name DEFAULT current_user, secret text);
INSERT INTO secrets VALUES ('someone_else', 'hidden'), ('postgres', 'mine');
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON secrets USING (owner = current_user);
COMMENT ON TABLE secrets IS 'rows per owner';
COMMENT ON COLUMN secrets.secret IS 'a secret, ''quoted''';
CREATE TABLE audit (at timestamptz DEFAULT now(), what text);
CREATE FUNCTION log_animal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO audit (what) VALUES ('animal ' || NEW.name); RETURN NEW; END $$;
CREATE TRIGGER animals_logged AFTER INSERT ON animals FOR EACH ROW EXECUTE FUNCTION log_animal();
CREATE SCHEMA "Mixed Schema";
CREATE SEQUENCE "Mixed Schema"."Odd Seq" START 1000; SELECT nextval('"Mixed Schema"."Odd Seq"');
CREATE TABLE "Mixed Schema"."Weird ""Name"" Table" ("Spaced Col" text, "UPPER" int, "dot.ted" bool);
INSERT INTO "Mixed Schema"."Weird ""Name"" Table" VALUES ('v', 1, true);
CREATE TABLE dups (a int, b text);
INSERT INTO dups VALUES (1, 'same'), (1, 'same'), (1, 'same'), (2, NULL), (2, NULL);
-- Columns of types initdb creates (OIDs that differ between servers).
CREATE TABLE catalog_copy AS SELECT table_name, ordinal_position, is_nullable,
    ARRAY[table_name] AS names FROM information_schema.columns
    WHERE table_schema = 'pg_catalog' AND table_name = 'pg_class';
CREATE TABLE nocols ();
INSERT INTO nocols DEFAULT VALUES; INSERT INTO nocols DEFAULT VALUES;
CREATE TABLE documents (id int, blob oid);
INSERT INTO documents VALUES
 (1, lo_from_bytea(0, '')),
 (2, lo_from_bytea(0, convert_to('hello, large object', 'UTF8'))),
 (3, lo_from_bytea(0, (SELECT string_agg(decode(md5(i::text), 'hex'), ''::bytea) FROM generate_series(1, 40000) i)));
DO $$ BEGIN EXECUTE format('COMMENT ON LARGE OBJECT %s IS %L',
    (SELECT blob FROM documents WHERE id = 2), 'a greeting, ''quoted'''); END $$;
"#;

/// `pg_dump` of everything (structure, data, large objects) with each
/// table's rows sorted (the restore may load them in another order), and
/// without psql's per-dump restrict keys.
fn dump(server: &PgServer, db: &str) -> String {
    let out = std::process::Command::new("pg_dump")
        .args(["--no-owner", "--no-privileges", "--dbname", &server.url(db)])
        // pg_dump prints in the database's own bytea and time zone
        // settings, which the corpus sets apart: the same for both.
        .env("PGOPTIONS", "-c bytea_output=hex -c timezone=UTC")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = Vec::new();
    let mut rows: Option<Vec<&str>> = None;
    for line in text.lines() {
        if line.starts_with("\\restrict") || line.starts_with("\\unrestrict") {
            continue;
        }
        match rows.as_mut() {
            Some(block) if line == "\\." => {
                block.sort_unstable();
                lines.extend(block.drain(..).map(str::to_owned));
                lines.push(line.to_owned());
                rows = None;
            }
            Some(block) => block.push(line),
            None => {
                lines.push(line.to_owned());
                if line.starts_with("COPY ") && line.ends_with("FROM stdin;") {
                    rows = Some(Vec::new());
                }
            }
        }
    }
    lines.join("\n")
}

/// The two dumps are equal; if not, the lines that differ are shown (a
/// dump is megabytes).
fn assert_same_dump(source: &str, restored: &str) {
    let (a, b): (Vec<&str>, Vec<&str>) = (source.lines().collect(), restored.lines().collect());
    let differ: Vec<String> = a
        .iter()
        .zip(&b)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .take(5)
        .map(|(i, (x, y))| {
            let cut = |l: &str| l.chars().take(300).collect::<String>();
            format!(
                "line {}:\n  source:   {}\n  restored: {}",
                i + 1,
                cut(x),
                cut(y)
            )
        })
        .collect();
    assert!(
        differ.is_empty() && a.len() == b.len(),
        "pg_dump differs ({} lines, {} restored):\n{}",
        a.len(),
        b.len(),
        differ.join("\n")
    );
}

/// Every table and the large objects were read back and found equal.
fn assert_content_verified(stats: &RestoreStats, tables: usize) {
    assert!(stats.failed.is_empty(), "{:?}", stats.failed);
    let checked: Vec<_> = stats
        .checks
        .iter()
        .filter(|c| !c.name.starts_with("_schema/"))
        .collect();
    assert_eq!(checked.len(), tables, "{:?}", stats.checks);
    for check in checked {
        assert!(
            matches!(check.outcome, CheckOutcome::Content { .. }),
            "{}: {}",
            check.name,
            check.outcome.describe()
        );
    }
}

#[test]
fn every_type_and_feature_round_trips_exactly() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE corpus");
    for sql in [EXTENSIONS, BUILTIN, DEFINED, FEATURES] {
        server.psql("corpus", sql);
    }
    // Sessions that print values every other way (set once the
    // data is in): the backup's own settings must not depend on them.
    server.psql(
        "postgres",
        "ALTER DATABASE corpus SET timezone = 'America/St_Johns'; \
         ALTER DATABASE corpus SET datestyle = 'SQL, DMY'; \
         ALTER DATABASE corpus SET intervalstyle = 'sql_standard'; \
         ALTER DATABASE corpus SET extra_float_digits = -15; \
         ALTER DATABASE corpus SET bytea_output = 'escape'; \
         ALTER DATABASE corpus SET xmloption = 'document'",
    );
    let repo = fx.repo(None);
    let stats = backup_url(&repo, &server.url("corpus"), "corpus").unwrap();
    let manifest = repo.point(&stats.point).unwrap();
    let entry = |name: &str| {
        manifest
            .objects
            .iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("{name} in the point"))
    };
    // Built-in types travel in binary; the others as text.
    assert_eq!(entry("public.scalars").format, None);
    assert_eq!(entry("public.arrays").format, None);
    assert_eq!(entry("public.defined").format.as_deref(), Some("copy-text"));
    assert_eq!(
        entry("public.scalars_text").format.as_deref(),
        Some("copy-text")
    );
    assert_eq!(entry("public.contrib").format.as_deref(), Some("copy-text"));
    // The parent's own rows, not its child's.
    assert_eq!(entry("public.animals").rows, Some(2));
    assert_eq!(entry("public.dogs").rows, Some(1));
    // Four large objects, each a row, and their pieces of 256 KiB.
    let lobs = entry("_data/large-objects");
    assert_eq!(lobs.kind, ObjectKind::Table);
    assert_eq!(lobs.rows, Some(4 + 1 + 3 + 1));
    let tables = manifest
        .objects
        .iter()
        .filter(|o| o.kind == ObjectKind::Table)
        .count();
    assert!(manifest
        .objects
        .iter()
        .filter(|o| o.kind == ObjectKind::Table)
        .all(|o| o.digest.is_some()));

    let restored = restore_url(
        &repo,
        &stats.point,
        &server.url("copy"),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_content_verified(&restored, tables);
    assert_same_dump(&dump(&server, "corpus"), &dump(&server, "copy"));
    // Queries work as they did: the views are populated, large objects
    // are there under their OIDs, the policy still applies to others.
    let same = |sql: &str| {
        assert_eq!(
            server.psql("copy", sql),
            server.psql("corpus", sql),
            "{sql}"
        );
    };
    same("SELECT legs FROM leg_total");
    same("SELECT id, length(lo_get(blob)), md5(lo_get(blob)) FROM documents ORDER BY id");
    same("SELECT count(*) FROM animals");
    same("SELECT ispopulated FROM pg_matviews ORDER BY matviewname");
    same("SELECT encode(lo_get(doc), 'hex') FROM contrib WHERE doc IS NOT NULL");
    same("SELECT note FROM contrib WHERE note % 'fuzy text'");
}

#[test]
fn a_restore_whose_rows_change_on_the_way_in_fails_that_table() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE plant");
    server.psql(
        "plant",
        "CREATE TABLE readings (id int PRIMARY KEY, value float8); \
         INSERT INTO readings SELECT i, i * 0.25 FROM generate_series(1, 500) i; \
         CREATE TABLE sites (name text); INSERT INTO sites VALUES ('north'), ('south');",
    );
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("plant"), "plant")
        .unwrap()
        .point;
    // The target's readings table rounds every value as it is inserted.
    server.psql(
        "plant",
        "CREATE FUNCTION round_value() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.id = 7 THEN NEW.value := round(NEW.value::numeric); END IF; RETURN NEW; END $$; \
         CREATE TRIGGER rounding BEFORE INSERT ON readings FOR EACH ROW EXECUTE FUNCTION round_value();",
    );
    let stats = restore_url(
        &repo,
        &point,
        &server.url("plant"),
        &RestoreOptions {
            on_conflict: ConflictPolicy::Overwrite,
            ..RestoreOptions::default()
        },
    )
    .unwrap();
    assert_eq!(stats.failed.len(), 1, "{:?}", stats.failed);
    let (name, why) = &stats.failed[0];
    assert_eq!(name, "public.readings");
    assert!(
        why.contains("public.readings") && why.contains("content differs"),
        "{why}"
    );
    let sites = stats
        .checks
        .iter()
        .find(|c| c.name == "public.sites")
        .unwrap();
    assert_eq!(sites.outcome, CheckOutcome::Content { rows: Some(2) });
}

#[test]
fn a_text_table_read_in_slices_restores_verified() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE plant");
    server.psql(
        "plant",
        "CREATE TYPE state AS ENUM ('on', 'off'); \
         CREATE TABLE switches (id int, s state, label text, at timestamptz, v float8); \
         INSERT INTO switches SELECT i, (ARRAY['on','off'])[1 + i % 2]::state, 'switch\t' || i, \
           '2026-01-01 00:00:00+00'::timestamptz + i * interval '1.5 seconds', i / 7.0 \
         FROM generate_series(1, 20000) i;",
    );
    let SourceUrl::Postgres(at) = SourceUrl::parse(&server.url("plant")).unwrap() else {
        panic!("not a PostgreSQL URL");
    };
    let source = PostgresSource::new(at, &Selection::default())
        .unwrap()
        .with_slice_pages(16);
    let options = BackupOptions {
        task: "plant".into(),
        ..BackupOptions::default()
    };
    let repo = fx.repo(None);
    let point = support::backup_source(&repo, &source, &options)
        .unwrap()
        .point;
    drop(source);
    let manifest = repo.point(&point).unwrap();
    let switches = manifest
        .objects
        .iter()
        .find(|o| o.name == "public.switches")
        .unwrap();
    assert_eq!(switches.format.as_deref(), Some("copy-text"));
    assert!(switches.parts.len() > 3, "{} slices", switches.parts.len());
    assert_eq!(switches.digest.map(|d| d.rows), Some(20_000));
    let stats = restore_url(
        &repo,
        &point,
        &server.url("copy"),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert_content_verified(&stats, 1);
    assert_eq!(
        server.checksum("copy", "switches"),
        server.checksum("plant", "switches")
    );
}

#[test]
fn large_objects_restore_over_existing_ones_only_when_allowed() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE files");
    server.psql(
        "files",
        "CREATE TABLE docs (id int, body oid); \
         INSERT INTO docs VALUES (1, lo_from_bytea(0, 'first')), (2, lo_from_bytea(0, 'second'));",
    );
    let contents =
        "SELECT string_agg(m.oid || '=' || encode(lo_get(m.oid), 'escape'), ',' ORDER BY m.oid) \
                    FROM pg_largeobject_metadata m";
    let before = server.psql("files", contents);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("files"), "files")
        .unwrap()
        .point;
    // Afterwards one is changed, one removed and a new one made.
    server.psql(
        "files",
        "SELECT lo_put(body, 0, 'FIRST') FROM docs WHERE id = 1; \
         SELECT lo_unlink(body) FROM docs WHERE id = 2; SELECT lo_from_bytea(0, 'new');",
    );
    let lobs = |on_conflict| RestoreOptions {
        objects: vec![("_data/large-objects".into(), None)],
        on_conflict,
        ..RestoreOptions::default()
    };
    // Existing large objects are a conflict, as existing tables are.
    let err = restore_url(
        &repo,
        &point,
        &server.url("files"),
        &lobs(ConflictPolicy::Stop),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("_data/large-objects"), "{err}");
    assert_ne!(server.psql("files", contents), before);
    // Overwriting makes them exactly the backup's again, verified.
    let stats = restore_url(
        &repo,
        &point,
        &server.url("files"),
        &lobs(ConflictPolicy::Overwrite),
    )
    .unwrap();
    assert_content_verified(&stats, 1);
    assert_eq!(server.psql("files", contents), before);
}

#[test]
fn rows_row_level_security_would_hide_fail_the_backup_by_name() {
    let server = PgServer::start();
    let fx = Fixture::new();
    server.psql("postgres", "CREATE DATABASE vault");
    server.psql(
        "vault",
        "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; \
         CREATE TABLE notes (owner name, body text); \
         INSERT INTO notes VALUES ('reader', 'visible'), ('postgres', 'hidden from reader'); \
         ALTER TABLE notes ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY mine ON notes USING (owner = current_user); \
         GRANT SELECT ON notes TO reader;",
    );
    let url = server
        .url("vault")
        .replace("postgres:tidemark-test-pw@", "reader:reader-pw@");
    let repo = fx.repo(None);
    let err = backup_url(&repo, &url, "vault").unwrap_err().to_string();
    assert!(
        err.contains("notes") && err.contains("row-level security"),
        "{err}"
    );
}
