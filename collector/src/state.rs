//! Shared collector state: the in-memory latest-status snapshot, the
//! catalog, the status-event and removal broadcasts, live agent connections
//! (`state/agents.rs`) and counters. How statuses are shown is
//! `api/view.rs`; the background tasks are started by `lib.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::config::CollectorConfig;
use crate::metrics::Metrics;
mod agents;
pub mod impact;

use self::agents::LiveAgent;
pub use self::agents::{AgentView, ConnectionGuard, LateCheck, SpoolStats, SpoolView};
use crate::store::{Inserted, LatestStatus, StatusEvent, Store};
use lightbulb_common::Status;

/// Events buffered for slow SSE clients before they must catch up from the store.
const EVENT_BUFFER: usize = 4096;

pub struct AppState {
    pub config: CollectorConfig,
    /// Cancelled when the collector stops: long-lived streams end on it.
    pub shutdown: CancellationToken,
    pub store: Arc<dyn Store>,
    /// Services and relations, and the one way to change them.
    pub catalog: crate::catalog::Registry,
    /// The catalog file, when one is configured.
    pub catalog_file: Option<crate::catalog::file::CatalogFile>,
    /// Sign-in, sessions and API tokens.
    pub auth: crate::auth::Auth,
    /// Alert rules, channels and the notification outbox.
    pub alerting: Arc<crate::alerting::Alerting>,
    /// Web Push to subscribed browsers.
    pub push: Arc<crate::push::Push>,
    /// AI failure analysis; `None` when `[insights.ai]` is not configured.
    pub analyst: Option<Arc<crate::insights::ai::Analyst>>,
    /// Unusual hours: the scanner and the recent ones alert rules read.
    pub anomalies: Arc<crate::insights::anomaly::scan::Anomalies>,
    pub metrics: Metrics,
    /// Recent results of services with metric thresholds or metric rules.
    pub windows: crate::thresholds::Windows,
    pub events: broadcast::Sender<StatusEvent>,
    /// Ids of services deleted from the catalog, for live clients to drop.
    pub removals: broadcast::Sender<String>,
    last_event_id: AtomicI64,
    /// Start time; makes ETags of different runs differ.
    started_ms: i64,
    /// Lock order: `snapshot` before the catalog (`admin.read`), and
    /// neither taken again while held. The locks prefer writers, so a
    /// second read of a lock a writer waits for never returns.
    snapshot: RwLock<Snapshot>,
    agents: Mutex<HashMap<String, LiveAgent>>,
    /// Woken whenever a service's latest status moves.
    pub statuses_changed: tokio::sync::Notify,
}

#[derive(Default)]
struct Snapshot {
    services: BTreeMap<String, LatestStatus>,
    /// Deleted services and when: results no newer than that are history only.
    removed: HashMap<String, i64>,
    /// Bumped on every change (and when what `/api/status` shows of the
    /// agents changes); part of the ETag.
    version: u64,
}

impl AppState {
    /// Builds the state, rebuilding the snapshot and agent list from the store.
    pub async fn new(
        config: CollectorConfig,
        store: Arc<dyn Store>,
        shutdown: CancellationToken,
    ) -> Result<Arc<AppState>> {
        let services = store
            .latest()
            .await?
            .into_iter()
            .map(|s| (s.service_id.clone(), s))
            .collect();
        let agents = store
            .agents()
            .await?
            .into_iter()
            .map(|record| (record.agent_id.clone(), LiveAgent::new(record)))
            .collect();
        let targets = crate::catalog::targets::Targets::new(config.checks.deny_networks.clone())
            .map_err(|e| crate::Error::bad_field("checks.deny_networks", e))?;
        let catalog = crate::catalog::Registry::load(store.clone())
            .await?
            .with_targets(targets);
        let auth = crate::auth::Auth::new(&config, store.clone()).await?;
        let alerting = Arc::new(crate::alerting::Alerting::load(store.clone()).await?);
        let push = Arc::new(
            crate::push::Push::open(store.clone(), config.alerting.push_contact.clone()).await?,
        );
        alerting.outbox.set_push(push.clone());
        let analyst = crate::insights::ai::Analyst::new(config.insights.ai.as_ref())?;
        let anomalies = Arc::new(crate::insights::anomaly::scan::Anomalies::new(
            &config.insights.anomalies,
        ));
        let catalog_file = config.catalog.file.clone().map(|path| {
            crate::catalog::file::CatalogFile::new(path, config.catalog.environment.clone())
        });
        let state = Arc::new(AppState {
            config,
            shutdown,
            store: store.clone(),
            catalog,
            catalog_file,
            auth,
            alerting,
            push,
            analyst,
            anomalies,
            metrics: Metrics::default(),
            windows: Default::default(),
            events: broadcast::channel(EVENT_BUFFER).0,
            removals: broadcast::channel(EVENT_BUFFER).0,
            last_event_id: AtomicI64::new(store.last_event_id().await?),
            started_ms: lightbulb_common::time::now_ms(),
            snapshot: RwLock::new(Snapshot {
                services,
                removed: HashMap::new(),
                version: 0,
            }),
            agents: Mutex::new(agents),
            statuses_changed: tokio::sync::Notify::new(),
        });
        Ok(state)
    }

