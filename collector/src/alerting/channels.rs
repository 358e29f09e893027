//! Sending one notification to its channel: a signed webhook, Slack,
//! Teams, PagerDuty, ServiceNow, or mail (the payloads are built in
//! `payloads.rs`). The answer (HTTP status, SMTP reply) goes to the
//! delivery log either way.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use serde_json::{Value, json};

use super::model::{Channel, Event, Message, Notification, SmtpTls, Target};
use super::payloads;

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub ok: bool,
    pub code: Option<u16>,
    pub detail: String,
    /// What the receiver calls it (a ServiceNow incident number).
    pub reference: Option<String>,
}

impl Answer {
    pub fn failed(code: Option<u16>, detail: impl Into<String>) -> Answer {
        Answer {
            ok: false,
            code,
            detail: detail.into(),
            reference: None,
        }
    }
}

/// Sends to every subscribed browser of `users` following the service;
/// delivered if one took it, or if none is subscribed.
async fn web_push(push: &crate::push::Push, users: &[String], m: &Message) -> Answer {
    match push
        .send_to_owners(users, &m.service_id, &payloads::web_push(m))
        .await
    {
        Ok((_, 0)) => Answer {
            ok: true,
            code: None,
            detail: "no browser is subscribed for this service".into(),
            reference: None,
        },
        Ok((0, n)) => Answer::failed(None, format!("none of {n} subscribed browsers took it")),
        Ok((ok, n)) => Answer {
            ok: true,
            code: None,
            detail: format!("pushed to {ok} of {n} subscribed browsers"),
            reference: None,
        },
        Err(e) => Answer::failed(None, format!("cannot read push subscriptions: {e}")),
    }
}

/// The longest a receiver may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

