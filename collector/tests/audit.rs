//! The audit log through the real HTTP API: who changed what (a token, the
//! local admin, from which address), sign-ins and token changes, filters
//! and CSV, and undo: a revert puts back the earlier version (read back
//! through the admin API), a revert of the revert redoes the change, and a
//! revert over a later change is refused.

mod support;

use lightbulb_collector::config::{AuthMode, LocalAdmin};
use reqwest::Method;
use serde_json::{Value, json};
use support::{InProcess, http};

const PASSWORD: &str = "correct horse battery staple";

struct Client {
    server: InProcess,
    http: reqwest::Client,
}

impl Client {
    async fn start() -> Client {
        let hash = lightbulb_collector::auth::hash_password(PASSWORD);
        let server = InProcess::start_with(&[], move |c| {
            c.auth.mode = Some(AuthMode::Oidc);
            c.auth.secure_cookies = false;
            c.auth.local_admin = Some(LocalAdmin {
                username: "root".into(),
                password_hash: hash,
            });
        })
        .await;
        Client {
            server,
            http: http(),
        }
    }

    /// One call with `auth` (a `Cookie` or `Authorization` header value).
    async fn send(
        &self,
        method: Method,
        path: &str,
        auth: &str,
        body: Option<Value>,
    ) -> (u16, Value, Option<i64>) {
        let name = if auth.starts_with("Bearer ") {
            "authorization"
        } else {
            "cookie"
        };
        let mut req = self
            .http
            .request(method, self.server.url(path))
            .header(name, auth);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let code = r.status().as_u16();
        let id = r
            .headers()
            .get("lightbulb-audit-id")
            .map(|v| v.to_str().unwrap().parse().unwrap());
        (code, r.json().await.unwrap_or(Value::Null), id)
    }

    async fn sign_in(&self, password: &str) -> Option<String> {
        let r = self
            .http
            .post(self.server.url("/api/auth/login"))
            .json(&json!({"username": "root", "password": password}))
            .send()
            .await
            .unwrap();
        let cookie = r
            .headers()
            .get("set-cookie")?
            .to_str()
            .unwrap()
            .split(';')
            .next()?
            .to_string();
        Some(cookie)
    }

