//! Carrying a delivery to its target: an HTTP POST (reqwest, rustls) for webhooks and chat
//! webhooks, SMTP (lettre) for e-mail. Each try is bounded by [`SEND_TIMEOUT`]; what went
//! wrong comes back in words for the delivery log.

use std::sync::OnceLock;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use time::OffsetDateTime;

use crate::server::alerts::message::{sign, Digest};
use crate::server::alerts::targets::{recipients, Kind, Security};
use crate::server::entities::alert_target;

/// Longest one try may take, connecting included.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest error kept in the delivery log.
const ERROR_MAX: usize = 500;

/// The headers a webhook's receiver verifies the body with.
pub const TIMESTAMP_HEADER: &str = "X-Ipvet-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Ipvet-Signature";
/// The delivery's id: the same on every retry of one delivery, so a receiver can drop a
/// repeat (a try whose answer was lost).
pub const DELIVERY_HEADER: &str = "X-Ipvet-Delivery";

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .connect_timeout(SEND_TIMEOUT / 2)
            // A redirect would carry the signed body somewhere the admin did not name.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ipvet/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default()
    })
}

fn clip(mut text: String) -> String {
    if text.len() > ERROR_MAX {
        let mut end = ERROR_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Sends `digest` to `target`; the error says why it did not arrive.
pub async fn send(target: &alert_target::Model, digest: &Digest) -> Result<(), String> {
    let sent = match Kind::parse(&target.kind) {
        Some(Kind::Webhook) => post(target, digest, serde_json::to_vec(&digest.json()), true).await,
        Some(Kind::Chat) => post(target, digest, serde_json::to_vec(&digest.chat()), false).await,
        Some(Kind::Email) => match tokio::time::timeout(SEND_TIMEOUT, mail(target, digest)).await {
            Ok(sent) => sent,
            Err(_) => Err(format!(
                "the SMTP server did not finish within {}",
                humantime::format_duration(SEND_TIMEOUT)
            )),
        },
        None => Err(format!("unknown target kind {}", target.kind)),
    };
    sent.map_err(clip)
}

async fn post(
    target: &alert_target::Model,
    digest: &Digest,
    body: serde_json::Result<Vec<u8>>,
    signed: bool,
) -> Result<(), String> {
    let body = body.map_err(|e| format!("cannot write the message: {e}"))?;
    let url = target.url.as_deref().ok_or("the target has no URL")?;
    let mut req = client()
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(DELIVERY_HEADER, digest.delivery_id.to_string());
    if signed {
        let secret = target.secret.as_deref().ok_or("the target has no secret")?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        req = req
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, sign(secret, now, &body));
    }
    let res = req.body(body).send().await.map_err(|e| {
        // reqwest's message names the URL, whose path may be a chat webhook's key.
        let what = if e.is_timeout() {
            "timed out".to_string()
        } else if e.is_connect() {
            format!("cannot connect: {}", source_of(&e))
        } else {
            source_of(&e)
        };
        format!(
            "POST to {}: {what}",
            crate::server::alerts::targets::destination(target)
        )
    })?;
    let status = res.status();
    if status.is_success() {
        return Ok(());
    }
    let text = res.text().await.unwrap_or_default();
    let text: String = text.chars().take(200).collect();
    Err(format!(
        "the receiver answered HTTP {status}: {}",
        text.trim()
    ))
}

/// The innermost cause of an error: reqwest's own message repeats the URL.
fn source_of(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

async fn mail(target: &alert_target::Model, digest: &Digest) -> Result<(), String> {
    let host = target
        .smtp_host
        .as_deref()
        .ok_or("the target has no SMTP host")?;
    let security = target
        .smtp_security
        .as_deref()
        .and_then(Security::parse)
        .unwrap_or(Security::StartTls);
    let builder = match security {
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        Security::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|e| format!("SMTP server {host}: {e}"))?;
    let mut builder = builder
        .port(
            target
                .smtp_port
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(587),
        )
        .timeout(Some(SEND_TIMEOUT));
    if let (Some(user), Some(password)) = (&target.smtp_user, &target.smtp_password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let from: Mailbox = target
        .mail_from
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("the sender address: {e}"))?;
    let mut message = Message::builder()
        .from(from)
        .subject(digest.subject())
        .header(ContentType::TEXT_PLAIN);
    for to in
        recipients(target.mail_to.as_deref().unwrap_or_default()).map_err(|e| e.to_string())?
    {
        message = message.to(to);
    }
    let message = message
        .body(digest.text())
        .map_err(|e| format!("cannot write the message: {e}"))?;
    builder
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP server {host}: {e}"))
}
