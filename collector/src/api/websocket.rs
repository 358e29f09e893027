//! `GET /api/status/websocket`: status changes over a WebSocket, for the
//! services the client subscribes to.
//!
//! The client sends JSON text messages:
//! - `{"type":"subscribe","service_ids":["db"]}`, `{"type":"subscribe","labels":["team=pay"]}`
//!   or `{"type":"subscribe","all":true}` adds to what it gets;
//! - `{"type":"unsubscribe", …}` with the same fields takes it away.
//!
//! Each is answered `{"type":"subscribed","all":…,"service_ids":[…],"labels":[…]}`
//! (what the connection now gets), or `{"type":"error","field":…,"message":…}`;
//! the connection stays either way. Nothing is sent before the first
//! subscription. Then every change is `{"type":"status_update", …}` with the
//! fields of the SSE stream's events; `?last_event_id=N` resumes after event
//! N, as `Last-Event-ID` does for SSE. A service deleted from the catalog is
//! `{"type":"removed","service_id":…}`.
//!
//! The server pings every `sse.heartbeat` and closes a connection silent
//! (no frame, pongs included) for three of them, and at least 30 s. A client that does not
//! keep up (`QUEUE` messages waiting for `SLOW_AFTER` behind a socket that
//! does not drain) is closed with 1008 "too slow" once it reads again, or
//! cut after `SEND_TIMEOUT`; it reconnects with its last event id and loses
//! nothing. Memory per client stays bounded: missed live events are read
//! from the store, as for SSE.
//! The collector stopping closes every connection with 1001.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use super::limits::Limits;
use super::sse::{Cursor, Next, StatusChange, StreamParams};
use crate::auth::Identity;
use crate::state::AppState;
use crate::{Error, Result};

/// Messages waiting to be written to a client.
const QUEUE: usize = 256;
/// How long the queue may stay full before its client counts as too slow.
const SLOW_AFTER: Duration = Duration::from_secs(5);
/// The longest one write may wait for a client to read.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to answer our close.
const CLOSING: Duration = Duration::from_secs(5);
/// The least silence after which a client counts as gone.
const MIN_SILENCE: Duration = Duration::from_secs(30);
/// Close codes (RFC 6455): going away, policy (too slow), server error.
pub const CLOSE_GOING_AWAY: u16 = 1001;
pub const CLOSE_TOO_SLOW: u16 = 1008;
pub const CLOSE_ERROR: u16 = 1011;

/// What a connection gets.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
struct Filter {
    all: bool,
    service_ids: BTreeSet<String>,
    /// `key=value`: services whose catalog labels have it.
    labels: BTreeSet<String>,
}