pub async fn deliver(
    http: &reqwest::Client,
    push: Option<&crate::push::Push>,
    channel: &Channel,
    n: &Notification,
) -> Answer {
    match &channel.target {
        Target::WebPush { users } => match push {
            Some(push) => web_push(push, users, &n.message).await,
            None => Answer::failed(None, "Web Push is not set up on this collector"),
        },
        Target::Webhook { url, secret } => webhook(http, url, secret.as_deref(), n).await,
        Target::Slack { url } => post_json(http, url, &payloads::slack(&n.message)).await,
        Target::Teams { url } => post_json(http, url, &payloads::teams(&n.message)).await,
        Target::Pagerduty { routing_key, url } => {
            post_json(http, url, &payloads::pagerduty(routing_key, &n.message)).await
        }
        Target::Servicenow {
            instance,
            username,
            password,
        } => {
            let sn = ServiceNow {
                http,
                instance: instance.trim_end_matches('/'),
                auth: (username, password),
            };
            sn.deliver(&n.message).await
        }
        Target::Email { .. } => {
            let m = &n.message;
            send_mail(&channel.target, |b| {
                b.subject(m.subject())
                    .header(ContentType::TEXT_PLAIN)
                    .body(text(m))
                    .map_err(|e| e.to_string())
            })
            .await
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
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Lightbulb-Timestamp", timestamp.to_string());
    if let Some(secret) = secret {
        req = req.header("X-Lightbulb-Signature", signature(secret, timestamp, &body));
    }
    answer(url, req.body(body)).await.0
}

async fn post_json(http: &reqwest::Client, url: &str, body: &Value) -> Answer {
    answer(url, http.post(url).json(body)).await.0
}

/// Sends `req`; how it went, and the answer's body as JSON (if it is).
async fn answer(url: &str, req: reqwest::RequestBuilder) -> (Answer, Value) {
    // The URL may hold a credential (a Slack or Teams webhook): only its host is told.
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    match req.timeout(TIMEOUT).send().await {
        Ok(r) => {
            let code = r.status().as_u16();
            let ok = r.status().is_success();
            let text = r.text().await.unwrap_or_default();
            let snippet: String = text.chars().take(200).collect();
            let answer = Answer {
                ok,
                code: Some(code),
                detail: if ok {
                    format!("HTTP {code} from {host}")
                } else {
                    format!("HTTP {code} from {host}: {snippet}")
                },
                reference: None,
            };
            (answer, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        Err(e) => {
            let why =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
            (
                Answer::failed(None, format!("cannot reach {host}: {why}")),
                Value::Null,
            )
        }
    }
}

/// A ServiceNow instance's incident table.
struct ServiceNow<'a> {
    http: &'a reqwest::Client,
    instance: &'a str,
    auth: (&'a str, &'a str),
}

impl ServiceNow<'_> {
    fn table(&self) -> String {
        format!("{}/api/now/table/incident", self.instance)
    }

    /// The open incident of an alert: (sys_id, number); or the failed answer.
    async fn find(&self, alert_id: &str) -> Result<Option<(String, String)>, Answer> {
        let Ok(mut url) = url::Url::parse(&self.table()) else {
            return Err(Answer::failed(
                None,
                format!("`{}` is not a URL", self.instance),
            ));
        };
        url.query_pairs_mut()
            .append_pair(
                "sysparm_query",
                &format!("correlation_id={alert_id}^active=true"),
            )
            .append_pair("sysparm_fields", "sys_id,number")
            .append_pair("sysparm_limit", "1");
        let req = self
            .http
            .get(url)
            .basic_auth(self.auth.0, Some(self.auth.1));
        let (answer, body) = answer(&self.table(), req).await;
        if !answer.ok {
            return Err(answer);
        }
        Ok(body["result"].get(0).and_then(|r| {
            Some((
                r["sys_id"].as_str()?.to_string(),
                r["number"].as_str()?.to_string(),
            ))
        }))
    }

    async fn deliver(&self, m: &Message) -> Answer {
        let found = match self.find(&m.alert_id).await {
            Ok(f) => f,
            Err(answer) => return answer,
        };
        let done = |detail: String, reference: Option<String>| Answer {
            ok: true,
            code: None,
            detail,
            reference,
        };
        let (req, number) = match (m.event, found) {
            // Created once: a retry after a lost answer finds it.
            (Event::Firing | Event::Test, Some((_, number))) => {
                return done(format!("incident {number} is open already"), Some(number));
            }
            (Event::Firing | Event::Test, None) => (
                self.http
                    .post(self.table())
                    .json(&payloads::servicenow_incident(m, &text(m))),
                None,
            ),
            (Event::Escalated, Some((sys_id, number))) => (
                self.http.patch(format!("{}/{sys_id}", self.table())).json(&json!({
                    "work_notes": format!("Escalation {}: {}", m.escalation.unwrap_or(0), m.subject()),
                    "urgency": "1",
                })),
                Some(number),
            ),
            (Event::Resolved, Some((sys_id, number))) => (
                self.http.patch(format!("{}/{sys_id}", self.table())).json(&json!({
                    "state": "6",
                    "close_code": "Solved (Permanently)",
                    "close_notes": format!("Resolved in lightbulb: {}", m.subject()),
                })),
                Some(number),
            ),
            (Event::Escalated | Event::Resolved, None) => {
                return done("no open incident for this alert".into(), None);
            }
        };
        let req = req.basic_auth(self.auth.0, Some(self.auth.1));
        let (mut answer, body) = answer(&self.table(), req).await;
        answer.reference = number.or_else(|| body["result"]["number"].as_str().map(str::to_string));
        if let Some(number) = &answer.reference {
            answer.detail = format!("{} ({number})", answer.detail);
        }
        answer
    }
}

/// Sends the mail `build` makes (from a builder with the channel's sender
/// and recipients) through an email channel's server.
pub(crate) async fn send_mail(
    target: &Target,
    build: impl FnOnce(lettre::message::MessageBuilder) -> Result<lettre::Message, String>,
) -> Answer {
    let Target::Email {
        host,
        port,
        tls,
        username,
        password,
        from,
        to,
    } = target
    else {
        return Answer::failed(None, "not an email channel");
    };
    let mail = match addressed(from, to).and_then(build) {
        Ok(mail) => mail,
        Err(e) => return Answer::failed(None, e),
    };
    let builder = match tls {
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    };
    let mut builder = match builder {
        Ok(b) => b.port(*port).timeout(Some(TIMEOUT)),
        Err(e) => return Answer::failed(None, format!("SMTP {host}: {e}")),
    };
    if let Some(u) = username {
        builder = builder.credentials(Credentials::new(
            u.clone(),
            password.clone().unwrap_or_default(),
        ));
    }
    match builder.build().send(mail).await {
        Ok(r) => Answer {
            ok: r.is_positive(),
            code: Some(u16::from(r.code())),
            detail: format!("SMTP {}", r.code()),
            reference: None,
        },
        Err(e) => Answer::failed(
            e.status().map(u16::from),
            format!("SMTP {host}:{port}: {e}"),
        ),
    }
}

fn addressed(from: &str, to: &[String]) -> Result<lettre::message::MessageBuilder, String> {
    let mut builder =
        lettre::Message::builder().from(from.parse().map_err(|e| format!("from `{from}`: {e}"))?);
    for t in to {
        builder = builder.to(t.parse().map_err(|e| format!("to `{t}`: {e}"))?);
    }
    Ok(builder)
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
