//! The server side of notification channels.

use rand::RngCore;

use super::{ChannelCreated, ChannelRow, DeliveryRow, NotificationsView, LOG_ROWS};
use crate::auth::{self, audited};
use crate::catalog::DeliveryRecord;
use crate::error::AppError;
use crate::model::{ChannelForm, ChannelSettings, EventKind, FieldError, Role};
use crate::state::AppState;

fn delivery_row(d: DeliveryRecord) -> DeliveryRow {
    DeliveryRow {
        id: d.id,
        channel: d.channel,
        event: EventKind::parse(&d.event)
            .map(|e| e.label().to_owned())
            .unwrap_or(d.event),
        summary: d.summary,
        state: d.state,
        attempts: d.attempts,
        last_error: d.last_error,
        created_at: d.created_at,
        next_attempt_at: d.next_attempt_at,
        finished_at: d.finished_at,
    }
}

pub async fn view(state: &AppState) -> Result<NotificationsView, AppError> {
    auth::require(state, Role::Admin).await?;
    let failing = state.catalog.failing_channels().await?;
    let channels = state
        .catalog
        .list_channels()
        .await?
        .into_iter()
        .map(|c| ChannelRow {
            failing: failing
                .iter()
                .find(|f| f.channel == c.name)
                .map(|f| f.error.clone()),
            id: c.id,
            kind: c.settings.kind().to_owned(),
            target: c.settings.target(),
            events: c.events.iter().map(|e| e.label().to_owned()).collect(),
            enabled: c.enabled,
            name: c.name,
        })
        .collect();
    let deliveries = state
        .catalog
        .recent_deliveries(LOG_ROWS)
        .await?
        .into_iter()
        .map(delivery_row)
        .collect();
    Ok(NotificationsView {
        channels,
        deliveries,
    })
}

/// The checks that need the libraries that send: lettre's address parser
/// and a real URL parser.
fn deep_checks(settings: &ChannelSettings) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match settings {
        ChannelSettings::Webhook { url } => {
            if let Err(e) = reqwest::Url::parse(url) {
                errors.push(FieldError::new(
                    "url",
                    crate::tr!(validation.not_usable_url, e),
                ));
            }
        }
        ChannelSettings::Email { from, to, .. } => {
            if let Err(why) = crate::notify::mailbox(from) {
                errors.push(FieldError::new("mail_from", why));
            }
            if let Some(why) = to.iter().find_map(|a| crate::notify::mailbox(a).err()) {
                errors.push(FieldError::new("mail_to", why));
            }
        }
    }
    errors
}

fn generated_key() -> String {
    let mut key = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut key);
    hex::encode(key)
}

pub async fn create(state: &AppState, form: ChannelForm) -> Result<ChannelCreated, AppError> {
    let actor = auth::require(state, Role::Admin).await?;
    let name = form.name.trim().to_owned();
    let work = async {
        let spec = form.parse().map_err(AppError::Validation)?;
        let errors = deep_checks(&spec.settings);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let generated = match (&spec.settings, &spec.secret) {
            (ChannelSettings::Webhook { .. }, None) => Some(generated_key()),
            _ => None,
        };
        let secret = spec.secret.clone().or_else(|| generated.clone());
        let id = state
            .catalog
            .insert_channel(&spec.name, &spec.settings, secret.as_deref(), &spec.events)
            .await?;
        Ok(ChannelCreated {
            id,
            generated_secret: generated,
        })
    };
    audited(state, &actor, "create notification channel", &name, work).await
}

async fn channel_name(state: &AppState, id: i64) -> Result<String, AppError> {
    state
        .catalog
        .channel(id)
        .await?
        .map(|c| c.name)
        .ok_or_else(|| AppError::NotFound(format!("notification channel {id}")))
}

pub async fn set_enabled(state: &AppState, id: i64, enabled: bool) -> Result<(), AppError> {
    let actor = auth::require(state, Role::Admin).await?;
    let name = channel_name(state, id).await?;
    let action = if enabled {
        "enable notification channel"
    } else {
        "disable notification channel"
    };
    let work = async {
        state.catalog.set_channel_enabled(id, enabled).await?;
        Ok(())
    };
    audited(state, &actor, action, &name, work).await
}

pub async fn delete(state: &AppState, id: i64) -> Result<(), AppError> {
    let actor = auth::require(state, Role::Admin).await?;
    let name = channel_name(state, id).await?;
    let work = async {
        state.catalog.delete_channel(id).await?;
        Ok(())
    };
    audited(state, &actor, "delete notification channel", &name, work).await
}

pub async fn test(state: &AppState, id: i64) -> Result<DeliveryRow, AppError> {
    let actor = auth::require(state, Role::Admin).await?;
    let channel = state
        .catalog
        .channel(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("notification channel {id}")))?;
    let name = channel.name.clone();
    let work = async {
        let delivery = state.jobs.notifier().send_test(&channel).await?;
        Ok(delivery_row(delivery))
    };
    audited(state, &actor, "test notification channel", &name, work).await
}
