//! The Tidemark console: every page, widget and server function.
//!
//! Built twice: with `ssr` into the server (rendering, server functions,
//! catalog) and with `hydrate` into the browser bundle.

#![recursion_limit = "512"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod catalog;
pub mod components;
#[cfg(feature = "ssr")]
pub mod demo;
pub mod error;
#[cfg(feature = "ssr")]
pub mod jobs;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use components::{ConsoleLayout, JobFeed, RestoreFeed};
use pages::dashboard::DashboardPage;
use pages::not_found::NotFoundPage;
use pages::repositories::RepositoriesPage;
use pages::restores::{RestoreCreatePage, RestorePage, RestoresPage};
use pages::sources::SourcesPage;
use pages::tasks::{RunPage, TaskCreatePage, TaskEditPage, TaskHistoryPage, TasksPage};
use pages::upcoming::AuditPage;

pub use error::AppError;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    JobFeed::provide();
    RestoreFeed::provide();
    view! {
        <Stylesheet id="tidemark" href="/pkg/tidemark.css" />
        <Title text="Tidemark" />
        <Router>
            <ConsoleLayout>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("") view=DashboardPage />
                    <Route path=path!("backups") view=TasksPage />
                    <Route path=path!("backups/new") view=TaskCreatePage />
                    <Route path=path!("backups/:id/edit") view=TaskEditPage />
                    <Route path=path!("backups/:id/history") view=TaskHistoryPage />
                    <Route path=path!("runs/:id") view=RunPage />
                    <Route path=path!("restores") view=RestoresPage />
                    <Route path=path!("restores/new") view=RestoreCreatePage />
                    <Route path=path!("restores/:id") view=RestorePage />
                    <Route path=path!("sources") view=SourcesPage />
                    <Route path=path!("repositories") view=RepositoriesPage />
                    <Route path=path!("audit") view=AuditPage />
                </Routes>
            </ConsoleLayout>
        </Router>
    }
}
