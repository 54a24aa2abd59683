//! Notifications: the events Tidemark reports, a channel's form and its
//! validation, and a task's own rule. Shared by the browser (hints) and the
//! server (decides).

use serde::{Deserialize, Serialize};

use super::FieldError;

/// Names of channels follow the rule of task names.
pub const MAX_CHANNEL_NAME: usize = super::MAX_TASK_NAME;
/// A webhook signing key an admin types must be at least this long.
pub const MIN_WEBHOOK_SECRET: usize = 16;

/// What happened, as named in a webhook body's `event` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    BackupFailed,
    BackupSucceeded,
    /// A scheduled run started more than a minute after its slot.
    BackupLate,
    /// A scheduled slot passed while the previous run was still going.
    BackupSkipped,
    RestoreFinished,
    RestoreFailed,
    DrillFailed,
    /// A repository check found damaged packs or points.
    VerifyDamage,
    /// A copy job's run failed (the destination keeps what it had).
    CopyFailed,
    /// A task's newest good point is older than its RPO target.
    RpoExceeded,
    /// "Send test" on the Notifications page.
    Test,
}

impl EventKind {
    /// Every event a channel can subscribe to (the test goes to one channel
    /// on request), in the order the form lists them.
    pub const SUBSCRIBABLE: [EventKind; 10] = [
        EventKind::BackupFailed,
        EventKind::BackupSucceeded,
        EventKind::BackupLate,
        EventKind::BackupSkipped,
        EventKind::RestoreFailed,
        EventKind::RestoreFinished,
        EventKind::DrillFailed,
        EventKind::VerifyDamage,
        EventKind::CopyFailed,
        EventKind::RpoExceeded,
    ];

    /// What a channel receives when the admin ticks nothing else: trouble.
    pub fn failures() -> Vec<EventKind> {
        Self::SUBSCRIBABLE
            .into_iter()
            .filter(|e| e.is_failure())
            .collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::BackupFailed => "backup.failed",
            EventKind::BackupSucceeded => "backup.succeeded",
            EventKind::BackupLate => "backup.late",
            EventKind::BackupSkipped => "backup.skipped",
            EventKind::RestoreFinished => "restore.finished",
            EventKind::RestoreFailed => "restore.failed",
            EventKind::DrillFailed => "drill.failed",
            EventKind::VerifyDamage => "repository.damaged",
            EventKind::CopyFailed => "copy.failed",
            EventKind::RpoExceeded => "rpo.exceeded",
            EventKind::Test => "test",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        Self::SUBSCRIBABLE
            .into_iter()
            .chain([EventKind::Test])
            .find(|e| e.as_str() == text.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            EventKind::BackupFailed => "backup failed",
            EventKind::BackupSucceeded => "backup succeeded",
            EventKind::BackupLate => "backup ran late",
            EventKind::BackupSkipped => "backup skipped",
            EventKind::RestoreFinished => "restore finished",
            EventKind::RestoreFailed => "restore failed",
            EventKind::DrillFailed => "drill failed",
            EventKind::VerifyDamage => "repository damage found",
            EventKind::CopyFailed => "copy job failed",
            EventKind::RpoExceeded => "RPO exceeded",
            EventKind::Test => "test",
        }
    }

    /// Something went wrong (what "failures only" keeps).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            EventKind::BackupFailed
                | EventKind::BackupLate
                | EventKind::BackupSkipped
                | EventKind::RestoreFailed
                | EventKind::DrillFailed
                | EventKind::VerifyDamage
                | EventKind::CopyFailed
                | EventKind::RpoExceeded
        )
    }

    /// A comma-separated list of event names, as the form and the catalog
    /// keep them; unknown names are returned as errors.
    pub fn parse_list(text: &str) -> Result<Vec<EventKind>, String> {
        let mut events = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match EventKind::parse(name).filter(|e| *e != EventKind::Test) {
                Some(event) if !events.contains(&event) => events.push(event),
                Some(_) => {}
                None => {
                    return Err(crate::tr!(
                        validation.not_an_event,
                        name = format!("{name:?}")
                    ))
                }
            }
        }
        Ok(events)
    }

    pub fn join(events: &[EventKind]) -> String {
        events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A task's own rule over the channels' defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyRule {
    /// Each channel sends the events it subscribes to.
    #[default]
    Default,
    /// Only failures, and only to channels that subscribe to them.
    Failures,
    /// Every event of this task to every enabled channel.
    All,
    /// Nothing about this task.
    Off,
}

impl NotifyRule {
    pub const ALL: [NotifyRule; 4] = [
        NotifyRule::Default,
        NotifyRule::Failures,
        NotifyRule::All,
        NotifyRule::Off,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyRule::Default => "default",
            NotifyRule::Failures => "failures",
            NotifyRule::All => "all",
            NotifyRule::Off => "off",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            NotifyRule::Default => "as each channel is set",
            NotifyRule::Failures => "failures only",
            NotifyRule::All => "every event, to every channel",
            NotifyRule::Off => "none",
        }
    }

    pub fn parse(text: &str) -> Option<NotifyRule> {
        match text.trim() {
            "" => Some(NotifyRule::Default),
            t => Self::ALL.into_iter().find(|r| r.as_str() == t),
        }
    }

    pub fn is_default(&self) -> bool {
        *self == NotifyRule::Default
    }

    /// Whether a channel subscribed to `subscribed` gets `event` of a task
    /// with this rule.
    pub fn allows(self, event: EventKind, subscribed: &[EventKind]) -> bool {
        match self {
            NotifyRule::Default => subscribed.contains(&event),
            NotifyRule::Failures => event.is_failure() && subscribed.contains(&event),
            NotifyRule::All => true,
            NotifyRule::Off => false,
        }
    }
}

