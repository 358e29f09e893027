//! A JSON client for the collector's API in tests, and a check of refusals.

use serde_json::{Value, json};

use super::{InProcess, http};

pub struct Api {
    pub server: InProcess,
    pub client: reqwest::Client,
    /// Who the audit log should say made the changes.
    pub actor: &'static str,
}

impl Api {
    pub async fn start() -> Api {
        Api {
            server: InProcess::start(&[]).await,
            client: http(),
            actor: "anonymous",
        }
    }

    /// One call; a call that changes state is checked against the audit
    /// log: a change it reports (`Lightbulb-Audit-Id`) left exactly one new
    /// entry, the newest, by the caller; anything else left none (a bulk
    /// action one per item done).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let changes = method != reqwest::Method::GET;
        let before = if changes { self.audit_total().await } else { 0 };
        let mut req = self.client.request(method.clone(), self.server.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let code = r.status().as_u16();
        let audit_id = r
            .headers()
            .get("lightbulb-audit-id")
            .map(|v| v.to_str().unwrap().parse::<i64>().unwrap());
        let out: Value = r.json().await.unwrap_or(Value::Null);
        if changes {
            let (total, newest) = self.audit_newest().await;
            let expected = match audit_id {
                Some(_) => 1,
                None if path.ends_with("/bulk") => out["success_count"].as_u64().unwrap_or(0),
                None => 0,
            };
            assert_eq!(
                total - before,
                expected,
                "audit entries left by {method} {path}: {out}"
            );
            if let Some(id) = audit_id {
                assert_eq!(newest["id"], id, "{method} {path}");
                assert_eq!(newest["actor"], self.actor, "{method} {path}");
            }
            let catalog_change = (path.starts_with("/api/admin/services")
                || path.starts_with("/api/admin/relations"))
                && !path.ends_with("/bulk")
                && !path.ends_with("/validate");
            if catalog_change && (200..300).contains(&code) {
                assert!(
                    audit_id.is_some(),
                    "{method} {path} changed the catalog unaudited"
                );
            }
        }
        (code, out)
    }

    async fn audit_newest(&self) -> (u64, Value) {
        let r = self
            .client
            .get(self.server.url("/api/audit?per_page=1"))
            .send()
            .await
            .expect("audit");
        let page: Value = r.json().await.expect("audit page");
        (page["total"].as_u64().unwrap(), page["records"][0].clone())
    }

    async fn audit_total(&self) -> u64 {
        self.audit_newest().await.0
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    pub async fn service(&self, id: &str) -> Value {
        let (code, body) = self
            .post(
                "/api/admin/services",
                json!({
                    "service_id": id,
                    "label": format!("Service {id}"),
                    "service_type": "api_endpoint",
                    "status_config": {"url": format!("http://{id}.internal/health")},
                }),
            )
            .await;
        assert_eq!(code, 201, "{body}");
        body
    }

    pub async fn relation(&self, source: &str, target: &str, kind: &str) -> (u16, Value) {
        self.post(
            "/api/admin/relations",
            json!({"source_service_id": source, "target_service_id": target, "relation_type": kind}),
        )
        .await
    }
}

#[track_caller]
pub fn refused(got: (u16, Value), code: u16, field: Option<&str>, says: &str) {
    let (status, body) = got;
    assert_eq!(status, code, "{body}");
    let error = &body["error"];
    match field {
        Some(f) => assert_eq!(error["field"], f, "{body}"),
        None => assert!(error.get("field").is_none(), "{body}"),
    }
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "`{message}` should say `{says}`");
}
