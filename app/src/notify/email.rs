//! An e-mail delivery over SMTP with lettre (STARTTLS, TLS or plain, with
//! authentication when a user is set).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::model::{ChannelSettings, SmtpSecurity};

/// Parses an address as lettre will use it (the form's check is lighter).
pub fn mailbox(address: &str) -> Result<Mailbox, String> {
    address
        .parse::<Mailbox>()
        .map_err(|e| format!("{address:?} is not an address: {e}"))
}

pub async fn send(
    settings: &ChannelSettings,
    password: Option<String>,
    subject: &str,
    text: String,
    timeout: Duration,
) -> Result<(), String> {
    let ChannelSettings::Email {
        host,
        port,
        security,
        username,
        from,
        to,
    } = settings
    else {
        return Err("not an e-mail channel".into());
    };
    let mut message = Message::builder()
        .from(mailbox(from)?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for address in to {
        message = message.to(mailbox(address)?);
    }
    let message = message.body(text).map_err(|e| e.to_string())?;
    let builder = match security {
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|e| e.to_string())?;
    let mut builder = builder.port(*port).timeout(Some(timeout));
    if !username.is_empty() {
        builder = builder.credentials(Credentials::new(
            username.clone(),
            password.unwrap_or_default(),
        ));
    }
    builder
        .build()
        .send(message)
        .await
        .map(drop)
        .map_err(|e| format!("the SMTP server {host}:{port} refused or failed: {e}"))
}
