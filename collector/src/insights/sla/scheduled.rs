//! SLA reports mailed on a schedule (`[[insights.reports]]`): when a
//! report's cron names a minute, the collector leading alert evaluation
//! reports the period ending then and mails it to the report's email
//! channels, the summary in the text and the whole report attached as CSV
//! and PDF. When it was sent is stored, so a restart or a new leader does
//! not send it twice; one not sent (no channel took it) is tried again
//! every `TICK` for `GRACE_MS`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, MessageBuilder, MultiPart, SinglePart};
use lightbulb_common::time::{format_iso, now_ms};
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::{Method, SlaReport};
use crate::alerting::channels::send_mail;
use crate::alerting::cron::Cron;
use crate::alerting::silence::last_start;
use crate::alerting::store::{Doc, DocKind, load};
use crate::config::ReportConfig;
use crate::state::AppState;

const TICK: Duration = Duration::from_secs(10);
/// How long after its time a report may still be sent.
const GRACE_MS: i64 = 5 * 60_000;
/// Services named in the mail's text; the attachments hold them all.
const LISTED: usize = 10;

/// A report's last sending, stored with alerting's documents.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Run {
    name: String,
    /// The scheduled time it was sent for.
    due_ms: i64,
    sent_ms: i64,
    /// The channels that took it, and those that did not.
    detail: String,
}

pub async fn run(state: Arc<AppState>) {
    // The configuration was checked at start: every schedule reads.
    let reports: Vec<(ReportConfig, Cron, jiff::tz::TimeZone)> = state
        .config
        .insights
        .reports
        .iter()
        .filter_map(|r| {
            let cron = Cron::parse(&r.schedule).ok()?;
            let tz = jiff::tz::TimeZone::get(&r.timezone).ok()?;
            Some((r.clone(), cron, tz))
        })
        .collect();
    if reports.is_empty() {
        return;
    }
    info!(reports = reports.len(), "scheduled SLA reports");
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = tokio::time::sleep(TICK) => {}
        }
        if !state.alerting.outbox.leading() {
            continue;
        }
        let now = now_ms();
        let due: Vec<(&ReportConfig, i64)> = reports
            .iter()
            .filter_map(|(r, cron, tz)| Some((r, last_start(cron, tz, now, GRACE_MS)?)))
            .collect();
        if due.is_empty() {
            continue;
        }
        let store = state.alerting.store.as_ref();
        let sent: HashMap<String, i64> = match load::<Run>(store, DocKind::ReportRun).await {
            Ok(runs) => runs.into_iter().map(|r| (r.name, r.due_ms)).collect(),
            Err(e) => {
                error!(error = %e, "cannot read when SLA reports were sent");
                continue;
            }
        };
        for (r, due) in due {
            if sent.get(&r.name).is_some_and(|d| *d >= due) {
                continue;
            }
            match send(&state, r, due).await {
                Ok(detail) => {
                    info!(report = %r.name, due = %format_iso(due), %detail, "SLA report sent");
                    let run = Run {
                        name: r.name.clone(),
                        due_ms: due,
                        sent_ms: now_ms(),
                        detail,
                    };
                    let doc = Doc::of(DocKind::ReportRun, &r.name, &run);
                    if let Err(e) = store.put_alert_docs(vec![doc]).await {
                        error!(report = %r.name, error = %e, "cannot store that the SLA report was sent");
                    }
                }
                Err(e) => {
                    error!(report = %r.name, error = %e, "cannot send the SLA report; trying again");
                }
            }
        }
    }
}

/// Reports the period ending at `due` and mails it to every channel:
/// which took it, or why none did.
async fn send(state: &AppState, r: &ReportConfig, due: i64) -> Result<String, String> {
    let method = Method {
        degraded_is_up: r.degraded == "up",
        exclude_maintenance: r.maintenance == "exclude",
        objective: r.objective,
    };
    let from = due - r.period.as_millis() as i64;
    let report = super::report(state, from, due, method, None)
        .await
        .map_err(|e| format!("cannot make the report: {e}"))?;
    let csv = super::csv::render(&report);
    let pdf = super::pdf::render(&report);
    let file = format!("sla-{}-{}", file_name(&r.name), stamp(due));
    let subject = format!(
        "SLA report {}: {} of {} services met their objective",
        r.name, report.summary.met, report.summary.services
    );
    let text = text(&r.name, &report);
    let (mut took, mut refused) = (Vec::new(), Vec::new());
    for id in &r.channels {
        let Some(channel) = state.alerting.channel(id) else {
            refused.push(format!("{id}: no such channel"));
            continue;
        };
        let answer = send_mail(&channel.target, |b| {
            mail(b, &subject, &text, (&file, &csv, &pdf))
        })
        .await;
        if answer.ok {
            took.push(id.clone());
        } else {
            refused.push(format!("{id}: {}", answer.detail));
        }
    }
    if took.is_empty() {
        return Err(refused.join("; "));
    }
    if !refused.is_empty() {
        warn!(report = %r.name, refused = %refused.join("; "), "some channels did not take the SLA report");
    }
    Ok(format!("sent to {}", took.join(", ")))
}

fn mail(
    b: MessageBuilder,
    subject: &str,
    text: &str,
    (file, csv, pdf): (&str, &str, &[u8]),
) -> Result<lettre::Message, String> {
    let csv_type = ContentType::parse("text/csv; charset=utf-8").map_err(|e| e.to_string())?;
    let pdf_type = ContentType::parse("application/pdf").map_err(|e| e.to_string())?;
    b.subject(subject)
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(text.to_string()))
                .singlepart(Attachment::new(format!("{file}.csv")).body(csv.to_string(), csv_type))
                .singlepart(Attachment::new(format!("{file}.pdf")).body(pdf.to_vec(), pdf_type)),
        )
        .map_err(|e| e.to_string())
}

/// The summary, the lowest uptimes and the method, in words.
fn text(name: &str, report: &SlaReport) -> String {
    let s = &report.summary;
    let mut out = format!(
        "SLA report {name}, {} to {}\n\n{} services: {} met their objective, {} missed it, {} without data.\n",
        report.from, report.to, s.services, s.met, s.missed, s.no_data
    );
    let low: Vec<_> = report
        .services
        .iter()
        .filter(|r| r.uptime_pct.is_some_and(|u| u < 100.0))
        .take(LISTED)
        .collect();
    if !low.is_empty() {
        out.push_str("\nLowest uptimes:\n");
        for r in low {
            out.push_str(&format!(
                "  {} ({}): {:.3} % against {} %, budget used {:.0} %, {} incident(s)\n",
                r.label,
                r.service_id,
                r.uptime_pct.unwrap_or_default(),
                r.objective_pct,
                r.budget_used_pct.unwrap_or_default(),
                r.counts.incidents
            ));
        }
    }
    out.push_str(&format!(
        "\n{}\n\nEvery service is in the attached CSV and PDF.\n",
        report.method.statement
    ));
    out
}

fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `20261201T0800Z`.
fn stamp(ms: i64) -> String {
    let iso = format_iso(ms);
    let digits: String = iso.chars().filter(char::is_ascii_digit).take(12).collect();
    format!("{}T{}Z", &digits[..8], &digits[8..])
}
