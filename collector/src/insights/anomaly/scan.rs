//! Anomalies found as results arrive: every `interval`, the collector
//! leading alert evaluation judges the hours of every service not yet
//! final (the current one and the one just ended) against their
//! baselines, and stores what is unusual (`stored.rs`), clearing an hour
//! that stopped being so. Incremental: a round reads one or two hourly
//! buckets per service; an hour's baseline (the same hour of the weeks
//! before) is read once, when the hour begins (again every `RETRY_ROUNDS`
//! while it lacks values). A service first seen reads
//! its whole baseline window once and judges the last `BACKFILL` too.
//! Every collector keeps the recent stored ones for alert rules.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use tracing::{error, info};

use super::stored::{AnomalyQuery, StoredAnomaly};
use super::{Anomaly, Baseline, HOUR_MS, Metric, Settings, WEEK_HOURS, baseline_hours};
use crate::Result;
use crate::state::AppState;
use crate::stats::Stats;
use crate::store::Store;
use crate::store::rollup::RangeQuery;

/// Hours judged when a service is first seen.
const BACKFILL_MS: i64 = 24 * HOUR_MS;
/// Rounds before a baseline that lacked values is read again (history an
/// agent sends late, or a service with too little of it yet).
const RETRY_ROUNDS: u32 = 10;
fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// The scanner and the recent anomalies every collector reads.
pub struct Anomalies {
    pub settings: Settings,
    interval: std::time::Duration,
    /// By service.
    recent: RwLock<HashMap<String, Vec<Anomaly>>>,
}

impl Anomalies {
    pub fn new(c: &crate::config::AnomalyConfig) -> Anomalies {
        Anomalies {
            settings: Settings {
                weeks: i64::from(c.weeks),
                threshold: c.threshold,
                ..Settings::default()
            },
            interval: c.interval,
            recent: RwLock::default(),
        }
    }

    /// Stored anomalies of the current and the previous hour by service,
    /// as last read.
    pub fn recent(&self) -> HashMap<String, Vec<Anomaly>> {
        self.recent.read().expect("anomalies lock").clone()
    }

    pub async fn run(self: Arc<Self>, state: Arc<AppState>) {
        let mut scan: Option<Scan> = None;
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.interval) => {}
            }
            let now = lightbulb_common::time::now_ms();
            if state.alerting.outbox.leading() {
                let s = scan.get_or_insert_with(|| {
                    info!("scanning for anomalies");
                    Scan::default()
                });
                let mut ids: HashSet<String> = state.statuses().into_keys().collect();
                state
                    .catalog
                    .read(|c| ids.extend(c.services.keys().cloned()));
                if let Err(e) = s
                    .round(state.store.as_ref(), ids, &self.settings, now)
                    .await
                {
                    error!(error = %e, "anomaly scan failed; trying again next round");
                }
            } else {
                scan = None;
            }
            let query = AnomalyQuery {
                from_ms: hour_of(now) - HOUR_MS,
                to_ms: now + HOUR_MS,
                service_id: None,
                limit: 100_000,
            };
            match state.store.anomalies(query).await {
                Ok(found) => {
                    let mut by: HashMap<String, Vec<Anomaly>> = HashMap::new();
                    for f in found {
                        by.entry(f.service_id).or_default().push(f.anomaly);
                    }
                    *self.recent.write().expect("anomalies lock") = by;
                }
                Err(e) => error!(error = %e, "cannot read recent anomalies"),
            }
        }
    }
}

/// One service's hours not yet final, and their baselines.
struct Tracked {
    /// The first hour not final.
    next_ms: i64,
    /// By hour start: both metrics' baselines, and rounds since they were read.
    baselines: HashMap<i64, ([Option<Baseline>; 2], u32)>,
}

/// The leader's state between rounds.
#[derive(Default)]
pub struct Scan {
    tracked: HashMap<String, Tracked>,
    /// Stored as unusual and not final: (service, metric, hour).
    flagged: Option<HashSet<(String, Metric, i64)>>,
}

