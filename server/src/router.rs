//! The HTTP routes: health, metrics, the JSON API, the console's pages and
//! server functions, and static files, behind the session and guard layers,
//! with one tracing span per request. Server functions answer the status of
//! their error, and bodies are limited in size.

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::routing::get;
use axum::Router;
use leptos_axum::{file_and_error_handler, generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;

use app::state::AppState;
use app::{shell, App};

use crate::api_status::{status_from_error, ServerFnPaths, BODY_LIMIT};
use crate::assets;
use crate::health::healthz;

pub fn build(
    state: AppState,
    sessions: tower_sessions::SessionManagerLayer<tower_sessions_sqlx_store::SqliteStore>,
) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let site_root = std::path::PathBuf::from(options.site_root.as_ref());
    Router::new()
        .route("/healthz", get(healthz))
        .route(app::metrics::PATH, get(app::metrics::metrics))
        .route(app::api::download::PATH, get(app::api::download::download))
        // The JSON API for scripts (a token, its own errors and document).
        .nest(app::api_v1::PREFIX, app::api_v1::router())
        .route(app::jobs::events::PATH, get(app::jobs::events::job_events))
        .route(
            app::jobs::events::RESTORES_PATH,
            get(app::jobs::events::restore_events),
        )
        .leptos_routes(&state, routes, move || shell(options.clone()))
        // The bundle; other static files (favicon) and the 404 page below.
        .nest_service("/pkg", assets::pkg_service(&site_root))
        .fallback(file_and_error_handler::<AppState, _>(shell))
        // Server functions: the status their error means, not always 500.
        .layer(axum::middleware::from_fn_with_state(
            ServerFnPaths::registered(),
            status_from_error,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Every request: CSRF, sign-in for pages, security headers.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app::auth::guard::guard,
        ))
        // Outside the guard, so its redirects and refusals are not cached either.
        .layer(axum::middleware::from_fn(assets::cache_headers))
        .layer(sessions)
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("");
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                    route,
                )
            }),
        )
        .with_state(state)
}