    /// Applies a committed insert: snapshot, events, counters.
    pub fn apply(&self, mut inserted: Inserted) {
        self.metrics
            .ingested(inserted.inserted, inserted.duplicates);
        if !inserted.latest.is_empty() {
            let mut snap = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
            for s in inserted.latest {
                // A result from before the service was deleted (one still
                // in flight then) does not bring it back.
                if snap
                    .removed
                    .get(&s.service_id)
                    .is_some_and(|at| s.last_check_ms <= *at)
                {
                    continue;
                }
                match snap.services.get(&s.service_id) {
                    Some(old)
                        if !crate::store::newer(
                            (s.last_check_ms, s.seq),
                            (old.last_check_ms, old.seq),
                        ) => {}
                    _ => {
                        snap.services.insert(s.service_id.clone(), s);
                    }
                }
            }
            snap.version += 1;
            let live = &snap.services;
            let gone = &snap.removed;
            inserted
                .events
                .retain(|e| live.contains_key(&e.service_id) || !gone.contains_key(&e.service_id));
            drop(snap);
            self.statuses_changed.notify_waiters();
        }
        for e in inserted.events {
            self.last_event_id.fetch_max(e.id, Ordering::AcqRel);
            // No receivers is fine: nobody is listening.
            let _ = self.events.send(e);
        }
    }

    /// Marks the statuses changed although none moved: what `/api/status`
    /// shows depends on the agents and their cadences too.
    pub fn invalidate_body(&self) {
        let mut snap = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        snap.version += 1;
    }

    /// Takes a deleted service out of every live view as of `at_ms`, and
    /// tells live clients to drop it. Its stored results stay.
    pub fn remove_service(&self, service_id: &str, at_ms: i64) {
        let mut snap = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        let was_live = snap
            .services
            .get(service_id)
            .is_some_and(|s| s.last_check_ms <= at_ms);
        if was_live {
            snap.services.remove(service_id);
        }
        let at = snap.removed.entry(service_id.to_string()).or_insert(at_ms);
        *at = (*at).max(at_ms);
        snap.version += 1;
        drop(snap);
        let _ = self.removals.send(service_id.to_string());
        self.statuses_changed.notify_waiters();
    }

    /// Runs `f` on the latest statuses, by id, and their version. The
    /// snapshot lock is held meanwhile: `f` may read the catalog
    /// (`admin.read`), never the other way round.
    pub fn with_statuses<T>(&self, f: impl FnOnce(&BTreeMap<String, LatestStatus>, u64) -> T) -> T {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        f(&snap.services, snap.version)
    }

    /// When this collector started; makes ETags of different runs differ.
    pub fn started_ms(&self) -> i64 {
        self.started_ms
    }

    /// Id of the newest status event.
    pub fn last_event_id(&self) -> i64 {
        self.last_event_id.load(Ordering::Acquire)
    }

    /// Every service's latest status, by id (the stored ones; see `served`).
    pub fn statuses(&self) -> BTreeMap<String, LatestStatus> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .services
            .clone()
    }

    /// Every service's status, by id.
    pub fn status_by_id(&self) -> HashMap<String, Status> {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snap.services
            .iter()
            .map(|(id, s)| (id.clone(), s.status))
            .collect()
    }

    /// A service's status; UNKNOWN before its first result.
    pub fn status(&self, id: &str) -> Status {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snap.services.get(id).map_or(Status::Unknown, |s| s.status)
    }

    pub fn service_count(&self) -> usize {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .services
            .len()
    }
}

/// Applies what other collectors sharing the store wrote: like our own
/// results, but not counted.
pub async fn follow_store(
    state: std::sync::Weak<AppState>,
    mut updates: tokio::sync::mpsc::Receiver<Inserted>,
) {
    while let Some(update) = updates.recv().await {
        let Some(state) = state.upgrade() else { return };
        state.apply(update);
    }
}

/// Reloads the catalog when another collector sharing the store changed it.
pub async fn follow_catalog(state: std::sync::Weak<AppState>) {
    let mut last = None;
    loop {
        let Some(s) = state.upgrade() else { return };
        let interval = s.config.store.poll_interval;
        match s.store.catalog_stamp().await {
            Ok(stamp) if stamp != last => match s.catalog.reload_from(s.store.as_ref()).await {
                Ok(()) => last = stamp,
                Err(e) => tracing::debug!(error = %e, "cannot read the catalog"),
            },
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "cannot read the catalog stamp"),
        }
        let shutdown = s.shutdown.clone();
        drop(s);
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
