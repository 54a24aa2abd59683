//! Users, API tokens and the append-only audit log.

use chrono::{DateTime, Utc};

use super::{Catalog, CatalogWriteError};
use crate::model::Role;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

impl UserRecord {
    pub fn role(&self) -> Role {
        // The catalog's CHECK allows only the three; fail closed regardless.
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub username: Option<String>,
    pub address: Option<String>,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub detail: String,
}

/// One line for the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry<'a> {
    pub username: Option<&'a str>,
    pub address: Option<&'a str>,
    pub action: &'a str,
    pub target: &'a str,
    /// `success`, `failure` or `refused`.
    pub outcome: &'a str,
    pub detail: &'a str,
}

/// Which audit rows to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub username: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<String>,
}

impl Catalog {
    pub async fn count_users(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(self.pool())
            .await
    }

    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        must_change_password: bool,
    ) -> Result<UserRecord, CatalogWriteError> {
        let now = Utc::now();
        sqlx::query_as(
            "INSERT INTO users (username, password_hash, role, must_change_password, created_at, \
             password_changed_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(must_change_password)
        .bind(now)
        .bind(now)
        .fetch_one(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "username"))
    }

    pub async fn user(&self, id: i64) -> Result<Option<UserRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// Whether viewers may download files from backup points (an
    /// administrator's setting; off until turned on).
    pub async fn viewer_downloads(&self) -> Result<bool, sqlx::Error> {
        let value: Option<String> =
            sqlx::query_scalar("SELECT value FROM console_settings WHERE key = 'viewer_downloads'")
                .fetch_optional(self.pool())
                .await?;
        Ok(value.as_deref() == Some("on"))
    }

    pub async fn set_viewer_downloads(&self, allowed: bool) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO console_settings (key, value) VALUES ('viewer_downloads', ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(if allowed { "on" } else { "off" })
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// The user's console theme (`auto` when the user is gone).
    pub async fn user_theme(&self, id: i64) -> Result<String, sqlx::Error> {
        let theme: Option<String> = sqlx::query_scalar("SELECT theme FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(theme.unwrap_or_else(|| "auto".into()))
    }

    /// Stores the user's theme (the catalog refuses anything but the three).
    pub async fn set_user_theme(&self, id: i64, theme: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET theme = ? WHERE id = ?")
            .bind(theme)
            .bind(id)
            .execute(self.pool())
            .await
            .map(drop)
    }

    /// The user's console language ("" follows the browser).
    pub async fn user_locale(&self, id: i64) -> Result<String, sqlx::Error> {
        let locale: Option<String> = sqlx::query_scalar("SELECT locale FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(locale.unwrap_or_default())
    }

    /// Stores the user's console language (the caller checked it is one).
    pub async fn set_user_locale(&self, id: i64, locale: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET locale = ? WHERE id = ?")
            .bind(locale)
            .bind(id)
            .execute(self.pool())
            .await
            .map(drop)
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>, sqlx::Error> {
        sqlx::query_as("SELECT * FROM users ORDER BY username")
            .fetch_all(self.pool())
            .await
    }

    pub async fn set_password(
        &self,
        id: i64,
        password_hash: &str,
        must_change: bool,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ? \
             WHERE id = ?",
        )
        .bind(password_hash)
        .bind(must_change)
        .bind(Utc::now())
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    pub async fn set_user_role(&self, id: i64, role: Role) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_user_disabled(&self, id: i64, disabled: bool) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE users SET disabled = ? WHERE id = ?")
            .bind(disabled)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Admins who can still sign in: the last one must not be removed.
    pub async fn active_admins(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled")
            .fetch_one(self.pool())
            .await
    }

    pub async fn insert_token(
        &self,
        user_id: i64,
        name: &str,
        token_hash: &str,
    ) -> Result<TokenRecord, sqlx::Error> {
        sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?) \
             RETURNING id, user_id, name, created_at, last_used_at, revoked_at",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await
    }

    pub async fn tokens_of(&self, user_id: i64) -> Result<Vec<TokenRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, user_id, name, created_at, last_used_at, revoked_at FROM api_tokens \
             WHERE user_id = ? ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await
    }

    pub async fn revoke_token(&self, user_id: i64, token_id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        )
        .bind(Utc::now())
        .bind(token_id)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The user a live token belongs to; marks the token used.
    pub async fn user_by_token(&self, token_hash: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        let user: Option<UserRecord> = sqlx::query_as(
            "SELECT u.* FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = ? AND t.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        if user.is_some() {
            sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?")
                .bind(Utc::now())
                .bind(token_hash)
                .execute(self.pool())
                .await?;
        }
        Ok(user)
    }

    pub async fn audit(&self, entry: &AuditEntry<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_log (at, username, address, action, target, outcome, detail) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(Utc::now())
        .bind(entry.username)
        .bind(entry.address)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.outcome)
        .bind(entry.detail)
        .execute(self.pool())
        .await
        .map(drop)
    }

    /// A page of the audit log, newest first, and how many rows match.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<AuditRecord>, u64), sqlx::Error> {
        let condition = "(?1 IS NULL OR username = ?1) AND (?2 IS NULL OR action = ?2) \
                         AND (?3 IS NULL OR outcome = ?3)";
        let rows = sqlx::query_as(&format!(
            "SELECT * FROM audit_log WHERE {condition} ORDER BY id DESC LIMIT ?4 OFFSET ?5"
        ))
        .bind(&filter.username)
        .bind(&filter.action)
        .bind(&filter.outcome)
        .bind(i64::from(limit))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await?;
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM audit_log WHERE {condition}"))
                .bind(&filter.username)
                .bind(&filter.action)
                .bind(&filter.outcome)
                .fetch_one(self.pool())
                .await?;
        Ok((rows, u64::try_from(total).unwrap_or(0)))
    }
}
