//! Incidents analysed by themselves: a change to FAILED or DEGRADED from a
//! healthy status, by the leading collector, not for a service a failing
//! dependency explains, once per incident and service cooldown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lightbulb_common::Status;
use lightbulb_common::time::now_ms;
use tokio::sync::broadcast::error::RecvError;
use tracing::{info, warn};

use super::Analyst;
use super::record::Trigger;
use crate::state::AppState;
use crate::store::StatusEvent;

/// How long an incident waits for this collector to lead.
const LEAD_WAIT: Duration = Duration::from_secs(10);

impl Analyst {
    /// Analyses incidents as `state`'s status changes open them, until shutdown.
    pub async fn run(self: Arc<Self>, state: Arc<AppState>) {
        if !self.config.on_transition {
            return;
        }
        let mut rx = state.events.subscribe();
        loop {
            let event = tokio::select! {
                e = rx.recv() => match e {
                    Ok(e) => e,
                    Err(RecvError::Lagged(n)) => {
                        warn!(missed = n, "AI analysis fell behind the status changes; some incidents are not analysed");
                        continue;
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = state.shutdown.cancelled() => return,
            };
            if !opens_incident(&event) {
                continue;
            }
            let (me, st) = (self.clone(), state.clone());
            tokio::spawn(async move { me.incident(&st, event).await });
        }
    }

    async fn incident(&self, state: &AppState, e: StatusEvent) {
        // Only the leader analyses; one that is about to lead (just
        // started, or taking over) still does.
        let until = Instant::now() + LEAD_WAIT;
        while !state.alerting.outbox.leading() {
            if Instant::now() > until {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let Ok(_slot) = self.running.acquire().await else {
            return;
        };
        let service = e.service_id.as_str();
        let now = now_ms();
        let cooldown = self.config.cooldown.as_millis() as i64;
        let recent = self
            .last_auto
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(service)
            .is_some_and(|at| now - at < cooldown);
        if recent {
            info!(
                service,
                "AI analysis skipped: the service was analysed within the cooldown"
            );
            return;
        }
        let explained = crate::api::view::service(state, service)
            .is_none_or(|s| !s.caused_by.is_empty() || !matches!(s.status, "FAILED" | "DEGRADED"));
        if explained {
            return;
        }
        match state.store.analyses(service.to_string(), 5).await {
            Ok(done) if done.iter().any(|a| a.incident_ms == Some(e.last_check_ms)) => return,
            Ok(_) => {}
            Err(err) => {
                warn!(service, error = %err, "AI analysis skipped: cannot read earlier analyses");
                return;
            }
        }
        self.last_auto
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(service.to_string(), now);
        if let Err(err) = self
            .analyse(
                state,
                service,
                Trigger::Transition,
                None,
                Some(e.last_check_ms),
            )
            .await
        {
            warn!(service, error = %err, "AI analysis not made");
        }
    }
}

/// A change to FAILED or DEGRADED from anything healthier.
pub fn opens_incident(e: &StatusEvent) -> bool {
    let failing = |code: u8| code == Status::Failed.code() || code == Status::Degraded.code();
    failing(e.status_code) && !e.previous_status_code.is_some_and(failing)
}
