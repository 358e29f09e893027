//! The ping check (`ping://host`) on real ICMP sockets: a service created
//! through the API shows its RTT and loss in the live status; in a network
//! namespace made here, the unprivileged datagram socket answers from
//! 127.0.0.1 and an address routed into loopback never answers; and an
//! agent with neither the ping group nor CAP_NET_RAW is told what to change.
//! The namespaces need root (as CI runs).

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{InProcess, agent_bin, eventually, get_json, http, send};

/// `lightbulb-agent check api_endpoint CONFIG` run by `sh -c PREFIX "$@"` in a
/// fresh network namespace; its exit status and printed result.
fn check_in_namespace(setup: &str, run_as: &[&str], config: Value) -> (i32, Value) {
    assert!(
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0,
        "these tests make network namespaces and need root"
    );
    let script = format!("ip link set lo up && {setup} exec \"$@\"");
    let out = Command::new("unshare")
        .args(["--net", "sh", "-c", &script, "sh"])
        .args(run_as)
        .arg(agent_bin())
        .args(["check", "api_endpoint", &config.to_string()])
        .output()
        .expect("unshare");
    let printed = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), printed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_service_shows_rtt_and_loss_in_the_live_status() {
    let server = InProcess::start(&["node-a"]).await;
    let client = http();
    let _agent = server.run_agent("node-a");
    eventually(Duration::from_secs(10), "agent connected", || async {
        let (_, agents) = get_json(&client, &server.url("/api/agents")).await;
        (agents[0]["connected"] == true).then_some(())
    })
    .await;
    let (code, body) = send(
        &client,
        reqwest::Method::POST,
        server.url("/api/admin/services"),
        json!({"service_id": "gateway", "label": "Gateway", "service_type": "api_endpoint",
               "labels": {"agent_id": "node-a"},
               "status_config": {"url": "ping://127.0.0.1", "ping_count": 4, "interval": "1s"}}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let status = eventually(Duration::from_secs(15), "gateway checked", || async {
        let (_, s) = get_json(&client, &server.url("/api/status/gateway")).await;
        (s["status"] != "UNKNOWN" && s["status"].is_string()).then_some(s)
    })
    .await;
    assert_eq!(status["status"], "OK", "{status}");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.starts_with("ping 127.0.0.1: 4/4 replies (0% loss), rtt min/avg/max"),
        "{message}"
    );
    let (_, history) = get_json(
        &client,
        &server.url("/api/services/gateway/history?limit=1"),
    )
    .await;
    let point = &history["points"][0];
    let metrics = &point["metrics"];
    assert_eq!(metrics["packet_loss"], 0.0, "{point}");
    let rtt = |k: &str| metrics[k].as_f64().unwrap();
    assert!(rtt("rtt_min_ms") > 0.0 && rtt("rtt_min_ms") <= rtt("rtt_avg_ms"));
    assert!(rtt("rtt_avg_ms") <= rtt("rtt_max_ms"));
    assert_eq!(point["response_time_ms"].as_f64(), Some(rtt("rtt_avg_ms")));
    assert_eq!(point["details"]["received"], 4);

    // An invalid ping definition is refused at its field.
    let (code, body) = send(
        &client,
        reqwest::Method::POST,
        server.url("/api/admin/services"),
        json!({"service_id": "bad-ping", "label": "b", "service_type": "api_endpoint",
               "status_config": {"url": "ping://10.0.0.1", "ping_count": 50}}),
    )
    .await;
    assert_eq!(code, 422, "{body}");
    assert!(body.to_string().contains("ping_count"), "{body}");
}

#[test]
fn the_datagram_socket_pings_loopback_and_an_unanswered_address_is_failed() {
    let allow = "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range && \
                 ip route add 10.9.9.0/24 dev lo &&";
    let (code, ok) = check_in_namespace(allow, &[], json!({"url": "ping://127.0.0.1"}));
    assert_eq!((code, &ok["status"]), (0, &json!("OK")), "{ok}");
    assert_eq!(ok["details"]["socket"], "datagram", "{ok}");
    assert_eq!(ok["details"]["received"], 3);

    // Routed into loopback but no address of the namespace: never answered.
    let (code, lost) = check_in_namespace(
        allow,
        &[],
        json!({"url": "ping://10.9.9.9", "ping_count": 2}),
    );
    assert_eq!((code, &lost["status"]), (2, &json!("FAILED")), "{lost}");
    assert_eq!(
        lost["message"],
        "ping 10.9.9.9: no reply to 2 echo requests"
    );
    assert_eq!(lost["metrics"]["extra"]["packet_loss"], 100.0);
}

#[test]
fn without_the_ping_group_or_cap_net_raw_the_check_says_what_to_change() {
    // A new namespace starts with ping_group_range `1 0` (no group), and
    // the unprivileged user holds no CAP_NET_RAW.
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let (code, denied) = check_in_namespace("", &nobody, json!({"url": "ping://127.0.0.1"}));
    assert_eq!((code, &denied["status"]), (2, &json!("FAILED")), "{denied}");
    let message = denied["message"].as_str().unwrap();
    for part in [
        "cannot open an ICMP socket",
        "net.ipv4.ping_group_range is `1 0`",
        "group 65534",
        "CAP_NET_RAW",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
}
