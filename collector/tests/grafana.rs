//! The collector's own metrics as an operator reads them: after a real
//! agent's spool is shipped, `/metrics` accounts for every result (batch
//! sizes add up to what was stored) and the ingest lag; and every series the
//! Grafana dashboard (`packaging/grafana/lightbulb-collector.json`) queries
//! is one the collector exports.

mod support;

use std::collections::BTreeSet;

use support::{InProcess, get_text, http};
use tokio_util::sync::CancellationToken;

/// A sample's value: `name` with no labels, or with `labels` as written.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no `{series}` in {text}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_account_for_every_batch_and_the_dashboard_queries_only_real_series() {
    let server = InProcess::start(&["node-a"]).await;
    let spool = tempfile::tempdir().unwrap();
    let config = server.agent_config("node-a", spool.path());
    lightbulb_agent::bench::run(&config, 3000, 10, "bench", CancellationToken::new())
        .await
        .unwrap()
        .expect("bench finished");
    let text = get_text(&http(), &server.url("/metrics")).await;
    let stored = sample(&text, "lightbulb_results_ingested_total");
    assert_eq!(stored, 3000.0);
    assert_eq!(sample(&text, "lightbulb_ingest_batch_results_sum"), stored);
    let batches = sample(&text, "lightbulb_ingest_batch_results_count");
    assert!(batches >= 1.0);
    assert_eq!(sample(&text, "lightbulb_ingest_lag_seconds_count"), batches);
    assert_eq!(
        sample(&text, "lightbulb_ingest_latency_seconds_count"),
        batches
    );
    assert_eq!(
        sample(&text, "lightbulb_ingest_lag_seconds_bucket{le=\"+Inf\"}"),
        batches
    );
    assert_eq!(sample(&text, "lightbulb_outbox_queued"), 0.0);
    assert_eq!(
        sample(&text, "lightbulb_pushes_total{outcome=\"delivered\"}"),
        0.0
    );

    let exported: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../packaging/grafana/lightbulb-collector.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(dashboard["uid"], "lightbulb-collector");
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    let mut queried = BTreeSet::new();
    for p in panels {
        let title = p["title"].as_str().unwrap();
        for key in ["x", "y", "w", "h"] {
            assert!(p["gridPos"][key].is_u64(), "{title}: gridPos.{key}");
        }
        assert!(
            p["gridPos"]["x"].as_u64().unwrap() + p["gridPos"]["w"].as_u64().unwrap() <= 24,
            "{title}"
        );
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{title}");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}");
        for t in targets {
            let expr = t["expr"].as_str().unwrap();
            assert!(
                expr.contains("$instance"),
                "{title}: `{expr}` follows the collector chosen"
            );
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if let Some(metric) = word.strip_prefix("lightbulb_") {
                    let family = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|s| metric.strip_suffix(s))
                        .filter(|f| exported.contains(format!("lightbulb_{f}").as_str()))
                        .unwrap_or(metric);
                    queried.insert(format!("lightbulb_{family}"));
                }
            }
        }
    }
    let missing: Vec<&String> = queried
        .iter()
        .filter(|m| !exported.contains(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries series the collector does not export: {missing:?}"
    );
    for m in [
        "lightbulb_ingest_lag_seconds",
        "lightbulb_outbox_queued",
        "lightbulb_websocket_clients",
        "lightbulb_agent_spool_depth",
    ] {
        assert!(queried.contains(m), "the dashboard shows {m}");
    }
}
