//! MariaDB round trips that must be exact, value for value: a corpus of
//! every type at its extremes, text in several character sets (with bytes
//! invalid in UTF-8), a BLOB over 16 MiB, generated columns, views,
//! triggers, routines and events, awkward names. Checked with the server's
//! own `CHECKSUM TABLE` and `mariadb-dump`, and by the restore's own
//! content verification; and a restore whose data the target changes
//! fails that table by name.

mod support;

use tidemark_engine::restore::{CheckOutcome, ConflictPolicy, RestoreOptions};
use tidemark_engine::DuplicatePolicy;

use support::mariadb::MariaDb;
use support::{backup_url, restore_url, Fixture};

const CORPUS: &str = r#"
SET NAMES utf8mb4;
SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';
CREATE TABLE numbers (
  id INT PRIMARY KEY,
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
  mi MEDIUMINT, mu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
  bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE, dec65 DECIMAL(65,30),
  b64 BIT(64), b1 BIT(1), bo BOOLEAN
) ENGINE=InnoDB;
INSERT INTO numbers VALUES
 (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -3.4028234663852886e38, -1.7976931348623157e308,
  '-99999999999999999999999999999999999.999999999999999999999999999999', b'0', b'0', 0),
 (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
  9223372036854775807, 18446744073709551615, 3.4028234663852886e38, 1.7976931348623157e308,
  '99999999999999999999999999999999999.999999999999999999999999999999',
  b'1111111111111111111111111111111111111111111111111111111111111111', b'1', 1),
 (3, 0, 1, -1, 1, -1, 1, -1, 1, -1, 1, 1.1754943508222875e-38, 2.2250738585072014e-308,
  '0.000000000000000000000000000001', b'1000000000000000000000000000000000000000000000000000000000000001', b'1', 0),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1.401298464324817e-45, 4.9406564584124654e-324, '-0.000000000000000000000000000001', b'0', b'0', 1),
 (6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0e0, -0e0, '0', b'0', b'0', 0),
 (7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.1, 0.1, '0.1', b'0', b'0', 0);
INSERT INTO numbers (id, f, d, bu, dec65)
SELECT 100 + seq, (RAND(seq) - 0.5) * POW(10, CAST(seq % 70 AS SIGNED) - 35), (RAND(seq * 7) - 0.5) * POW(10, CAST(seq % 600 AS SIGNED) - 300),
       CAST(RAND(seq * 3) * 18446744073709551615 AS UNSIGNED), RAND(seq * 5) * 1e20
FROM seq_1_to_2000;

CREATE TABLE strings (
  id INT PRIMARY KEY,
  u_vc VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
  u_ch CHAR(10) CHARACTER SET utf8mb4,
  u_tx TEXT CHARACTER SET utf8mb4,
  l_vc VARCHAR(300) CHARACTER SET latin1,
  l_ch CHAR(10) CHARACTER SET latin1,
  l_tx MEDIUMTEXT CHARACTER SET latin1,
  w_vc VARCHAR(100) CHARACTER SET utf16,
  w_tx LONGTEXT CHARACTER SET utf16,
  c_vc VARCHAR(50) CHARACTER SET cp1251,
  s_tx TINYTEXT CHARACTER SET sjis,
  b_bin BINARY(8), b_vb VARBINARY(300), b_tb TINYBLOB, b_bl BLOB, b_mb MEDIUMBLOB
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO strings VALUES
 (1, 'aé€😀𝄞 ', 'ü  ', CONCAT('every plane: ', _utf8mb4 X'F48FBFBF', ' ', _utf8mb4 X'F0AFA8A0', ' \t\n\\ '''),
  _latin1 X'636166E9', _latin1 X'E9E8', _latin1 X'808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9FFF',
  _utf16 X'D83DDE000041', CONVERT('日本語 ✓' USING utf16), _cp1251 X'CFF0E8E2E5F2', _sjis X'93FA967B',
  X'0001', X'FFFE41', X'C328', X'EDA080', X'F5F6F7F8'),
 (2, '', '', '', '', '', '', '', '', '', '', X'', X'', X'', X'', X''),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 'trailing   ', 'x', 'y  ', 'z  ', 'w', 'v', _utf16 X'00200020', _utf16 X'0041', 'q', 's', X'2020', X'0000', X'00', X'0A0D', X'FF');
