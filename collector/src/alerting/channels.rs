//! Sending one notification to its channel: a signed webhook, or mail.
//! The answer (HTTP status, SMTP reply) goes to the delivery log either way.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::model::{Channel, Message, Notification, SmtpTls, Target};

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub ok: bool,
    pub code: Option<u16>,
    pub detail: String,
}

impl Answer {
    fn failed(code: Option<u16>, detail: impl Into<String>) -> Answer {
        Answer {
            ok: false,
            code,
            detail: detail.into(),
        }
    }
}

/// The longest a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn deliver(http: &reqwest::Client, channel: &Channel, n: &Notification) -> Answer {
    match &channel.target {
        Target::Webhook { url, secret } => webhook(http, url, secret.as_deref(), n).await,
        Target::Email {
            host,
            port,
            tls,
            username,
            password,
            from,
            to,
        } => {
            let smtp = Smtp {
                host,
                port: *port,
                tls: *tls,
                credentials: username
                    .as_ref()
                    .map(|u| Credentials::new(u.clone(), password.clone().unwrap_or_default())),
            };
            email(&smtp, from, to, &n.message).await
        }
    }
}

/// `sha256=<hex>`: HMAC-SHA256 with `secret` over `<timestamp>.<body>`,
/// as sent in `X-Lightbulb-Signature` (the timestamp in
/// `X-Lightbulb-Timestamp`, seconds since the epoch).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The webhook's JSON: the message with its subject and the notification id
/// (the same id on a retry, so a receiver can drop duplicates).
pub fn webhook_body(n: &Notification) -> Vec<u8> {
    let mut body = serde_json::to_value(&n.message).expect("messages serialize");
    body["notification_id"] = n.notification_id.clone().into();
    body["subject"] = n.message.subject().into();
    serde_json::to_vec(&body).expect("JSON serializes")
}

async fn webhook(
    http: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    n: &Notification,
) -> Answer {
    let body = webhook_body(n);
    let timestamp = lightbulb_common::time::now_ms() / 1000;
    let mut req = http
        .post(url)
        .timeout(TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Lightbulb-Timestamp", timestamp.to_string());
    if let Some(secret) = secret {
        req = req.header("X-Lightbulb-Signature", signature(secret, timestamp, &body));
    }
    match req.body(body).send().await {
        Ok(r) => {
            let code = r.status().as_u16();
            let ok = r.status().is_success();
            let text = r.text().await.unwrap_or_default();
            let snippet: String = text.chars().take(200).collect();
            Answer {
                ok,
                code: Some(code),
                detail: if ok {
                    format!("HTTP {code}")
                } else {
                    format!("HTTP {code}: {snippet}")
                },
            }
        }
        Err(e) => Answer::failed(None, format!("cannot reach {url}: {e}")),
    }
}

struct Smtp<'a> {
    host: &'a str,
    port: u16,
    tls: SmtpTls,
    credentials: Option<Credentials>,
}

async fn email(smtp: &Smtp<'_>, from: &str, to: &[String], m: &Message) -> Answer {
    let mail = match mail(from, to, m) {
        Ok(mail) => mail,
        Err(e) => return Answer::failed(None, e),
    };
    let builder = match smtp.tls {
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(smtp.host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(smtp.host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            smtp.host,
        )),
    };
    let mut builder = match builder {
        Ok(b) => b.port(smtp.port).timeout(Some(TIMEOUT)),
        Err(e) => return Answer::failed(None, format!("SMTP {}: {e}", smtp.host)),
    };
    if let Some(c) = &smtp.credentials {
        builder = builder.credentials(c.clone());
    }
    match builder.build().send(mail).await {
        Ok(r) => Answer {
            ok: r.is_positive(),
            code: Some(u16::from(r.code())),
            detail: format!("SMTP {}", r.code()),
        },
        Err(e) => Answer::failed(
            e.status().map(u16::from),
            format!("SMTP {}:{}: {e}", smtp.host, smtp.port),
        ),
    }
}

fn mail(from: &str, to: &[String], m: &Message) -> Result<lettre::Message, String> {
    let mut builder = lettre::Message::builder()
        .from(from.parse().map_err(|e| format!("from `{from}`: {e}"))?)
        .subject(m.subject())
        .header(ContentType::TEXT_PLAIN);
    for t in to {
        builder = builder.to(t.parse().map_err(|e| format!("to `{t}`: {e}"))?);
    }
    builder.body(text(m)).map_err(|e| e.to_string())
}

/// The mail's text: what happened, since when, what it impacts, and where to look.
pub fn text(m: &Message) -> String {
    let mut out = format!(
        "{}\n\nService: {} ({})\nStatus: {}\nMessage: {}\nSince: {}\nRule: {} ({})\n",
        m.subject(),
        m.service_label,
        m.service_id,
        m.status,
        m.message,
        lightbulb_common::time::format_iso(m.since_ms),
        m.rule_name,
        m.severity.as_str(),
    );
    if !m.impacted.is_empty() {
        out.push_str(&format!("\nImpacted services ({}):\n", m.impacted.len()));
        for i in &m.impacted {
            out.push_str(&format!("- {i}\n"));
        }
    }
    out.push_str(&format!("\nOpen: {}\n", m.link));
    if let Some(link) = &m.acknowledge_link {
        out.push_str(&format!("Acknowledge: {link}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_and_body() {
        // Computed independently: Python's
        // hmac.new(b"key", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("key", 1_700_000_000, b"{}"),
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