    /// The actions of the entries `query` finds, newest first.
    async fn actions(&self, admin: &str, query: &str) -> Vec<String> {
        self.audit(admin, query).await["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap().to_string())
            .collect()
    }

    /// Reverts audit entry `id` as `auth`.
    async fn revert(&self, auth: &str, id: impl std::fmt::Display) -> (u16, Value) {
        let path = format!("/api/audit/{id}/revert");
        let (code, body, _) = self.send(Method::POST, &path, auth, None).await;
        (code, body)
    }

    async fn audit(&self, admin: &str, query: &str) -> Value {
        let (code, page, _) = self
            .send(Method::GET, &format!("/api/audit?{query}"), admin, None)
            .await;
        assert_eq!(code, 200, "{page}");
        page
    }
}

fn service(id: &str, label: &str) -> Value {
    json!({"service_id": id, "label": label, "service_type": "api_endpoint",
           "status_config": {"url": format!("http://{id}.internal/health")}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_recorded_with_their_actor_and_can_be_undone_and_redone() {
    let c = Client::start().await;
    assert!(c.sign_in("wrong").await.is_none());
    let admin = c.sign_in(PASSWORD).await.unwrap();
    let (code, made, token_entry) = c
        .send(
            Method::POST,
            "/api/tokens",
            &admin,
            Some(json!({"name": "deploy", "scope": "write"})),
        )
        .await;
    assert_eq!(code, 201);
    let bearer = format!("Bearer {}", made["token"].as_str().unwrap());

    // A token creates, the admin edits.
    let (code, _, created) = c
        .send(
            Method::POST,
            "/api/admin/services",
            &bearer,
            Some(service("web", "Web")),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _, edited) = c
        .send(
            Method::PUT,
            "/api/admin/services/web",
            &admin,
            Some(json!({"label": "Web front end"})),
        )
        .await;
    assert_eq!(code, 200);

    let page = c.audit(&admin, "per_page=10").await;
    let records = page["records"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["actor"].as_str().unwrap(), r["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("local:root", "update service"),
            ("token:deploy", "create service"),
            ("local:root", "create token"),
            ("local:root", "sign in"),
            ("local:root", "sign-in refused"),
        ]
    );
    assert_eq!(records[0]["id"], edited.unwrap());
    assert_eq!(records[1]["id"], created.unwrap());
    assert_eq!(records[2]["id"], token_entry.unwrap());
    assert_eq!(records[0]["ip"], "127.0.0.1");
    let change = &records[0]["changes"][0];
    assert_eq!(
        (change["kind"].as_str(), change["id"].as_str()),
        (Some("service"), Some("web"))
    );
    assert_eq!(change["before"]["label"], "Web");
    assert_eq!(change["after"]["label"], "Web front end");
    // The token entry holds the record, never the token.
    let token_text = records[2]["changes"].to_string();
    assert!(token_text.contains("deploy") && !token_text.contains(made["token"].as_str().unwrap()));

    // Undo the edit: the earlier label is back; undo the undo: redone.
    let label = || async {
        c.send(Method::GET, "/api/admin/services/web", &admin, None)
            .await
            .1["label"]
            .clone()
    };
    let (code, undone) = c.revert(&bearer, edited.unwrap()).await;
    assert_eq!(code, 200, "{undone}");
    assert_eq!(label().await, "Web");
    let (code, _) = c.revert(&admin, &undone["audit_id"]).await;
    assert_eq!(code, 200);
    assert_eq!(label().await, "Web front end");
    // The create is older than both: refused while they stand.
    let (code, refused) = c.revert(&admin, created.unwrap()).await;
    assert_eq!(code, 409);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("service `web` was changed after audit entry"),
        "{refused}"
    );
    let (code, _) = c.revert(&admin, token_entry.unwrap()).await;
    assert_eq!(code, 409, "a token change is not a catalog change");
    // Nor is a saved view's deletion (its revert was a server error).
    let (code, view, _) = c
        .send(
            Method::POST,
            "/api/views",
            &admin,
            Some(json!({"name": "On call"})),
        )
        .await;
    assert_eq!(code, 201);
    let path = format!("/api/views/{}", view["view_id"].as_str().unwrap());
    let (code, _, _) = c.send(Method::DELETE, &path, &admin, None).await;
    assert!(code == 200 || code == 204, "{code}");
    let newest = c.audit(&admin, "per_page=1").await;
    assert_eq!(newest["records"][0]["action"], "delete view");
    let (code, refused) = c.revert(&admin, &newest["records"][0]["id"]).await;
    assert_eq!(
        code, 409,
        "a view change is not a catalog change: {refused}"
    );

    // A cascade delete comes back whole.
    c.send(
        Method::POST,
        "/api/admin/services",
        &admin,
        Some(service("db", "DB")),
    )
    .await;
    let link = json!({"source_service_id": "web", "target_service_id": "db", "relation_type": "dependency"});
    let (code, rel, _) = c
        .send(Method::POST, "/api/admin/relations", &admin, Some(link))
        .await;
    assert_eq!(code, 201);
    let (code, _, deleted) = c
        .send(
            Method::DELETE,
            "/api/admin/services/db?cascade=true",
            &admin,
            None,
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = c.revert(&admin, deleted.unwrap()).await;
    assert_eq!(code, 200);
    let path = format!(
        "/api/admin/relations/{}",
        rel["relation_id"].as_str().unwrap()
    );
    assert_eq!(c.send(Method::GET, &path, &admin, None).await.0, 200);
    assert_eq!(
        c.send(Method::GET, "/api/admin/services/db", &admin, None)
            .await
            .1["label"],
        "DB"
    );

    // Filters and CSV.
    assert_eq!(
        c.actions(&admin, "actor=token:deploy").await,
        [
            format!("revert {}", edited.unwrap()),
            "create service".into()
        ]
    );
    assert_eq!(
        c.actions(&admin, "object=db").await[..3],
        [
            format!("revert {}", deleted.unwrap()),
            "delete service".into(),
            "create relation".into()
        ]
    );
    let r = c
        .http
        .get(c.server.url("/api/audit.csv?action=create%20service"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,time,actor,ip,action,objects,changes");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[2].contains(",token:deploy,127.0.0.1,create service,web,\""),
        "{csv}"
    );
}
