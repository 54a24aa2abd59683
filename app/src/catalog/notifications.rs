//! Notification channels and the outbox of their deliveries.

use chrono::{DateTime, Utc};

use super::{Catalog, CatalogWriteError};
use crate::model::{ChannelSettings, EventKind};

/// A channel as stored; its secret is opened only to send.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRecord {
    pub id: i64,
    pub name: String,
    pub settings: ChannelSettings,
    pub events: Vec<EventKind>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ChannelRow {
    id: i64,
    name: String,
    settings: String,
    events: String,
    enabled: bool,
    created_at: DateTime<Utc>,
}

impl ChannelRow {
    fn decode(self) -> Result<ChannelRecord, sqlx::Error> {
        let settings =
            serde_json::from_str(&self.settings).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        let events =
            EventKind::parse_list(&self.events).map_err(|why| sqlx::Error::Decode(why.into()))?;
        Ok(ChannelRecord {
            id: self.id,
            name: self.name,
            settings,
            events,
            enabled: self.enabled,
            created_at: self.created_at,
        })
    }
}

/// One message to one channel, as the log shows it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryRecord {
    pub id: i64,
    pub channel_id: i64,
    pub channel: String,
    pub event: String,
    pub summary: String,
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A channel whose newest attempted delivery did not arrive.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FailingChannel {
    pub channel: String,
    pub error: String,
    pub since: DateTime<Utc>,
}

const DELIVERY_COLUMNS: &str =
    "d.id, d.channel_id, c.name AS channel, d.event, d.summary, d.body, \
     d.state, d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.finished_at";

impl Catalog {
    pub async fn insert_channel(
        &self,
        name: &str,
        settings: &ChannelSettings,
        secret: Option<&str>,
        events: &[EventKind],
    ) -> Result<i64, CatalogWriteError> {
        let json = serde_json::to_string(settings)
            .map_err(|e| CatalogWriteError::Db(sqlx::Error::Encode(Box::new(e))))?;
        sqlx::query_scalar(
            "INSERT INTO notification_channels (name, kind, settings, secret, events, enabled, created_at) \
             VALUES (?, ?, ?, ?, ?, TRUE, ?) RETURNING id",
        )
        .bind(name)
        .bind(settings.kind())
        .bind(json)
        .bind(self.seal_secret(secret))
        .bind(EventKind::join(events))
        .bind(Utc::now())
        .fetch_one(self.pool())
        .await
        .map_err(|e| CatalogWriteError::classify(e, "name"))
    }

    pub async fn list_channels(&self) -> Result<Vec<ChannelRecord>, sqlx::Error> {
        let rows: Vec<ChannelRow> = sqlx::query_as(
            "SELECT id, name, settings, events, enabled, created_at \
             FROM notification_channels ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(ChannelRow::decode).collect()
    }

    pub async fn channel(&self, id: i64) -> Result<Option<ChannelRecord>, sqlx::Error> {
        let row: Option<ChannelRow> = sqlx::query_as(
            "SELECT id, name, settings, events, enabled, created_at \
             FROM notification_channels WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(ChannelRow::decode).transpose()
    }

    /// The channel's secret, opened for sending.
    pub async fn channel_secret(&self, id: i64) -> Result<Option<String>, sqlx::Error> {
        let stored: Option<Option<String>> =
            sqlx::query_scalar("SELECT secret FROM notification_channels WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        self.open_secret(stored.flatten())
    }

    /// False when there is no such channel.
    pub async fn set_channel_enabled(&self, id: i64, enabled: bool) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE notification_channels SET enabled = ? WHERE id = ?")
            .bind(enabled)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes the channel and its delivery log; false when there was none.
    pub async fn delete_channel(&self, id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM notification_channels WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues one message for a channel: for the dispatcher to send now
    /// (`due`), or for the caller to send itself (a test).
    pub async fn queue_delivery(
        &self,
        channel_id: i64,
        event: EventKind,
        summary: &str,
        body: &str,
        due: bool,
    ) -> Result<i64, sqlx::Error> {
        let now = Utc::now();
        sqlx::query_scalar(
            "INSERT INTO notification_deliveries \
             (channel_id, event, summary, body, state, attempts, next_attempt_at, created_at) \
             VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) RETURNING id",
        )
        .bind(channel_id)
        .bind(event.as_str())
        .bind(summary)
        .bind(body)
        .bind(due.then_some(now))
        .bind(now)
        .fetch_one(self.pool())
        .await
    }

    /// Pending deliveries whose time has come, oldest first.
    pub async fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM notification_deliveries d \
             JOIN notification_channels c ON c.id = d.channel_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// When the next pending delivery is due.
    pub async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM notification_deliveries WHERE state = 'pending'",
        )
        .fetch_one(self.pool())
        .await
    }

    /// Records an attempt: delivered, failed for good, or to be tried
    /// again at `retry_at`.
    pub async fn record_attempt(
        &self,
        id: i64,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), sqlx::Error> {
        let state = match (error, retry_at) {
            (None, _) => "delivered",
            (Some(_), Some(_)) => "pending",
            (Some(_), None) => "failed",
        };
        let finished = (state != "pending").then(Utc::now);
        sqlx::query(
            "UPDATE notification_deliveries SET state = ?, attempts = attempts + 1, \
             next_attempt_at = ?, last_error = COALESCE(?, last_error), finished_at = ? WHERE id = ?",
        )
        .bind(state)
        .bind(retry_at)
        .bind(error)
        .bind(finished)
        .bind(id)
        .execute(self.pool())
        .await
        .map(drop)
    }

    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRecord>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM notification_deliveries d \
             JOIN notification_channels c ON c.id = d.channel_id WHERE d.id = ?"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await
    }

    /// The newest deliveries, newest first.
    pub async fn recent_deliveries(&self, limit: i64) -> Result<Vec<DeliveryRecord>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM notification_deliveries d \
             JOIN notification_channels c ON c.id = d.channel_id ORDER BY d.id DESC LIMIT ?"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await
    }

    /// Enabled channels whose newest attempted delivery failed (or is
    /// waiting for a retry): the dashboard names them.
    pub async fn failing_channels(&self) -> Result<Vec<FailingChannel>, sqlx::Error> {
        sqlx::query_as(
            "SELECT c.name AS channel, d.last_error AS error, d.created_at AS since \
             FROM notification_channels c \
             JOIN notification_deliveries d ON d.id = ( \
                 SELECT MAX(id) FROM notification_deliveries \
                 WHERE channel_id = c.id AND attempts > 0) \
             WHERE c.enabled AND d.state != 'delivered' AND d.last_error IS NOT NULL \
             ORDER BY c.name",
        )
        .fetch_all(self.pool())
        .await
    }

    /// Deliveries that failed for good, per channel (for `/metrics`).
    pub async fn failed_deliveries_by_channel(&self) -> Result<Vec<(String, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT c.name, COUNT(d.id) FROM notification_channels c \
             LEFT JOIN notification_deliveries d ON d.channel_id = c.id AND d.state = 'failed' \
             GROUP BY c.id ORDER BY c.name",
        )
        .fetch_all(self.pool())
        .await
    }
}
