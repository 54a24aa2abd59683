//! `tidemark serve`: open the catalog, prepare the default repository,
//! listen, and serve until a shutdown signal.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use leptos::config::{Env, LeptosOptions};

use app::catalog::{Catalog, CatalogError};
use app::state::{AppState, ServerInfo};

use crate::config::ServeConfig;
use crate::{router, shutdown};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot register the default repository in the catalog: {0}")]
    DefaultRepository(#[source] sqlx::Error),
    #[error("cannot prepare the default repository directory: {0}")]
    RepositoryDir(#[from] tidemark_engine::EngineError),
    #[error("cannot listen on {addr} (--listen / TIDEMARK_LISTEN): {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the server stopped with an error: {0}")]
    Serve(#[source] std::io::Error),
}

/// Runs the console until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let catalog = Catalog::open(&config.catalog_url).await?;
    tracing::info!(catalog = %config.catalog_url, "catalog ready");

    let repository_dir = tidemark_engine::prepare_local_dir(&config.default_repository_dir())?;
    let repository = catalog
        .ensure_default_repository(&repository_dir.display().to_string())
        .await
        .map_err(ServeError::DefaultRepository)?;
    tracing::info!(name = %repository.name, location = %repository.location, "default repository ready");

    warn_if_bundle_missing(&config);
    let state = AppState {
        leptos_options: leptos_options(&config),
        catalog: catalog.clone(),
        info: Arc::new(ServerInfo::starting_now(
            env!("CARGO_PKG_VERSION"),
            config.data_dir.clone(),
        )),
    };

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Serve)?;
    // The URL goes to stdout (logs go to stderr) so scripts and tests can read it.
    println!("Tidemark console listening on http://{addr}");
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, "listening");

    axum::serve(listener, router::build(state))
        .with_graceful_shutdown(shutdown::signal())
        .await
        .map_err(ServeError::Serve)?;
    catalog.close().await;
    tracing::info!("stopped");
    Ok(())
}

fn leptos_options(config: &ServeConfig) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(env!("LEPTOS_OUTPUT_NAME"))
        .site_root(config.site_dir.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        // PROD: no live-reload script, which would try a websocket on another port.
        .env(Env::PROD)
        .build()
}

/// Pages still render without the bundle, but nothing is interactive.
fn warn_if_bundle_missing(config: &ServeConfig) {
    let wasm = config
        .site_dir
        .join("pkg")
        .join(format!("{}.wasm", env!("LEPTOS_OUTPUT_NAME")));
    if !wasm.is_file() {
        tracing::warn!(
            path = %wasm.display(),
            "browser bundle not found (--site-dir / TIDEMARK_SITE_DIR): pages will not be interactive; run scripts/build.sh"
        );
    }
}
