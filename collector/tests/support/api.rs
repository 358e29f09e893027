//! A JSON client for the collector's API in tests, and a check of refusals.

use serde_json::{Value, json};

use super::{InProcess, http};

pub struct Api {
    pub server: InProcess,
    pub client: reqwest::Client,
}

impl Api {
    pub async fn start() -> Api {
        Api {
            server: InProcess::start(&[]).await,
            client: http(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.server.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let code = r.status().as_u16();
        (code, r.json().await.unwrap_or(Value::Null))
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
