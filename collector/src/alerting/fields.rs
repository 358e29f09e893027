//! Rules and channels read from a request body field by field, so every
//! error names its field (422).

use std::collections::BTreeMap;

use lightbulb_common::{ServiceType, validate_service_id};

use super::model::{
    Channel, EscalationStep, REDACTED, Rule, RuleScope, Severity, SmtpTls, Target,
    default_flap_limit, default_flap_window,
};
use crate::catalog::fields::{Body, required};
use crate::{Error, Result};

/// A rule from `body`; `id` is the path's id when replacing one.
/// `channel_exists` tells whether a channel id is known.
/// A channel's `kind`s.
pub const KINDS: [&str; 7] = [
    "webhook",
    "slack",
    "teams",
    "pagerduty",
    "servicenow",
    "email",
    "web_push",
];

pub fn rule(
    mut body: Body,
    id: Option<&str>,
    channel_exists: impl Fn(&str) -> bool,
    now_ms: i64,
) -> Result<Rule> {
    let rule_id = identifier(&mut body, "rule_id", id)?;
    let name = body.string("name")?.unwrap_or_else(|| rule_id.clone());
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "must be 1–200 characters"));
    }
    let mut c = required(body.object("condition")?, "condition")?;
    let condition = super::condition::read(&mut c)?;
    c.finish()?;
    let scope = match body.object("scope")? {
        None => RuleScope::default(),
        Some(mut s) => {
            let scope = RuleScope {
                services: s.strings("services")?.unwrap_or_default(),
                service_types: s.strings("service_types")?.unwrap_or_default(),
                labels: s.labels("labels")?.unwrap_or_else(BTreeMap::new),
            };
            s.finish()?;
            for (i, id) in scope.services.iter().enumerate() {
                validate_service_id(id)
                    .map_err(|e| Error::invalid(&format!("scope.services[{i}]"), e))?;
            }
            for (i, t) in scope.service_types.iter().enumerate() {
                if ServiceType::parse(t).is_none() {
                    return Err(Error::invalid(
                        &format!("scope.service_types[{i}]"),
                        format!("`{t}` is not a service type"),
                    ));
                }
            }
            scope
        }
    };
    let severity = match body.string("severity")? {
        None => Severity::Warning,
        Some(s) => Severity::parse(&s).ok_or_else(|| {
            Error::invalid(
                "severity",
                format!("`{s}` is not one of critical, warning, info"),
            )
        })?,
    };
    let for_ms = duration(&mut body, "for")?.unwrap_or(0);
    let resolve_after_ms = duration(&mut body, "resolve_after")?.unwrap_or(0);
    let known = |list: &[String], field: &str| {
        for (i, c) in list.iter().enumerate() {
            if !channel_exists(c) {
                return Err(Error::invalid(
                    &format!("{field}[{i}]"),
                    format!("there is no channel `{c}`"),
                ));
            }
        }
        Ok(())
    };
    let channels = body.strings("channels")?.unwrap_or_default();
    known(&channels, "channels")?;
    let mut escalation = Vec::new();
    for (i, mut s) in body
        .objects("escalation")?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let field = format!("escalation[{i}]");
        let after_ms = required(duration(&mut s, "after")?, &format!("{field}.after"))?;
        let channels = required(s.strings("channels")?, &format!("{field}.channels"))?;
        known(&channels, &format!("{field}.channels"))?;
        s.finish()?;
        if escalation
            .last()
            .is_some_and(|p: &EscalationStep| p.after_ms >= after_ms)
        {
            return Err(Error::invalid(
                &format!("{field}.after"),
                "must be later than the step before",
            ));
        }
        escalation.push(EscalationStep { after_ms, channels });
    }
    let repeat_ms = duration(&mut body, "repeat")?;
    if repeat_ms.is_some_and(|r| r < 60_000) {
        return Err(Error::invalid("repeat", "must be at least 1m"));
    }
    if repeat_ms.is_some() && escalation.is_empty() {
        return Err(Error::invalid(
            "repeat",
            "repeats the last escalation step; add `escalation` steps",
        ));
    }
    let flap_limit = body
        .integer("flap_limit", 0..=1000)?
        .map_or(default_flap_limit(), |n| n as u32);
    let flap_window_ms = duration(&mut body, "flap_window")?.unwrap_or_else(default_flap_window);
    let enabled = body.boolean("enabled")?.unwrap_or(true);
    body.finish()?;
    Ok(Rule {
        rule_id,
        name,
        condition,
        scope,
        severity,
        for_ms,
        channels,
        enabled,
        updated_ms: now_ms,
        resolve_after_ms,
        escalation,
        repeat_ms,
        flap_limit,
        flap_window_ms,
        managed_by: None,
    })
}

/// The longest any duration may be (a recurring window's, too).
pub(super) const MAX_WINDOW_MS: i64 = 7 * 86_400_000;

/// A duration field (`2m`), in ms, at most a week.
pub(super) fn duration(body: &mut Body, key: &str) -> Result<Option<i64>> {
    body.duration(key, MAX_WINDOW_MS, "7d")
}

