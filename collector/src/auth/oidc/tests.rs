use serde_json::json;

use super::*;

fn oidc() -> Oidc {
    let config = OidcConfig {
        issuer: "http://127.0.0.1:1".into(),
        client_id: "lightbulb".into(),
        client_secret: "s".into(),
        redirect_url: "http://127.0.0.1:2/api/auth/oidc/callback".into(),
        scopes: vec!["groups".into()],
        post_logout_redirect_url: None,
    };
    let roles = [
        ("lightbulb-viewers".to_string(), Role::Viewer),
        ("lightbulb-admins".to_string(), Role::Admin),
    ]
    .into();
    Oidc::new(config, "groups".into(), roles)
}

#[test]
fn the_highest_mapped_group_decides_the_role() {
    let o = oidc();
    let who = o
        .identity(&json!({"sub": "1", "preferred_username": "alice", "groups": ["x", "lightbulb-admins", "lightbulb-viewers"]}))
        .unwrap();
    assert_eq!((who.name.as_str(), who.role), ("alice", Role::Admin));
    let who = o
        .identity(&json!({"sub": "2", "email": "bob@x", "groups": "lightbulb-viewers"}))
        .unwrap();
    assert_eq!((who.name.as_str(), who.role), ("bob@x", Role::Viewer));
    let e = o
        .identity(&json!({"sub": "3", "groups": ["others"]}))
        .unwrap_err();
    assert_eq!(e.code(), crate::ErrorCode::Forbidden);
    assert!(
        e.to_string().contains("none of its `groups` (others)"),
        "{e}"
    );
}

#[tokio::test]
async fn an_answer_must_come_back_to_the_browser_that_asked_once() {
    let o = oidc();
    let e = o
        .finish("code", "state-a", Some("state-b"), 0)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("does not belong to this browser"),
        "{e}"
    );
    let e = o
        .finish("code", "state-a", Some("state-a"), 0)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("expired or was already used"), "{e}");
    let e = o.begin("/", 0).await.unwrap_err();
    assert_eq!(
        e.code(),
        crate::ErrorCode::Unavailable,
        "a provider that is down: {e}"
    );
    assert!(e.to_string().contains("cannot be reached"), "{e}");
}

#[test]
fn a_jwt_payload_reads_as_json() {
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"1"}"#);
    assert_eq!(payload(&format!("h.{body}.s")), Some(json!({"sub": "1"})));
    assert_eq!(payload("nonsense"), None);
}
