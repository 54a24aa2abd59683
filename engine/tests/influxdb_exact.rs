//! InfluxDB restores are exact: a corpus of awkward values (floats at
//! their extremes and thousands of random bit patterns, integers at
//! ±2^63, strings with quotes, backslashes, newlines and non-ASCII,
//! booleans, names that need escaping, nanosecond times at both ends of
//! what the server stores) is backed up and restored, and the server's own
//! client prints the same for source and restore. Every restored
//! measurement is read back and its content digest verified; what line
//! protocol cannot hold is refused at backup, naming the measurement; a
//! restore whose loaded points differ from the backup fails its check.

mod support;

use tidemark_engine::restore::{CheckOutcome, ConflictPolicy, RestoreOptions, RestoreStats};
use tidemark_engine::{DuplicatePolicy, Repository};

use support::influxdb::{assert_same, InfluxDb};
use support::{backup_url, restore_url, Fixture};

/// 2026-11-01T00:00:00Z in nanoseconds.
const T0: i64 = 1_793_491_200_000_000_000;
/// The earliest and latest times InfluxDB 1.x stores.
const MIN_TIME: i64 = -9_223_372_036_854_775_806;
const MAX_TIME: i64 = 9_223_372_036_854_775_806;

/// splitmix64: the same corpus every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A measurement name as line protocol writes it.
fn measurement(name: &str) -> String {
    name.replace(',', "\\,").replace(' ', "\\ ")
}

/// A tag key or value, or a field key, as line protocol writes it.
fn key(name: &str) -> String {
    name.replace(',', "\\,")
        .replace('=', "\\=")
        .replace(' ', "\\ ")
}

fn string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

const WEIRD: &str = "we\"ird, name=x\\y";

/// Strings a restore must give back byte for byte.
const STRINGS: &[&str] = &[
    "",
    "he said \"hi\", a=b c",
    "C:\\dir\\",
    "\\\\server\\share\\\"x\\\"",
    "line one\nline two\r\nline three\n",
    "tab\there, literal \\n and \\t",
    "é ☃ 温度 🦀 Ωmega",
    "<a href=\"x\">&amp;</a> \u{2028}\u{2029}",
    "nul \u{0} inside",
    "ends with a backslash \\",
];

