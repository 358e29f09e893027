//! Counters exported at `/metrics` in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lightbulb_common::metrics::Histogram;

/// Upper bounds (seconds) of the ingest latency histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
/// Upper bounds (seconds) of the ingest lag histogram buckets.
const LAG: [f64; 9] = [0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 3600.0, 86400.0];
/// Upper bounds (results) of the batch size histogram buckets.
const SIZES: [f64; 7] = [1.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0];

/// Which kind of live status stream a client holds.
#[derive(Clone, Copy)]
pub enum StreamKind {
    Sse,
    WebSocket,
}

/// What `/metrics` reads from elsewhere at scrape time.
pub struct Scrape<'a> {
    pub agents: usize,
    pub services: usize,
    /// Notifications waiting in this collector's outbox.
    pub outbox_queued: usize,
    /// Web Pushes by outcome: delivered, failed, gone.
    pub pushes: [u64; 3],
    /// Each agent's spool, from its last heartbeat.
    pub spools: &'a [(String, SpoolSeries)],
}

/// One agent's spool, from its last heartbeat, as `/metrics` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpoolSeries {
    pub dropped_total: u64,
    pub depth: u64,
    pub bytes: u64,
}

#[derive(Default)]
pub struct Metrics {
    ingested: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    store_errors: AtomicU64,
    latency: Histogram<{ BUCKETS.len() }>,
    lag: Histogram<{ LAG.len() }>,
    sizes: Histogram<{ SIZES.len() }>,
    sse_clients: AtomicU64,
    websocket_clients: AtomicU64,
    websocket_too_slow: AtomicU64,
}

impl Metrics {
    pub fn ingested(&self, inserted: u64, duplicates: u64) {
        self.ingested.fetch_add(inserted, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
    }

    pub fn rejected(&self, n: u64) {
        self.rejected.fetch_add(n, Ordering::Relaxed);
    }

    pub fn store_error(&self) {
        self.store_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A committed batch: the time from receiving it, its results, and the
    /// age of its oldest result (how far behind ingest runs).
    pub fn batch(&self, latency: Duration, results: usize, oldest_age: Duration) {
        self.latency.observe(&BUCKETS, latency.as_secs_f64());
        self.sizes.observe(&SIZES, results as f64);
        self.lag.observe(&LAG, oldest_age.as_secs_f64());
    }

    /// An SSE or WebSocket status stream opened (1) or closed (-1).
    pub(crate) fn stream_client(&self, kind: StreamKind, delta: i64) {
        let gauge = match kind {
            StreamKind::Sse => &self.sse_clients,
            StreamKind::WebSocket => &self.websocket_clients,
        };
        if delta >= 0 {
            gauge.fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            gauge.fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    pub(crate) fn websocket_too_slow(&self) {
        self.websocket_too_slow.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self, scrape: &Scrape<'_>) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            "lightbulb_results_ingested_total",
            "Results stored.",
            load(&self.ingested),
        );
        counter(
            "lightbulb_duplicates_dropped_total",
            "Resent results already stored, dropped.",
            load(&self.duplicates),
        );
        counter(
            "lightbulb_results_rejected_total",
            "Invalid results refused.",
            load(&self.rejected),
        );
        counter(
            "lightbulb_store_errors_total",
            "Store writes that failed (not acknowledged).",
            load(&self.store_errors),
        );
        counter(
            "lightbulb_websocket_too_slow_total",
            "Status WebSockets closed because their client did not keep up.",
            load(&self.websocket_too_slow),
        );
        let mut gauge = |name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            "lightbulb_agents_connected",
            "Agents with an open Report stream.",
            scrape.agents as u64,
        );
        gauge(
            "lightbulb_services",
            "Services with a status.",
            scrape.services as u64,
        );
        gauge(
            "lightbulb_sse_clients",
            "Open status streams (SSE).",
            load(&self.sse_clients),
        );
        gauge(
            "lightbulb_websocket_clients",
            "Open status WebSockets.",
            load(&self.websocket_clients),
        );
        gauge(
            "lightbulb_outbox_queued",
            "Alert notifications waiting to be sent.",
            scrape.outbox_queued as u64,
        );
        type Field = fn(&SpoolSeries) -> u64;
        let per_agent: [(&str, &str, &str, Field); 3] = [
            (
                "lightbulb_agent_spool_dropped_total",
                "counter",
                "Results an agent's full spool dropped, over the spool's life (last heartbeat).",
                |s| s.dropped_total,
            ),
            (
                "lightbulb_agent_spool_depth",
                "gauge",
                "Records waiting in an agent's spool (last heartbeat).",
                |s| s.depth,
            ),
            (
                "lightbulb_agent_spool_bytes",
                "gauge",
                "Bytes an agent's spool holds on disk (last heartbeat).",
                |s| s.bytes,
            ),
        ];
        for (name, kind, help, field) in per_agent {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (agent_id, s) in scrape.spools {
                let _ = writeln!(
                    out,
                    "{name}{{agent_id=\"{}\"}} {}",
                    label_value(agent_id),
                    field(s)
                );
            }
        }
        let name = "lightbulb_pushes_total";
        let _ = writeln!(
            out,
            "# HELP {name} Web Pushes by outcome (gone: the browser unsubscribed).\n# TYPE {name} counter"
        );
        for (outcome, n) in ["delivered", "failed", "gone"].iter().zip(scrape.pushes) {
            let _ = writeln!(out, "{name}{{outcome=\"{outcome}\"}} {n}");
        }
        self.latency.render(
            &mut out,
            &BUCKETS,
            "lightbulb_ingest_latency_seconds",
            "Time from receiving a batch to its commit.",
        );
        self.lag.render(
            &mut out,
            &LAG,
            "lightbulb_ingest_lag_seconds",
            "Age of each committed batch's oldest result: how long after its check a result is stored.",
        );
        self.sizes.render(
            &mut out,
            &SIZES,
            "lightbulb_ingest_batch_results",
            "Results per committed batch.",
        );
        out
    }
}

/// A label value escaped as the text format wants.
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(agents: usize, spools: &[(String, SpoolSeries)]) -> Scrape<'_> {
        Scrape {
            agents,
            services: 7,
            outbox_queued: 4,
            pushes: [1, 2, 3],
            spools,
        }
    }

