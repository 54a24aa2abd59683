//! The server side of users, tokens and the audit log.

use rand::RngCore;

use super::{AuditPage, AuditRow, TokenRow, UserRow, AUDIT_PER_PAGE};
use crate::api::auth::server::hash_password;
use crate::auth::{self, audited};
use crate::catalog::AuditFilter;
use crate::error::AppError;
use crate::model::{password_problem, FieldError, Role};
use crate::state::AppState;

pub async fn list(state: &AppState) -> Result<Vec<UserRow>, AppError> {
    auth::require(state, Role::Admin).await?;
    Ok(state
        .catalog
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            username: u.username,
            role: u.role,
            disabled: u.disabled,
            must_change_password: u.must_change_password,
            created_at: u.created_at,
        })
        .collect())
}

fn role(text: &str) -> Result<Role, AppError> {
    Role::parse(text).ok_or_else(|| {
        AppError::Validation(vec![FieldError::new(
            "role",
            crate::tr!(validation.choose_viewer_operator_or_admin),
        )])
    })
}

pub async fn create(
    state: &AppState,
    username: String,
    role_name: String,
    password: String,
) -> Result<i64, AppError> {
    let actor = auth::require(state, Role::Admin).await?;
    let name = username.trim().to_owned();
    let work = async {
        let mut errors = Vec::new();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
        if !valid {
            errors.push(FieldError::new(
                "username",
                crate::tr!(validation.username_chars),
            ));
        }
        if let Some(problem) = password_problem(&password, &name) {
            errors.push(FieldError::new("password", problem));
        }
        let role = role(&role_name);
        if let Err(AppError::Validation(e)) = &role {
            errors.extend(e.iter().cloned());
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let hash = hash_password(password.clone()).await?;
        Ok(state
            .catalog
            .insert_user(&name, &hash, role?, true)
            .await?
            .id)
    };
    audited(state, &actor, "create user", &name, work).await
}

async fn target_name(state: &AppState, id: i64) -> Result<String, AppError> {
    Ok(state
        .catalog
        .user(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("user {id}")))?
        .username)
}

/// Refuses to leave the console without an admin who can sign in.
async fn keep_an_admin(state: &AppState, id: i64) -> Result<(), AppError> {
    let user = state.catalog.user(id).await?;
    let is_active_admin = user.is_some_and(|u| u.role() == Role::Admin && !u.disabled);
    if is_active_admin && state.catalog.active_admins().await? <= 1 {
        return Err(AppError::Conflict(
            "this is the last admin who can sign in".into(),
        ));
    }
    Ok(())
}

pub async fn set_role(state: &AppState, id: i64, role_name: String) -> Result<(), AppError> {
    let actor = auth::require(state, Role::Admin).await?;
    let target = target_name(state, id).await.unwrap_or_default();
    let work = async {
        let role = role(&role_name)?;
        if role != Role::Admin {
            keep_an_admin(state, id).await?;
        }
        state.catalog.set_user_role(id, role).await?;
        Ok(())
    };
    audited(
        state,
        &actor,
        &format!("set role {role_name}"),
        &target,
        work,
    )
    .await
}

pub async fn set_disabled(state: &AppState, id: i64, disabled: bool) -> Result<(), AppError> {
    let actor = auth::require(state, Role::Admin).await?;
    let target = target_name(state, id).await.unwrap_or_default();
    let work = async {
        if disabled {
            keep_an_admin(state, id).await?;
        }
        state.catalog.set_user_disabled(id, disabled).await?;
        Ok(())
    };
    let action = if disabled {
        "disable user"
    } else {
        "enable user"
    };
    audited(state, &actor, action, &target, work).await
}

pub async fn reset(state: &AppState, id: i64, password: String) -> Result<(), AppError> {
    let actor = auth::require(state, Role::Admin).await?;
    let target = target_name(state, id).await?;
    let work = async {
        if let Some(problem) = password_problem(&password, &target) {
            return Err(AppError::Validation(vec![FieldError::new(
                "password", problem,
            )]));
        }
        let hash = hash_password(password.clone()).await?;
        // A new password ends the user's other sessions (see auth::resolve).
        state.catalog.set_password(id, &hash, true).await?;
        Ok(())
    };
    audited(state, &actor, "reset password", &target, work).await
}

pub async fn tokens(state: &AppState) -> Result<Vec<TokenRow>, AppError> {
    let actor = auth::require(state, Role::Viewer).await?;
    Ok(state
        .catalog
        .tokens_of(actor.id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked: t.revoked_at.is_some(),
        })
        .collect())
}

pub async fn create_token(state: &AppState, name: String) -> Result<String, AppError> {
    let actor = auth::require(state, Role::Viewer).await?;
    let name = name.trim().to_owned();
    let work = async {
        if name.is_empty() || name.chars().count() > 64 {
            return Err(AppError::Validation(vec![FieldError::new(
                "name",
                crate::tr!(validation.chars_1_to_64),
            )]));
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!(
            "tm_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        state
            .catalog
            .insert_token(actor.id, &name, &auth::hash_token(&token))
            .await?;
        Ok(token)
    };
    audited(state, &actor, "create token", &name, work).await
}

pub async fn revoke_token(state: &AppState, id: i64) -> Result<(), AppError> {
    let actor = auth::require(state, Role::Viewer).await?;
    let work = async {
        if !state.catalog.revoke_token(actor.id, id).await? {
            return Err(AppError::NotFound(format!("token {id}")));
        }
        Ok(())
    };
    audited(state, &actor, "revoke token", &id.to_string(), work).await
}

pub async fn audit_page(
    state: &AppState,
    page: u32,
    username: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
) -> Result<AuditPage, AppError> {
    auth::require(state, Role::Viewer).await?;
    let empty_none = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let filter = AuditFilter {
        username: empty_none(username),
        action: empty_none(action),
        outcome: empty_none(outcome),
    };
    let page = page.max(1);
    let offset = u64::from(page - 1) * u64::from(AUDIT_PER_PAGE);
    let (rows, total) = state
        .catalog
        .audit_page(&filter, AUDIT_PER_PAGE, offset)
        .await?;
    let pages = u32::try_from(total.div_ceil(u64::from(AUDIT_PER_PAGE)))
        .unwrap_or(u32::MAX)
        .max(1);
    Ok(AuditPage {
        rows: rows
            .into_iter()
            .map(|r| AuditRow {
                id: r.id,
                at: r.at,
                username: r.username,
                address: r.address,
                action: r.action,
                target: r.target,
                outcome: r.outcome,
                detail: r.detail,
            })
            .collect(),
        total,
        page,
        pages,
    })
}
