//! An agent's spool as a capacity gauge, through a real agent's heartbeats:
//! one sample per `agents.spool_sample_every` is kept, and `/api/capacity`
//! forecasts the spool against the budget the agent reports
//! (`spool.max_bytes`); a steady spool is watched and not at risk. (Growing
//! gauges and the forecast's accuracy are in `conformance_insights.rs`.)

mod support;

use std::time::Duration;

use support::{InProcess, eventually, get_json, http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_spool_is_sampled_and_forecast_against_its_budget() {
    let server = InProcess::start_with(&["a1"], |c| {
        c.agents.heartbeat = Duration::from_millis(200);
        c.agents.spool_sample_every = Duration::from_secs(1);
    })
    .await;
    let _agent = server.run_agent("a1");
    let budget = lightbulb_agent::config::AgentConfig::default()
        .spool
        .max_bytes;
    let client = http();
    let gauge = eventually(Duration::from_secs(30), "four spool samples", || async {
        let (_, body) = get_json(&client, &server.url("/api/capacity")).await;
        body["gauges"]
            .as_array()?
            .iter()
            .find(|g| g["agent_id"] == "a1" && g["samples"].as_u64() >= Some(4))
            .cloned()
    })
    .await;
    assert_eq!(gauge["gauge"], "spool", "{gauge}");
    assert_eq!(gauge["service_id"], serde_json::Value::Null, "{gauge}");
    assert_eq!(gauge["unit"], "bytes");
    assert_eq!(gauge["limit"].as_f64(), Some(budget as f64), "{gauge}");
    assert_eq!(gauge["at_risk"], false, "a steady spool: {gauge}");
    assert!(gauge["reaches_at"].is_null(), "{gauge}");
}