INSERT INTO strings (id, l_tx, b_bl, w_tx)
SELECT 10, CONVERT(GROUP_CONCAT(UNHEX(LPAD(HEX(seq), 2, '0')) ORDER BY seq SEPARATOR '') USING latin1),
       GROUP_CONCAT(UNHEX(LPAD(HEX(seq), 2, '0')) ORDER BY seq SEPARATOR ''),
       CONVERT(GROUP_CONCAT(CHAR(seq * 200 + 32 USING ucs2) ORDER BY seq SEPARATOR '') USING utf16)
FROM seq_0_to_255;

CREATE TABLE big (id INT PRIMARY KEY, data LONGBLOB) ENGINE=InnoDB;
INSERT INTO big VALUES (1, REPEAT(UNHEX('00FF7F80'), 17 * 1024 * 256 + 3)), (2, X'01');

CREATE TABLE times (
  id INT PRIMARY KEY, d DATE, dt DATETIME, dt6 DATETIME(6), dt3 DATETIME(3),
  ts TIMESTAMP(6) NULL DEFAULT NULL, t TIME, t6 TIME(6), y YEAR
) ENGINE=InnoDB;
INSERT INTO times VALUES
 (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00.000',
  '0000-00-00 00:00:00', '00:00:00', '00:00:00', 0),
 (2, '1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000001', '1000-01-01 00:00:00.001',
  '1970-01-01 00:00:01.000000', '-838:59:59', '-838:59:59.000000', 1901),
 (3, '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999',
  '2038-01-19 03:14:07.999999', '838:59:59', '838:59:59.000000', 2155),
 (4, '2026-02-00', '2026-00-01 12:00:00', '2026-11-01 01:30:00.5', '2026-03-29 02:30:00.25',
  '2026-10-25 01:30:00.123456', '100:00:00', '-00:00:00.500000', 2000),
 (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
INSERT INTO times (id, d, dt) VALUES (6, '2026-02-31', '2026-04-31 10:00:00');
SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';

CREATE TABLE kinds (
  id INT PRIMARY KEY,
  e ENUM('a', 'b', 'ü', '') CHARACTER SET utf8mb4,
  el ENUM('x', 'é') CHARACTER SET latin1,
  s SET('r', 'w', 'x'),
  j JSON,
  g GEOMETRY, p POINT, ls LINESTRING, pg POLYGON, mp MULTIPOINT, gc GEOMETRYCOLLECTION
) ENGINE=InnoDB;
INSERT INTO kinds VALUES
 (1, 'ü', 'é', 'r,x', '{"a": [1, 2.5e300, "ü\\u0000"], "b": null, "c": {"d": true}}',
  ST_GeomFromText('POINT(1 2)'), POINT(-1.5, 1e300), ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0.5)'),
  ST_GeomFromText('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 2 1, 2 2, 1 1))'),
  ST_GeomFromText('MULTIPOINT(1 1, 2 2)'), ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))')),
 (2, '', 'x', '', '[]', ST_GeomFromText('POINT(0 0)', 4326), NULL, NULL, NULL, NULL, NULL),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 'a', 'nope', 'r,nope', NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE TABLE generated (
  id INT PRIMARY KEY, a INT, b VARCHAR(20) CHARACTER SET utf8mb4,
  v INT AS (a * 2) VIRTUAL,
  s VARCHAR(40) CHARACTER SET utf8mb4 AS (CONCAT(b, '!')) STORED,
  KEY (s)
) ENGINE=InnoDB;
CREATE TABLE audit (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100)) ENGINE=InnoDB;
INSERT INTO audit VALUES (0, 'zero key kept');

