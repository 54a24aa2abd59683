//! Comparing two points from their manifests: a file tree where exactly
//! three files changed content, one its mode, one was added and one removed
//! (names with spaces, quotes and other scripts); the parent is the default
//! other point; a first point has none; a SQLite table whose rows changed
//! shows its row counts and time spans, the untouched table does not appear.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use rusqlite::Connection;
use support::{backup_url, make_tree, Fixture};
use tidemark_engine::backup::BackupOptions;
use tidemark_engine::diff::{diff_points, plan_diff, Change, DiffOptions};

fn options() -> BackupOptions {
    BackupOptions {
        task: "tree".into(),
        ..Default::default()
    }
}

fn names(diff: &tidemark_engine::diff::PointDiff, change: Change) -> Vec<String> {
    diff.objects
        .iter()
        .filter(|o| o.change == change)
        .map(|o| o.name.clone())
        .collect()
}

#[test]
fn a_tree_diff_names_exactly_what_changed() {
    let fx = Fixture::new();
    let repo = fx.repo(Some("diff passphrase"));
    make_tree(&fx.path("src"));
    fs::write(fx.path("src/it's \"quoted\" notes.txt"), "v1\n").unwrap();
    let first = fx.backup(&repo, &options()).point;

    let first_only = plan_diff(
        &repo,
        &DiffOptions {
            from: None,
            to: first.clone(),
        },
    )
    .unwrap_err();
    assert!(
        first_only.to_string().contains("first point"),
        "{first_only}"
    );

    // Three contents (one the same size), one mode, one added, one removed.
    fs::write(fx.path("src/readme.md"), "# sensor DATA\n").unwrap();
    fs::write(
        fx.path("src/unicode/数据-ünïcödé ✓.csv"),
        "ts,温度\n1,22.5\n2,23\n",
    )
    .unwrap();
    fs::write(fx.path("src/it's \"quoted\" notes.txt"), "v2, longer\n").unwrap();
    fs::set_permissions(
        fx.path("src/series/small.csv"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    fs::write(fx.path("src/a/b/new file.bin"), [1u8; 300]).unwrap();
    fs::remove_file(fx.path("src/empty.txt")).unwrap();
    let second = fx.backup(&repo, &options()).point;

    let plan = plan_diff(
        &repo,
        &DiffOptions {
            from: None,
            to: second.clone(),
        },
    )
    .unwrap();
    assert_eq!(plan.from.id, first, "the parent by default");
    let diff = diff_points(&plan);
    assert_eq!(
        (diff.from.as_str(), diff.to.as_str()),
        (first.as_str(), second.as_str())
    );
    assert_eq!(names(&diff, Change::Added), ["a/b/new file.bin"]);
    assert_eq!(names(&diff, Change::Removed), ["empty.txt"]);
    let content: Vec<&str> = diff
        .objects
        .iter()
        .filter(|o| o.differs.contains(&"content"))
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        content,
        [
            "it's \"quoted\" notes.txt",
            "readme.md",
            "unicode/数据-ünïcödé ✓.csv"
        ]
    );
    let small = diff
        .objects
        .iter()
        .find(|o| o.name == "series/small.csv")
        .unwrap();
    assert_eq!(small.differs, ["mode"]);
    assert_eq!(small.before.as_ref().unwrap().mode, Some(0o600));
    assert_eq!(small.after.as_ref().unwrap().mode, Some(0o644));
    assert_eq!(
        (diff.added, diff.removed, diff.changed),
        (1, 1, 4),
        "{:#?}",
        diff.objects
    );
    let total = plan.to.objects.len() as u64;
    assert_eq!(diff.unchanged + diff.changed + diff.added, total);

    // The same point against itself: nothing.
    let same = diff_points(
        &plan_diff(
            &repo,
            &DiffOptions {
                from: Some(second.clone()),
                to: "latest".into(),
            },
        )
        .unwrap(),
    );
    assert!(same.objects.is_empty(), "{:?}", same.objects);
    assert_eq!(same.unchanged, total);
}

#[test]
fn a_table_diff_shows_rows_and_time_spans() {
    let fx = Fixture::new();
    let repo = fx.repo(None);
    let db = fx.path("plant \"north\".db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE readings (ts DATETIME NOT NULL, device TEXT, value REAL);
         CREATE TABLE \"site list\" (name TEXT PRIMARY KEY);
         INSERT INTO \"site list\" VALUES ('north'), ('südost');
         INSERT INTO readings VALUES ('2026-11-01 00:00:00', 'd1', 1.5), ('2026-11-01 00:01:00', 'd2', -0.0);",
    )
    .unwrap();
    let url = format!("sqlite://{}", db.display());
    let first = backup_url(&repo, &url, "plant").unwrap().point;
    conn.execute(
        "INSERT INTO readings VALUES ('2026-11-02 12:00:00', 'd1', 2.25)",
        [],
    )
    .unwrap();
    drop(conn);
    let second = backup_url(&repo, &url, "plant").unwrap().point;

    let diff = diff_points(
        &plan_diff(
            &repo,
            &DiffOptions {
                from: None,
                to: second,
            },
        )
        .unwrap(),
    );
    assert_eq!(
        diff.from, first,
        "the task's point before, for a full point"
    );
    assert_eq!(
        names(&diff, Change::Changed),
        ["readings"],
        "{:#?}",
        diff.objects
    );
    let readings = &diff.objects[0];
    assert_eq!(readings.differs, ["content"]);
    let (before, after) = (
        readings.before.as_ref().unwrap(),
        readings.after.as_ref().unwrap(),
    );
    assert_eq!((before.rows, after.rows), (Some(2), Some(3)));
    assert_eq!(before.time_max.as_deref(), Some("2026-11-01 00:01:00"));
    assert_eq!(after.time_max.as_deref(), Some("2026-11-02 12:00:00"));
}
