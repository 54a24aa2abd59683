//! The server side of sign-in and passwords.

use tower_sessions::Session;

use crate::auth::{self, Actor};
use crate::error::{blocking, AppError};
use crate::model::{password_problem, FieldError, Me};
use crate::state::AppState;

/// Verifies a password off the async workers (argon2 is slow on purpose).
pub async fn verify_password(password: String, hash: String) -> Result<bool, AppError> {
    blocking(move || Ok(password_auth::verify_password(&password, &hash).is_ok())).await
}

pub async fn hash_password(password: String) -> Result<String, AppError> {
    blocking(move || Ok(password_auth::generate_hash(password))).await
}

/// A real hash of nothing anyone knows, for unknown user names.
async fn dummy_hash() -> Result<String, AppError> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash.clone());
    }
    let hash = hash_password(crate::auth::hash_token("no user has this password")).await?;
    Ok(DUMMY.get_or_init(|| hash).clone())
}

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal("no session layer", &std::io::Error::other(e.to_string())))
}

pub async fn login(state: &AppState, username: &str, password: &str) -> Result<Me, AppError> {
    let address = auth::client_address();
    let ip = address.map(|a| a.ip().to_string());
    let failed = |detail: &'static str| crate::catalog::AuditEntry {
        username: Some(username),
        address: ip.as_deref(),
        action: "sign-in",
        target: "",
        outcome: "failure",
        detail,
    };
    if let Some(wait) = state.auth.login_wait(address.map(|a| a.ip())) {
        state.catalog.audit(&failed("rate limited")).await?;
        return Err(AppError::TooManyAttempts(wait));
    }
    let user = state.catalog.user_by_name(username.trim()).await?;
    // Verified even for an unknown user, so timing tells nothing either.
    let hash = match &user {
        Some(u) => u.password_hash.clone(),
        None => dummy_hash().await?,
    };
    let matches = verify_password(password.to_owned(), hash).await?;
    let user = match user {
        Some(u) if matches && !u.disabled => u,
        other => {
            let why = match other {
                None => "unknown user",
                Some(u) if u.disabled => "disabled user",
                Some(_) => "wrong password",
            };
            state.catalog.audit(&failed(why)).await?;
            return Err(AppError::Invalid {
                field: "password".into(),
                message: "the user name or the password is wrong".into(),
            });
        }
    };
    auth::sign_in(&session().await?, &user).await?;
    let actor = Actor {
        id: user.id,
        username: user.username.clone(),
        role: user.role(),
        must_change_password: user.must_change_password,
        address: ip,
        via_token: false,
    };
    auth::audit(state, Some(&actor), "sign-in", "", Ok(())).await;
    let mut me = actor.me();
    me.locale = state.catalog.user_locale(user.id).await?;
    if !me.locale.is_empty() {
        remember_locale(&me.locale);
    }
    Ok(me)
}

/// The cookie the console's language follows (leptos_i18n's), set to the
/// user's own choice at sign-in, so it holds in a new browser too.
pub fn remember_locale(locale: &str) {
    let cookie = format!("i18n_pref_locale={locale}; Path=/; SameSite=Lax; Max-Age=31536000");
    if let (Some(response), Ok(value)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        axum::http::HeaderValue::from_str(&cookie),
    ) {
        response.append_header(axum::http::header::SET_COOKIE, value);
    }
}

pub async fn logout(state: &AppState) -> Result<(), AppError> {
    let actor = auth::signed_in(state).await?;
    let session = session().await?;
    session
        .flush()
        .await
        .map_err(|e| AppError::internal("ending the session", &e))?;
    auth::audit(state, Some(&actor), "sign-out", "", Ok(())).await;
    Ok(())
}

pub async fn change_password(
    state: &AppState,
    current: &str,
    new: &str,
    repeat: &str,
) -> Result<(), AppError> {
    let actor = auth::signed_in(state).await?;
    let work = async {
        let user = state
            .catalog
            .user(actor.id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let mut errors = Vec::new();
        if !verify_password(current.to_owned(), user.password_hash.clone()).await? {
            errors.push(FieldError::new(
                "current",
                crate::tr!(validation.this_is_not_your_current_password),
            ));
        }
        if let Some(problem) = password_problem(new, &user.username) {
            errors.push(FieldError::new("new", problem));
        } else if new == current {
            errors.push(FieldError::new(
                "new",
                crate::tr!(validation.choose_a_password_you_have_not),
            ));
        }
        if new != repeat {
            errors.push(FieldError::new(
                "repeat",
                crate::tr!(validation.the_two_new_passwords_differ),
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let hash = hash_password(new.to_owned()).await?;
        state.catalog.set_password(user.id, &hash, false).await?;
        let changed = state
            .catalog
            .user(user.id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if !actor.via_token {
            auth::password_changed(&session().await?, changed.password_changed_at).await?;
        }
        Ok(())
    };
    auth::audited(state, &actor, "change password", &actor.username, work).await
}
