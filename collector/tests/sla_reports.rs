//! SLA reports through the API, of services a real agent checks: one up,
//! one down (its own objective set in `metric_config`), then the down one
//! in a maintenance window, and an application depending on it. JSON says who met the objective; the CSV is a
//! download with a line per service; the PDF opens: poppler's `pdftotext`
//! reads the report's text from it and `pdftoppm` renders a first page that
//! is not blank. A report scheduled in `[[insights.reports]]` arrives in a
//! real SMTP server's inbox with the same CSV and PDF attached, once per
//! scheduled minute. (The numbers against hand-computed histories are in
//! `conformance_insights.rs` and the unit tests of `insights::sla`.)

mod support;

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use lightbulb_testkit::receivers::SmtpSink;
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

/// `20261201T0800Z` of the minute at or after `ms`, as report files are named.
fn minute_stamp(ms: i64) -> String {
    let up = (ms + 59_999) / 60_000 * 60_000;
    let digits: String = lightbulb_common::time::format_iso(up)
        .chars()
        .filter(char::is_ascii_digit)
        .take(12)
        .collect();
    format!("{}T{}Z", &digits[..8], &digits[8..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_report_is_mailed_with_its_csv_and_pdf_once_per_time() {
    let Some(smtp) = SmtpSink::start() else {
        return;
    };
    let closed = support::free_port();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap();
    // Accepted, so the backlog never fills over the minutes this runs.
    std::thread::spawn(move || listener.incoming().for_each(drop));
    let server = InProcess::start_with(&["a1"], |c| {
        c.alerting.interval = Duration::from_millis(200);
        c.insights.reports = vec![lightbulb_collector::config::ReportConfig {
            name: "every minute".into(),
            schedule: "* * * * *".into(),
            timezone: "Europe/Berlin".into(),
            period: Duration::from_secs(86_400),
            channels: vec!["mail".into()],
            degraded: "up".into(),
            maintenance: "exclude".into(),
            objective: 99.0,
        }];
    })
    .await;
    let client = http();
    let post =
        |path: &str, body: Value| send(&client, reqwest::Method::POST, server.url(path), body);
    for (id, port) in [("up", open.port()), ("down", closed)] {
        let (code, body) = post(
            "/api/admin/services",
            json!({"service_id": id, "label": id.to_uppercase(), "service_type": "api_endpoint", "labels": {"agent_id": "a1"},
                   "status_config": {"url": format!("tcp://127.0.0.1:{port}"), "interval": "300ms"}}),
        )
        .await;
        assert_eq!(code, 201, "{body}");
    }
    let (code, body) = post(
        "/api/alerts/channels",
        json!({"channel_id": "mail", "kind": "email", "host": "127.0.0.1", "port": smtp.port,
               "tls": "none", "from": "lightbulb@example.com", "to": ["sla@example.com"]}),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let _agent = server.run_agent("a1");
    eventually(Duration::from_secs(20), "results of each", || async {
        (results(&server, "up").await >= 1 && results(&server, "down").await >= 1).then_some(())
    })
    .await;
    // The first report whose period ends after both services had results.
    let after = minute_stamp(lightbulb_common::time::now_ms());
    let csv_name = |m: &Value| {
        m["attachments"][0]["filename"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let mail = eventually(Duration::from_secs(90), "the report mailed", || async {
        smtp.mails()
            .into_iter()
            .find(|m| csv_name(m).as_str() >= format!("sla-every-minute-{after}.csv").as_str())
    })
    .await;
    assert_eq!(mail["to"], json!(["sla@example.com"]));
    assert_eq!(
        mail["subject"], "SLA report every minute: 1 of 2 services met their objective",
        "{}",
        mail["body"]
    );
    // Mail lines end in CRLF.
    let text = mail["body"].as_str().unwrap().replace("\r\n", "\n");
    assert!(
        text.contains("2 services: 1 met their objective, 1 missed it, 0 without data."),
        "{text}"
    );
    assert!(
        text.contains("Lowest uptimes:\n  DOWN (down): 0.000 % against 99 %"),
        "{text}"
    );
    assert!(text.contains("DEGRADED up"), "the method: {text}");
    let files = mail["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{mail}");
    let data = |i: usize| {
        base64::engine::general_purpose::STANDARD
            .decode(files[i]["data"].as_str().unwrap())
            .unwrap()
    };
    assert_eq!(files[0]["content_type"], "text/csv");
    let csv = String::from_utf8(data(0)).unwrap();
    assert!(
        csv.starts_with("service_id,label,service_type,objective_pct,uptime_pct"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("down,DOWN,api_endpoint,99,0,")),
        "{csv}"
    );
    assert_eq!(files[1]["content_type"], "application/pdf");
    assert_eq!(
        files[1]["filename"].as_str().unwrap(),
        csv_name(&mail).replace(".csv", ".pdf")
    );
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("mailed.pdf");
    std::fs::write(&pdf, data(1)).unwrap();
    let out = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("lightbulb SLA report"));

    // The next minute's comes once the minute passes; none is sent twice.
    let first = csv_name(&mail);
    eventually(
        Duration::from_secs(90),
        "the next minute's report",
        || async {
            smtp.mails()
                .iter()
                .any(|m| csv_name(m) > first)
                .then_some(())
        },
    )
    .await;
    let mut names: Vec<String> = smtp.mails().iter().map(csv_name).collect();
    let all = names.len();
    names.dedup();
    assert_eq!(names.len(), all, "a report sent twice: {names:?}");
}
