//! Notifications. A job that ends (or a scheduler that notices trouble)
//! hands an [`Event`] to the [`Notifier`], which writes one delivery per
//! channel that wants it into the catalog's outbox and returns at once. The
//! dispatcher sends the outbox apart from every job, with retries and
//! backoff, so a slow or dead channel never holds up or fails a backup, and
//! what was not yet sent survives a restart.

mod email;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::catalog::{Catalog, ChannelRecord, DeliveryRecord};
use crate::model::{ChannelSettings, EventKind, NotifyRule};

pub use email::mailbox;

/// Attempts per delivery before it is marked failed.
pub const MAX_ATTEMPTS: i64 = 5;
/// The wait before the second attempt; each later wait is four times longer
/// (30 s, 2 min, 8 min, 32 min).
const FIRST_RETRY: Duration = Duration::from_secs(30);
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries sent at once.
const BATCH: i64 = 32;
const MAX_SLEEP: Duration = Duration::from_secs(30);

const GONE: &str = "the channel was deleted";
const DISABLED: &str = "the channel was disabled before it was sent";

/// Something worth telling an administrator.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    /// The task it concerns (its rule applies), if any.
    pub task_id: Option<i64>,
    /// One line: the mail's subject and the log's summary.
    pub summary: String,
    /// The error or the figures.
    pub detail: String,
    /// The console page that shows it (a path such as `/runs/7`).
    pub link: Option<String>,
}

impl Event {
    pub fn new(kind: EventKind, summary: impl Into<String>) -> Self {
        Event {
            kind,
            task_id: None,
            summary: summary.into(),
            detail: String::new(),
            link: None,
        }
    }

    pub fn task(mut self, task_id: i64) -> Self {
        self.task_id = Some(task_id);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn link(mut self, link: impl Into<String>) -> Self {
        self.link = Some(link.into());
        self
    }
}

fn severity(kind: EventKind) -> &'static str {
    match kind {
        EventKind::BackupFailed
        | EventKind::RestoreFailed
        | EventKind::DrillFailed
        | EventKind::VerifyDamage
        | EventKind::CopyFailed => "error",
        EventKind::BackupLate | EventKind::BackupSkipped | EventKind::RpoExceeded => "warning",
        EventKind::BackupSucceeded | EventKind::RestoreFinished | EventKind::Test => "info",
    }
}

/// The documented webhook body (see the README), kept as sent.
fn body(event: &Event, task: Option<&str>, at: DateTime<Utc>) -> String {
    serde_json::json!({
        "event": event.kind.as_str(),
        "severity": severity(event.kind),
        "summary": event.summary,
        "detail": event.detail,
        "task": event.task_id.map(|id| serde_json::json!({ "id": id, "name": task })),
        "link": event.link,
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "server": { "name": "tidemark", "version": env!("CARGO_PKG_VERSION") },
    })
    .to_string()
}

/// The mail's text, from the same body.
fn mail_text(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let field = |name: &str| value[name].as_str().unwrap_or_default().to_owned();
    let mut text = format!("{}\n\n", field("summary"));
    if !field("detail").is_empty() {
        text.push_str(&format!("{}\n\n", field("detail")));
    }
    if let Some(task) = value["task"]["name"].as_str() {
        text.push_str(&format!("Task: {task}\n"));
    }
    text.push_str(&format!(
        "Event: {}\nTime: {}\n",
        field("event"),
        field("at")
    ));
    if !field("link").is_empty() {
        text.push_str(&format!("In the console: {}\n", field("link")));
    }
    text.push_str("\n-- \nSent by Tidemark. Change what you receive on the Notifications page.\n");
    text
}

struct Inner {
    catalog: Catalog,
    client: reqwest::Client,
    wake: Notify,
}

/// Queues and sends notifications; cheap to clone.
#[derive(Clone)]
pub struct Notifier(Arc<Inner>);

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifier(..)")
    }
}

