//! Shared collector state: the in-memory latest-status snapshot (with its
//! serialized form cached for `/api/status`), the status-event broadcast,
//! live agent connections (`state/agents.rs`) and counters.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::config::CollectorConfig;
use crate::metrics::Metrics;
mod agents;

use self::agents::LiveAgent;
pub use self::agents::{AgentView, ConnectionGuard, LateCheck, SpoolStats, SpoolView};
use crate::store::{Inserted, LatestStatus, StatusEvent, Store};

/// Events buffered for slow SSE clients before they must catch up from the store.
const EVENT_BUFFER: usize = 4096;

pub struct AppState {
    pub config: CollectorConfig,
    /// Cancelled when the collector stops: long-lived streams end on it.
    pub shutdown: CancellationToken,
    pub store: Arc<dyn Store>,
    /// Services and relations, and the one way to change them.
    pub admin: crate::admin::Admin,
    /// The catalog file, when one is configured.
    pub catalog_file: Option<crate::admin::file::CatalogFile>,
    pub metrics: Metrics,
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
    /// Bumped on every change; part of the ETag.
    version: u64,
    /// The catalog version `body` was built with (`caused_by` depends on it).
    catalog_version: u64,
    body: Option<Arc<StatusBody>>,
}

/// `/api/status` for one snapshot version, serialized once and gzipped at
/// most once, so concurrent readers share the work.
pub struct StatusBody {
    pub etag: String,
    pub json: Bytes,
    gzip: std::sync::OnceLock<Bytes>,
}

