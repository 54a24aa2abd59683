//! The browser bundle and static files: served from the `.br` and `.gz`
//! files `scripts/build.sh` writes beside each asset, as the browser
//! accepts, and cached by name. Bundle files carry a hash of their content
//! in their name (`/pkg/tidemark.<hash>.wasm`), so browsers may keep them for
//! a year; pages and API answers are never stored.

use std::path::Path;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::services::ServeDir;

/// The file `scripts/build.sh` writes in the site directory naming each
/// asset's hash, in the `js: <hash>` lines leptos' `hash_files` reads.
pub const HASH_FILE: &str = "hash.txt";

/// Hex digits of content hash in an asset's name (`scripts/build.sh`).
const HASH_LEN: usize = 16;

const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Unhashed static files (favicon): usable after a revalidation.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");
/// Pages and API answers hold the signed-in user's data.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// Serves `<site>/pkg` under `/pkg`, preferring the precompressed copies.
pub fn pkg_service(site_root: &Path) -> ServeDir {
    ServeDir::new(site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip()
}

/// The hash file's absolute path when the build wrote one. Absolute because
/// leptos looks for it relative to the executable's directory, and joining
/// an absolute path replaces that directory.
pub fn hash_file(site_root: &Path) -> Option<String> {
    let path = std::path::absolute(site_root.join(HASH_FILE)).ok()?;
    if !path.is_file() {
        return None;
    }
    path.into_os_string().into_string().ok()
}

/// Middleware: the `Cache-Control` (unless the handler set one) and `Vary`
/// of every response, by what it is.
pub async fn cache_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let status = response.status();
    let served = status.is_success() || status == StatusCode::NOT_MODIFIED;
    let is_file = served && is_static_file(&path);
    let headers = response.headers_mut();
    if is_file {
        // The body depends on Accept-Encoding: shared caches must key on it.
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        let policy = if is_file && is_content_hashed(&path) {
            IMMUTABLE
        } else if is_file {
            REVALIDATE
        } else {
            NO_STORE
        };
        headers.insert(header::CACHE_CONTROL, policy);
    }
    response
}

/// A file name rather than a page or server function: the last segment has
/// an extension (as the sign-in guard's public paths).
fn is_static_file(path: &str) -> bool {
    !path.starts_with("/api/")
        && path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

/// `/pkg/<stem>.<16 hex digits>.<ext>[.<ext>]`: a bundle file whose name
/// changes whenever its content does.
fn is_content_hashed(path: &str) -> bool {
    let Some(name) = path.strip_prefix("/pkg/") else {
        return false;
    };
    if name.contains('/') {
        return false;
    }
    let mut parts = name.split('.');
    let (Some(stem), Some(hash), Some(_ext)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty() && hash.len() == HASH_LEN && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_bundle_names_are_recognised() {
        assert!(is_content_hashed("/pkg/tidemark.0123456789abcdef.wasm"));
        assert!(is_content_hashed("/pkg/tidemark.0123456789ABCDEF.css"));
        for path in [
            "/pkg/tidemark.wasm",
            "/pkg/tidemark.css",
            "/pkg/tidemark.0123456789abcde.wasm",
            "/pkg/tidemark.0123456789abcdeg.wasm",
            "/pkg/.0123456789abcdef.wasm",
            "/pkg/sub/tidemark.0123456789abcdef.wasm",
            "/tidemark.0123456789abcdef.wasm",
            "/pkg/tidemark.0123456789abcdef",
        ] {
            assert!(!is_content_hashed(path), "{path}");
        }
    }

    #[test]
    fn only_files_count_as_static() {
        assert!(is_static_file("/favicon.ico"));
        assert!(is_static_file("/pkg/tidemark.wasm"));
        assert!(!is_static_file("/backups"));
        assert!(!is_static_file("/"));
        assert!(!is_static_file("/api/overview.json"));
    }
}
