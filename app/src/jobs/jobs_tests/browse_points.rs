//! Browsing a point through the console's server function, against a real
//! backup of a tree: a folder lists its direct entries (folders first, with
//! what lies below them; a folder the point has no entry for is made up
//! from the paths), 250 files page by 100, modes and times as stored;
//! search by substring (ignoring case) and by `/regular expression/`, a
//! broken expression refused beside the field; an unknown point is 404;
//! Restore selected keeps a folder and what lies below it.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::api::browse::server::browse;
use crate::state::AppState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_point_is_browsed_folder_by_folder_and_searched() {
    let fx = Fixture::new().await;
    let root = fx.path("tree");
    let day_dir = root.join("logs/2026/11");
    std::fs::create_dir_all(&day_dir).unwrap();
    for day in 1..=250 {
        std::fs::write(day_dir.join(format!("day {day}.log")), format!("{day}\n")).unwrap();
    }
    std::fs::write(root.join("readme.txt"), "sensors\n").unwrap();
    std::fs::set_permissions(
        root.join("readme.txt"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("quote's \"dir\"")).unwrap();
    std::fs::write(root.join("quote's \"dir\"/a.bin"), [1u8; 10]).unwrap();
    std::fs::create_dir_all(root.join("数据")).unwrap();
    std::fs::write(root.join("数据/温度.csv"), "ts,温度\n").unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    let source = fx.source("tree", &root).await;
    let task = fx.task(&settings("browsed", source)).await;
    let point = fx.run_ok(task.id).await.point.unwrap();
    let state = AppState::for_tests(fx.catalog.clone(), fx.dir.path());

    let top = browse(&state, task.id, &point, "", "", 1).await.unwrap();
    assert!(top.tree);
    let labels: Vec<&str> = top.entries.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(
        labels,
        ["empty", "logs", "quote's \"dir\"", "数据", "readme.txt"]
    );
    let logs = &top.entries[1];
    assert_eq!(logs.kind, "dir");
    assert!(logs.entries_below >= 250, "{logs:?}");
    let readme = &top.entries[4];
    assert_eq!(readme.mode.as_deref(), Some("rw-r-----"));
    assert!(
        readme.modified.is_some() && readme.digest.is_some(),
        "{readme:?}"
    );

    let first = browse(&state, task.id, &point, "logs/2026/11", "", 1)
        .await
        .unwrap();
    assert_eq!(
        (first.total, first.pages, first.entries.len()),
        (250, 3, 100)
    );
    let crumbs: Vec<&str> = first.breadcrumbs.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(crumbs, ["top", "logs", "2026", "11"]);
    let last = browse(&state, task.id, &point, "logs/2026/11", "", 99)
        .await
        .unwrap();
    assert_eq!(
        (last.page, last.entries.len()),
        (3, 50),
        "a page past the end is the last"
    );

    let substring = browse(&state, task.id, &point, "", "DAY 1", 1)
        .await
        .unwrap();
    assert_eq!(substring.total, 111, "day 1, 10–19, 100–199");
    let regex = browse(&state, task.id, &point, "", r"/day 2[0-9]\.log$/", 1)
        .await
        .unwrap();
    assert_eq!(regex.total, 10);
    assert!(regex
        .entries
        .iter()
        .all(|e| e.name.starts_with("logs/2026/11/day 2")));
    let broken = browse(&state, task.id, &point, "", "/(unclosed/", 1)
        .await
        .unwrap_err();
    assert_eq!(broken.field("search").map(|_| ()), Some(()), "{broken:?}");
    let missing = browse(&state, task.id, &format!("{point}-gone"), "", "", 1)
        .await
        .unwrap_err();
    assert_eq!(missing.status(), 404, "{missing}");

    // Restore selected: the folder and what lies below it, nothing else.
    let mut form = crate::api::restores::server::new_form(&state, Some(task.id), Some(point))
        .await
        .unwrap();
    form.select_only(&["logs/2026", "readme.txt"]);
    let chosen: Vec<&str> = form
        .objects
        .iter()
        .filter(|o| o.selected)
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        chosen.len(),
        1 + 1 + 250 + 1,
        "2026, 11, the days, readme: {chosen:?}"
    );
    assert!(
        !chosen.contains(&"logs"),
        "the folder above is not selected"
    );
}
