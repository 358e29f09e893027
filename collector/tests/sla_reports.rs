//! SLA reports through the API, of services a real agent checks: one up,
//! one down (its own objective set in `metric_config`), then the down one
//! in a maintenance window, and an application depending on it. JSON says who met the objective; the CSV is a
//! download with a line per service; the PDF opens: poppler's `pdftotext`
//! reads the report's text from it and `pdftoppm` renders a first page that
//! is not blank. (The numbers against hand-computed histories are in
//! `conformance_insights.rs` and the unit tests of `insights::sla`.)

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::{InProcess, eventually, get_json, http, send};

async fn results(server: &InProcess, id: &str) -> u64 {
    let url = server.url(&format!("/api/services/{id}/history?limit=1"));
    get_json(&http(), &url).await.1["total"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_say_who_met_the_objective_as_json_csv_and_pdf() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap();
    let closed = support::free_port();
    let server = InProcess::start(&["a1"]).await;
    let client = http();
    let post =
        |path: &str, body: Value| send(&client, reqwest::Method::POST, server.url(path), body);
    let start = lightbulb_common::time::now_ms() - 60_000;
    for (id, port, metric) in [
        ("up", open.port(), json!({"objective": 99.99})),
        ("down", closed, Value::Null),
    ] {
        let (code, body) = post(
            "/api/admin/services",
            json!({"service_id": id, "label": id.to_uppercase(), "service_type": "api_endpoint", "labels": {"agent_id": "a1"},
                   "metric_config": metric,
                   "status_config": {"url": format!("tcp://127.0.0.1:{port}"), "interval": "300ms"}}),
        )
        .await;
        assert_eq!(code, 201, "{body}");
    }
    let _agent = server.run_agent("a1");
    eventually(Duration::from_secs(20), "five results of each", || async {
        (results(&server, "up").await >= 5 && results(&server, "down").await >= 5).then_some(())
    })
    .await;
    let to = lightbulb_common::time::now_ms();
    let period = format!("from={start}&to={to}");

    let (code, r) = get_json(
        &client,
        &server.url(&format!("/api/reports/sla?{period}&objective=99")),
    )
    .await;
    assert_eq!(code, 200, "{r}");
    let row = |id: &str| {
        r["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service_id"] == id)
            .unwrap()
            .clone()
    };
    let (up, down) = (row("up"), row("down"));
    assert_eq!(up["uptime_pct"], 100.0);
    assert_eq!(up["objective_pct"], 99.99, "the service's own objective");
    assert_eq!(up["met"], true);
    assert_eq!(up["label"], "UP");
    assert_eq!(down["uptime_pct"], 0.0);
    assert_eq!(down["objective_pct"], 99.0);
    assert_eq!(down["met"], false);
    assert_eq!(down["up"], 0);
    assert!(down["down"].as_u64().unwrap() >= 5);
    assert_eq!(r["summary"]["met"], 1);
    assert_eq!(r["summary"]["missed"], 1);
    assert_eq!(r["summary"]["worst"][0], "down");
    assert_eq!(r["services"][0]["service_id"], "down", "worst first");
    assert_eq!(r["method"]["degraded"], "up");
    assert!(
        r["method"]["statement"]
            .as_str()
            .unwrap()
            .contains("DEGRADED up"),
        "{r}"
    );

    // CSV: a download, the header, a line per service.
    let response = client
        .get(server.url(&format!("/api/reports/sla?{period}&format=csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"lightbulb-sla-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("service_id,label,service_type,objective_pct,uptime_pct,up,down"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("up,UP,api_endpoint,99.99,100,")),
        "{text}"
    );

    // PDF: it opens, its text is the report's, its first page is not blank.
    let response = client
        .get(server.url(&format!("/api/reports/sla?{period}&format=pdf")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&pdf, response.bytes().await.unwrap()).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("lightbulb SLA report"), "{text}");
    assert!(
        text.contains("1 met their objective, 1 missed it"),
        "{text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    let down_line = lines
        .iter()
        .find(|l| l.trim_start().starts_with("down "))
        .expect("a line for down");
    assert!(
        down_line.contains("0.000") && down_line.trim_end().ends_with("NO"),
        "{down_line}"
    );
    let page = dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-r", "72", "-gray", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(&page)
        .status()
        .unwrap();
    assert!(status.success());
    let image = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pgm"))
        .expect("a rendered page");
    let dark = dark_pixels(&std::fs::read(image).unwrap());
    assert!(dark > 1000, "the first page is blank ({dark} dark pixels)");

    // The down service's time in a maintenance window: left out, or counted.
    let (code, body) = post(
        "/api/alerts/silences",
        json!({"matchers": {"services": ["down"]}, "maintenance": true, "comment": "upgrade",
               "starts": lightbulb_common::time::format_iso(start - 120_000), "duration": "2h"}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (_, r) = get_json(
        &client,
        &server.url(&format!("/api/reports/sla?{period}&service_id=down")),
    )
    .await;
    let down = &r["services"][0];
    assert_eq!(r["services"].as_array().unwrap().len(), 1);
    assert_eq!(
        (down["up"].as_u64(), down["down"].as_u64()),
        (Some(0), Some(0)),
        "{r}"
    );
    assert!(down["in_maintenance"].as_u64().unwrap() >= 5, "{r}");
    assert!(down["met"].is_null(), "no data outside the window");
    let (_, r) = get_json(
        &client,
        &server.url(&format!(
            "/api/reports/sla?{period}&service_id=down&maintenance=include"
        )),
    )
    .await;
    assert_eq!(r["services"][0]["down"], r["services"][0]["in_maintenance"]);
    assert_eq!(r["method"]["maintenance"], "included");

    // An application's status is stored when it changes: it counts by the
    // time each status holds (here DEGRADED, the default for a failed
    // dependency, counted down, since it was made), not by changes.
    let (code, body) = post(
        "/api/admin/services",
        json!({"service_id": "shop", "label": "Shop", "service_type": "application", "status_config": {}}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = post(
        "/api/admin/relations",
        json!({"source_service_id": "shop", "target_service_id": "down", "relation_type": "dependency"}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    eventually(Duration::from_secs(20), "shop DEGRADED", || async {
        let (_, s) = get_json(&http(), &server.url("/api/status/shop")).await;
        (s["status"] == "DEGRADED").then_some(())
    })
    .await;
    let now = lightbulb_common::time::now_ms();
    let url = format!(
        "/api/reports/sla?from={start}&to={now}&service_id=shop&maintenance=include&degraded=down"
    );
    let (_, r) = get_json(&client, &server.url(&url)).await;
    let shop = &r["services"][0];
    assert_eq!(shop["up"], 0, "{r}");
    assert!(shop["down"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(shop["met"], false, "{r}");

    // Bad input names the field.
    for (query, field) in [
        ("degraded=sideways", "degraded"),
        ("objective=100", "objective"),
        ("format=xls", "format"),
    ] {
        let (code, body) =
            get_json(&client, &server.url(&format!("/api/reports/sla?{query}"))).await;
        assert_eq!(
            (code, body["error"]["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }
    let (code, _) = get_json(&client, &server.url("/api/reports/sla?service_id=nothing")).await;
    assert_eq!(code, 404);
    drop(listener);
}

/// Pixels darker than mid-grey in a binary PGM (P5, 8 bits): after four
/// header fields (P5, width, height, maxval) and one whitespace byte.
fn dark_pixels(pgm: &[u8]) -> usize {
    let mut at = 0;
    for _ in 0..4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
    }
    pgm[at + 1..].iter().filter(|p| **p < 128).count()
}
