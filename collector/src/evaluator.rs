//! The alert evaluator: every `alerting.interval`, the live statuses (with
//! the catalog's labels and each failure's root cause) through alerting's
//! engine; the alerts it changes and the notifications it makes are stored
//! together before the outbox sends them. Of collectors sharing a store,
//! only the one holding the lease (`alerting/lease.rs`) evaluates and
//! sends; another takes over what it left when it stops renewing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info};

use crate::alerting::Alerting;
use crate::alerting::engine::{Engine, ServiceNow, World};
use crate::alerting::lease::Lease;
use crate::alerting::model::{Alert, Delivery, Event};
use crate::alerting::outbox::Outbox;
use crate::alerting::store::{Doc, DocKind, load};
use crate::catalog::graph;
use crate::state::{AppState, impact};

/// How often rules and channels are read again from a shared store.
const RELOAD: Duration = Duration::from_secs(10);

pub async fn run(state: Arc<AppState>) {
    let alerting = state.alerting.clone();
    let outbox = {
        let alerting = alerting.clone();
        let shutdown = state.shutdown.clone();
        tokio::spawn(async move {
            let lookup = alerting.clone();
            alerting
                .outbox
                .run(move |id| lookup.channel(id), shutdown)
                .await;
        })
    };
    let interval = state.config.alerting.interval;
    let lease = Lease::new(
        holder(),
        (interval.as_millis() as i64 * 5).max(LEASE_MIN_MS),
    );
    info!(holder = %lease.holder, rules = alerting.rules().len(), "alert evaluator started");
    let mut engine: Option<Engine> = None;
    let mut reloaded = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
        share_verdicts(&state).await;
        if reloaded.elapsed() >= RELOAD {
            reloaded = tokio::time::Instant::now();
            if let Err(e) = alerting.reload().await {
                error!(error = %e, "cannot read alert rules and channels again");
            }
        }
        let leading = match lease
            .round(alerting.store.as_ref(), lightbulb_common::time::now_ms())
            .await
        {
            Ok(leading) => leading,
            Err(e) => {
                error!(error = %e, "cannot read or renew the alert evaluation lease");
                false
            }
        };
        if !leading {
            if engine.take().is_some() {
                alerting.outbox.follow();
                info!(holder = %lease.holder, "another collector leads alert evaluation now");
            }
            continue;
        }
        if engine.is_none() {
            match take_over(&alerting).await {
                Ok(e) => {
                    info!(holder = %lease.holder, active = e.active().count(), "leading alert evaluation");
                    engine = Some(e);
                }
                Err(e) => {
                    error!(error = %e, "cannot take up alert evaluation; trying again");
                    continue;
                }
            }
        }
        let Some(engine) = engine.as_mut() else {
            continue;
        };
        if !evaluate(&state, engine).await {
            break;
        }
    }
    let _ = outbox.await;
}

/// Stores the metric verdicts that turned here, for whichever collector
/// evaluates alerts; kept for the next round if the store refuses.
async fn share_verdicts(state: &AppState) {
    let changed = state.windows.take_changed();
    if changed.is_empty() {
        return;
    }
    let docs = changed
        .iter()
        .map(|v| Doc::of(DocKind::Verdict, &v.key(), v))
        .collect();
    if let Err(e) = state.alerting.store.put_alert_docs(docs).await {
        error!(error = %e, "cannot store metric verdicts; trying again next round");
        state.windows.keep_changed(changed);
    }
}

/// Shortest lease: a leader that dies is replaced after this long.
const LEASE_MIN_MS: i64 = 5_000;

/// This collector's name in the lease: host, process, and a random tag.
fn holder() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "collector".into());
    format!(
        "{host}:{}:{}",
        std::process::id(),
        crate::auth::random_hex(3)
    )
}

/// What the collector that led before decided: the alerts it left active
/// and the notifications it left queued.
async fn take_over(alerting: &Alerting) -> crate::Result<Engine> {
    alerting.reload().await?;
    let stored: Vec<Alert> = load(alerting.store.as_ref(), DocKind::Alert).await?;
    alerting.outbox.lead().await?;
    Ok(Engine::resume(stored))
}

