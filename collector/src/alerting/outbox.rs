//! The outbox: a notification is stored before it is sent, then sent until
//! its channel takes it: retried with backoff (1 s doubling to 5 min), each
//! attempt in the delivery log, given up only after a day of failures. A
//! collector that restarts sends what was still queued. A notification's id
//! is the same whoever queues it, and a receiver sees it with every attempt,
//! so a retry after an answer that was lost can be told apart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::channels::{self, Answer};
use super::model::{Attempt, Channel, Delivery, Event, Message, Notification};
use super::store::{AlertStore, Doc, DocKind, load};
use crate::Result;

/// After this long without a successful attempt a notification is given up.
const GIVE_UP_MS: i64 = 24 * 3_600_000;
const MAX_BACKOFF_MS: i64 = 300_000;

pub struct Outbox {
    store: Arc<dyn AlertStore>,
    queued: Mutex<BTreeMap<String, Notification>>,
    wake: Notify,
    http: reqwest::Client,
    /// Only the collector leading alert evaluation sends.
    leading: AtomicBool,
    /// Sends `web_push` channels' notifications (set once the state is built).
    push: OnceLock<Arc<crate::push::Push>>,
}

impl Outbox {
    /// An outbox that sends nothing until it leads (`lead`).
    pub fn new(store: Arc<dyn AlertStore>) -> Outbox {
        lightbulb_common::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            // A receiver's redirect is not followed: the URL is what was configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("lightbulb-collector/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client");
        Outbox {
            store,
            queued: Mutex::new(BTreeMap::new()),
            wake: Notify::new(),
            http,
            leading: AtomicBool::new(false),
            push: OnceLock::new(),
        }
    }

    /// Starts sending: first what the store holds queued (left by a
    /// restart, or by the collector that led before).
    pub async fn lead(&self) -> Result<()> {
        let all: Vec<Notification> = load(self.store.as_ref(), DocKind::Notification).await?;
        let queued: BTreeMap<String, Notification> = all
            .into_iter()
            .filter(|n| n.delivery == Delivery::Queued)
            .map(|n| (n.notification_id.clone(), n))
            .collect();
        if !queued.is_empty() {
            info!(
                queued = queued.len(),
                "notifications left queued are sent again"
            );
        }
        *self.queue() = queued;
        self.leading.store(true, Ordering::Release);
        self.wake.notify_one();
        Ok(())
    }

    /// Whether this collector sends (it leads alert evaluation).
    pub fn leading(&self) -> bool {
        self.leading.load(Ordering::Acquire)
    }

    pub fn set_push(&self, push: Arc<crate::push::Push>) {
        let _ = self.push.set(push);
    }

