//! The collector's VAPID identity (RFC 8292): an ECDSA P-256 key whose
//! public half browsers subscribe with, and the signed token every push
//! request carries so the push service knows the sender.

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

use crate::{Error, Result};

/// How long a token is good for (push services accept at most a day).
const TOKEN_LIFETIME_S: i64 = 12 * 3600;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub struct VapidKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl VapidKey {
    /// A new key, as PKCS#8 to store.
    pub fn generate() -> Vec<u8> {
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .expect("the system's random generator works")
            .as_ref()
            .to_vec()
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<VapidKey> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
            .map_err(|e| Error::internal(format!("the stored VAPID key is unusable: {e}")))?;
        Ok(VapidKey { pair, rng })
    }

    /// The public key as browsers take it (`applicationServerKey`):
    /// the uncompressed point, base64url.
    pub fn public_key(&self) -> String {
        b64(self.pair.public_key().as_ref())
    }

    /// `Authorization` for a push to `endpoint`: a JWT for the endpoint's
    /// origin, good for twelve hours from `now_s`, naming `subject` as
    /// the contact.
    pub fn authorization(&self, endpoint: &url::Url, subject: &str, now_s: i64) -> String {
        let header = b64(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": endpoint.origin().ascii_serialization(),
            "exp": now_s + TOKEN_LIFETIME_S,
            "sub": subject,
        });
        let claims = b64(claims.to_string().as_bytes());
        let signed = format!("{header}.{claims}");
        let signature = self
            .pair
            .sign(&self.rng, signed.as_bytes())
            .expect("ECDSA signing works");
        format!(
            "vapid t={signed}.{}, k={}",
            b64(signature.as_ref()),
            self.public_key()
        )
    }
}

#[cfg(test)]
mod tests {
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    use super::*;

    #[test]
    fn the_token_is_signed_by_the_key_browsers_subscribe_with() {
        let key = VapidKey::from_pkcs8(&VapidKey::generate()).unwrap();
        let endpoint = url::Url::parse("https://push.example.net:8443/wpush/v2/abc").unwrap();
        let auth = key.authorization(&endpoint, "mailto:ops@example.com", 1_000);
        let (t, k) = auth
            .strip_prefix("vapid t=")
            .and_then(|r| r.split_once(", k="))
            .unwrap();
        assert_eq!(k, key.public_key());
        let de = |s: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .unwrap()
        };
        let public = de(k);
        assert_eq!((public.len(), public[0]), (65, 4));
        let (signed, signature) = t.rsplit_once('.').unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
            .verify(signed.as_bytes(), &de(signature))
            .expect("the signature verifies");
        let claims: serde_json::Value =
            serde_json::from_slice(&de(signed.split_once('.').unwrap().1)).unwrap();
        assert_eq!(
            claims,
            serde_json::json!({"aud": "https://push.example.net:8443", "exp": 1_000 + 12 * 3600, "sub": "mailto:ops@example.com"})
        );
        assert!(VapidKey::from_pkcs8(b"not a key").is_err());
    }
}
