//! The middleware in front of every route: cross-site requests that change
//! state are refused, pages need a signed-in user (or send to sign-in), and
//! every response carries the security headers.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::state::AppState;

/// Paths anyone may load: sign-in, health, the bundle and static files.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/healthz"
        || path.starts_with("/pkg/")
        || path == "/favicon.ico"
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

/// A state-changing request another site made the browser send.
fn is_cross_site(request: &Request) -> bool {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return false;
    }
    let headers = request.headers();
    // Browsers that send Sec-Fetch-Site say exactly where the request came
    // from; their Origin may be "null" for a plain form post.
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "cross-site" || site == "same-site";
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // No Origin: not a browser form or fetch from another page (scripts).
        None => false,
        Some(origin) => {
            let origin_host = origin.split("://").nth(1).unwrap_or("");
            host != Some(origin_host)
        }
    }
}

/// A strict policy for everything the app does not render itself; pages
/// set their own with the per-response nonce of their inline scripts.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

pub async fn guard(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = if is_cross_site(&request) {
        tracing::warn!(
            path,
            origin = ?request.headers().get(header::ORIGIN),
            fetch_site = ?request.headers().get("sec-fetch-site"),
            "cross-site request refused"
        );
        (
            StatusCode::FORBIDDEN,
            "cross-site request refused: use the console itself to make changes",
        )
            .into_response()
    } else if is_public(&path)
        || path.starts_with("/api/") && !path.starts_with("/api/events/")
        || path == crate::metrics::PATH
    {
        // Server functions (and the metrics, which want a token) check
        // the user and role themselves.
        next.run(request).await
    } else {
        let address = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let max = state.auth.limits.max_secs;
        let user = super::resolve(
            &state.catalog,
            max,
            Some(&session),
            request.headers(),
            address,
        )
        .await;
        match user {
            Ok(Some(user))
                if user.must_change_password
                    && path != "/account/password"
                    && !path.starts_with("/api/") =>
            {
                Redirect::to("/account/password").into_response()
            }
            Ok(Some(_)) => next.run(request).await,
            Ok(None) if path.starts_with("/api/") => {
                (StatusCode::UNAUTHORIZED, "sign in first").into_response()
            }
            Ok(None) => {
                // The query too: a link to a restore form names its point there.
                let wanted = request
                    .uri()
                    .path_and_query()
                    .map_or(path.as_str(), |p| p.as_str());
                let next_path = urlencode(wanted);
                Redirect::to(&format!("/login?next={next_path}")).into_response()
            }
            Err(err) => {
                tracing::error!(error = %err, "could not check the session");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the catalog is unavailable",
                )
                    .into_response()
            }
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Not "no-referrer": under it Chromium sends `Origin: null` on form posts.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
    response
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(method).uri("/api/tasks/save");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn cross_site_state_changes_are_recognised() {
        let host = ("host", "127.0.0.1:3000");
        assert!(is_cross_site(&request(
            Method::POST,
            &[host, ("origin", "http://evil.example")]
        )));
        assert!(is_cross_site(&request(
            Method::POST,
            &[host, ("sec-fetch-site", "cross-site")]
        )));
        assert!(!is_cross_site(&request(
            Method::POST,
            &[host, ("origin", "http://127.0.0.1:3000")]
        )));
        assert!(!is_cross_site(&request(
            Method::POST,
            &[host, ("sec-fetch-site", "same-origin")]
        )));
        assert!(
            !is_cross_site(&request(Method::POST, &[host])),
            "scripts send no Origin"
        );
        assert!(!is_cross_site(&request(
            Method::GET,
            &[host, ("origin", "http://evil.example")]
        )));
    }

    #[test]
    fn only_sign_in_health_and_assets_are_public() {
        assert!(is_public("/login"));
        assert!(is_public("/pkg/tidemark.wasm"));
        assert!(is_public("/healthz"));
        assert!(!is_public("/backups"));
        assert!(!is_public("/restores/3"));
    }
}