/// One round: evaluates, stores what changed with the notifications it
/// makes, and queues them. `false` when shutting down.
async fn evaluate(state: &AppState, engine: &mut Engine) -> bool {
    let alerting = &state.alerting;
    let now = lightbulb_common::time::now_ms();
    let world = world(state);
    let mut step = engine.evaluate(&alerting.rules(), &world, now);
    for (m, _) in &mut step.messages {
        if matches!(m.event, Event::Firing | Event::Escalated) {
            m.acknowledge_link = Some(acknowledge_link(state, &world.link_base, &m.alert_id, now));
        }
    }
    let notifications: Vec<_> = step
        .messages
        .iter()
        .flat_map(|(m, channels)| Outbox::compose(m, channels, now))
        .collect();
    // Held back by a silence: recorded with the same ids, never sent.
    let suppressed: Vec<_> = step
        .suppressed
        .iter()
        .flat_map(|(m, channels, _)| Outbox::compose(m, channels, now))
        .map(|mut n| {
            n.delivery = Delivery::Suppressed;
            n
        })
        .collect();
    let mut docs: Vec<Doc> = step
        .changed
        .iter()
        .map(|a| Doc::of(DocKind::Alert, &a.alert_id, a))
        .collect();
    docs.extend(
        step.dropped
            .iter()
            .map(|id| Doc::deleted(DocKind::Alert, id)),
    );
    docs.extend(
        notifications
            .iter()
            .chain(&suppressed)
            .map(|n| Doc::of(DocKind::Notification, &n.notification_id, n)),
    );
    if docs.is_empty() {
        return true;
    }
    for (m, _) in &step.messages {
        info!(alert = %m.alert_id, event = m.event.as_str(), impacted = m.impacted.len(), "alert notification queued");
    }
    for (m, _, silence) in &step.suppressed {
        info!(alert = %m.alert_id, event = m.event.as_str(), silence = %silence, "alert notification held back by a silence");
    }
    // Nothing decided is lost: the evaluation waits until it is stored.
    while let Err(e) = alerting.store.put_alert_docs(docs.clone()).await {
        error!(error = %e, "cannot store alerts and notifications; retrying");
        tokio::select! {
            _ = state.shutdown.cancelled() => return false,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
    alerting.outbox.push(notifications);
    true
}

/// Link lifetime: a week.
const LINK_LIFE_MS: i64 = 7 * 86_400_000;

/// The dashboard page that acknowledges `alert_id` with one click.
fn acknowledge_link(state: &AppState, base: &str, alert_id: &str, now_ms: i64) -> String {
    let expires = (now_ms + LINK_LIFE_MS) / 1000;
    let signature = state
        .auth
        .tokens
        .sign_link(&crate::alerting::link_text(alert_id, expires));
    let alert: String = url::form_urlencoded::byte_serialize(alert_id.as_bytes()).collect();
    format!(
        "{}/alerts/acknowledge?alert={alert}&expires={expires}&signature={signature}",
        base.trim_end_matches('/')
    )
}

/// Every service with a status, as the rules see it: disabled ones STOPPED,
/// with the catalog's label and labels and the root cause of a failure.
fn world(state: &AppState) -> World {
    let link_base = state
        .config
        .alerting
        .dashboard_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.config.http.listen));
    let services = state.with_statuses(|statuses, _| {
        state.catalog.read(|c| {
            let edges = graph::dependencies(c);
            let mut out = BTreeMap::new();
            for (id, s) in statuses {
                let def = c.services.get(id);
                let mut shown = s.clone();
                crate::staleness::stop_if_disabled(&mut shown, def);
                // Only a silent service's cadence matters (to the absence rules).
                let (interval, grace) = if s.is_silence() {
                    crate::staleness::cadence(state, c, &s.agent_id, id)
                } else {
                    (0, 0)
                };
                out.insert(
                    id.clone(),
                    ServiceNow {
                        label: def.map_or_else(|| id.clone(), |d| d.label.clone()),
                        service_type: s.service_type.to_string(),
                        labels: def.map(|d| d.labels.clone()).unwrap_or_default(),
                        status: shown.status,
                        message: shown.message,
                        root_cause: impact::root_cause(&edges, statuses, id),
                        // A silence mark is stored once the grace has passed.
                        last_result_ms: s.is_silence().then(|| s.last_check_ms - grace as i64),
                        interval_ms: interval as i64,
                    },
                );
            }
            out
        })
    });
    World {
        services,
        handling: state.alerting.handling(),
        silences: state.alerting.silences(),
        link_base,
        verdicts: state.alerting.verdicts(state.windows.verdicts()),
        anomalies: state.anomalies.recent(),
    }
}
