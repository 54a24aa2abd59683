//! Users (admins only), one's own API tokens, and the audit log.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub username: Option<String>,
    pub address: Option<String>,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    pub total: u64,
    pub page: u32,
    pub pages: u32,
}

pub const AUDIT_PER_PAGE: u32 = 50;

#[cfg(feature = "ssr")]
#[path = "users_server.rs"]
pub mod server;

#[server(endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    server::list(&crate::state::app_state()?).await
}

/// Creates a user whose password must be changed at the first sign-in.
#[server(endpoint = "users/create")]
pub async fn create_user(
    username: String,
    role: String,
    password: String,
) -> Result<i64, AppError> {
    server::create(&crate::state::app_state()?, username, role, password).await
}

#[server(endpoint = "users/role")]
pub async fn set_user_role(id: i64, role: String) -> Result<(), AppError> {
    server::set_role(&crate::state::app_state()?, id, role).await
}

/// Disabling ends the user's sessions and tokens at their next request.
#[server(endpoint = "users/disable")]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<(), AppError> {
    server::set_disabled(&crate::state::app_state()?, id, disabled).await
}

/// Sets a temporary password that must be changed at the next sign-in.
#[server(endpoint = "users/reset")]
pub async fn reset_password(id: i64, password: String) -> Result<(), AppError> {
    server::reset(&crate::state::app_state()?, id, password).await
}

/// Whether viewers may download files from backup points.
#[server(endpoint = "users/downloads")]
pub async fn viewer_downloads() -> Result<bool, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    Ok(state.catalog.viewer_downloads().await?)
}

/// An administrator allows (or stops) viewers downloading files.
#[server(endpoint = "users/downloads/set")]
pub async fn set_viewer_downloads(allowed: bool) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Admin).await?;
    let target = if allowed { "on" } else { "off" };
    let work = async { Ok(state.catalog.set_viewer_downloads(allowed).await?) };
    crate::auth::audited(&state, &actor, "set viewer downloads", target, work).await
}

#[server(endpoint = "tokens")]
pub async fn my_tokens() -> Result<Vec<TokenRow>, AppError> {
    server::tokens(&crate::state::app_state()?).await
}

/// A new API token for scripts, with the user's role; shown this once.
#[server(endpoint = "tokens/create")]
pub async fn create_token(name: String) -> Result<String, AppError> {
    server::create_token(&crate::state::app_state()?, name).await
}

#[server(endpoint = "tokens/revoke")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    server::revoke_token(&crate::state::app_state()?, id).await
}

#[server(endpoint = "audit")]
pub async fn audit_log(
    page: u32,
    username: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
) -> Result<AuditPage, AppError> {
    server::audit_page(&crate::state::app_state()?, page, username, action, outcome).await
}
