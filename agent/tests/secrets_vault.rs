//! `secret://vault/...` against a real OpenBao dev server (KV version 2):
//! a short-lived token is renewed as its time runs out, AppRole signs in,
//! and a missing key or a secret the policy does not allow fails with the
//! reference named and no value in the error.

use std::time::{Duration, Instant};

use lightbulb_agent::secrets::{Secrets, SecretsConfig, VaultAuth, VaultConfig};
use lightbulb_common::secret::SecretRef;
use lightbulb_testkit::openbao::OpenBao;
use serde_json::json;

fn vault(bao: &OpenBao, auth: VaultAuth) -> VaultConfig {
    VaultConfig {
        address: bao.url.clone(),
        auth,
        token_file: None,
        role_id: String::new(),
        secret_id_file: None,
        approle_mount: "approle".into(),
        ca: None,
        namespace: None,
    }
}

fn reference(text: &str) -> SecretRef {
    SecretRef::parse(text).unwrap().unwrap()
}

#[tokio::test]
async fn a_short_lived_token_is_renewed_and_reads_keep_working() {
    let Some(bao) = OpenBao::server().await else {
        return;
    };
    bao.put_secret("web", json!({"api_key": "k-1"})).await;
    bao.read_policy("web-read", "web").await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, bao.token("web-read", "3s").await).unwrap();
    let secrets = Secrets::new(&SecretsConfig {
        cache_ttl: Duration::from_millis(200),
        vault: Some(VaultConfig {
            token_file: Some(token_file),
            ..vault(&bao, VaultAuth::Token)
        }),
    })
    .unwrap();
    let r = reference("secret://vault/secret/web#api_key");
    // Three token lifetimes: without renewal the token would expire after
    // the first and every later read would be refused.
    let until = Instant::now() + Duration::from_secs(9);
    let mut reads = 0;
    while Instant::now() < until {
        assert_eq!(secrets.get(&r).await, Ok("k-1".to_string()), "read {reads}");
        reads += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A changed secret is read again once the cached value is older than the TTL.
    bao.put_secret("web", json!({"api_key": "k-2"})).await;
    lightbulb_testkit::eventually(Duration::from_secs(5), "the new value", || async {
        (secrets.get(&r).await == Ok("k-2".to_string())).then_some(())
    })
    .await;
}

#[tokio::test]
async fn approle_signs_in_and_errors_name_the_reference_only() {
    let Some(bao) = OpenBao::server().await else {
        return;
    };
    bao.put_secret("web", json!({"api_key": "approle-value"}))
        .await;
    bao.put_secret("other", json!({"api_key": "forbidden-value"}))
        .await;
    bao.read_policy("web-read", "web").await;
    let (role_id, secret_id) = bao.approle("agent", "web-read").await;
    let dir = tempfile::tempdir().unwrap();
    let secret_id_file = dir.path().join("secret-id");
    std::fs::write(&secret_id_file, format!("{secret_id}\n")).unwrap();
    let secrets = Secrets::new(&SecretsConfig {
        cache_ttl: Duration::from_secs(60),
        vault: Some(VaultConfig {
            role_id,
            secret_id_file: Some(secret_id_file),
            ..vault(&bao, VaultAuth::Approle)
        }),
    })
    .unwrap();
    let got = secrets
        .get(&reference("secret://vault/secret/web#api_key"))
        .await;
    assert_eq!(got, Ok("approle-value".to_string()));

    let missing = secrets
        .get(&reference("secret://vault/secret/web#nope"))
        .await
        .unwrap_err();
    assert!(
        missing.contains("secret://vault/secret/web#nope"),
        "{missing}"
    );
    assert!(missing.contains("no key `nope`"), "{missing}");

    let denied = secrets
        .get(&reference("secret://vault/secret/other#api_key"))
        .await
        .unwrap_err();
    assert!(
        denied.contains("secret://vault/secret/other#api_key"),
        "{denied}"
    );
    assert!(denied.contains("403"), "{denied}");
    assert!(!denied.contains("forbidden-value"), "{denied}");
}