    #[test]
    fn histogram_is_cumulative_and_counts_everything() {
        let m = Metrics::default();
        m.batch(Duration::from_micros(500), 1, Duration::from_millis(300));
        m.batch(Duration::from_millis(20), 200, Duration::from_secs(2));
        m.batch(Duration::from_secs(3), 6000, Duration::from_secs(7200));
        m.ingested(5, 2);
        let text = m.render(&scrape(1, &[]));
        assert!(
            text.contains("lightbulb_ingest_latency_seconds_bucket{le=\"0.001\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("lightbulb_ingest_latency_seconds_bucket{le=\"0.025\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("lightbulb_ingest_latency_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("lightbulb_results_ingested_total 5\n"));
        assert!(text.contains("lightbulb_duplicates_dropped_total 2\n"));
        assert!(text.contains("lightbulb_agents_connected 1\n"));
        assert!(
            text.contains("lightbulb_ingest_lag_seconds_bucket{le=\"0.5\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("lightbulb_ingest_lag_seconds_bucket{le=\"3600\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("lightbulb_ingest_batch_results_bucket{le=\"500\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("lightbulb_ingest_batch_results_sum 6201\n"),
            "{text}"
        );
        assert!(
            text.contains("lightbulb_ingest_batch_results_count 3\n"),
            "{text}"
        );
        assert!(text.contains("lightbulb_outbox_queued 4\n"), "{text}");
        assert!(
            text.contains("lightbulb_pushes_total{outcome=\"gone\"} 3\n"),
            "{text}"
        );
    }

    #[test]
    fn each_agents_spool_is_a_labelled_series() {
        let spool = SpoolSeries {
            depth: 3,
            bytes: 4096,
            dropped_total: 72_668,
        };
        let spools = [("d1".to_string(), spool), ("a\"b".to_string(), spool)];
        let text = Metrics::default().render(&scrape(0, &spools));
        assert!(
            text.contains("lightbulb_agent_spool_dropped_total{agent_id=\"d1\"} 72668\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE lightbulb_agent_spool_dropped_total counter\n"));
        assert!(text.contains("lightbulb_agent_spool_depth{agent_id=\"d1\"} 3\n"));
        assert!(
            text.contains("lightbulb_agent_spool_bytes{agent_id=\"a\\\"b\"} 4096\n"),
            "{text}"
        );
    }
}
