//! `/healthz`: answers 200 when the catalog answers, 503 otherwise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use app::catalog::Catalog;
use app::error::ErrorChain;

#[derive(Debug, Serialize)]
pub struct Health {
    status: &'static str,
    catalog: &'static str,
    version: &'static str,
}

pub async fn healthz(State(catalog): State<Catalog>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION");
    match catalog.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                catalog: "ok",
                version,
            }),
        ),
        Err(err) => {
            tracing::error!(error = %ErrorChain(&err), "health check: catalog unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    catalog: "unreachable",
                    version,
                }),
            )
        }
    }
}