/// How mail reaches the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the
    /// server does not offer it.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption (an internal relay on port 25).
    None,
}

impl SmtpSecurity {
    pub fn parse(text: &str) -> Option<SmtpSecurity> {
        match text.trim() {
            "" | "starttls" => Some(SmtpSecurity::StartTls),
            "tls" => Some(SmtpSecurity::Tls),
            "none" => Some(SmtpSecurity::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// Where a channel sends, without its secret (kept sealed apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ChannelSettings {
    Webhook {
        url: String,
    },
    Email {
        host: String,
        port: u16,
        security: SmtpSecurity,
        /// Empty: no authentication.
        username: String,
        from: String,
        to: Vec<String>,
    },
}

impl ChannelSettings {
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelSettings::Webhook { .. } => "webhook",
            ChannelSettings::Email { .. } => "email",
        }
    }

    /// Where it sends, for the channel list.
    pub fn target(&self) -> String {
        match self {
            ChannelSettings::Webhook { url } => format!("POST {url}"),
            ChannelSettings::Email {
                host,
                port,
                security,
                to,
                ..
            } => format!(
                "mail to {} via {host}:{port} ({})",
                to.join(", "),
                security.as_str()
            ),
        }
    }
}

/// The channel form as submitted (all text).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelForm {
    pub name: String,
    /// `webhook` or `email`.
    pub kind: String,
    pub url: String,
    /// The webhook's signing key (empty: the server generates one) or the
    /// SMTP password.
    pub secret: String,
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_security: String,
    pub smtp_username: String,
    pub mail_from: String,
    /// Addresses separated by commas or new lines.
    pub mail_to: String,
    /// Event names separated by commas.
    pub events: String,
}

/// A valid channel form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: String,
    pub settings: ChannelSettings,
    /// None: a webhook whose key the server generates.
    pub secret: Option<String>,
    pub events: Vec<EventKind>,
}