impl Scan {
    /// Judges the hours not yet final of the services `ids` (those left
    /// out are forgotten) and stores what changed.
    pub async fn round(
        &mut self,
        store: &dyn Store,
        ids: HashSet<String>,
        s: &Settings,
        now: i64,
    ) -> Result<()> {
        let now_hour = hour_of(now);
        if self.flagged.is_none() {
            let stored = store
                .anomalies(AnomalyQuery {
                    from_ms: now_hour - BACKFILL_MS,
                    to_ms: now + HOUR_MS,
                    service_id: None,
                    limit: 1_000_000,
                })
                .await?;
            self.flagged = Some(stored.iter().map(StoredAnomaly::key).collect());
        }
        self.tracked.retain(|id, _| ids.contains(id));
        let mut writes = Vec::new();
        for id in ids {
            let judged = match self.tracked.get_mut(&id) {
                Some(t) => t.judge(store, &id, s, now).await?,
                None => {
                    let (t, judged) = Tracked::start(store, &id, s, now).await?;
                    self.tracked.insert(id.clone(), t);
                    judged
                }
            };
            let flagged = self.flagged.as_mut().expect("loaded above");
            for (metric, start_ms, found) in judged {
                let key = (id.clone(), metric, start_ms);
                let (anomaly, cleared) = match found {
                    Some(a) => {
                        flagged.insert(key);
                        (a, false)
                    }
                    None if flagged.remove(&key) => (
                        Anomaly {
                            metric,
                            start_ms,
                            value: 0.0,
                            expected: 0.0,
                            score: 0.0,
                        },
                        true,
                    ),
                    None => continue,
                };
                writes.push(StoredAnomaly {
                    service_id: id.clone(),
                    anomaly,
                    detected_ms: now,
                    cleared,
                });
            }
        }
        if let Some(f) = self.flagged.as_mut() {
            f.retain(|k| k.2 >= now_hour - HOUR_MS);
        }
        store.put_anomalies(writes).await
    }
}

type Judged = Vec<(Metric, i64, Option<Anomaly>)>;

impl Tracked {
    /// Reads a service's baseline window and last `BACKFILL_MS` at once.
    async fn start(
        store: &dyn Store,
        id: &str,
        s: &Settings,
        now: i64,
    ) -> Result<(Tracked, Judged)> {
        let now_hour = hour_of(now);
        let first = now_hour - BACKFILL_MS;
        let buckets = store
            .buckets(
                range(id, first - s.weeks * WEEK_HOURS * HOUR_MS, now + 1),
                HOUR_MS,
            )
            .await?
            .buckets;
        let by_hour: HashMap<i64, &Stats> = buckets
            .iter()
            .map(|b| (b.start_ms.div_euclid(HOUR_MS), &b.stats))
            .collect();
        let baseline = |hour_ms: i64| {
            Metric::ALL.map(|m| {
                let values = baseline_hours(hour_ms / HOUR_MS, s)
                    .filter_map(|h| by_hour.get(&h).and_then(|st| m.of(st)));
                Baseline::of(m, values.collect(), s)
            })
        };
        let mut judged = Vec::new();
        for b in buckets.iter().filter(|b| b.start_ms >= first) {
            judge_bucket(b.start_ms, &b.stats, &baseline(b.start_ms), s, &mut judged);
        }
        let tracked = Tracked {
            next_ms: now_hour,
            baselines: HashMap::from([(now_hour, (baseline(now_hour), 0))]),
        };
        Ok((tracked, judged))
    }

    /// Judges the hours from `next_ms` on, reading what they need.
    async fn judge(
        &mut self,
        store: &dyn Store,
        id: &str,
        s: &Settings,
        now: i64,
    ) -> Result<Judged> {
        let buckets = store
            .buckets(range(id, self.next_ms, now + 1), HOUR_MS)
            .await?
            .buckets;
        let mut judged = Vec::new();
        for b in &buckets {
            let base = match self.baselines.get_mut(&b.start_ms) {
                Some((base, rounds))
                    if base.iter().all(Option::is_some) || *rounds < RETRY_ROUNDS =>
                {
                    *rounds += 1;
                    *base
                }
                _ => {
                    let base = baseline_of(store, id, b.start_ms, s).await?;
                    self.baselines.insert(b.start_ms, (base, 0));
                    base
                }
            };
            judge_bucket(b.start_ms, &b.stats, &base, s, &mut judged);
        }
        self.next_ms = hour_of(now);
        self.baselines.retain(|h, _| *h >= self.next_ms);
        Ok(judged)
    }
}

fn range(id: &str, from_ms: i64, to_ms: i64) -> RangeQuery {
    RangeQuery {
        service_id: id.to_string(),
        from_ms,
        to_ms,
    }
}

fn judge_bucket(
    start_ms: i64,
    st: &Stats,
    base: &[Option<Baseline>; 2],
    s: &Settings,
    out: &mut Judged,
) {
    for (m, base) in Metric::ALL.iter().zip(base) {
        if let Some(v) = m.of(st) {
            let found = base.and_then(|b| b.judge(*m, start_ms, v, s));
            out.push((*m, start_ms, found));
        }
    }
}

/// The baseline of the hour starting at `hour_ms`: one read per week back.
async fn baseline_of(
    store: &dyn Store,
    id: &str,
    hour_ms: i64,
    s: &Settings,
) -> Result<[Option<Baseline>; 2]> {
    let mut buckets = Vec::new();
    for k in 1..=s.weeks {
        let at = hour_ms - k * WEEK_HOURS * HOUR_MS;
        let q = range(id, at - s.beside * HOUR_MS, at + (s.beside + 1) * HOUR_MS);
        buckets.extend(store.buckets(q, HOUR_MS).await?.buckets);
    }
    Ok(Metric::ALL.map(|m| {
        Baseline::of(
            m,
            buckets.iter().filter_map(|b| m.of(&b.stats)).collect(),
            s,
        )
    }))
}
