//! Sign-in, sign-out, who am I, and changing one's own password.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Me;

#[cfg(feature = "ssr")]
#[path = "auth_server.rs"]
pub mod server;

/// Signs in; a form posted without JavaScript lands on `next`. The answer
/// never says whether the user or the password was wrong.
#[server(endpoint = "login")]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<Me, AppError> {
    let state = crate::state::app_state()?;
    let me = server::login(&state, &username, &password).await?;
    let next = next.filter(|n| n.starts_with('/') && !n.starts_with("//"));
    let landing = if me.must_change_password {
        "/account/password".to_owned()
    } else {
        next.unwrap_or_else(|| "/".into())
    };
    leptos_axum::redirect(&landing);
    Ok(me)
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    server::logout(&state).await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in user, or None.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    let state = crate::state::app_state()?;
    let Some(actor) = crate::auth::current(&state).await? else {
        return Ok(None);
    };
    let mut me = actor.me();
    me.theme = state.catalog.user_theme(actor.id).await?;
    me.locale = state.catalog.user_locale(actor.id).await?;
    Ok(Some(me))
}

/// The signed-in user's console language: a locale the console has, or ""
/// to follow the browser again.
#[server(endpoint = "account/locale")]
pub async fn set_locale(locale: String) -> Result<(), AppError> {
    use std::str::FromStr;
    let state = crate::state::app_state()?;
    let actor = crate::auth::current(&state)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if !locale.is_empty() && crate::i18n::Locale::from_str(&locale).is_err() {
        return Err(AppError::Invalid {
            field: "locale".into(),
            message: format!("the console has no language {locale:?}"),
        });
    }
    state.catalog.set_user_locale(actor.id, &locale).await?;
    if !locale.is_empty() {
        server::remember_locale(&locale);
    }
    Ok(())
}

/// The signed-in user's console theme: `auto`, `light` or `dark`.
#[server(endpoint = "account/theme")]
pub async fn set_theme(theme: String) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::current(&state)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if !crate::model::THEMES.contains(&theme.as_str()) {
        return Err(AppError::Invalid {
            field: "theme".into(),
            message: "choose auto, light or dark".into(),
        });
    }
    Ok(state.catalog.set_user_theme(actor.id, &theme).await?)
}

#[server(endpoint = "account/password")]
pub async fn change_password(current: String, new: String, repeat: String) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    server::change_password(&state, &current, &new, &repeat).await?;
    leptos_axum::redirect("/");
    Ok(())
}