/// Every measurement of the corpus with its points as line protocol.
fn corpus() -> Vec<(String, Vec<String>)> {
    let mut rng = Rng(17);
    let mut floats = Vec::new();
    let named: &[(&str, f64)] = &[
        ("max", f64::MAX),
        ("min", -f64::MAX),
        ("e308", 1e308),
        ("tiny", 5e-324),
        ("minus tiny", -5e-324),
        ("smallest normal", f64::MIN_POSITIVE),
        ("zero", 0.0),
        ("minus zero", -0.0),
        ("point three", 0.1 + 0.2),
        ("tenth", 0.1),
        ("pi", std::f64::consts::PI),
        ("2^53+1", 9_007_199_254_740_993.0),
        ("2^60", 1_152_921_504_606_846_976.0),
        ("2^63", 9_223_372_036_854_775_808.0),
        ("-2^63", -9_223_372_036_854_775_808.0),
        ("2^64", 18_446_744_073_709_551_616.0),
        ("1e21", 1e21),
        ("1e-7", 1e-7),
    ];
    for (i, (case, v)) in named.iter().enumerate() {
        floats.push(format!(
            "floats,case={} v={v:?} {}",
            key(case),
            T0 + i as i64
        ));
    }
    // As another client writes them: integral, exponent, leading dot.
    for (i, text) in [
        "1",
        "-3",
        "1e+300",
        ".5",
        "1E5",
        "123456789012345678901234567890",
    ]
    .iter()
    .enumerate()
    {
        floats.push(format!("floats,case=text v={text} {}", T0 + 100 + i as i64));
    }
    let mut written = 0;
    while written < 3000 {
        let v = f64::from_bits(rng.next());
        if v.is_finite() {
            floats.push(format!(
                "floats,case=random v={v:?} {}",
                T0 + 1000 + written
            ));
            written += 1;
        }
    }

    let mut integers = Vec::new();
    for (i, n) in [i64::MIN, i64::MAX, 0, -1, 1, (1 << 53) + 1, -(1 << 53) - 1]
        .iter()
        .enumerate()
    {
        integers.push(format!("integers,case=edge n={n}i {}", T0 + i as i64));
    }
    for i in 0..1000 {
        integers.push(format!(
            "integers,case=random n={}i,f={:?} {}",
            rng.next() as i64,
            (rng.next() >> 11) as f64,
            T0 + 100 + i
        ));
    }

    let mut text = Vec::new();
    for (i, s) in STRINGS.iter().enumerate() {
        text.push(format!(
            "text,n={i} s={},b={} {}",
            string(s),
            i % 2 == 0,
            T0 + i as i64
        ));
    }
    let long: String = (0..20_000)
        .map(|i| ['a', 'é', '"', '\\', '\n'][i % 5])
        .collect();
    text.push(format!("text,n=long s={} {}", string(&long), T0 + 100));
    text.push(format!("text,n=bools b=T,c=f,d=TRUE,e=False {}", T0 + 101));

    let tag_values = [
        "a b",
        "c,d",
        "e=f",
        "C:\\dir\\sub",
        "q\"uote",
        "ü 温度",
        "x\\y=z",
    ];
    let mut weird = Vec::new();
    for (i, v) in tag_values.iter().enumerate() {
        weird.push(format!(
            "{},{}={},{}=v{} {}={}i,{}={} {}",
            measurement(WEIRD),
            key("tag key"),
            key(v),
            key("k,="),
            i % 2,
            key("field key,=x"),
            i,
            key("quote\"field"),
            string(v),
            T0 + i as i64
        ));
    }
    // A tag and a field of the same name.
    weird.push(format!(
        "{},kind=a kind=\"field kind\" {T0}",
        measurement(WEIRD)
    ));

    let mut times = Vec::new();
    for (i, t) in [MIN_TIME, -1, 0, 1, 1_000_000_001, MAX_TIME]
        .iter()
        .enumerate()
    {
        times.push(format!("times,edge=yes n={i}i {t}"));
    }
    for i in 0..500 {
        times.push(format!("times n={i}i {}", T0 + i * 7 + (i % 3)));
    }

    vec![
        ("floats".into(), floats),
        ("integers".into(), integers),
        ("text".into(), text),
        ("times".into(), times),
        (WEIRD.into(), weird),
    ]
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The measurement as the `influx` client prints it: every point of every
/// series as CSV with RFC 3339 times, and as JSON with nanosecond times.
fn printed(server: &InfluxDb, db: &str, name: &str) -> String {
    let q = format!("SELECT * FROM {} GROUP BY *", quoted(name));
    let csv = server.influx_as(Some(db), &q, "csv", "rfc3339");
    assert!(csv.lines().count() > 1, "{db} {name}: {csv}");
    format!("{csv}\n{}", server.snapshot(db, name))
}

/// Each restored measurement's check, which must say content verified
/// with every point of the backup.
fn assert_content_verified(done: &RestoreStats, corpus: &[(String, Vec<String>)]) {
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    for (name, points) in corpus {
        let check = done
            .checks
            .iter()
            .find(|c| &c.name == name)
            .unwrap_or_else(|| panic!("no check of {name}: {:?}", done.checks));
        assert_eq!(
            check.outcome,
            CheckOutcome::Content {
                rows: Some(points.len() as u64)
            },
            "{name}: {}",
            check.outcome.describe()
        );
    }
}

fn restore(repo: &Repository, point: &str, url: &str, options: RestoreOptions) -> RestoreStats {
    restore_url(repo, point, url, &options).unwrap()
}

#[test]
fn a_corpus_of_awkward_values_restores_exactly_and_is_verified() {
    let server = InfluxDb::start();
    let fx = Fixture::new();
    let corpus = corpus();
    server.influx(None, "CREATE DATABASE src");
    for (_, points) in &corpus {
        server.write("src", points);
    }
    for (name, points) in &corpus {
        let q = format!("SELECT * FROM {}", quoted(name));
        assert_eq!(server.rows("src", &q), points.len(), "{name}");
    }
    let original: Vec<String> = corpus
        .iter()
        .map(|(name, _)| printed(&server, "src", name))
        .collect();
    // The server holds the values as written (the client prints them).
    let floats = &original[0];
    for text in [
        "1e+308",
        "5e-324",
        "-0",
        "0.30000000000000004",
        "9007199254740992",
    ] {
        assert!(floats.contains(text), "{text} in {floats}");
    }
    assert!(original[1].contains("-9223372036854775808"));
    assert!(original[3].contains("2262-04-11T23:47:16.854775806Z"));
    assert!(original[3].contains("1677-09-21T00:12:43.145224194Z"));

    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("src"), "influx")
        .unwrap()
        .point;
    let manifest = repo.point(&point).unwrap();
    for (name, points) in &corpus {
        let entry = manifest.objects.iter().find(|o| &o.name == name).unwrap();
        assert_eq!(entry.rows, Some(points.len() as u64), "{name}");
        assert_eq!(
            entry.digest.map(|d| d.rows),
            Some(points.len() as u64),
            "{name}"
        );
    }

    // Into a new database.
    let done = restore(
        &repo,
        &point,
        &server.url("copy"),
        RestoreOptions::default(),
    );
    assert_content_verified(&done, &corpus);
    for ((name, _), before) in corpus.iter().zip(&original) {
        assert_same(&printed(&server, "copy", name), before, name);
    }

    // Over the source itself: the points go through a staging database and
    // the server's own copy (SELECT INTO), and still come back exactly.
    server.write("src", &[format!("floats,case=late v=1 {T0}")]);
    let options = RestoreOptions {
        on_conflict: ConflictPolicy::Overwrite,
        ..RestoreOptions::default()
    };
    let done = restore(&repo, &point, &server.url("src"), options);
    assert_content_verified(&done, &corpus);
    for ((name, _), before) in corpus.iter().zip(&original) {
        assert_same(&printed(&server, "src", name), before, name);
    }
    support::assert_verifies_clean(&repo);
}

