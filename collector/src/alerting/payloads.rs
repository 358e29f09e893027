//! What each chat and incident service is sent for a message: Slack Block
//! Kit, a Microsoft Teams Adaptive Card, a PagerDuty Events API v2 event,
//! a ServiceNow incident. Built here, sent by `channels.rs`.

use serde_json::{Value, json};

use super::model::{Event, Message, Severity};

/// Slack's limits on what a block may hold.
pub const SLACK_HEADER_MAX: usize = 150;
pub const SLACK_TEXT_MAX: usize = 3000;
pub const SLACK_FIELD_MAX: usize = 2000;

/// `text` cut to at most `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Slack's mrkdwn with `&`, `<` and `>` escaped.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn since(m: &Message) -> String {
    lightbulb_common::time::format_iso(m.since_ms)
}

/// An incoming-webhook message: `text` for notifications, blocks for the channel.
pub fn slack(m: &Message) -> Value {
    let subject = m.subject();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&subject, SLACK_HEADER_MAX), "emoji": true}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": cut(&format!("*Service*\n<{}|{}>", m.link, slack_escape(&m.service_label)), SLACK_FIELD_MAX)},
            {"type": "mrkdwn", "text": format!("*Status*\n{}", slack_escape(&m.status))},
            {"type": "mrkdwn", "text": format!("*Severity*\n{}", m.severity.as_str())},
            {"type": "mrkdwn", "text": format!("*Since*\n{}", since(m))},
        ]}),
    ];
    if !m.message.is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&slack_escape(&m.message), SLACK_TEXT_MAX)}}));
    }
    if !m.impacted.is_empty() {
        let list: Vec<String> = m
            .impacted
            .iter()
            .map(|s| format!("• {}", slack_escape(s)))
            .collect();
        let text = format!(
            "*Impacted services ({})*\n{}",
            m.impacted.len(),
            list.join("\n")
        );
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&text, SLACK_TEXT_MAX)}}));
    }
    let mut buttons = vec![
        json!({"type": "button", "text": {"type": "plain_text", "text": "Open in lightbulb"}, "url": m.link}),
    ];
    if let Some(ack) = &m.acknowledge_link {
        buttons.push(json!({"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"}, "url": ack, "style": "primary"}));
    }
    blocks.push(json!({"type": "actions", "elements": buttons}));
    json!({"text": subject, "blocks": blocks})
}

/// A Teams workflow webhook message carrying one Adaptive Card (1.4).
pub fn teams(m: &Message) -> Value {
    let color = match (m.event, m.severity) {
        (Event::Resolved, _) => "Good",
        (_, Severity::Critical) => "Attention",
        (_, Severity::Warning) => "Warning",
        _ => "Default",
    };
    let mut body = vec![
        json!({"type": "TextBlock", "text": m.subject(), "weight": "Bolder", "size": "Medium", "wrap": true, "color": color}),
        json!({"type": "FactSet", "facts": [
            {"title": "Service", "value": format!("{} ({})", m.service_label, m.service_id)},
            {"title": "Status", "value": m.status},
            {"title": "Severity", "value": m.severity.as_str()},
            {"title": "Since", "value": since(m)},
            {"title": "Rule", "value": m.rule_name},
        ]}),
    ];
    if !m.message.is_empty() {
        body.push(json!({"type": "TextBlock", "text": m.message, "wrap": true}));
    }
    if !m.impacted.is_empty() {
        body.push(json!({"type": "TextBlock", "text": format!("Impacted services ({}): {}", m.impacted.len(), m.impacted.join(", ")), "wrap": true}));
    }
    let mut actions =
        vec![json!({"type": "Action.OpenUrl", "title": "Open in lightbulb", "url": m.link})];
    if let Some(ack) = &m.acknowledge_link {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Acknowledge", "url": ack}));
    }
    let card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
    });
    json!({"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": card}
    ]})
}

/// A PagerDuty Events API v2 event; the alert id is the dedup key, so a
/// resolution closes the incident its firing opened.
pub fn pagerduty(routing_key: &str, m: &Message) -> Value {
    let action = match m.event {
        Event::Resolved => "resolve",
        _ => "trigger",
    };
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": m.alert_id,
    });
    if action == "trigger" {
        event["payload"] = json!({
            "summary": cut(&m.subject(), 1024),
            "source": m.service_id,
            "severity": m.severity.as_str(),
            "timestamp": since(m),
            "component": m.service_id,
            "group": m.rule_id,
            "custom_details": {"status": m.status, "message": m.message, "impacted": m.impacted},
        });
        event["links"] = json!([{"href": m.link, "text": "Open in lightbulb"}]);
        event["client"] = "lightbulb".into();
        event["client_url"] = m.link.clone().into();
    }
    event
}

/// A ServiceNow incident's fields (Table API), found again by `correlation_id`.
pub fn servicenow_incident(m: &Message, text: &str) -> Value {
    let level = match m.severity {
        Severity::Critical => "1",
        Severity::Warning => "2",
        Severity::Info => "3",
    };
    json!({
        "short_description": cut(&m.subject(), 160),
        "description": text,
        "urgency": level,
        "impact": level,
        "correlation_id": m.alert_id,
        "correlation_display": "lightbulb",
    })
}

/// A Web Push: the subject as title, the message and what it impacts as
/// body; one notification per alert (a newer event replaces it).
pub fn web_push(m: &Message) -> crate::push::PushMessage {
    let mut body = cut(&m.message, 300);
    if !m.impacted.is_empty() {
        body.push_str(&cut(&format!(" Impacted: {}.", m.impacted.join(", ")), 300));
    }
    crate::push::PushMessage {
        title: cut(&m.subject(), 150),
        body,
        tag: format!("alert:{}", m.alert_id),
        url: m.link.clone(),
        urgent: matches!(m.event, Event::Firing | Event::Escalated),
    }
}