impl StatusBody {
    pub fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                use std::io::Write;
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.json.len() / 8),
                    flate2::Compression::fast(),
                );
                let _ = enc.write_all(&self.json);
                Bytes::from(enc.finish().unwrap_or_default())
            })
            .clone()
    }
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
        let admin = crate::admin::Admin::load(store.clone()).await?;
        let catalog_file = config
            .catalog
            .file
            .clone()
            .map(crate::admin::file::CatalogFile::new);
        let watch = store.watch();
        let state = Arc::new(AppState {
            config,
            shutdown,
            store: store.clone(),
            admin,
            catalog_file,
            metrics: Metrics::default(),
            events: broadcast::channel(EVENT_BUFFER).0,
            removals: broadcast::channel(EVENT_BUFFER).0,
            last_event_id: AtomicI64::new(store.last_event_id().await?),
            started_ms: lightbulb_common::time::now_ms(),
            snapshot: RwLock::new(Snapshot {
                services,
                removed: HashMap::new(),
                version: 0,
                catalog_version: 0,
                body: None,
            }),
            agents: Mutex::new(agents),
            statuses_changed: tokio::sync::Notify::new(),
        });
        tokio::spawn(crate::applications::run(state.clone()));
        if state.store.catalog_stamp().await?.is_some() {
            tokio::spawn(follow_catalog(Arc::downgrade(&state)));
        }
        if let Some(mut updates) = watch {
            // Other collectors' results: applied like our own, but not counted.
            let weak = Arc::downgrade(&state);
            tokio::spawn(async move {
                while let Some(update) = updates.recv().await {
                    let Some(state) = weak.upgrade() else { return };
                    state.apply(update);
                }
            });
        }
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
            snap.body = None;
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

    /// Makes `/api/status` be built again (what it shows depends on more
    /// than the statuses: agents, their cadences).
    pub fn invalidate_body(&self) {
        let mut snap = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        snap.version += 1;
        snap.body = None;
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
        snap.body = None;
        drop(snap);
        let _ = self.removals.send(service_id.to_string());
        self.statuses_changed.notify_waiters();
    }

    /// `/api/status` body, serialized at most once per change of the
    /// statuses or the catalog.
    pub fn status_body(&self) -> Arc<StatusBody> {
        let catalog = self.admin.version();
        let fresh = |snap: &Snapshot| {
            snap.body
                .as_ref()
                .filter(|_| snap.catalog_version == catalog)
                .cloned()
        };
        if let Some(body) = fresh(&self.snapshot.read().unwrap_or_else(|e| e.into_inner())) {
            return body;
        }
        let mut snap = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        if let Some(body) = fresh(&snap) {
            return body;
        }
        let list = self.admin.read(|c| {
            let edges = crate::admin::graph::dependencies(c);
            let mut list: Vec<LatestStatus> = snap
                .services
                .values()
                .map(|s| self.served(&edges, &snap.services, s, c))
                .collect();
            let waiting = c.services.values().filter(|d| {
                crate::fleet::is_checked(d) && !snap.services.contains_key(&d.service_id)
            });
            list.extend(waiting.map(|d| self.not_yet_checked(d)));
            list.sort_by(|a, b| a.service_id.cmp(&b.service_id));
            list
        });
        let json = Bytes::from(serde_json::to_vec(&list).unwrap_or_else(|_| b"[]".to_vec()));
        let body = Arc::new(StatusBody {
            etag: format!("\"{}-{}-{catalog}\"", self.started_ms, snap.version),
            json,
            gzip: std::sync::OnceLock::new(),
        });
        snap.body = Some(body.clone());
        snap.catalog_version = catalog;
        body
    }

    /// Id of the newest status event.
    pub fn last_event_id(&self) -> i64 {
        self.last_event_id.load(Ordering::Acquire)
    }

    /// One service's latest status, with `caused_by`; UNKNOWN for a
    /// catalog service without results yet.
    pub fn service(&self, id: &str) -> Option<LatestStatus> {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        self.admin.read(|c| match snap.services.get(id) {
            Some(s) => {
                Some(self.served(&crate::admin::graph::dependencies(c), &snap.services, s, c))
            }
            None => c
                .services
                .get(id)
                .filter(|d| crate::fleet::is_checked(d))
                .map(|d| self.not_yet_checked(d)),
        })
    }

    /// The status of a catalog service no result has arrived for: UNKNOWN,
    /// saying whether any agent runs it.
    fn not_yet_checked(&self, def: &crate::store::catalog::ServiceDef) -> LatestStatus {
        let runners = self.runners(&def.service_id);
        let message = if runners.is_empty() {
            format!(
                "no connected agent runs this check: no agent's labels include {}",
                serde_json::to_string(&def.labels).unwrap_or_default()
            )
        } else {
            format!("waiting for the first result from {}", runners.join(", "))
        };
        LatestStatus {
            service_id: def.service_id.clone(),
            service_type: def.service_type.clone(),
            status_code: lightbulb_common::Status::Unknown.code(),
            status: lightbulb_common::Status::Unknown.name(),
            message,
            last_check: String::new(),
            last_check_ms: 0,
            seq: 0,
            response_time_ms: None,
            cpu_usage: None,
            memory_usage: None,
            agent_id: String::new(),
            caused_by: Vec::new(),
            label: def.label.clone(),
            labels: def.labels.clone(),
            silent: false,
            stale_at: None,
        }
    }

    /// A stored status as served: STOPPED while its catalog entry is
    /// disabled, with `caused_by`, the catalog's labels, and when it goes
    /// stale.
    fn served(
        &self,
        edges: &HashMap<&str, Vec<&str>>,
        all: &BTreeMap<String, LatestStatus>,
        s: &LatestStatus,
        catalog: &crate::store::catalog::Catalog,
    ) -> LatestStatus {
        let mut out = s.clone();
        let def = catalog.services.get(&s.service_id);
        crate::staleness::stop_if_disabled(&mut out, def);
        out.stale_at = crate::staleness::grace_ms(self, catalog, s)
            .map(|g| lightbulb_common::time::format_iso(s.last_check_ms + g as i64));
        out.silent = crate::staleness::is_silence(s);
        out.caused_by = crate::admin::derive::caused_by(edges, all, s);
        if let Some(def) = def {
            out.label = def.label.clone();
            out.labels = def.labels.clone();
        }
        out
    }

    /// Every service's latest status, by id (the stored ones; see `served`).
    pub fn statuses(&self) -> BTreeMap<String, LatestStatus> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .services
            .clone()
    }

    /// Every service's latest status as it counts: STOPPED while its
    /// catalog entry is disabled. What roll-ups and the map judge by.
    pub fn effective_statuses(&self) -> BTreeMap<String, LatestStatus> {
        let mut all = self.statuses();
        self.admin.read(|c| {
            for (id, s) in all.iter_mut() {
                crate::staleness::stop_if_disabled(s, c.services.get(id));
            }
        });
        all
    }

    /// Every service's status name, by id.
    pub fn status_names(&self) -> HashMap<String, &'static str> {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snap.services
            .iter()
            .map(|(id, s)| (id.clone(), s.status))
            .collect()
    }

    /// A service's status name; UNKNOWN before its first result.
    pub fn status_name(&self, id: &str) -> &'static str {
        let snap = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        snap.services.get(id).map_or("UNKNOWN", |s| s.status)
    }

    pub fn service_count(&self) -> usize {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .services
            .len()
    }
}

/// Reloads the catalog when another collector sharing the store changed it.
async fn follow_catalog(state: std::sync::Weak<AppState>) {
    let mut last = None;
    loop {
        let Some(s) = state.upgrade() else { return };
        let interval = s.config.store.poll_interval;
        match s.store.catalog_stamp().await {
            Ok(stamp) if stamp != last => match s.store.catalog().await {
                Ok(catalog) => {
                    s.admin.reload(catalog).await;
                    last = stamp;
                }
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