/// A backup of database `db` fails, naming `measurement` and `why`.
fn assert_refused(server: &InfluxDb, fx: &Fixture, db: &str, measurement: &str, why: &str) {
    let repo = fx.repo(None);
    let err = backup_url(&repo, &server.url(db), db)
        .unwrap_err()
        .to_string();
    assert!(err.contains(measurement), "{measurement}: {err}");
    assert!(err.contains(why), "{why}: {err}");
}

#[test]
fn what_line_protocol_cannot_hold_is_refused_at_backup() {
    let server = InfluxDb::start();

    // A field of two types, one per shard (shards span 7 days): the
    // server casts one to the other when they are read.
    server.influx(None, "CREATE DATABASE mixed");
    server.write(
        "mixed",
        &[
            format!("mixed v=9007199254740993i {T0}"),
            format!("mixed v=1.5 {}", T0 + 30 * 86_400 * 1_000_000_000),
        ],
    );
    let fx = Fixture::new();
    assert_refused(
        &server,
        &fx,
        "mixed",
        "measurement mixed",
        "float and integer",
    );

    // Bytes that are not UTF-8: the JSON output prints U+FFFD for them.
    server.influx(None, "CREATE DATABASE bytes");
    let (status, answer) = server.write_raw("bytes", b"bytes s=\"a\xff\xfeb\" 1\n");
    assert_eq!(status, 204, "{answer}");
    let fx = Fixture::new();
    assert_refused(&server, &fx, "bytes", "bytes", "U+FFFD");

    // A name only the server's own copy can make: line protocol reads a
    // line starting with '#' as a comment.
    server.influx(None, "CREATE DATABASE notes");
    server.write("notes", &[format!("plain v=1 {T0}")]);
    server.influx(Some("notes"), "SELECT * INTO \"#notes\" FROM plain");
    let fx = Fixture::new();
    assert_refused(&server, &fx, "notes", "measurement #notes", "comment");

    // A tag value with a backslash before a comma: line protocol writes it
    // (`a\\,b`), but the server reads such names inconsistently.
    server.influx(None, "CREATE DATABASE paths");
    let (status, answer) = server.write_raw("paths", b"paths,dir=a\\\\,b v=1 1\n");
    assert_eq!(status, 204, "{answer}");
    let fx = Fixture::new();
    assert_refused(&server, &fx, "paths", "paths", "tag dir");

    // A name ending in a backslash: it would escape what follows.
    server.influx(None, "CREATE DATABASE slash");
    server.write("slash", &[format!("plain v=1 {T0}")]);
    server.influx(Some("slash"), "SELECT * INTO \"dir\\\\\" FROM plain");
    let fx = Fixture::new();
    assert_refused(&server, &fx, "slash", "measurement dir\\", "backslash");
}

