//! Pushes on status change. The changes of a moment (a second from the
//! first) are gathered per browser, so an agent going quiet with 200
//! services sends each browser one summary, not 200 notifications. Only
//! the collector leading alert evaluation sends, so collectors sharing a
//! store push each change once. A service's first result is not a change.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::push::{Push, PushMessage};
use crate::store::StatusEvent;

const GATHER: Duration = Duration::from_secs(1);
/// Changes named in a summary's text; the rest are counted.
const NAMED: usize = 5;

/// Pushes the changes `rx` carries until `shutdown`; `leading` says whether
/// this collector sends, `label` names a service.
pub async fn run(
    push: Arc<Push>,
    mut rx: broadcast::Receiver<StatusEvent>,
    shutdown: CancellationToken,
    leading: impl Fn() -> bool,
    label: impl Fn(&str) -> String,
) {
    loop {
        let mut batch = Vec::new();
        // Changes the channel overflowed with: told only when someone
        // would have been pushed them.
        let mut missed = 0;
        tokio::select! {
            e = rx.recv() => match e {
                Ok(e) => batch.push(e),
                Err(RecvError::Lagged(n)) => missed += n,
                Err(RecvError::Closed) => return,
            },
            _ = shutdown.cancelled() => return,
        }
        let until = tokio::time::Instant::now() + GATHER;
        loop {
            tokio::select! {
                e = rx.recv() => match e {
                    Ok(e) => batch.push(e),
                    Err(RecvError::Lagged(n)) => missed += n,
                    Err(RecvError::Closed) => break,
                },
                _ = tokio::time::sleep_until(until) => break,
            }
        }
        if !leading() {
            continue;
        }
        // The newest change per service.
        let changes: BTreeMap<String, StatusEvent> = batch
            .into_iter()
            .filter(|e| e.previous_status_code.is_some_and(|p| p != e.status_code))
            .map(|e| (e.service_id.clone(), e))
            .collect();
        if changes.is_empty() && missed == 0 {
            continue;
        }
        let subs = match push.store().push_subscriptions().await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "cannot read push subscriptions; these status changes are not pushed");
                continue;
            }
        };
        if missed > 0 && !subs.is_empty() {
            warn!(
                missed,
                "status changes came faster than pushes could follow; some were not pushed"
            );
        }
        for sub in subs {
            let mine: Vec<&StatusEvent> = changes
                .values()
                .filter(|e| sub.follows(&e.service_id))
                .collect();
            if let Some(message) = compose(&mine, &label) {
                push.send(&sub, &message).await;
            }
        }
    }
}

fn name(code: Option<u8>) -> &'static str {
    code.map_or("none", |c| crate::store::status_of(c.into()).name())
}

fn urgent(code: u8) -> bool {
    matches!(name(Some(code)), "FAILED" | "UNKNOWN")
}

/// One change: what it is now and why; several: a summary.
pub fn compose(changes: &[&StatusEvent], label: &dyn Fn(&str) -> String) -> Option<PushMessage> {
    match changes {
        [] => None,
        [e] => Some(PushMessage {
            title: format!("{} is {}", label(&e.service_id), e.status()),
            body: format!(
                "was {}: {}",
                name(e.previous_status_code),
                e.message.chars().take(300).collect::<String>()
            ),
            tag: format!("status:{}", e.service_id),
            url: format!("/services/{}", e.service_id),
            urgent: urgent(e.status_code),
        }),
        many => {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for e in many {
                *counts.entry(e.status()).or_default() += 1;
            }
            let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            let mut body: Vec<String> = many
                .iter()
                .take(NAMED)
                .map(|e| format!("{} {}", label(&e.service_id), e.status()))
                .collect();
            if many.len() > NAMED {
                body.push(format!("and {} more", many.len() - NAMED));
            }
            Some(PushMessage {
                title: format!("{} services changed: {}", many.len(), counts.join(", ")),
                body: body.join("; "),
                tag: "status:many".into(),
                url: "/".into(),
                urgent: many.iter().any(|e| urgent(e.status_code)),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, from: u8, to: u8) -> StatusEvent {
        StatusEvent {
            id: 1,
            service_id: id.into(),
            status_code: to,
            previous_status_code: Some(from),
            message: "connection refused".into(),
            last_check_ms: 0,
            response_time_ms: None,
            agent_id: "a".into(),
        }
    }

    #[test]
    fn one_change_names_the_service_and_many_are_summed_up() {
        let label = |id: &str| format!("The {id}");
        let failed = lightbulb_common::Status::Failed.code();
        let ok = lightbulb_common::Status::Ok.code();
        let db = change("db", ok, failed);
        let one = compose(&[&db], &label).unwrap();
        assert_eq!(one.title, "The db is FAILED");
        assert_eq!(one.body, "was OK: connection refused");
        assert_eq!((one.url.as_str(), one.urgent), ("/services/db", true));

        let all: Vec<StatusEvent> = (0..7)
            .map(|i| change(&format!("s{i}"), failed, ok))
            .chain([db.clone()])
            .collect();
        let refs: Vec<&StatusEvent> = all.iter().collect();
        let many = compose(&refs, &label).unwrap();
        assert_eq!(many.title, "8 services changed: 1 FAILED, 7 OK");
        assert!(
            many.body.starts_with("The s0 OK; The s1 OK;"),
            "{}",
            many.body
        );
        assert!(many.body.ends_with("and 3 more"), "{}", many.body);
        assert!(many.urgent);
        assert!(compose(&[], &label).is_none());
    }
}
