//! `tidemark serve`: open the catalog, prepare the default repository,
//! listen, and serve until a shutdown signal.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use leptos::config::{Env, LeptosOptions};

use app::catalog::{Catalog, CatalogError};
use app::jobs::Jobs;
use app::state::{AppState, ServerInfo};

use crate::config::ServeConfig;
use crate::{assets, router, shutdown};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    DefaultRepository(#[from] app::repo_access::DefaultRepositoryError),
    #[error("cannot prepare the default repository: {0}")]
    RepositoryDir(#[from] tidemark_engine::EngineError),
    #[error("cannot listen on {addr} (--listen / TIDEMARK_LISTEN): {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Startup(String),
    #[error("the server stopped with an error: {0}")]
    Serve(#[source] std::io::Error),
}

/// Runs the console until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let secrets = app::auth::secrets::Secrets::load_or_create(&config.data_dir)
        .map_err(|e| ServeError::Startup(e.to_string()))?;
    let catalog = Catalog::open(&config.catalog_url)
        .await?
        .with_secrets(Arc::new(secrets));
    tracing::info!(catalog = %config.catalog_url, "catalog ready");
    match catalog.seal_stored_secrets().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sources = n, "stored data-source passwords sealed"),
        Err(err) => {
            return Err(ServeError::Startup(format!(
                "cannot seal stored passwords: {err}"
            )))
        }
    }
    // Never printed or logged: only its hash is stored.
    let admin_password = std::env::var("TIDEMARK_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    app::auth::ensure_first_admin(&catalog, admin_password)
        .await
        .map_err(|e| ServeError::Startup(format!("cannot create the first user: {e}")))?;
    let sessions = app::auth::session_layer(&catalog, config.sessions)
        .await
        .map_err(|e| ServeError::Startup(format!("cannot prepare the session store: {e}")))?;

    let repository_dir = tidemark_engine::prepare_local_dir(&config.default_repository_dir())?;
    let repository = app::repo_access::ensure_default_repository(&catalog, &repository_dir).await?;
    tracing::info!(name = %repository.name, location = %repository.location, "default repository ready");

    match catalog.fail_interrupted_runs().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            runs = n,
            "runs interrupted by the last stop were marked failed"
        ),
        Err(err) => {
            return Err(ServeError::Startup(format!(
                "cannot read the run history: {err}"
            )))
        }
    }
    match catalog.fail_interrupted_restores().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            restores = n,
            "restores interrupted by the last stop were marked failed"
        ),
        Err(err) => {
            return Err(ServeError::Startup(format!(
                "cannot read the restore tasks: {err}"
            )))
        }
    }
    match catalog.fail_interrupted_checks().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            checks = n,
            "repository checks interrupted by the last stop were marked failed"
        ),
        Err(err) => {
            return Err(ServeError::Startup(format!(
                "cannot read the repository checks: {err}"
            )))
        }
    }
    match catalog.fail_interrupted_copies().await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            copies = n,
            "copy jobs interrupted by the last stop were marked failed"
        ),
        Err(err) => {
            return Err(ServeError::Startup(format!(
                "cannot read the copy jobs: {err}"
            )))
        }
    }
    let drill_dir = config.data_dir.join("drills");
    match app::jobs::drills::recover_at_start(&catalog, &drill_dir).await {
        Ok((failed, removed)) => {
            if failed > 0 {
                tracing::warn!(
                    drills = failed,
                    "drills interrupted by the last stop were marked failed"
                );
            }
            for sandbox in removed {
                tracing::warn!(%sandbox, "removed the sandbox of an interrupted drill");
            }
        }
        Err(err) => return Err(ServeError::Startup(err)),
    }
    match app::demo::ensure_demo_source(&catalog, &config.data_dir).await {
        Ok(Some(demo)) => tracing::info!(location = %demo.location, "demo data source created"),
        Ok(None) => {}
        // The console works without the demo; say why it is missing.
        Err(err) => tracing::warn!(error = %err, "demo data source not created"),
    }

    warn_if_bundle_missing(&config);
    let jobs = Jobs::new(catalog.clone());
    jobs.set_drill_dir(drill_dir);
    jobs.set_archive_spool_dir(config.data_dir.join("archive-spool"));
    jobs.restores()
        .set_work_dir(config.data_dir.join("restores-work"));
    let scheduler = tokio::spawn({
        let jobs = jobs.clone();
        let stop = jobs.clone();
        async move { jobs.run_scheduler(async move { stop.closed().await }).await }
    });
    // Sends the notification outbox (what was queued before a restart too).
    let dispatcher = tokio::spawn({
        let notifier = jobs.notifier().clone();
        let stop = jobs.clone();
        async move {
            notifier
                .run_dispatcher(async move { stop.closed().await })
                .await
        }
    });
    let state = AppState {
        leptos_options: leptos_options(&config),
        jobs: jobs.clone(),
        catalog: catalog.clone(),
        info: Arc::new(ServerInfo::starting_now(
            env!("CARGO_PKG_VERSION"),
            config.data_dir.clone(),
            config.restore_roots.clone(),
        )),
        auth: app::auth::AuthState::with_limits(config.login_attempts_per_minute, config.sessions),
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

    axum::serve(
        listener,
        router::build(state, sessions).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let jobs = jobs.clone();
        async move {
            shutdown::signal().await;
            jobs.close();
        }
    })
    .await
    .map_err(ServeError::Serve)?;
    // Running backups stop at their next chunk and are recorded as cancelled;
    // nothing half-written becomes visible in a repository.
    jobs.close();
    let _ = scheduler.await;
    let _ = dispatcher.await;
    jobs.shutdown().await;
    catalog.close().await;
    tracing::info!("stopped");
    Ok(())
}

fn leptos_options(config: &ServeConfig) -> LeptosOptions {
    // With the build's hash file, pages name the content-hashed bundle files.
    let hash_file = assets::hash_file(&config.site_dir);
    LeptosOptions::builder()
        .output_name(env!("LEPTOS_OUTPUT_NAME"))
        .site_root(config.site_dir.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .hash_files(hash_file.is_some())
        .hash_file(
            hash_file
                .unwrap_or_else(|| assets::HASH_FILE.to_owned())
                .into(),
        )
        // PROD: no live-reload script, which would try a websocket on another port.
        .env(Env::PROD)
        .build()
}

/// Pages still render without the bundle, but nothing is interactive.
fn warn_if_bundle_missing(config: &ServeConfig) {
    let unhashed_wasm = config
        .site_dir
        .join("pkg")
        .join(format!("{}.wasm", env!("LEPTOS_OUTPUT_NAME")));
    if assets::hash_file(&config.site_dir).is_none() && !unhashed_wasm.is_file() {
        tracing::warn!(
            path = %config.site_dir.display(),
            "browser bundle not found (--site-dir / TIDEMARK_SITE_DIR): pages will not be interactive; run scripts/build.sh"
        );
    }
}
