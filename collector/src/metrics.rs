//! Counters exported at `/metrics` in the Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the ingest latency histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

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
    batches: AtomicU64,
    store_errors: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_sum_us: AtomicU64,
    sse_clients: AtomicU64,
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

    /// Time from receiving a batch to its commit.
    pub fn batch_latency(&self, d: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn sse_client(&self, delta: i64) {
        if delta >= 0 {
            self.sse_clients.fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            self.sse_clients
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// The exposition text; `agents`, `services` and the agents' spools
    /// (from their last heartbeats) are read at scrape time.
    pub fn render(
        &self,
        agents: usize,
        services: usize,
        spools: &[(String, SpoolSeries)],
    ) -> String {
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
        let mut gauge = |name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            "lightbulb_agents_connected",
            "Agents with an open Report stream.",
            agents as u64,
        );
        gauge(
            "lightbulb_services",
            "Services with a status.",
            services as u64,
        );
        gauge(
            "lightbulb_sse_clients",
            "Open status streams.",
            load(&self.sse_clients),
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
            for (agent_id, s) in spools {
                let _ = writeln!(
                    out,
                    "{name}{{agent_id=\"{}\"}} {}",
                    label_value(agent_id),
                    field(s)
                );
            }
        }
        let name = "lightbulb_ingest_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from receiving a batch to its commit.\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.latency_buckets) {
            cumulative += load(count);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let batches = load(&self.batches);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {batches}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            load(&self.latency_sum_us) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {batches}");
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

    #[test]
    fn histogram_is_cumulative_and_counts_everything() {
        let m = Metrics::default();
        m.batch_latency(Duration::from_micros(500));
        m.batch_latency(Duration::from_millis(20));
        m.batch_latency(Duration::from_secs(3));
        m.ingested(5, 2);
        let text = m.render(1, 7, &[]);
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
    }

    #[test]
    fn each_agents_spool_is_a_labelled_series() {
        let spool = SpoolSeries {
            depth: 3,
            bytes: 4096,
            dropped_total: 72_668,
        };
        let text = Metrics::default().render(0, 0, &[("d1".into(), spool), ("a\"b".into(), spool)]);
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
