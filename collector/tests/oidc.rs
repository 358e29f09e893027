//! Sign-in through a real OpenID provider: OpenBao's identity provider (the
//! open-source Vault fork, as the spec's "Vault OIDC integration"), with
//! userpass users in groups. The browser's part is played by following the
//! collector's redirect to the provider's authorize API with the user's
//! token; the provider's answer goes back to the collector's callback.

mod support;

use lightbulb_collector::access::Role;
use lightbulb_collector::config::{AuthMode, OidcConfig};
use lightbulb_testkit::openbao::{OpenBao, User};
use reqwest::header;
use serde_json::Value;
use support::{InProcess, free_port};

struct Setup {
    bao: OpenBao,
    server: InProcess,
    /// Redirects are looked at, not followed.
    http: reqwest::Client,
}

async fn setup() -> Option<Setup> {
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/api/auth/oidc/callback");
    let users = [
        User {
            name: "alice",
            password: "alice-password",
            groups: &["lightbulb-editors"],
        },
        User {
            name: "carol",
            password: "carol-password",
            groups: &["lightbulb-editors", "lightbulb-admins"],
        },
        User {
            name: "mallory",
            password: "mallory-password",
            groups: &["elsewhere"],
        },
    ];
    let bao = OpenBao::start(&users, &callback).await?;
    let oidc = OidcConfig {
        issuer: bao.issuer(),
        client_id: bao.client_id.clone(),
        client_secret: bao.client_secret.clone(),
        redirect_url: callback,
        scopes: vec!["groups".into()],
        post_logout_redirect_url: None,
    };
    let server = InProcess::start_with(&[], move |c| {
        c.http.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.auth.mode = Some(AuthMode::Oidc);
        c.auth.secure_cookies = false;
        c.auth.roles = [
            ("lightbulb-editors".to_string(), Role::Editor),
            ("lightbulb-admins".to_string(), Role::Admin),
        ]
        .into();
        c.auth.oidc = Some(oidc);
    })
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Some(Setup { bao, server, http })
}

/// The value of `name` among a response's `Set-Cookie` headers.
fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.split(';')
                .next()?
                .strip_prefix(&format!("{name}="))
                .map(str::to_string)
        })
        .filter(|v| !v.is_empty())
}

impl Setup {
    /// Signs `user` in as a browser would; returns the callback's answer.
    async fn sign_in(&self, user: &str, password: &str, next: &str) -> reqwest::Response {
        let start = self
            .http
            .get(
                self.server
                    .url(&format!("/api/auth/oidc/login?next={next}")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), 302);
        let bound = cookie(&start, "lb_oidc").expect("the sign-in is bound to the browser");
        let to_provider = start.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            to_provider.contains("code_challenge_method=S256"),
            "PKCE: {to_provider}"
        );
        assert!(to_provider.contains("nonce="), "{to_provider}");
        let back = self.bao.authorize(&to_provider, user, password).await;
        self.http
            .get(back)
            .header(header::COOKIE, format!("lb_oidc={bound}"))
            .send()
            .await
            .unwrap()
    }

    async fn me(&self, session: &str) -> Value {
        self.http
            .get(self.server.url("/api/auth/me"))
            .header(header::COOKIE, format!("lb_session={session}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_sign_in_through_openbao_with_the_role_of_their_groups() {
    let Some(s) = setup().await else { return };
    let back = s
        .sign_in("alice", "alice-password", "/admin/services")
        .await;
    assert_eq!(back.status(), 302);
    assert_eq!(
        back.headers()[header::LOCATION],
        "/admin/services",
        "on to the page asked for"
    );
    let session = cookie(&back, "lb_session").expect("a session");
    let me = s.me(&session).await;
    assert_eq!(me["identity"]["name"], "alice");
    assert_eq!(me["identity"]["kind"], "user");
    assert_eq!(me["identity"]["role"], "editor");
    // An editor edits the catalog but reads no audit log.
    let get = |path: &str| {
        s.http
            .get(s.server.url(path))
            .header(header::COOKIE, format!("lb_session={session}"))
            .send()
    };
    assert_eq!(get("/api/admin/services").await.unwrap().status(), 200);
    assert_eq!(get("/api/audit").await.unwrap().status(), 403);

    let carol = s.sign_in("carol", "carol-password", "/").await;
    let session = cookie(&carol, "lb_session").unwrap();
    assert_eq!(
        s.me(&session).await["identity"]["role"],
        "admin",
        "the highest of her groups"
    );

    // A user with no mapped group is refused, and told why.
    let mallory = s.sign_in("mallory", "mallory-password", "/").await;
    assert!(cookie(&mallory, "lb_session").is_none());
    let to = mallory.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(to.starts_with("/?sign_in_error="), "{to}");
    assert!(to.contains("no%20role") || to.contains("no+role"), "{to}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_counts_once_for_the_browser_that_asked_and_keys_may_rotate() {
    let Some(s) = setup().await else { return };
    let start = s
        .http
        .get(s.server.url("/api/auth/oidc/login"))
        .send()
        .await
        .unwrap();
    let bound = cookie(&start, "lb_oidc").unwrap();
    let to_provider = start.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let back = s
        .bao
        .authorize(&to_provider, "alice", "alice-password")
        .await;
    // Another browser (without the cookie) cannot use this answer.
    let stolen = s.http.get(&back).send().await.unwrap();
    assert!(cookie(&stolen, "lb_session").is_none());
    let answer = |cookie_value: String| {
        s.http
            .get(&back)
            .header(header::COOKIE, format!("lb_oidc={cookie_value}"))
            .send()
    };
    let first = answer(bound.clone()).await.unwrap();
    assert!(
        cookie(&first, "lb_session").is_some(),
        "the browser that asked still signs in"
    );
    let replayed = answer(bound).await.unwrap();
    assert!(
        cookie(&replayed, "lb_session").is_none(),
        "an answer replayed"
    );
    let to = replayed.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        to.contains("already%20used") || to.contains("already+used"),
        "{to}"
    );

    // The provider rotates its signing key: sign-in goes on working.
    s.bao.rotate_keys().await;
    let after = s.sign_in("alice", "alice-password", "/").await;
    assert!(
        cookie(&after, "lb_session").is_some(),
        "{:?}",
        after.headers().get(header::LOCATION)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_at_start_only_makes_sign_in_say_so() {
    let port = free_port();
    let dead = free_port();
    let server = InProcess::start_with(&[], move |c| {
        c.http.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.auth.mode = Some(AuthMode::Oidc);
        c.auth.secure_cookies = false;
        c.auth.oidc = Some(OidcConfig {
            issuer: format!("http://127.0.0.1:{dead}/v1/identity/oidc/provider/x"),
            client_id: "lightbulb".into(),
            client_secret: "secret".into(),
            redirect_url: format!("http://127.0.0.1:{port}/api/auth/oidc/callback"),
            scopes: vec!["groups".into()],
            post_logout_redirect_url: None,
        });
    })
    .await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let me: Value = http
        .get(server.url("/api/auth/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["sign_in"]["oidc"], true);
    let r = http
        .get(server.url("/api/auth/oidc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be reached"),
        "{body}"
    );
}
