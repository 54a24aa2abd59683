//! Notification channels, their test button and the delivery log (admins
//! only: channels hold addresses and hook URLs).

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::ChannelForm;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    /// `webhook` or `email`.
    pub kind: String,
    /// Where it sends ("POST https://…", "mail to … via host:port").
    pub target: String,
    /// The events it receives, as labels.
    pub events: Vec<String>,
    pub enabled: bool,
    /// The newest attempt's error when it did not arrive.
    pub failing: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub channel: String,
    /// The event's label.
    pub event: String,
    pub summary: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationsView {
    pub channels: Vec<ChannelRow>,
    /// The newest deliveries first.
    pub deliveries: Vec<DeliveryRow>,
}

/// A new channel; a generated webhook key is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCreated {
    pub id: i64,
    pub generated_secret: Option<String>,
}

/// Deliveries the log shows.
pub const LOG_ROWS: i64 = 100;

#[cfg(feature = "ssr")]
#[path = "notifications_server.rs"]
pub mod server;

#[server(endpoint = "notifications")]
pub async fn notifications() -> Result<NotificationsView, AppError> {
    server::view(&crate::state::app_state()?).await
}

#[server(endpoint = "notifications/create")]
pub async fn create_channel(form: ChannelForm) -> Result<ChannelCreated, AppError> {
    server::create(&crate::state::app_state()?, form).await
}

#[server(endpoint = "notifications/enable")]
pub async fn set_channel_enabled(id: i64, enabled: bool) -> Result<(), AppError> {
    server::set_enabled(&crate::state::app_state()?, id, enabled).await
}

/// Deletes the channel and its delivery log.
#[server(endpoint = "notifications/delete")]
pub async fn delete_channel(id: i64) -> Result<(), AppError> {
    server::delete(&crate::state::app_state()?, id).await
}

/// Sends a test message now (one attempt) and returns how it went.
#[server(endpoint = "notifications/test")]
pub async fn test_channel(id: i64) -> Result<DeliveryRow, AppError> {
    server::test(&crate::state::app_state()?, id).await
}
