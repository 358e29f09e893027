//! `GET /api/status/stream`: one SSE event per status change.
//!
//! Each event carries `id:` = the status event's id in the store. A client
//! that reconnects with `Last-Event-ID: N` (or `?last_event_id=N`) first gets
//! every stored event after N, then live ones. A client too slow for the live
//! buffer is caught up from the store the same way, so none is skipped.
//! Idle streams get a `:heartbeat` comment every `sse.heartbeat`.
//!
//! A service deleted from the catalog is announced live as `event: removed`
//! with `{"service_id": …}` and no id: clients drop it from their list. A
//! client that was away re-reads `/api/status`, which no longer has it.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::limits::{Limits, StreamSlot};
use crate::auth::Identity;
pub(super) use crate::metrics::StreamKind as Kind;
use crate::state::AppState;
use crate::store::StatusEvent;
use crate::{Error, Result};

/// Events read from the store per catch-up query.
const CATCH_UP: u32 = 1000;
/// Delivered ids remembered per stream: as many as the live buffer holds.
const RECENT: usize = 4096;

#[derive(Deserialize)]
pub struct StreamParams {
    pub(super) last_event_id: Option<String>,
}

/// An event id given as text (a header or query parameter named `field`).
pub(super) fn event_id(text: Option<String>, field: &str) -> Result<Option<i64>> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| Error::bad_field(field, format!("`{t}` is not an event id")))
    })
    .transpose()
}

// The store's `StatusEvent` as the stream sends it, under that name in the
// OpenAPI document.
/// A change of a service's status; `id` orders events and resumes SSE streams.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = StatusEvent)]
pub struct StatusChange {
    pub id: i64,
    pub service_id: String,
    pub status_code: u8,
    pub status: &'static str,
    /// `None` for the first result of a service.
    pub previous_status_code: Option<u8>,
    pub message: String,
    pub last_check: String,
    pub response_time_ms: Option<f64>,
    pub agent_id: String,
}

impl From<&StatusEvent> for StatusChange {
    fn from(e: &StatusEvent) -> StatusChange {
        StatusChange {
            id: e.id,
            service_id: e.service_id.clone(),
            status_code: e.status_code,
            status: e.status(),
            previous_status_code: e.previous_status_code,
            message: e.message.clone(),
            last_check: lightbulb_common::time::format_iso(e.last_check_ms),
            response_time_ms: e.response_time_ms,
            agent_id: e.agent_id.clone(),
        }
    }
}

#[utoipa::path(get, path = "/api/status/stream", tag = "status", params(("last_event_id" = Option<i64>, Query, description = "resume after this event id (or the Last-Event-ID header)")), responses((status = 200, description = "Server-Sent Events: one `StatusEvent` per status change, `id:` set", content_type = "text/event-stream", body = StatusChange), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody)))]
pub async fn stream(
    State(state): State<Arc<AppState>>,
    axum::Extension(limits): axum::Extension<Arc<Limits>>,
    who: Identity,
    request: axum::http::request::Parts,
    Query(params): Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let ip = super::guard::client_ip(&request);
    let slot = limits.stream(&super::limits::caller_key(&who, ip.as_deref()))?;
    let header = request
        .headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let field = if header.is_some() {
        "Last-Event-ID"
    } else {
        "last_event_id"
    };
    let last_id = event_id(header.or(params.last_event_id), field)?;
    let cursor = Cursor::open(state.clone(), last_id, slot, Kind::Sse);
    let events = futures_util::stream::unfold(cursor, |mut c| async move {
        let event = match c.next().await? {
            Next::Status(e) => Event::default()
                .id(e.id.to_string())
                .json_data(StatusChange::from(&e)),
            Next::Removed(service_id) => Event::default()
                .event("removed")
                .json_data(serde_json::json!({ "service_id": service_id })),
        };
        let event = event.unwrap_or_else(|_| Event::default().comment("unserializable event"));
        Some((Ok(event), c))
    });
    Ok(Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(state.config.sse.heartbeat)
            .text("heartbeat"),
    ))
}

pub(super) enum Next {
    Status(StatusEvent),
    Removed(String),
}

/// Where a client is in the status events: past ones read from the store,
/// then live ones, each once.
pub(super) struct Cursor {
    rx: broadcast::Receiver<StatusEvent>,
    removals: broadcast::Receiver<String>,
    backlog: VecDeque<StatusEvent>,
    /// Highest id delivered (or asked to resume after): where catching up
    /// from the store continues.
    last_id: Option<i64>,
    /// Events up to this id were the client's before it connected.
    floor: i64,
    /// Ids recently delivered. Live events can repeat what catching up
    /// delivered, and with several collectors on one store they need not
    /// arrive in id order, so repeats are found by id, not by order.
    sent: (HashSet<i64>, VecDeque<i64>),
    /// Read from the store before taking live events.
    catch_up: bool,
    /// Counts against the caller's limit of open streams while it lives.
    _slot: StreamSlot,
    state: Arc<AppState>,
    _client: Client,
}

impl Cursor {
    /// From `last_id` (catching up from the store), or from now.
    pub(super) fn open(
        state: Arc<AppState>,
        last_id: Option<i64>,
        slot: StreamSlot,
        kind: Kind,
    ) -> Cursor {
        // Subscribe before reading the backlog so nothing falls between the two.
        let rx = state.events.subscribe();
        let removals = state.removals.subscribe();
        // A new client starts at the present; a resuming one catches up from its id.
        let floor = last_id.unwrap_or_else(|| state.last_event_id());
        Cursor {
            rx,
            removals,
            backlog: VecDeque::new(),
            last_id: Some(floor),
            floor,
            sent: (HashSet::new(), VecDeque::new()),
            catch_up: last_id.is_some(),
            _client: Client::new(state.clone(), kind),
            state,
            _slot: slot,
        }
    }

    pub(super) async fn next(&mut self) -> Option<Next> {
        loop {
            if let Some(e) = self.backlog.pop_front() {
                self.delivered(e.id);
                return Some(Next::Status(e));
            }
            if self.state.shutdown.is_cancelled() {
                return None;
            }
            if self.catch_up {
                let after = self.last_id.unwrap_or(0);
                match self.state.store.events_after(after, CATCH_UP).await {
                    Ok(events) => {
                        self.catch_up = events.len() == CATCH_UP as usize;
                        self.backlog.extend(events);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read missed status events; ending the stream");
                        return None;
                    }
                }
                continue;
            }
            let received = tokio::select! {
                r = self.rx.recv() => r,
                r = self.removals.recv() => match r {
                    Ok(id) => return Some(Next::Removed(id)),
                    // Missed removals: the client's next read of /api/status has them.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                },
                _ = self.state.shutdown.cancelled() => return None,
            };
            match received {
                Ok(e) if e.id <= self.floor || self.sent.0.contains(&e.id) => continue,
                Ok(e) => {
                    self.delivered(e.id);
                    return Some(Next::Status(e));
                }
                Err(RecvError::Lagged(_)) => self.catch_up = true,
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

impl Cursor {
    fn delivered(&mut self, id: i64) {
        self.last_id = Some(self.last_id.map_or(id, |l| l.max(id)));
        let (set, order) = &mut self.sent;
        if order.len() == RECENT
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        if set.insert(id) {
            order.push_back(id);
        }
    }
}

/// Counts open streams of each kind in `/metrics`.
struct Client(Arc<AppState>, Kind);

impl Client {
    fn new(state: Arc<AppState>, kind: Kind) -> Client {
        state.metrics.stream_client(kind, 1);
        Client(state, kind)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.0.metrics.stream_client(self.1, -1);
    }
}
