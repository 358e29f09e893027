//! ID tokens signed by a key made here, against metadata made here: the
//! tampered tokens a real provider never issues (a hand-made provider is
//! the only way to get them; the flow itself is tested against OpenBao).

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openidconnect::core::CoreIdToken;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use super::*;

const ISSUER: &str = "https://id.example.com";
const CLIENT: &str = "lightbulb";

struct Key {
    kid: &'static str,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

fn key(kid: &'static str) -> Key {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    Key {
        kid,
        pkcs8: pkcs8.as_ref().to_vec(),
        public: pair.public_key().as_ref().to_vec(),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Provider metadata publishing `published` as its keys.
fn provider(published: &[&Key]) -> CoreProviderMetadata {
    let keys: Vec<Value> = published
        .iter()
        .map(|k| {
            json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": k.kid,
                   "x": b64(&k.public[1..33]), "y": b64(&k.public[33..65])})
        })
        .collect();
    let meta: CoreProviderMetadata = serde_json::from_value(json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/authorize"),
        "token_endpoint": format!("{ISSUER}/token"),
        "jwks_uri": format!("{ISSUER}/keys"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
    .unwrap();
    meta.set_jwks(serde_json::from_value(json!({"keys": keys})).unwrap())
}

fn sign(with: &Key, claims: Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(with.kid.to_string());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&with.pkcs8)).unwrap()
}

fn claims(now: i64) -> Value {
    json!({"iss": ISSUER, "aud": CLIENT, "sub": "u-1", "preferred_username": "alice",
           "nonce": "n-1", "iat": now, "exp": now + 300, "groups": ["sre"]})
}

fn oidc() -> Oidc {
    let config = OidcConfig {
        issuer: ISSUER.into(),
        client_id: CLIENT.into(),
        client_secret: "s".into(),
        redirect_url: "https://lightbulb.example.com/api/auth/oidc/callback".into(),
        scopes: vec!["groups".into()],
        post_logout_redirect_url: None,
    };
    Oidc::new(
        config,
        "groups".into(),
        [("sre".to_string(), Role::Editor)].into(),
    )
}

fn check(o: &Oidc, published: &[&Key], jwt: &str, nonce: &str) -> std::result::Result<(), String> {
    let client = o.client(provider(published)).unwrap();
    let token: CoreIdToken = jwt.parse().map_err(|e| format!("does not parse: {e}"))?;
    verify(&client, &token, &Nonce::new(nonce.to_string()))
}

#[test]
fn only_an_untouched_token_for_us_from_the_issuer_verifies() {
    let o = oidc();
    let (k1, stranger) = (key("k1"), key("k1"));
    let now = lightbulb_common::time::now_ms() / 1000;
    let good = sign(&k1, claims(now));
    assert_eq!(check(&o, &[&k1], &good, "n-1"), Ok(()));

    let mut forged = good.clone().into_bytes();
    let i = forged.len() - 5;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert!(
        check(&o, &[&k1], &forged, "n-1").is_err(),
        "a changed signature"
    );

    let by_stranger = sign(&stranger, claims(now));
    assert!(
        check(&o, &[&k1], &by_stranger, "n-1").is_err(),
        "signed by another key under a known kid"
    );
    let unknown = key("k9");
    assert!(
        check(&o, &[&k1], &sign(&unknown, claims(now)), "n-1").is_err(),
        "an unknown kid"
    );

    let mut other = claims(now);
    other["aud"] = json!("someone-else");
    assert!(
        check(&o, &[&k1], &sign(&k1, other), "n-1").is_err(),
        "another audience"
    );
    let mut other = claims(now);
    other["iss"] = json!("https://evil.example.com");
    assert!(
        check(&o, &[&k1], &sign(&k1, other), "n-1").is_err(),
        "another issuer"
    );
    let mut old = claims(now - 3600);
    old["exp"] = json!(now - 600);
    assert!(
        check(&o, &[&k1], &sign(&k1, old), "n-1").is_err(),
        "expired"
    );
    assert!(
        check(&o, &[&k1], &good, "n-2").is_err(),
        "a nonce from another sign-in"
    );
}
