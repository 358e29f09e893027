//! Who may do what, through the real HTTP API: every route in the access
//! table called as nobody, as the local admin's session and as a token of
//! each scope; cross-site requests refused on every route that changes
//! state; API tokens revoked, expired and never stored in plain text;
//! sessions that end when their cookie is altered.

mod support;

use std::time::Duration;

use lightbulb_collector::access::{Access, Body, Permission, ROUTES, Role, Route};
use lightbulb_collector::config::{AuthMode, LocalAdmin};
use reqwest::Method;
use serde_json::{Value, json};
use support::{InProcess, eventually, http};

const PASSWORD: &str = "correct horse battery staple";

/// A collector that requires sign-in, with the local admin enabled.
async fn signed_in_only() -> InProcess {
    let hash = lightbulb_collector::auth::hash_password(PASSWORD);
    InProcess::start_with(&[], move |c| {
        c.auth.mode = Some(AuthMode::Oidc);
        c.auth.secure_cookies = false;
        c.auth.local_admin = Some(LocalAdmin {
            username: "root".into(),
            password_hash: hash,
        });
    })
    .await
}

/// How a test call proves who it is.
#[derive(Clone, Debug)]
enum Creds {
    Nobody,
    Cookie(String),
    Bearer(String),
}

struct Client {
    server: InProcess,
    http: reqwest::Client,
}

