//! The browser bundle as the real server sends it, from a site directory laid
//! out as `scripts/build.sh` writes it: content-hashed names listed in
//! `hash.txt`, `.br` and `.gz` copies beside each file. Pages name the hashed
//! files; each file comes in the encoding the request accepts, cached for a
//! year; pages are never stored.

mod support;

use std::path::Path;

use support::{Response, Server};

const JS_HASH: &str = "0123456789abcdef";
const WASM_HASH: &str = "fedcba9876543210";
const CSS_HASH: &str = "00112233445566aa";
const IMMUTABLE: &str = "cache-control: public, max-age=31536000, immutable";

/// Writes each asset with distinct contents per encoding, so a test can tell
/// which copy it was sent (the server does not decode them).
fn write_site(site: &Path) {
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for (ext, hash) in [("js", JS_HASH), ("wasm", WASM_HASH), ("css", CSS_HASH)] {
        let name = format!("tidemark.{hash}.{ext}");
        std::fs::write(pkg.join(&name), format!("identity {ext}")).unwrap();
        std::fs::write(pkg.join(format!("{name}.br")), format!("br {ext}")).unwrap();
        std::fs::write(pkg.join(format!("{name}.gz")), format!("gzip {ext}")).unwrap();
    }
    std::fs::write(
        site.join("hash.txt"),
        format!("js: {JS_HASH}\nwasm: {WASM_HASH}\ncss: {CSS_HASH}\n"),
    )
    .unwrap();
    std::fs::write(site.join("favicon.ico"), "icon").unwrap();
}

fn start() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    write_site(&site);
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &[("TIDEMARK_SITE_DIR", site.to_str().unwrap())]);
    (dir, server)
}

fn get(server: &Server, path: &str, accept_encoding: Option<&str>) -> Response {
    *server.headers.borrow_mut() = accept_encoding
        .map(|value| vec![("Accept-Encoding".to_owned(), value.to_owned())])
        .unwrap_or_default();
    let res = server.request("GET", path);
    server.headers.borrow_mut().clear();
    res
}

fn header<'a>(res: &'a Response, name: &str) -> Option<&'a str> {
    res.head.lines().find_map(|line| {
        line.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(": "))
    })
}

#[test]
fn pages_name_the_hashed_bundle_and_are_not_stored() {
    let (_dir, server) = start();
    let res = get(&server, "/login", None);
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        header(&res, "cache-control"),
        Some("no-store"),
        "{}",
        res.head
    );
    // A redirect to sign-in is not kept either.
    let res = get(&server, "/backups", None);
    assert_eq!(res.status, 303);
    assert_eq!(
        header(&res, "cache-control"),
        Some("no-store"),
        "{}",
        res.head
    );

    server.sign_in_admin();
    let res = get(&server, "/", None);
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(
        header(&res, "cache-control"),
        Some("no-store"),
        "{}",
        res.head
    );
    for name in [
        format!("/pkg/tidemark.{JS_HASH}.js"),
        format!("/pkg/tidemark.{WASM_HASH}.wasm"),
        format!("/pkg/tidemark.{CSS_HASH}.css"),
    ] {
        assert!(res.body.contains(&name), "page does not name {name}");
    }
    assert!(!res.body.contains("/pkg/tidemark.js"), "unhashed name left");
}

#[test]
fn bundle_files_come_in_the_encoding_the_browser_accepts() {
    let (_dir, server) = start();
    for (ext, hash, content_type) in [
        ("wasm", WASM_HASH, "application/wasm"),
        ("js", JS_HASH, "text/javascript"),
        ("css", CSS_HASH, "text/css"),
    ] {
        let path = format!("/pkg/tidemark.{hash}.{ext}");
        for (accept, encoding, body) in [
            // What Chromium sends, over HTTPS and to loopback.
            (
                Some("gzip, deflate, br, zstd"),
                Some("br"),
                format!("br {ext}"),
            ),
            (Some("gzip, deflate"), Some("gzip"), format!("gzip {ext}")),
            (Some("br;q=0, gzip"), Some("gzip"), format!("gzip {ext}")),
            (Some("identity"), None, format!("identity {ext}")),
            (None, None, format!("identity {ext}")),
        ] {
            let res = get(&server, &path, accept);
            let case = format!("{path} with Accept-Encoding {accept:?}");
            assert_eq!(res.status, 200, "{case}: {}", res.head);
            assert_eq!(res.body, body, "{case}");
            assert_eq!(header(&res, "content-encoding"), encoding, "{case}");
            assert!(
                header(&res, "content-type").is_some_and(|t| t.starts_with(content_type)),
                "{case}: {}",
                res.head
            );
            assert!(res.head.contains(IMMUTABLE), "{case}: {}", res.head);
            assert!(
                res.head.contains("vary: accept-encoding"),
                "{case}: {}",
                res.head
            );
        }
    }
}

#[test]
fn unknown_and_unhashed_bundle_paths_are_not_found_and_not_cached() {
    let (_dir, server) = start();
    for path in [
        "/pkg/tidemark.wasm",
        "/pkg/tidemark.js",
        "/pkg/tidemark.0000000000000000.wasm",
    ] {
        let res = get(&server, path, Some("gzip, deflate, br"));
        assert_eq!(res.status, 404, "{path}: {}", res.head);
        assert!(!res.head.contains("immutable"), "{path}: {}", res.head);
        assert_eq!(header(&res, "cache-control"), Some("no-store"), "{path}");
    }
}

#[test]
fn static_files_without_a_hash_are_revalidated() {
    let (_dir, server) = start();
    let res = get(&server, "/favicon.ico", None);
    assert_eq!(res.status, 200, "{}", res.head);
    assert_eq!(res.body, "icon");
    assert_eq!(
        header(&res, "cache-control"),
        Some("no-cache"),
        "{}",
        res.head
    );
}