CREATE TABLE m1 (a INT) ENGINE=MyISAM;
CREATE TABLE m2 (a INT) ENGINE=MyISAM;
-- Its rows are m1's and m2's: restored with them, not again through it.
CREATE TABLE mall (a INT) ENGINE=MERGE UNION=(m1, m2) INSERT_METHOD=LAST;
INSERT INTO m1 VALUES (1), (2);
INSERT INTO m2 VALUES (3);
CREATE TABLE dups (a INT, b VARCHAR(5)) ENGINE=Aria;
INSERT INTO dups VALUES (1, 'x'), (1, 'x'), (1, 'x'), (2, NULL), (2, NULL);

CREATE TABLE `odd name ``q`` 'x' "y"` (`col one` INT PRIMARY KEY, `col"2` VARCHAR(10), `c``3` TEXT) ENGINE=InnoDB;
INSERT INTO `odd name ``q`` 'x' "y"` VALUES (1, 'a"b', 'c`d'), (2, '''', NULL);

CREATE SEQUENCE order_ids START WITH 100 INCREMENT BY 5;
CREATE TABLE orders (
  id INT PRIMARY KEY DEFAULT NEXTVAL(order_ids), what VARCHAR(10), secret INT INVISIBLE DEFAULT 7
) ENGINE=InnoDB;
INSERT INTO orders (what) VALUES ('a'), ('b');
INSERT INTO orders (id, what, secret) VALUES (1, 'c', NULL);
CREATE TABLE prices (id INT PRIMARY KEY, price DECIMAL(10,2)) ENGINE=InnoDB WITH SYSTEM VERSIONING;
INSERT INTO prices VALUES (1, 9.99), (2, 5);
UPDATE prices SET price = 10.49 WHERE id = 1;
DELETE FROM prices WHERE id = 2;
CREATE TABLE stock (
  id INT, n INT,
  valid_from TIMESTAMP(6) GENERATED ALWAYS AS ROW START,
  valid_to TIMESTAMP(6) GENERATED ALWAYS AS ROW END,
  PERIOD FOR SYSTEM_TIME (valid_from, valid_to)
) ENGINE=InnoDB WITH SYSTEM VERSIONING;
INSERT INTO stock (id, n) VALUES (1, 3);
UPDATE stock SET n = 4;

CREATE FUNCTION f_greet(n VARCHAR(20)) RETURNS VARCHAR(40) CHARSET latin1 DETERMINISTIC RETURN CONCAT('héllo ', n);
-- A routine made under the database's former defaults keeps them; the
-- restored database takes the current ones.
ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE PROCEDURE p_noop() SELECT 1;
DELIMITER //
CREATE PROCEDURE `p count`(OUT total INT)
BEGIN
  SELECT COUNT(*) INTO total FROM numbers;
  SELECT total;
END//
DELIMITER ;
SET SESSION sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT';
CREATE PROCEDURE p_modes() SELECT "id" || 'x' FROM numbers LIMIT 1;
SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';
CREATE VIEW greeted AS SELECT id, f_greet(b) AS greeting FROM generated;
CREATE VIEW `odd view` AS SELECT `col one` FROM `odd name ``q`` 'x' "y"` WHERE `col one` > 1;
-- Made after the view it reads, but before it by name.
CREATE VIEW a_view_of_a_view AS SELECT * FROM `odd view`;
CREATE TRIGGER generated_ai AFTER INSERT ON generated FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('generated ', NEW.id));
CREATE TRIGGER generated_ai2 AFTER INSERT ON generated FOR EACH ROW INSERT INTO audit (what) VALUES ('second');
CREATE TRIGGER `odd trigger` BEFORE UPDATE ON `odd name ``q`` 'x' "y"` FOR EACH ROW SET NEW.`col"2` = 'é';
CREATE EVENT ev_tidy ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM audit WHERE n < 0;
INSERT INTO generated (id, a, b) VALUES (1, 21, 'x'), (2, NULL, 'ü'), (3, -5, NULL);
"#;

/// The base tables of a database.
fn tables(db: &MariaDb, name: &str) -> Vec<String> {
    db.sql(
        Some(name),
        "SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'",
    )
    .lines()
    .filter_map(|l| l.split('\t').next())
    .map(str::to_owned)
    .collect()
}

fn checksum(db: &MariaDb, name: &str, table: &str) -> String {
    let line = db.sql(
        Some(name),
        &format!("CHECKSUM TABLE `{}`", table.replace('`', "``")),
    );
    line.rsplit('\t').next().unwrap_or("").to_owned()
}

fn counts(db: &MariaDb, name: &str) -> String {
    db.sql(
        None,
        &format!(
            "SELECT (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{name}'), \
             (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{name}'), \
             (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{name}')"
        ),
    )
}

#[test]
fn every_type_and_program_round_trips_exactly() {
    let db = MariaDb::start();
    let fx = Fixture::new();
    db.sql(None, "CREATE DATABASE corpus");
    db.sql(Some("corpus"), CORPUS);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &db.url("corpus"), "corpus")
        .unwrap()
        .point;

    let done = restore_url(
        &repo,
        &point,
        &db.url("corpus_restored"),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    let mut names = tables(&db, "corpus");
    names.sort();
    assert_eq!(names.len(), 15, "{names:?}");
    let mut restored_names = tables(&db, "corpus_restored");
    restored_names.sort();
    assert_eq!(restored_names, names);
    for table in &names {
        assert_eq!(
            checksum(&db, "corpus", table),
            checksum(&db, "corpus_restored", table),
            "CHECKSUM TABLE {table}"
        );
        if table == "mall" {
            continue;
        }
        let check = done.checks.iter().find(|c| c.name == *table).unwrap();
        assert!(
            matches!(check.outcome, CheckOutcome::Content { rows: Some(_) }),
            "{table}: {}",
            check.outcome.describe()
        );
    }
    assert_eq!(
        db.sql(
            None,
            "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'corpus_restored'"
        ),
        "utf8mb4_unicode_ci"
    );
    assert_eq!(counts(&db, "corpus"), "3\t4\t1");
    assert_eq!(counts(&db, "corpus_restored"), "3\t4\t1");
    let restored_raw = db.dump_raw("corpus_restored");
    assert!(
        !restored_raw.contains("`corpus`"),
        "the restored database refers to the source database"
    );
    let (source, restored) = (db.dump("corpus"), db.dump("corpus_restored"));
    if source != restored {
        let first = source
            .lines()
            .zip(restored.lines())
            .find(|(a, b)| a != b)
            .map(|(a, b)| {
                (
                    a.chars().take(300).collect::<String>(),
                    b.chars().take(300).collect::<String>(),
                )
            });
        panic!("mariadb-dump differs: {first:?}");
    }
    // History, and where the sequence stands.
    for (name, sql, expected) in [
        (
            "prices",
            "SELECT COUNT(*) FROM prices FOR SYSTEM_TIME ALL",
            "3",
        ),
        (
            "stock",
            "SELECT COUNT(*) FROM stock FOR SYSTEM_TIME ALL",
            "2",
        ),
        (
            "order_ids",
            "SELECT next_not_cached_value FROM order_ids",
            "5100",
        ),
    ] {
        assert_eq!(db.sql(Some("corpus"), sql), expected, "{name}");
        assert_eq!(db.sql(Some("corpus_restored"), sql), expected, "{name}");
    }
    let history = "SELECT GROUP_CONCAT(id, price, row_start, row_end ORDER BY row_start, id) FROM prices FOR SYSTEM_TIME ALL";
    assert_eq!(
        db.sql(Some("corpus"), history),
        db.sql(Some("corpus_restored"), history)
    );
    // The bytes themselves, as the server holds them.
    assert_eq!(
        db.sql(
            Some("corpus_restored"),
            "SELECT HEX(l_vc), HEX(w_vc) FROM strings WHERE id = 1"
        ),
        "636166E9\tD83DDE000041"
    );
    assert_eq!(
        db.sql(
            Some("corpus_restored"),
            "SELECT LENGTH(data) FROM big WHERE id = 1"
        ),
        (17 * 1024 * 1024 + 12).to_string()
    );

    // A server that cannot take the large row in one statement is refused
    // by name and reason, with nothing committed.
    db.sql(None, "SET GLOBAL max_allowed_packet = 16777216");
    let small = restore_url(
        &repo,
        &point,
        &db.url("corpus_small"),
        &RestoreOptions {
            objects: vec![("big".into(), None), ("_schema/tables.sql".into(), None)],
            ..RestoreOptions::default()
        },
    )
    .unwrap();
    db.sql(None, "SET GLOBAL max_allowed_packet = 67108864");
    assert_eq!(small.failed.len(), 1, "{:?}", small.failed);
    assert_eq!(small.failed[0].0, "big");
    assert!(
        small.failed[0].1.contains("max_allowed_packet"),
        "{:?}",
        small.failed
    );
    assert_eq!(
        db.sql(Some("corpus_small"), "SELECT COUNT(*) FROM big"),
        "0"
    );
}

#[test]
fn a_target_that_changes_the_loaded_rows_fails_the_table_by_name() {
    let db = MariaDb::start();
    let fx = Fixture::new();
    db.sql(None, "CREATE DATABASE shop");
    let table = "(id INT PRIMARY KEY, body VARCHAR(20) CHARACTER SET utf8mb4) ENGINE=InnoDB";
    db.sql(
        Some("shop"),
        &format!(
            "SET NAMES utf8mb4; CREATE TABLE notes {table}; CREATE TABLE labels {table}; \
             INSERT INTO notes VALUES (1, 'café'), (2, 'tea'); INSERT INTO labels VALUES (1, 'café')"
        ),
    );
    let repo = fx.repo(None);
    let point = backup_url(&repo, &db.url("shop"), "shop").unwrap().point;

    // The target's own tables: a trigger that rewrites what is inserted,
    // and a column in a character set that changes the bytes.
    db.sql(None, "CREATE DATABASE other");
    db.sql(
        Some("other"),
        &format!(
            "CREATE TABLE notes {table}; \
             CREATE TRIGGER shout BEFORE INSERT ON notes FOR EACH ROW SET NEW.body = UPPER(NEW.body); \
             CREATE TABLE labels (id INT PRIMARY KEY, body VARCHAR(20) CHARACTER SET latin1) ENGINE=InnoDB"
        ),
    );
    let merge = RestoreOptions {
        objects: vec![("notes".into(), None), ("labels".into(), None)],
        on_conflict: ConflictPolicy::Merge,
        on_duplicate: DuplicatePolicy::Stop,
        ..RestoreOptions::default()
    };
    let done = restore_url(&repo, &point, &db.url("other"), &merge).unwrap();
    let mut failed: Vec<&str> = done.failed.iter().map(|(n, _)| n.as_str()).collect();
    failed.sort();
    assert_eq!(failed, ["labels", "notes"], "{:?}", done.failed);
    for (name, why) in &done.failed {
        assert!(why.contains(&format!("not in {name}")), "{name}: {why}");
    }
    assert_eq!(
        db.sql(
            Some("other"),
            "SELECT GROUP_CONCAT(HEX(body) ORDER BY id) FROM notes"
        ),
        "434146C389,544541"
    );
    assert_eq!(
        db.sql(Some("other"), "SELECT HEX(body) FROM labels"),
        "636166E9"
    );
}

#[test]
fn a_program_written_in_latin1_is_recreated_with_a_note() {
    let db = MariaDb::start();
    let fx = Fixture::new();
    db.sql(None, "CREATE DATABASE legacy");
    // The trigger's text holds the latin1 byte E9 (é), not UTF-8.
    let mut sql = b"SET NAMES latin1; CREATE TABLE t (id INT, b VARCHAR(5) CHARACTER SET latin1); \
        CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.b = '"
        .to_vec();
    sql.extend_from_slice(&[0xE9]);
    sql.extend_from_slice(b"';");
    db.sql_bytes("legacy", &sql);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &db.url("legacy"), "legacy")
        .unwrap()
        .point;
    let done = restore_url(
        &repo,
        &point,
        &db.url("legacy_restored"),
        &RestoreOptions::default(),
    )
    .unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert!(
        done.notes
            .iter()
            .any(|n| n.contains("trigger t_bi was written in character set latin1")),
        "{:?}",
        done.notes
    );
    for name in ["legacy", "legacy_restored"] {
        db.sql(Some(name), "INSERT INTO t (id) VALUES (1)");
        assert_eq!(db.sql(Some(name), "SELECT HEX(b) FROM t"), "E9", "{name}");
    }
}

/// A MariaDB point as Tidemark stored tables before `TMROWS2`: values as
/// the server's text in utf8mb4 (binary strings as they are), no format.
struct OldPoint;

const OLD_TABLE: &str = "CREATE TABLE `notes` (`id` int(11) NOT NULL, \
    `l` varchar(10) CHARACTER SET latin1 DEFAULT NULL, `w` varchar(10) CHARACTER SET utf16 DEFAULT NULL, \
    `b` varbinary(10) DEFAULT NULL, `u` varchar(10) CHARACTER SET utf8mb4 DEFAULT NULL, \
    PRIMARY KEY (`id`)) ENGINE=InnoDB\n-- tidemark: end of statement\n";

fn old_stream() -> Vec<u8> {
    let mut out = b"TMROWS1\n".to_vec();
    let columns = ["id", "l", "w", "b", "u"];
    out.extend_from_slice(&(columns.len() as u32).to_le_bytes());
    for name in columns {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
    }
    let rows: [[Option<&[u8]>; 5]; 2] = [
        [
            Some(b"1"),
            Some("café".as_bytes()),
            Some("日本".as_bytes()),
            Some(&[0xFF, 0xFE, 0x41]),
            Some("ü".as_bytes()),
        ],
        [Some(b"2"), None, None, None, None],
    ];
    for row in rows {
        out.push(1);
        for value in row {
            match value {
                None => out.push(0),
                Some(bytes) => {
                    out.push(1);
                    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                    out.extend_from_slice(bytes);
                }
            }
        }
    }
    out.push(0);
    out
}

impl tidemark_engine::Source for OldPoint {
    fn url(&self) -> String {
        "mysql://tidemark@127.0.0.1/legacy".into()
    }

    fn name(&self) -> String {
        "legacy".into()
    }

    fn describe(&self) -> tidemark_engine::Result<tidemark_engine::SourceDescription> {
        use tidemark_engine::{ObjectEntry, ObjectKind};
        let mut notes = ObjectEntry::new("notes", ObjectKind::Table);
        notes.rows = Some(2);
        Ok(tidemark_engine::SourceDescription {
            kind: "mysql".into(),
            server_version: Some("10.11.19-MariaDB".into()),
            objects: vec![
                ObjectEntry::new("_schema/tables.sql", ObjectKind::Schema),
                notes,
                ObjectEntry::new("_schema/views.sql", ObjectKind::Schema),
            ],
        })
    }

    fn open(
        &self,
        object: &tidemark_engine::ObjectEntry,
    ) -> tidemark_engine::Result<Box<dyn std::io::Read + Send + '_>> {
        let content = match object.name.as_str() {
            "_schema/tables.sql" => OLD_TABLE.as_bytes().to_vec(),
            "notes" => old_stream(),
            _ => Vec::new(),
        };
        Ok(Box::new(std::io::Cursor::new(content)))
    }
}

#[test]
fn an_old_point_with_utf8mb4_text_restores_exactly() {
    let db = MariaDb::start();
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let options = tidemark_engine::backup::BackupOptions {
        task: "legacy".into(),
        ..Default::default()
    };
    let point = support::backup_source(&repo, &OldPoint, &options)
        .unwrap()
        .point;
    let done = restore_url(&repo, &point, &db.url("legacy"), &RestoreOptions::default()).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    let check = done.checks.iter().find(|c| c.name == "notes").unwrap();
    assert_eq!(check.outcome.describe(), "content verified (2 rows)");
    // Each text in its column's own character set, binary bytes as they were.
    assert_eq!(
        db.sql(
            Some("legacy"),
            "SELECT CONCAT_WS(' ', HEX(l), HEX(w), HEX(b), HEX(u)) FROM notes WHERE id = 1"
        ),
        "636166E9 65E5672C FFFE41 C3BC"
    );
}
