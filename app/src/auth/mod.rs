//! Who is asking, and may they: sign-in sessions (tower-sessions, stored in
//! the catalog), API tokens, roles checked in every server function, the
//! page guard with CSRF and security headers, and the audit log.

pub mod guard;
pub mod secrets;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::http::HeaderMap;
use chrono::Utc;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_sessions::Session;

use crate::catalog::{AuditEntry, Catalog, UserRecord};
use crate::error::AppError;
use crate::model::{Me, Role};
use crate::state::AppState;

/// Session keys.
const USER_ID: &str = "user_id";
const SIGNED_IN_AT: &str = "signed_in_at";
const PASSWORD_AT: &str = "password_changed_at";

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Ended after this long without a request.
    pub idle_secs: i64,
    /// Ended this long after sign-in however active.
    pub max_secs: i64,
    /// The cookie is sent over HTTPS only (TLS in front of the console).
    pub secure_cookie: bool,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle_secs: 30 * 60,
            max_secs: 12 * 3600,
            secure_cookie: false,
        }
    }
}

/// Security state shared by every request.
pub struct AuthState {
    /// Sign-in attempts per client address.
    login_limiter: DefaultKeyedRateLimiter<IpAddr>,
    pub limits: SessionLimits,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState").finish_non_exhaustive()
    }
}

impl AuthState {
    /// `attempts` sign-ins per minute per address, in a burst or spread out.
    pub fn new(attempts: u32) -> Arc<Self> {
        Self::with_limits(attempts, SessionLimits::default())
    }

    pub fn with_limits(attempts: u32, limits: SessionLimits) -> Arc<Self> {
        let per_minute = NonZeroU32::new(attempts.max(1)).unwrap_or(NonZeroU32::MIN);
        Arc::new(AuthState {
            login_limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
            limits,
        })
    }

    /// Seconds to wait before `address` may try again, if it must.
    pub fn login_wait(&self, address: Option<IpAddr>) -> Option<u64> {
        let address = address?;
        self.login_limiter
            .check_key(&address)
            .err()
            .map(|not_until| {
                not_until
                    .wait_time_from(governor::clock::Clock::now(
                        &governor::clock::DefaultClock::default(),
                    ))
                    .as_secs()
                    .max(1)
            })
    }
}

/// Sessions stored in the catalog: `HttpOnly`, `SameSite=Strict`, `Secure`
/// when served over TLS, ending after the idle limit.
pub async fn session_layer(
    catalog: &Catalog,
    limits: SessionLimits,
) -> Result<tower_sessions::SessionManagerLayer<tower_sessions_sqlx_store::SqliteStore>, sqlx::Error>
{
    let store = tower_sessions_sqlx_store::SqliteStore::new(catalog.pool().clone());
    store.migrate().await?;
    let cleaner = store.clone();
    // Expired sessions are deleted from the catalog every ten minutes.
    tokio::spawn(async move {
        use tower_sessions::session_store::ExpiredDeletion;
        if let Err(err) = cleaner
            .continuously_delete_expired(std::time::Duration::from_secs(600))
            .await
        {
            tracing::warn!(error = %err, "expired sessions are no longer deleted");
        }
    });
    Ok(tower_sessions::SessionManagerLayer::new(store)
        .with_name("tidemark_session")
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Strict)
        .with_secure(limits.secure_cookie)
        // Saved on every request, so activity moves the idle expiry along.
        .with_always_save(true)
        .with_expiry(tower_sessions::Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(limits.idle_secs),
        )))
}

/// With no user yet, creates `admin`: the password from
/// `TIDEMARK_ADMIN_PASSWORD` (never printed), or a generated one printed once
/// to the log that must be changed at the first sign-in.
pub async fn ensure_first_admin(catalog: &Catalog, from_env: Option<String>) -> Result<(), String> {
    if catalog.count_users().await.map_err(|e| e.to_string())? > 0 {
        return Ok(());
    }
    let (password, generated) = match from_env {
        Some(password) => {
            if let Some(problem) = crate::model::password_problem(&password, "admin") {
                return Err(format!("TIDEMARK_ADMIN_PASSWORD: {problem}"));
            }
            (password, false)
        }
        None => {
            use rand::RngCore;
            let mut bytes = [0u8; 12];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            (bytes.iter().map(|b| format!("{b:02x}")).collect(), true)
        }
    };
    let hash = tokio::task::spawn_blocking({
        let password = password.clone();
        move || password_auth::generate_hash(password)
    })
    .await
    .map_err(|e| e.to_string())?;
    catalog
        .insert_user("admin", &hash, Role::Admin, generated)
        .await
        .map_err(|e| e.to_string())?;
    if generated {
        tracing::warn!(
            "created user admin with the one-time password {password}; it must be changed at the first sign-in"
        );
    } else {
        tracing::info!("created user admin with the password from TIDEMARK_ADMIN_PASSWORD");
    }
    Ok(())
}

/// The user behind a request.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub must_change_password: bool,
    pub address: Option<String>,
    /// Signed in with an API token rather than a session.
    pub via_token: bool,
}

impl Actor {
    pub fn me(&self) -> Me {
        Me {
            username: self.username.clone(),
            role: self.role,
            must_change_password: self.must_change_password,
            theme: "auto".into(),
            locale: String::new(),
        }
    }
}