/// `local@domain`, or `Display Name <local@domain>`.
fn looks_like_address(text: &str) -> bool {
    let text = match (text.rfind('<'), text.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        _ => text,
    };
    let mut parts = text.rsplitn(2, '@');
    let (domain, local) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    !local.is_empty()
        && !domain.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl ChannelForm {
    /// Checks every field; returns every problem at once. The server also
    /// parses the addresses and the URL with the libraries that use them.
    pub fn parse(&self) -> Result<ChannelSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: &str| errors.push(FieldError::new(field, message));
        let name = self.name.trim().to_owned();
        if let Some(problem) = super::task::name_problem(&name, "channel") {
            fail("name", &problem);
        }
        let events = match EventKind::parse_list(&self.events) {
            Ok(events) if events.is_empty() => {
                fail("events", &crate::tr!(validation.choose_at_least_one_event));
                events
            }
            Ok(events) => events,
            Err(why) => {
                fail("events", &why);
                Vec::new()
            }
        };
        let secret = (!self.secret.is_empty()).then(|| self.secret.clone());
        let settings = match self.kind.as_str() {
            "webhook" => {
                let url = self.url.trim();
                let rest = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"));
                match rest {
                    Some(rest)
                        if !rest.is_empty()
                            && !rest.starts_with('/')
                            && !url.chars().any(|c| c.is_whitespace() || c.is_control()) => {}
                    _ => fail("url", &crate::tr!(validation.an_http_or_https_url_with)),
                }
                if secret
                    .as_ref()
                    .is_some_and(|s| s.chars().count() < MIN_WEBHOOK_SECRET)
                {
                    fail(
                        "secret",
                        &crate::tr!(validation.at_least_16_characters_or_empty),
                    );
                }
                Some(ChannelSettings::Webhook {
                    url: url.to_owned(),
                })
            }
            "email" => {
                let host = self.smtp_host.trim();
                if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
                    fail(
                        "smtp_host",
                        &crate::tr!(validation.the_smtp_server_s_host_name),
                    );
                }
                let security = SmtpSecurity::parse(&self.smtp_security);
                if security.is_none() {
                    fail(
                        "smtp_security",
                        &crate::tr!(validation.choose_starttls_tls_or_none),
                    );
                }
                let security = security.unwrap_or(SmtpSecurity::StartTls);
                let port = match self.smtp_port.trim() {
                    "" => Some(security.default_port()),
                    text => text.parse::<u16>().ok().filter(|p| *p > 0),
                };
                if port.is_none() {
                    fail("smtp_port", &crate::tr!(validation.a_port_from_1_to_65535));
                }
                let username = self.smtp_username.trim().to_owned();
                if !username.is_empty() && secret.is_none() {
                    fail(
                        "secret",
                        &crate::tr!(validation.the_password_of_the_smtp_user),
                    );
                }
                if username.is_empty() && secret.is_some() {
                    fail(
                        "smtp_username",
                        &crate::tr!(validation.the_smtp_user_the_password_belongs),
                    );
                }
                let from = self.mail_from.trim().to_owned();
                if !looks_like_address(&from) {
                    fail(
                        "mail_from",
                        &crate::tr!(validation.the_sender_s_address_such_as),
                    );
                }
                let to: Vec<String> = self
                    .mail_to
                    .split([',', '\n', ';'])
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect();
                if to.is_empty() {
                    fail("mail_to", &crate::tr!(validation.at_least_one_recipient));
                } else if let Some(bad) = to.iter().find(|a| !looks_like_address(a)) {
                    fail(
                        "mail_to",
                        &crate::tr!(validation.not_an_address, bad = format!("{bad:?}")),
                    );
                }
                Some(ChannelSettings::Email {
                    host: host.to_owned(),
                    port: port.unwrap_or(25),
                    security,
                    username,
                    from,
                    to,
                })
            }
            _ => {
                fail("kind", &crate::tr!(validation.choose_webhook_or_e_mail));
                None
            }
        };
        match settings {
            Some(settings) if errors.is_empty() => Ok(ChannelSpec {
                name,
                settings,
                secret,
                events,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(form: &ChannelForm) -> Vec<String> {
        form.parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_webhook_form_parses_and_names_each_problem() {
        let mut form = ChannelForm {
            name: " ops hook ".into(),
            kind: "webhook".into(),
            url: "https://hooks.example.com/tidemark?x=1".into(),
            events: "backup.failed, restore.failed,backup.failed".into(),
            ..ChannelForm::default()
        };
        let spec = form.parse().unwrap();
        assert_eq!(spec.name, "ops hook");
        assert_eq!(spec.secret, None);
        assert_eq!(
            spec.events,
            [EventKind::BackupFailed, EventKind::RestoreFailed]
        );
        form.url = "ftp://x".into();
        form.secret = "short".into();
        form.events = "backup.failed,test".into();
        assert_eq!(fields(&form), ["events", "url", "secret"]);
        form.url = "http:///path".into();
        form.events = String::new();
        form.secret = String::new();
        assert_eq!(fields(&form), ["events", "url"]);
    }

    #[test]
    fn an_email_form_needs_addresses_and_a_password_with_a_user() {
        let mut form = ChannelForm {
            name: "mail".into(),
            kind: "email".into(),
            smtp_host: "127.0.0.1".into(),
            smtp_security: "none".into(),
            mail_from: "tidemark@example.com".into(),
            mail_to: "dba@example.com;\n ops@example.com".into(),
            events: EventKind::join(&EventKind::failures()),
            ..ChannelForm::default()
        };
        let spec = form.parse().unwrap();
        match spec.settings {
            ChannelSettings::Email { port, ref to, .. } => {
                assert_eq!(port, 25);
                assert_eq!(to, &["dba@example.com", "ops@example.com"]);
            }
            _ => panic!("not mail"),
        }
        form.smtp_username = "tidemark".into();
        form.smtp_port = "70000".into();
        form.mail_to = "dba at example".into();
        assert_eq!(fields(&form), ["smtp_port", "secret", "mail_to"]);
        form.kind = "pager".into();
        assert_eq!(fields(&form), ["kind"]);
    }

    #[test]
    fn a_tasks_rule_narrows_or_widens_the_channels_events() {
        let subscribed = [EventKind::BackupFailed, EventKind::BackupSucceeded];
        assert!(NotifyRule::Default.allows(EventKind::BackupSucceeded, &subscribed));
        assert!(!NotifyRule::Default.allows(EventKind::RestoreFailed, &subscribed));
        assert!(!NotifyRule::Failures.allows(EventKind::BackupSucceeded, &subscribed));
        assert!(NotifyRule::Failures.allows(EventKind::BackupFailed, &subscribed));
        assert!(NotifyRule::All.allows(EventKind::RestoreFinished, &subscribed));
        assert!(!NotifyRule::Off.allows(EventKind::BackupFailed, &subscribed));
        assert_eq!(NotifyRule::parse(""), Some(NotifyRule::Default));
        assert_eq!(NotifyRule::parse("loud"), None);
        for event in EventKind::SUBSCRIBABLE {
            assert_eq!(EventKind::parse(event.as_str()), Some(event));
        }
    }
}
