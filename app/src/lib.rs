//! The Tidemark console: every page, widget and server function.
//!
//! Built twice: with `ssr` into the server (rendering, server functions,
//! catalog) and with `hydrate` into the browser bundle.

#![recursion_limit = "512"]

pub mod api;
#[cfg(feature = "ssr")]
pub mod api_v1;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod catalog;
pub mod components;
#[cfg(feature = "ssr")]
pub mod demo;
pub mod error;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod metrics;
pub mod model;
#[cfg(feature = "ssr")]
pub mod notify;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo_access;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use components::ConsoleLayout;
use pages::account::{AccountPage, AuditPage, ChangePasswordPage, LoginPage, UsersPage};
use pages::copies::CopyJobsPage;
use pages::dashboard::DashboardPage;
use pages::not_found::NotFoundPage;
use pages::notifications::NotificationsPage;
use pages::repositories::{RepositoriesPage, RepositoryChecksPage};
use pages::restores::{RestoreCreatePage, RestorePage, RestoresPage};
use pages::sources::SourcesPage;
use pages::tasks::{
    PointBrowsePage, RunPage, TaskComparePage, TaskCreatePage, TaskEditPage, TaskHistoryPage,
    TasksPage,
};

pub use error::AppError;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    page_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                // Here rather than in App: only the server knows the hashed name.
                <HashedStylesheet id="tidemark" options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The page's content security policy, naming this response's nonce (the
/// one leptos puts on its inline hydration script).
#[cfg(feature = "ssr")]
fn page_security_policy() {
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        if let Ok(value) = auth::guard::page_csp(&nonce.to_string()).parse() {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Tidemark" />
        <Router>
            <ConsoleLayout>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("") view=DashboardPage />
                    <Route path=path!("backups") view=TasksPage />
                    <Route path=path!("backups/new") view=TaskCreatePage />
                    <Route path=path!("backups/:id/edit") view=TaskEditPage />
                    <Route path=path!("backups/:id/history") view=TaskHistoryPage />
                    <Route path=path!("backups/:id/compare") view=TaskComparePage />
                    <Route path=path!("backups/:id/points/:point") view=PointBrowsePage />
                    <Route path=path!("runs/:id") view=RunPage />
                    <Route path=path!("restores") view=RestoresPage />
                    <Route path=path!("restores/new") view=RestoreCreatePage />
                    <Route path=path!("restores/:id") view=RestorePage />
                    <Route path=path!("sources") view=SourcesPage />
                    <Route path=path!("repositories") view=RepositoriesPage />
                    <Route path=path!("repositories/:id/checks") view=RepositoryChecksPage />
                    <Route path=path!("copies") view=CopyJobsPage />
                    <Route path=path!("notifications") view=NotificationsPage />
                    <Route path=path!("audit") view=AuditPage />
                    <Route path=path!("users") view=UsersPage />
                    <Route path=path!("account") view=AccountPage />
                    <Route path=path!("account/password") view=ChangePasswordPage />
                    <Route path=path!("login") view=LoginPage />
                </Routes>
            </ConsoleLayout>
        </Router>
    }
}