impl Notifier {
    pub fn new(catalog: Catalog) -> Self {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(ATTEMPT_TIMEOUT)
            // A hook answers where it is; a redirect elsewhere is not followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Notifier(Arc::new(Inner {
            catalog,
            client,
            wake: Notify::new(),
        }))
    }

    fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    /// Queues the event for every channel that wants it, under the task's
    /// rule. Never fails: a catalog problem is logged, the job goes on.
    pub async fn emit(&self, event: Event) {
        match self.queue(&event).await {
            Ok(0) => {}
            Ok(_) => self.0.wake.notify_one(),
            Err(err) => {
                tracing::error!(event = event.kind.as_str(), error = %err, "could not queue a notification")
            }
        }
    }

    async fn queue(&self, event: &Event) -> Result<usize, sqlx::Error> {
        let (rule, task) = match event.task_id {
            Some(id) => match self.catalog().task(id).await? {
                Some(task) => (task.settings.notify, Some(task.settings.name)),
                None => (NotifyRule::Default, None),
            },
            None => (NotifyRule::Default, None),
        };
        let body = body(event, task.as_deref(), Utc::now());
        let mut queued = 0;
        for channel in self.catalog().list_channels().await? {
            if channel.enabled && rule.allows(event.kind, &channel.events) {
                self.catalog()
                    .queue_delivery(channel.id, event.kind, &event.summary, &body, true)
                    .await?;
                queued += 1;
            }
        }
        Ok(queued)
    }

    /// "Send test": one attempt now, recorded in the log, no retries.
    pub async fn send_test(&self, channel: &ChannelRecord) -> Result<DeliveryRecord, sqlx::Error> {
        let event = Event::new(
            EventKind::Test,
            format!("Test notification for channel {:?}", channel.name),
        )
        .detail("If you can read this, Tidemark reaches this channel.")
        .link("/notifications");
        let body = body(&event, None, Utc::now());
        let id = self
            .catalog()
            .queue_delivery(channel.id, EventKind::Test, &event.summary, &body, false)
            .await?;
        if let Some(delivery) = self.catalog().delivery(id).await? {
            self.attempt(&delivery, false).await;
        }
        self.catalog()
            .delivery(id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Sends one delivery and records the outcome (with its next try when
    /// `retry` and attempts remain).
    async fn attempt(&self, delivery: &DeliveryRecord, retry: bool) {
        let outcome = match tokio::time::timeout(ATTEMPT_TIMEOUT * 2, self.send(delivery)).await {
            Ok(outcome) => outcome,
            Err(_) => Err("no answer within the time limit".into()),
        };
        let attempts = delivery.attempts + 1;
        let retry_at = match &outcome {
            // Trying again changes nothing for a channel that is gone or off.
            Err(why) if why == GONE || why == DISABLED => None,
            Err(_) if retry && attempts < MAX_ATTEMPTS => {
                let wait = FIRST_RETRY * 4u32.pow(u32::try_from(attempts - 1).unwrap_or(0));
                Some(Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default())
            }
            _ => None,
        };
        if let Err(why) = &outcome {
            tracing::warn!(channel = %delivery.channel, event = %delivery.event, attempt = attempts, error = %why, "notification not delivered");
        }
        if let Err(err) = self
            .catalog()
            .record_attempt(delivery.id, outcome.err().as_deref(), retry_at)
            .await
        {
            tracing::error!(delivery = delivery.id, error = %err, "could not record a notification attempt");
        }
    }

    async fn send(&self, delivery: &DeliveryRecord) -> Result<(), String> {
        let unreadable = |_| "the channel's settings cannot be read".to_owned();
        let channel = self
            .catalog()
            .channel(delivery.channel_id)
            .await
            .map_err(unreadable)?
            .ok_or(GONE)?;
        if !channel.enabled && delivery.event != EventKind::Test.as_str() {
            return Err(DISABLED.into());
        }
        let secret = self
            .catalog()
            .channel_secret(channel.id)
            .await
            .map_err(|_| {
                "the channel's secret cannot be opened with this server's key".to_owned()
            })?;
        match &channel.settings {
            ChannelSettings::Webhook { url } => {
                webhook::post(
                    &self.0.client,
                    url,
                    secret.as_deref(),
                    &delivery.event,
                    delivery.id,
                    &delivery.body,
                )
                .await
            }
            settings @ ChannelSettings::Email { .. } => {
                let subject = format!("[Tidemark] {}", delivery.summary);
                email::send(
                    settings,
                    secret,
                    &subject,
                    mail_text(&delivery.body),
                    ATTEMPT_TIMEOUT,
                )
                .await
            }
        }
    }

    /// Sends what is due until `stop` resolves.
    pub async fn run_dispatcher(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let due = match self.catalog().due_deliveries(Utc::now(), BATCH).await {
                Ok(due) => due,
                Err(err) => {
                    tracing::error!(error = %err, "could not read the notification outbox");
                    Vec::new()
                }
            };
            let full_batch = due.len() as i64 == BATCH;
            let sending = futures::future::join_all(due.iter().map(|d| self.attempt(d, true)));
            tokio::select! {
                _ = &mut stop => return,
                _ = sending => {}
            }
            let sleep = if full_batch {
                Duration::ZERO
            } else {
                match self.catalog().next_delivery_at().await {
                    Ok(Some(at)) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO),
                    _ => MAX_SLEEP,
                }
                .min(MAX_SLEEP)
            };
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(sleep.max(Duration::from_millis(100))) => {}
                _ = self.0.wake.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn catalog(dir: &tempfile::TempDir) -> Catalog {
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        Catalog::open(&url).await.unwrap()
    }

    fn hook(url: &str) -> ChannelSettings {
        ChannelSettings::Webhook { url: url.into() }
    }

    #[tokio::test]
    async fn an_event_is_queued_once_per_enabled_subscribed_channel_and_retried_with_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = catalog(&dir).await;
        let failures = EventKind::failures();
        let wants = catalog
            .insert_channel(
                "wants failures",
                &hook("http://127.0.0.1:9/a"),
                Some("k"),
                &failures,
            )
            .await
            .unwrap();
        catalog
            .insert_channel(
                "successes",
                &hook("http://127.0.0.1:9/b"),
                None,
                &[EventKind::BackupSucceeded],
            )
            .await
            .unwrap();
        let off = catalog
            .insert_channel("disabled", &hook("http://127.0.0.1:9/c"), None, &failures)
            .await
            .unwrap();
        catalog.set_channel_enabled(off, false).await.unwrap();
        let notifier = Notifier::new(catalog.clone());
        notifier
            .emit(Event::new(EventKind::DrillFailed, "drill failed").detail("row count 3 != 4"))
            .await;
        let due = catalog.due_deliveries(Utc::now(), 10).await.unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(
            (due[0].channel_id, due[0].event.as_str()),
            (wants, "drill.failed")
        );
        assert_eq!(
            catalog.channel_secret(wants).await.unwrap().as_deref(),
            Some("k")
        );

        // Port 9 (discard) refuses: the attempt is recorded, the next one
        // waits 30 s, and the channel counts as failing meanwhile.
        notifier.attempt(&due[0], true).await;
        let after = catalog.delivery(due[0].id).await.unwrap().unwrap();
        assert_eq!((after.state.as_str(), after.attempts), ("pending", 1));
        let wait = after.next_attempt_at.unwrap() - Utc::now();
        assert!((25..=30).contains(&wait.num_seconds()), "{wait}");
        assert!(catalog
            .due_deliveries(Utc::now(), 10)
            .await
            .unwrap()
            .is_empty());
        let failing = catalog.failing_channels().await.unwrap();
        assert_eq!(failing.len(), 1);
        assert_eq!(failing[0].channel, "wants failures");

        // The last attempt fails it for good.
        let mut last = after.clone();
        last.attempts = MAX_ATTEMPTS - 1;
        notifier.attempt(&last, true).await;
        let failed = catalog.delivery(after.id).await.unwrap().unwrap();
        assert_eq!(failed.state, "failed");
        assert_eq!(failed.next_attempt_at, None);
        // Disabled meanwhile: failed at once, not retried.
        catalog
            .queue_delivery(off, EventKind::BackupFailed, "x", "{}", true)
            .await
            .unwrap();
        let queued = catalog.due_deliveries(Utc::now(), 10).await.unwrap();
        notifier.attempt(&queued[0], true).await;
        let dropped = catalog.delivery(queued[0].id).await.unwrap().unwrap();
        assert_eq!((dropped.state.as_str(), dropped.attempts), ("failed", 1));
        assert_eq!(dropped.last_error.as_deref(), Some(DISABLED));
        assert_eq!(
            catalog.failed_deliveries_by_channel().await.unwrap(),
            [
                ("disabled".to_owned(), 1),
                ("successes".to_owned(), 0),
                ("wants failures".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn the_body_names_the_event_task_and_time_and_the_mail_reads_it() {
        let event = Event::new(
            EventKind::BackupFailed,
            "Backup of \"plant 'north'\" failed",
        )
        .task(3)
        .detail("cannot read /srv/x: permission denied")
        .link("/runs/9");
        let at = DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .to_utc();
        let text = body(&event, Some("plant 'north'"), at);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["event"], "backup.failed");
        assert_eq!(value["severity"], "error");
        assert_eq!(value["task"]["id"], 3);
        assert_eq!(value["task"]["name"], "plant 'north'");
        assert_eq!(value["at"], "2026-12-02T10:00:00Z");
        assert_eq!(value["link"], "/runs/9");
        let mail = mail_text(&text);
        assert!(
            mail.starts_with("Backup of \"plant 'north'\" failed\n\ncannot read"),
            "{mail}"
        );
        assert!(mail.contains("Task: plant 'north'\n"), "{mail}");
        assert!(mail.contains("In the console: /runs/9"), "{mail}");
    }
}