    /// Stops sending: another collector leads.
    pub fn follow(&self) {
        self.leading.store(false, Ordering::Release);
        self.queue().clear();
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Notification>> {
        self.queued.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The notification for `message` on each of `channels`, not yet stored.
    pub fn compose(message: &Message, channels: &[String], now_ms: i64) -> Vec<Notification> {
        channels
            .iter()
            .map(|c| Notification {
                notification_id: match message.escalation {
                    Some(n) => format!("{}:{}-{n}:{c}", message.alert_id, message.event.as_str()),
                    None => format!("{}:{}:{c}", message.alert_id, message.event.as_str()),
                },
                channel_id: c.clone(),
                created_ms: now_ms,
                delivery: Delivery::Queued,
                attempts: 0,
                next_attempt_ms: now_ms,
                message: message.clone(),
                reference: None,
            })
            .collect()
    }

    /// Sends notifications already stored.
    pub fn push(&self, stored: Vec<Notification>) {
        let mut q = self.queue();
        for n in stored {
            q.insert(n.notification_id.clone(), n);
        }
        drop(q);
        self.wake.notify_one();
    }

    pub fn queued_count(&self) -> usize {
        self.queue().len()
    }

    /// Sends what is due until `shutdown`; `channel` finds a channel by id.
    pub async fn run(
        &self,
        channel: impl Fn(&str) -> Option<Channel>,
        shutdown: CancellationToken,
    ) {
        loop {
            let now = lightbulb_common::time::now_ms();
            if !self.leading.load(Ordering::Acquire) {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            }
            let due: Vec<Notification> = self
                .queue()
                .values()
                .filter(|n| n.next_attempt_ms <= now)
                .cloned()
                .collect();
            for n in due {
                let answer = match channel(&n.channel_id) {
                    Some(c) => {
                        channels::deliver(&self.http, self.push.get().map(|p| p.as_ref()), &c, &n)
                            .await
                    }
                    None => Answer::failed(
                        None,
                        format!("channel `{}` does not exist (any more)", n.channel_id),
                    ),
                };
                self.settle(n, answer).await;
            }
            let next = self.queue().values().map(|n| n.next_attempt_ms).min();
            let wait = next.map_or(1_000, |t| {
                (t - lightbulb_common::time::now_ms()).clamp(0, 1_000)
            });
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
    }

    /// Logs an attempt and stores where the notification stands now.
    async fn settle(&self, mut n: Notification, answer: Answer) {
        let now = lightbulb_common::time::now_ms();
        n.attempts += 1;
        let attempt = Attempt {
            notification_id: n.notification_id.clone(),
            at_ms: now,
            attempt: n.attempts,
            ok: answer.ok,
            code: answer.code,
            detail: answer.detail.clone(),
        };
        if let Err(e) = self.store.add_attempt(attempt).await {
            warn!(error = %e, "cannot log a delivery attempt");
        }
        if answer.ok {
            n.delivery = Delivery::Sent;
            n.reference = answer.reference.clone();
            n.reference = answer.reference.clone();
            info!(notification = %n.notification_id, detail = %answer.detail, "notification sent");
        } else if now - n.created_ms >= GIVE_UP_MS {
            n.delivery = Delivery::GaveUp;
            warn!(notification = %n.notification_id, detail = %answer.detail, "notification given up after a day of failures");
        } else {
            let backoff = (1_000i64 << n.attempts.min(20).saturating_sub(1)).min(MAX_BACKOFF_MS);
            n.next_attempt_ms = now + backoff;
            warn!(notification = %n.notification_id, attempt = n.attempts, retry_in_ms = backoff, detail = %answer.detail, "notification not delivered; will retry");
        }
        // Stored before it leaves the queue: if this fails, the attempt is
        // made again (a receiver may then see it twice, with the same id).
        match self
            .store
            .put_alert_docs(vec![Doc::of(DocKind::Notification, &n.notification_id, &n)])
            .await
        {
            Ok(()) => {
                let mut q = self.queue();
                if n.delivery == Delivery::Queued {
                    q.insert(n.notification_id.clone(), n);
                } else {
                    q.remove(&n.notification_id);
                }
            }
            Err(e) => warn!(error = %e, "cannot store a notification's delivery; it stays queued"),
        }
    }

    /// Sends a test message to `channel` now, outside the queue; the
    /// attempt is logged under `test:<channel_id>:<time>`.
    pub async fn test(&self, channel: &Channel, message: Message) -> Answer {
        let now = lightbulb_common::time::now_ms();
        let n = Notification {
            notification_id: format!("test:{}:{now}", channel.channel_id),
            channel_id: channel.channel_id.clone(),
            created_ms: now,
            delivery: Delivery::Queued,
            attempts: 0,
            next_attempt_ms: now,
            message: Message {
                event: Event::Test,
                ..message
            },
            reference: None,
        };
        let answer =
            channels::deliver(&self.http, self.push.get().map(|p| p.as_ref()), channel, &n).await;
        let attempt = Attempt {
            notification_id: n.notification_id,
            at_ms: now,
            attempt: 1,
            ok: answer.ok,
            code: answer.code,
            detail: answer.detail.clone(),
        };
        if let Err(e) = self.store.add_attempt(attempt).await {
            warn!(error = %e, "cannot log a test delivery");
        }
        answer
    }
}