/// A channel from `body`. A secret sent back as `<redacted>` (as it was
/// shown) keeps the one `previous` holds.
pub fn channel(
    mut body: Body,
    id: Option<&str>,
    previous: Option<&Channel>,
    now_ms: i64,
) -> Result<Channel> {
    let channel_id = identifier(&mut body, "channel_id", id)?;
    let name = body.string("name")?.unwrap_or_else(|| channel_id.clone());
    let kept = |given: Option<String>, old: Option<&String>| match given {
        Some(s) if s == REDACTED => old.cloned(),
        other => other,
    };
    let target = match required(body.string("kind")?, "kind")?.as_str() {
        "webhook" => {
            let url = required(body.string("url")?, "url")?;
            http_url(&url, "url")?;
            let old = match previous.map(|p| &p.target) {
                Some(Target::Webhook { secret, .. }) => secret.as_ref(),
                _ => None,
            };
            let secret = kept(body.string("secret")?, old);
            Target::Webhook { url, secret }
        }
        kind @ ("slack" | "teams") => {
            let old = match previous.map(|p| &p.target) {
                Some(Target::Slack { url } | Target::Teams { url }) => Some(url),
                _ => None,
            };
            let url = required(kept(body.string("url")?, old), "url")?;
            https_url(&url, "url")?;
            if kind == "slack" {
                Target::Slack { url }
            } else {
                Target::Teams { url }
            }
        }
        "pagerduty" => {
            let old = match previous.map(|p| &p.target) {
                Some(Target::Pagerduty { routing_key, .. }) => Some(routing_key),
                _ => None,
            };
            let routing_key = required(kept(body.string("routing_key")?, old), "routing_key")?;
            if routing_key.len() != 32 || !routing_key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(Error::invalid(
                    "routing_key",
                    "must be the 32-character integration key",
                ));
            }
            let url = body
                .string("url")?
                .unwrap_or_else(|| "https://events.pagerduty.com/v2/enqueue".into());
            http_url(&url, "url")?;
            Target::Pagerduty { routing_key, url }
        }
        "servicenow" => {
            let instance = required(body.string("instance")?, "instance")?;
            http_url(&instance, "instance")?;
            let username = required(body.string("username")?, "username")?;
            let old = match previous.map(|p| &p.target) {
                Some(Target::Servicenow { password, .. }) => Some(password),
                _ => None,
            };
            let password = required(kept(body.string("password")?, old), "password")?;
            Target::Servicenow {
                instance,
                username,
                password,
            }
        }
        "email" => {
            let host = required(body.string("host")?, "host")?;
            let tls = match body.string("tls")?.as_deref() {
                None | Some("starttls") => SmtpTls::Starttls,
                Some("tls") => SmtpTls::Tls,
                Some("none") => SmtpTls::None,
                Some(other) => {
                    return Err(Error::invalid(
                        "tls",
                        format!("`{other}` is not one of starttls, tls, none"),
                    ));
                }
            };
            let default_port = match tls {
                SmtpTls::Tls => 465,
                _ => 587,
            };
            let port = body.integer("port", 1..=65535)?.unwrap_or(default_port) as u16;
            let old = match previous.map(|p| &p.target) {
                Some(Target::Email { password, .. }) => password.as_ref(),
                _ => None,
            };
            let username = body.string("username")?;
            let password = kept(body.string("password")?, old);
            let from = required(body.string("from")?, "from")?;
            address(&from, "from")?;
            let to = required(body.strings("to")?, "to")?;
            if to.is_empty() {
                return Err(Error::invalid("to", "must name at least one address"));
            }
            for (i, t) in to.iter().enumerate() {
                address(t, &format!("to[{i}]"))?;
            }
            Target::Email {
                host,
                port,
                tls,
                username,
                password,
                from,
                to,
            }
        }
        "web_push" => Target::WebPush {
            users: body.strings("users")?.unwrap_or_default(),
        },
        other => {
            return Err(Error::invalid(
                "kind",
                format!("`{other}` is not one of {}", KINDS.join(", ")),
            ));
        }
    };
    body.finish()?;
    Ok(Channel {
        channel_id,
        name,
        target,
        updated_ms: now_ms,
        managed_by: None,
    })
}

/// An id from the body or the path (they must agree), checked like a service id.
fn identifier(body: &mut Body, key: &str, from_path: Option<&str>) -> Result<String> {
    let given = body.string(key)?;
    let id = match (given, from_path) {
        (Some(g), Some(p)) if g != p => {
            return Err(Error::invalid(
                key,
                format!("`{g}` differs from the path's `{p}`"),
            ));
        }
        (Some(g), _) => g,
        (None, Some(p)) => p.to_string(),
        (None, None) => return Err(Error::invalid(key, "is required")),
    };
    lightbulb_common::validate_id(&key.replace('_', " "), &id)
        .map_err(|e| Error::invalid(key, e))?;
    Ok(id)
}

fn http_url(text: &str, field: &str) -> Result<()> {
    let ok = (text.starts_with("http://") || text.starts_with("https://"))
        && url::Url::parse(text).is_ok();
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("`{text}` is not an http(s):// URL"),
        ))
    }
}

/// Chat webhooks are credentials: only over TLS (loopback excepted, for tests and relays).
fn https_url(text: &str, field: &str) -> Result<()> {
    http_url(text, field)?;
    let loopback = url::Url::parse(text)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h == "127.0.0.1" || h == "localhost" || h == "[::1]")
        })
        .unwrap_or(false);
    if text.starts_with("https://") || loopback {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "must be an https:// URL (it carries the webhook's secret)",
        ))
    }
}

fn address(text: &str, field: &str) -> Result<()> {
    text.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| Error::invalid(field, format!("`{text}` is not a mail address: {e}")))
}