impl Filter {
    fn wants(&self, state: &AppState, service_id: &str) -> bool {
        self.all
            || self.service_ids.contains(service_id)
            || (!self.labels.is_empty()
                && state.catalog.read(|c| {
                    c.services.get(service_id).is_some_and(|s| {
                        self.labels.iter().any(|l| {
                            l.split_once('=')
                                .is_some_and(|(k, v)| s.labels.get(k).is_some_and(|x| x == v))
                        })
                    })
                }))
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Request {
    Subscribe(Selection),
    Unsubscribe(Selection),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Selection {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    service_ids: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
}

/// Applies one client message to `filter`.
fn apply(text: &str, filter: &mut Filter) -> Result<()> {
    let request: Request = serde_json::from_str(text).map_err(|e| {
        Error::invalid(
            "type",
            format!("not a subscribe or unsubscribe message: {e}"),
        )
    })?;
    let (add, s) = match request {
        Request::Subscribe(s) => (true, s),
        Request::Unsubscribe(s) => (false, s),
    };
    for id in &s.service_ids {
        lightbulb_common::status::validate_service_id(id)
            .map_err(|e| Error::invalid("service_ids", format!("`{id}`: {e}")))?;
    }
    if let Some(bad) = s.labels.iter().find(|l| !l.contains('=')) {
        return Err(Error::invalid(
            "labels",
            format!("`{bad}` is not key=value"),
        ));
    }
    if s.all {
        filter.all = add;
    }
    for id in s.service_ids {
        if add {
            filter.service_ids.insert(id);
        } else {
            filter.service_ids.remove(&id);
        }
    }
    for label in s.labels {
        if add {
            filter.labels.insert(label);
        } else {
            filter.labels.remove(&label);
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/status/websocket", tag = "status", params(("last_event_id" = Option<i64>, Query, description = "resume after this event id")), responses((status = 101, description = "A WebSocket: the client subscribes (`{\"type\":\"subscribe\",\"service_ids\":[…]}`, `\"labels\":[\"k=v\"]` or `\"all\":true`) and gets one `status_update` message (a `StatusEvent` with `\"type\"`) per change"), (status = 400, description = "Bad input; the error names the field", body = crate::error::ErrorBody)))]
pub async fn websocket(
    State(state): State<Arc<AppState>>,
    axum::Extension(limits): axum::Extension<Arc<Limits>>,
    who: Identity,
    request: axum::http::request::Parts,
    Query(params): Query<StreamParams>,
    upgrade: WebSocketUpgrade,
) -> Result<Response> {
    let ip = super::guard::client_ip(&request);
    let slot = limits.stream(&super::limits::caller_key(&who, ip.as_deref()))?;
    let last_id = super::sse::event_id(params.last_event_id, "last_event_id")?;
    // Opened now, so nothing between this request and the upgrade is missed.
    let cursor = Cursor::open(state.clone(), last_id, slot, super::sse::Kind::WebSocket);
    Ok(upgrade
        .max_message_size(64 << 10)
        .on_upgrade(move |socket| serve(socket, state, cursor)))
}

fn text(value: serde_json::Value) -> Message {
    Message::Text(value.to_string().into())
}

async fn serve(mut socket: WebSocket, state: Arc<AppState>, cursor: Cursor) {
    let (filter_tx, filter_rx) = watch::channel(None);
    let (out_tx, mut out_rx) = mpsc::channel(QUEUE);
    let slow = Arc::new(AtomicBool::new(false));
    let producer = tokio::spawn(produce(
        cursor,
        filter_rx,
        out_tx,
        slow.clone(),
        state.clone(),
    ));
    let heartbeat = state.config.sse.heartbeat;
    let silent_for = (heartbeat * 3).max(MIN_SILENCE);
    let mut ping = tokio::time::interval(heartbeat);
    ping.tick().await;
    let mut heard = tokio::time::Instant::now();
    let mut filter = Filter::default();
    let close: Option<(u16, &str)> = loop {
        tokio::select! {
            incoming = socket.recv() => {
                heard = tokio::time::Instant::now();
                let Some(Ok(message)) = incoming else { break None };
                match message {
                    Message::Text(t) => {
                        let answer = match apply(&t, &mut filter) {
                            Ok(()) => {
                                filter_tx.send_replace(Some(filter.clone()));
                                let mut v = serde_json::to_value(&filter).expect("filters serialize");
                                v["type"] = "subscribed".into();
                                v
                            }
                            Err(e) => serde_json::json!({"type": "error", "field": e.field(), "message": e.to_string()}),
                        };
                        if !send(&mut socket, text(answer)).await {
                            break None;
                        }
                    }
                    Message::Close(_) => break None,
                    _ => {}
                }
            }
            out = out_rx.recv() => match out {
                Some(m) => {
                    if !send(&mut socket, m).await {
                        break None;
                    }
                    if slow.load(Ordering::Acquire) {
                        break Some((CLOSE_TOO_SLOW, "too slow: reconnect with last_event_id to resume"));
                    }
                }
                None if slow.load(Ordering::Acquire) => break Some((CLOSE_TOO_SLOW, "too slow: reconnect with last_event_id to resume")),
                None if state.shutdown.is_cancelled() => break Some((CLOSE_GOING_AWAY, "collector shutting down")),
                None => break Some((CLOSE_ERROR, "status events cannot be read; reconnect to resume")),
            },
            _ = ping.tick() => {
                if heard.elapsed() > silent_for {
                    break Some((CLOSE_GOING_AWAY, "no answer to pings"));
                }
                if !send(&mut socket, Message::Ping(Default::default())).await {
                    break None;
                }
            }
            _ = state.shutdown.cancelled() => break Some((CLOSE_GOING_AWAY, "collector shutting down")),
        }
    };
    producer.abort();
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if send(&mut socket, Message::Close(Some(frame))).await {
            // The client's close answers ours. Until then, what it sends is
            // read: a socket closed on unread data is reset, and the client
            // would lose what it has not read yet, our close included.
            let _ = tokio::time::timeout(CLOSING, async {
                while let Some(Ok(m)) = socket.recv().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
}

/// Writes one message; false when the client is gone or did not read in time.
async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

/// Queues the changes the client subscribed to, from its first subscription.
async fn produce(
    mut cursor: Cursor,
    mut filter: watch::Receiver<Option<Filter>>,
    out: mpsc::Sender<Message>,
    slow: Arc<AtomicBool>,
    state: Arc<AppState>,
) {
    if filter.wait_for(Option::is_some).await.is_err() {
        return;
    }
    while let Some(next) = cursor.next().await {
        let message = match next {
            Next::Status(e) => {
                let wanted = filter
                    .borrow()
                    .as_ref()
                    .is_some_and(|f| f.wants(&state, &e.service_id));
                if !wanted {
                    continue;
                }
                let mut v = serde_json::to_value(StatusChange::from(&e)).expect("events serialize");
                v["type"] = "status_update".into();
                v
            }
            Next::Removed(service_id) => {
                serde_json::json!({"type": "removed", "service_id": service_id})
            }
        };
        match tokio::time::timeout(SLOW_AFTER, out.send(text(message))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                slow.store(true, Ordering::Release);
                state.metrics.websocket_too_slow();
                tracing::info!("a WebSocket client fell behind; closing it");
                return;
            }
        }
    }
}