pub fn hash_token(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// Resolves the user of a request from its bearer token or its session.
/// A disabled user, a session past its absolute timeout, or one from
/// before a password change is no user (and the session is ended).
pub async fn resolve(
    catalog: &Catalog,
    max_secs: i64,
    session: Option<&Session>,
    headers: &HeaderMap,
    address: Option<String>,
) -> Result<Option<Actor>, AppError> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        let user = catalog.user_by_token(&hash_token(token.trim())).await?;
        return Ok(user
            .filter(|u| !u.disabled)
            .map(|u| actor(u, address, true)));
    }
    let Some(session) = session else {
        return Ok(None);
    };
    let id: Option<i64> = session.get(USER_ID).await.map_err(session_error)?;
    let Some(id) = id else { return Ok(None) };
    let signed_in: i64 = session
        .get(SIGNED_IN_AT)
        .await
        .map_err(session_error)?
        .unwrap_or(0);
    let password_at: i64 = session
        .get(PASSWORD_AT)
        .await
        .map_err(session_error)?
        .unwrap_or(0);
    let user = catalog.user(id).await?;
    let expired = Utc::now().timestamp() - signed_in > max_secs;
    match user {
        Some(u) if !u.disabled && !expired && u.password_changed_at.timestamp() <= password_at => {
            Ok(Some(actor(u, address, false)))
        }
        _ => {
            // Ended here, so the cookie is useless from now on.
            let _ = session.flush().await;
            Ok(None)
        }
    }
}

fn actor(user: UserRecord, address: Option<String>, via_token: bool) -> Actor {
    Actor {
        role: user.role(),
        id: user.id,
        username: user.username,
        must_change_password: user.must_change_password,
        address,
        via_token,
    }
}

fn session_error(err: tower_sessions::session::Error) -> AppError {
    AppError::internal("reading the session", &err)
}

/// Starts a session for `user` (a new session id: no fixation).
pub async fn sign_in(session: &Session, user: &UserRecord) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(USER_ID, user.id)
        .await
        .map_err(session_error)?;
    session
        .insert(SIGNED_IN_AT, Utc::now().timestamp())
        .await
        .map_err(session_error)?;
    session
        .insert(PASSWORD_AT, user.password_changed_at.timestamp())
        .await
        .map_err(session_error)
}

/// Keeps the session valid after the user's own password change.
pub async fn password_changed(
    session: &Session,
    at: chrono::DateTime<Utc>,
) -> Result<(), AppError> {
    session
        .insert(PASSWORD_AT, at.timestamp())
        .await
        .map_err(session_error)
}

/// The request being served, read from the context without awaiting (see
/// `state::allowed` for why that matters).
fn request_parts() -> Option<axum::http::request::Parts> {
    leptos::prelude::use_context::<axum::http::request::Parts>()
}

/// The client address of the request being served, if known.
pub fn client_address() -> Option<SocketAddr> {
    request_parts()?
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

/// The user of the server function being served, if signed in.
pub async fn current(state: &AppState) -> Result<Option<Actor>, AppError> {
    let parts = request_parts();
    let session = parts
        .as_ref()
        .and_then(|p| p.extensions.get::<Session>().cloned());
    let headers: HeaderMap = parts.map(|p| p.headers).unwrap_or_default();
    let address = client_address().map(|a| a.ip().to_string());
    let max = state.auth.limits.max_secs;
    resolve(&state.catalog, max, session.as_ref(), &headers, address).await
}

fn set_status(status: axum::http::StatusCode) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

/// The signed-in user, whatever the role; a user who must change the
/// password may do only that (and sign out).
pub async fn signed_in(state: &AppState) -> Result<Actor, AppError> {
    match current(state).await? {
        Some(actor) => Ok(actor),
        None => {
            set_status(axum::http::StatusCode::UNAUTHORIZED);
            Err(AppError::Unauthorized)
        }
    }
}

/// The signed-in user if the role allows `needed`; every server function
/// starts with this.
pub async fn require(state: &AppState, needed: Role) -> Result<Actor, AppError> {
    let actor = signed_in(state).await?;
    if actor.must_change_password {
        tracing::info!(user = %actor.username, "refused: the password must be changed first");
        set_status(axum::http::StatusCode::FORBIDDEN);
        return Err(AppError::Forbidden(
            "change your password first (Account → Change password)".into(),
        ));
    }
    if !actor.role.allows(needed) {
        tracing::info!(user = %actor.username, role = %actor.role, needed = %needed, "refused: role");
        set_status(axum::http::StatusCode::FORBIDDEN);
        return Err(AppError::Forbidden(format!(
            "this needs the {needed} role; {} is {}",
            actor.username, actor.role
        )));
    }
    Ok(actor)
}

/// Records an action in the audit log; a failure to record is logged.
pub async fn audit(
    state: &AppState,
    actor: Option<&Actor>,
    action: &str,
    target: &str,
    outcome: Result<(), &AppError>,
) {
    let (outcome, detail) = match outcome {
        Ok(()) => ("success", String::new()),
        Err(AppError::Forbidden(_) | AppError::Unauthorized) => ("refused", String::new()),
        Err(err) => ("failure", err.to_string()),
    };
    let entry = AuditEntry {
        username: actor.map(|a| a.username.as_str()),
        address: actor.and_then(|a| a.address.as_deref()),
        action,
        target,
        outcome,
        detail: &detail,
    };
    if let Err(err) = state.catalog.audit(&entry).await {
        tracing::error!(action, error = %err, "could not write the audit log");
    }
}

/// Runs `work` for `actor` and records it in the audit log either way.
pub async fn audited<T>(
    state: &AppState,
    actor: &Actor,
    action: &str,
    target: &str,
    work: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let result = work.await;
    audit(
        state,
        Some(actor),
        action,
        target,
        result.as_ref().map(|_| ()),
    )
    .await;
    result
}