#[test]
fn a_restore_that_loads_other_values_than_the_backup_fails_its_check() {
    let server = InfluxDb::start();
    let fx = Fixture::new();
    server.influx(None, "CREATE DATABASE src");
    let points: Vec<String> = (0..100)
        .map(|i| format!("m,host=h{} v={}.25,n={i}i {}", i % 3, i, T0 + i))
        .collect();
    server.write("src", &points);
    server.write("src", &[format!("other v=1 {T0}")]);
    let repo = fx.repo(None);
    let point = backup_url(&repo, &server.url("src"), "influx")
        .unwrap()
        .point;

    // The target already has two of the backup's points: one equal, one
    // with another value. Skipping duplicates keeps both as they are.
    server.influx(None, "CREATE DATABASE dst");
    server.write(
        "dst",
        &[
            format!("m,host=h0 v=0.25,n=0i {T0}"),
            format!("m,host=h1 v=-7.5,n=1i {}", T0 + 1),
            format!("m,host=h9 v=1 {}", T0 + 5),
        ],
    );
    let options = RestoreOptions {
        on_conflict: ConflictPolicy::Merge,
        on_duplicate: DuplicatePolicy::Skip,
        ..RestoreOptions::default()
    };
    let done = restore(&repo, &point, &server.url("dst"), options);
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    let (name, why) = &done.failed[0];
    assert_eq!(name, "m");
    assert!(
        why.contains("1 of the backup's 100 rows are not in m as they were backed up"),
        "{why}"
    );
    let check = |name: &str| {
        done.checks
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .outcome
            .clone()
    };
    assert!(
        matches!(check("m"), CheckOutcome::Differs(_)),
        "{:?}",
        check("m")
    );
    // The measurement that was not there is verified whole.
    assert_eq!(check("other"), CheckOutcome::Content { rows: Some(1) });
    // The target's point is as it was: the restore did not overwrite it.
    assert_eq!(server.count("dst", "m"), 101);
    let kept = server.influx(
        Some("dst"),
        &format!("SELECT v FROM m WHERE host = 'h1' AND time = {}", T0 + 1),
    );
    assert!(kept.contains("-7.5"), "{kept}");

    // A target whose field has two types (one per shard) would give the
    // loaded values back cast: refused before anything changes.
    server.influx(None, "CREATE DATABASE typed");
    server.write(
        "typed",
        &[
            format!("m,host=h7 n=1i {}", T0 - 30 * 86_400 * 1_000_000_000),
            format!("m,host=h7 n=1.5 {T0}"),
        ],
    );
    let options = RestoreOptions {
        objects: vec![("m".into(), None)],
        on_conflict: ConflictPolicy::Merge,
        on_duplicate: DuplicatePolicy::Stop,
        ..RestoreOptions::default()
    };
    let done = restore(&repo, &point, &server.url("typed"), options);
    assert_eq!(done.failed.len(), 1, "{:?}", done.failed);
    assert!(
        done.failed[0]
            .1
            .contains("field n of measurement m has the types float and integer"),
        "{:?}",
        done.failed
    );
    assert_eq!(server.count("typed", "m"), 2);

    // Merging again where every clash is equal: every backed-up point is
    // present as it was backed up.
    server.influx(None, "CREATE DATABASE equal");
    server.write("equal", &points[..10]);
    server.write("equal", &[format!("m,host=h9 v=1 {}", T0 + 5)]);
    let options = RestoreOptions {
        objects: vec![("m".into(), None)],
        on_conflict: ConflictPolicy::Merge,
        on_duplicate: DuplicatePolicy::Skip,
        ..RestoreOptions::default()
    };
    let done = restore(&repo, &point, &server.url("equal"), options);
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(
        done.checks[0].outcome,
        CheckOutcome::RowsPresent { rows: 100 }
    );
}