impl Client {
    fn request(&self, method: Method, path: &str, creds: &Creds) -> reqwest::RequestBuilder {
        let req = self.http.request(method, self.server.url(path));
        match creds {
            Creds::Nobody => req,
            Creds::Cookie(c) => req.header("cookie", c),
            Creds::Bearer(t) => req.bearer_auth(t),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        creds: &Creds,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.request(method, path, creds);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let code = r.status().as_u16();
        (code, r.json().await.unwrap_or(Value::Null))
    }

    /// Signs in as the local admin; returns the `Cookie` header to send.
    async fn sign_in(&self) -> String {
        let r = self
            .http
            .post(self.server.url("/api/auth/login"))
            .json(&json!({"username": "root", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        set.split(';').next().unwrap().to_string()
    }

    async fn token(&self, admin: &Creds, scope: &str, expires_in: &str) -> (String, Value) {
        let (code, made) = self
            .send(
                Method::POST,
                "/api/tokens",
                admin,
                Some(json!({"name": format!("ci-{scope}"), "scope": scope, "expires_in": expires_in})),
            )
            .await;
        assert_eq!(code, 201, "{made}");
        (
            made["token"].as_str().unwrap().to_string(),
            made["record"].clone(),
        )
    }
}

/// A request to `route` that would pass every check but the caller's.
fn call(client: &Client, route: &Route, creds: &Creds) -> reqwest::RequestBuilder {
    let path = route
        .path
        .replace("{service_id}", "x")
        .replace("{relation_id}", "x")
        .replace("{token_id}", "x")
        .replace("{audit_id}", "1")
        .replace("{view_id}", "x");
    let req = client.request(route.method.parse().unwrap(), &path, creds);
    let req = match route.body {
        Body::None => req,
        Body::Json => req.header("content-type", "application/json").body("{}"),
        Body::Csv => req.header("content-type", "text/csv").body("service_id\n"),
    };
    if route.path == "/api/status/stream" {
        req.timeout(Duration::from_millis(300))
    } else {
        req
    }
}

/// What each role may do, as the README's Security section promises
/// (written out here, not taken from the code under test).
fn promised(role: Role, p: Permission) -> bool {
    match (role, p) {
        (_, Permission::Read) => true,
        (Role::Viewer, _) => false,
        (Role::Editor, Permission::CatalogRead | Permission::CatalogWrite) => true,
        (Role::Editor, _) => false,
        (Role::Admin, _) => true,
    }
}

/// The status a caller with `role` (None: nobody) gets from `route`: `Some`
/// when the access table decides it, None when the handler does.
fn expected(route: &Route, role: Option<Role>) -> Option<u16> {
    match (route.access, role) {
        (Access::Open, _) => None,
        (Access::Needs(_), None) => Some(401),
        (Access::Needs(p), Some(r)) if !promised(r, p) => Some(403),
        (Access::Needs(_), Some(_)) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_caller_as_the_access_table_says() {
    let client = Client {
        server: signed_in_only().await,
        http: http(),
    };
    let admin = Creds::Cookie(client.sign_in().await);
    let mut callers = vec![
        ("nobody", Creds::Nobody, None),
        ("admin session", admin.clone(), Some(Role::Admin)),
    ];
    for (scope, role) in [
        ("read", Role::Viewer),
        ("write", Role::Editor),
        ("admin", Role::Admin),
    ] {
        let (token, _) = client.token(&admin, scope, "1h").await;
        callers.push((scope, Creds::Bearer(token), Some(role)));
    }
    for route in ROUTES {
        for (who, creds, role) in &callers {
            // Signing out ends the session the other calls use.
            let creds = match (route.path, creds) {
                ("/api/auth/logout", Creds::Cookie(_)) => Creds::Cookie(client.sign_in().await),
                _ => creds.clone(),
            };
            let r = call(&client, route, &creds).send().await;
            let Ok(r) = r else {
                // The live stream, open until the timeout: it was let in.
                assert!(
                    expected(route, *role).is_none(),
                    "{} {} as {who}",
                    route.method,
                    route.path
                );
                continue;
            };
            let code = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            match expected(route, *role) {
                Some(want) => {
                    assert_eq!(
                        code, want,
                        "{} {} as {who}: {body}",
                        route.method, route.path
                    );
                    let kind = if want == 401 {
                        "unauthenticated"
                    } else {
                        "forbidden"
                    };
                    assert_eq!(body["error"]["code"], kind, "{body}");
                }
                None => assert!(
                    code != 401 && code != 403,
                    "{} {} as {who} got {code}: {body}",
                    route.method,
                    route.path
                ),
            }
        }
    }
    // A refusal names the permission that is missing.
    let viewer = &callers[2].1;
    let (code, body) = client
        .send(Method::GET, "/api/admin/services", viewer, None)
        .await;
    assert_eq!(code, 403);
    assert_eq!(
        body["error"]["message"],
        "viewer `ci-read` lacks the `catalog_read` permission"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_change_nothing() {
    // Sign-in off: only the cross-site check stands between a page on
    // another site and the catalog.
    let client = Client {
        server: InProcess::start(&[]).await,
        http: http(),
    };
    let (code, _) = client
        .send(
            Method::POST,
            "/api/admin/services",
            &Creds::Nobody,
            Some(
                json!({"service_id": "web", "label": "Web", "service_type": "api_endpoint",
                        "status_config": {"url": "http://web.internal/health"}}),
            ),
        )
        .await;
    assert_eq!(code, 201);
    let before = client
        .send(Method::GET, "/api/admin/export", &Creds::Nobody, None)
        .await
        .1;
    let own = format!("http://{}", client.server.http);
    for route in ROUTES.iter().filter(|r| r.method != "GET") {
        let path = route
            .path
            .replace("{service_id}", "web")
            .replace("{relation_id}", "x")
            .replace("{token_id}", "x")
            .replace("{audit_id}", "1")
            .replace("{view_id}", "x");
        let attempts: [(&str, &str, &str, &str); 3] = [
            (
                "origin",
                "https://evil.example",
                "text/plain",
                "{\"action\":\"delete\",\"service_ids\":[\"web\"]}",
            ),
            (
                "origin",
                "https://evil.example",
                "application/x-www-form-urlencoded",
                "action=delete",
            ),
            (
                "sec-fetch-site",
                "cross-site",
                "text/plain",
                "service_id\nevil\n",
            ),
        ];
        for (header, value, kind, body) in attempts {
            let r = client
                .http
                .request(route.method.parse().unwrap(), client.server.url(&path))
                .header(header, value)
                .header("content-type", kind)
                .body(body)
                .send()
                .await
                .unwrap();
            let code = r.status().as_u16();
            let text = r.text().await.unwrap();
            assert_eq!(
                code, 403,
                "{} {path} with {header}: {value}: {text}",
                route.method
            );
            assert!(text.contains("cross-site request refused"), "{text}");
        }
        // Not a browser, but the wrong type: refused too.
        if let Some(want) = route.body.content_type() {
            let r = client
                .http
                .request(route.method.parse().unwrap(), client.server.url(&path))
                .header("content-type", "text/plain")
                .body("x")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 415, "{} {path}", route.method);
            assert!(r.text().await.unwrap().contains(want));
        }
    }
    let after = client
        .send(Method::GET, "/api/admin/export", &Creds::Nobody, None)
        .await
        .1;
    assert_eq!(after, before, "nothing changed");
    // The dashboard's own pages get through.
    let r = client
        .http
        .put(client.server.url("/api/admin/services/web"))
        .header("origin", &own)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"label": "Web front"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_stop_working_when_revoked_or_expired_and_are_never_stored() {
    let client = Client {
        server: signed_in_only().await,
        http: http(),
    };
    let admin = Creds::Cookie(client.sign_in().await);
    let (token, record) = client.token(&admin, "write", "1h").await;
    let bearer = Creds::Bearer(token.clone());
    let (code, _) = client
        .send(Method::GET, "/api/admin/services", &bearer, None)
        .await;
    assert_eq!(code, 200);
    let (code, listed) = client.send(Method::GET, "/api/tokens", &admin, None).await;
    assert_eq!(code, 200);
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["token_id"] == record["token_id"])
        .unwrap()
        .clone();
    assert!(
        mine["last_used_ms"].is_i64(),
        "last use is recorded: {mine}"
    );
    assert!(
        mine.get("hash").is_none() && mine.get("token").is_none(),
        "{mine}"
    );

    let path = format!("/api/tokens/{}", record["token_id"].as_str().unwrap());
    let (code, revoked) = client.send(Method::DELETE, &path, &admin, None).await;
    assert_eq!(code, 200);
    assert!(revoked["revoked_ms"].is_i64());
    let (code, body) = client
        .send(Method::GET, "/api/admin/services", &bearer, None)
        .await;
    assert_eq!(code, 401, "the next request after revocation: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );

    let (short, _) = client.token(&admin, "read", "1s").await;
    let short = Creds::Bearer(short);
    eventually(Duration::from_secs(5), "the token expires", || {
        let req = client.request(Method::GET, "/api/status", &short).send();
        async move {
            let r = req.await.ok()?;
            (r.status() == 401).then_some(())
        }
    })
    .await;
    let (_, body) = client.send(Method::GET, "/api/status", &short, None).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );

    // A token signed with another key, or altered, counts for nothing.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (code, _) = client
        .send(Method::GET, "/api/status", &Creds::Bearer(forged), None)
        .await;
    assert_eq!(code, 401);

    // The store holds a hash, never the token.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(client.server.data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    let signature = token.rsplit('.').next().unwrap();
    let text = String::from_utf8_lossy(&stored);
    assert!(
        !text.contains(signature),
        "a token's signature is in the store"
    );
    assert!(
        text.contains(record["token_id"].as_str().unwrap()),
        "the record is there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_need_the_right_password_and_an_unaltered_cookie() {
    let client = Client {
        server: signed_in_only().await,
        http: http(),
    };
    let (code, me) = client
        .send(Method::GET, "/api/auth/me", &Creds::Nobody, None)
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        (me["mode"].as_str(), me["signed_in"].as_bool()),
        (Some("oidc"), Some(false))
    );
    assert_eq!(me["sign_in"]["local_admin"], true);
    let wrong = json!({"username": "root", "password": "not it"});
    let (code, body) = client
        .send(Method::POST, "/api/auth/login", &Creds::Nobody, Some(wrong))
        .await;
    assert_eq!(code, 401);
    assert_eq!(body["error"]["message"], "wrong username or password");

    let cookie = client.sign_in().await;
    let (_, me) = client
        .send(
            Method::GET,
            "/api/auth/me",
            &Creds::Cookie(cookie.clone()),
            None,
        )
        .await;
    assert_eq!(me["identity"]["kind"], "local_admin");
    assert_eq!(me["identity"]["role"], "admin");
    let (code, _) = client
        .send(
            Method::GET,
            "/api/status",
            &Creds::Cookie(cookie.clone()),
            None,
        )
        .await;
    assert_eq!(code, 200);

    // One byte changed: no longer a session.
    let mut altered = cookie.clone().into_bytes();
    let i = altered.len() - 1;
    altered[i] = if altered[i] == b'0' { b'1' } else { b'0' };
    let altered = Creds::Cookie(String::from_utf8(altered).unwrap());
    let (code, body) = client
        .send(Method::GET, "/api/status", &altered, None)
        .await;
    assert_eq!(code, 401, "{body}");

    // Signed out: the cookie is cleared and no longer counts.
    let r = client
        .request(
            Method::POST,
            "/api/auth/logout",
            &Creds::Cookie(cookie.clone()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (code, _) = client
        .send(Method::GET, "/api/status", &Creds::Cookie(cookie), None)
        .await;
    assert_eq!(code, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_views_belong_to_who_saved_them_and_are_shared_by_link() {
    let client = Client {
        server: signed_in_only().await,
        http: http(),
    };
    let admin = Creds::Cookie(client.sign_in().await);
    let alice = Creds::Bearer(client.token(&admin, "read", "1h").await.0);
    let bob = Creds::Bearer(client.token(&admin, "write", "1h").await.0);
    let definition = json!({"status": 2, "services": ["web", "db"], "map_focus": "web", "charts": ["web"], "range": "7d"});
    let (code, first) = client
        .send(
            Method::POST,
            "/api/views",
            &alice,
            Some(json!({"name": "On call", "definition": definition, "start": true})),
        )
        .await;
    assert_eq!(code, 201, "a viewer keeps views of their own: {first}");
    assert_eq!(first["owner"], "token:ci-read");
    assert_eq!(first["definition"]["charts"], json!(["web"]));
    let id = first["view_id"].as_str().unwrap().to_string();
    let path = format!("/api/views/{id}");

    let (_, mine) = client.send(Method::GET, "/api/views", &alice, None).await;
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    let (_, theirs) = client.send(Method::GET, "/api/views", &bob, None).await;
    assert_eq!(theirs, json!([]), "each lists their own");
    let (code, shared) = client.send(Method::GET, &path, &bob, None).await;
    assert_eq!(
        (code, &shared["name"]),
        (200, &json!("On call")),
        "read by its link"
    );
    for (method, body) in [
        (Method::PUT, Some(json!({"name": "Mine now"}))),
        (Method::DELETE, None),
    ] {
        let (code, e) = client.send(method, &path, &bob, body).await;
        assert_eq!(code, 403, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("belongs to token:ci-read"),
            "{e}"
        );
    }

    // One start page per user.
    let (_, second) = client
        .send(
            Method::POST,
            "/api/views",
            &alice,
            Some(json!({"name": "Payments", "start": true})),
        )
        .await;
    assert_eq!(second["start"], true);
    let (_, first_now) = client.send(Method::GET, &path, &alice, None).await;
    assert_eq!(first_now["start"], false);

    let (code, e) = client
        .send(
            Method::PUT,
            &path,
            &alice,
            Some(json!({"definition": {"range": "2w"}})),
        )
        .await;
    assert_eq!(
        (code, &e["error"]["field"]),
        (422, &json!("definition.range")),
        "{e}"
    );
    let (code, _) = client.send(Method::DELETE, &path, &alice, None).await;
    assert_eq!(code, 200);
    let (code, _) = client.send(Method::GET, &path, &alice, None).await;
    assert_eq!(code, 404);
    let (_, log) = client
        .send(Method::GET, "/api/audit?action=save%20view", &admin, None)
        .await;
    assert_eq!(log["records"][0]["actor"], "token:ci-read", "{log}");
}
