//! Message encryption for Web Push (RFC 8291, `aes128gcm` of RFC 8188):
//! an ephemeral P-256 key agreed with the browser's `p256dh` key, mixed
//! with its `auth` secret, gives the content key; the body is one record.

use ring::rand::SecureRandom;
use ring::{aead, agreement, hkdf};

/// One record holds the whole message: push services take at most 4096
/// bytes of body, of which the header and tag take 103.
pub const MAX_PLAINTEXT: usize = 3993;
const RECORD_SIZE: u32 = 4096;

/// Why a message could not be encrypted for a subscription.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum EncryptError {
    #[error("keys.p256dh is not an uncompressed P-256 public key")]
    PublicKey,
    #[error("keys.auth must be 16 bytes")]
    Auth,
    #[error("the message is {0} bytes; at most {MAX_PLAINTEXT} fit a push")]
    TooLong(usize),
    #[error("the system's random generator failed")]
    Random,
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, info: &[&[u8]], out: &mut [u8]) {
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .expect("HKDF-SHA256 gives up to 8160 bytes");
}

/// The request body for `plaintext` to the browser holding the private
/// half of `ua_public` (65 bytes) and `auth` (16 bytes).
pub fn encrypt(
    ua_public: &[u8],
    auth: &[u8],
    plaintext: &[u8],
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>, EncryptError> {
    if ua_public.len() != 65 || ua_public[0] != 4 {
        return Err(EncryptError::PublicKey);
    }
    if auth.len() != 16 {
        return Err(EncryptError::Auth);
    }
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(EncryptError::TooLong(plaintext.len()));
    }
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| EncryptError::Random)?;
    let own = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, rng)
        .map_err(|_| EncryptError::Random)?;
    let own_public = own.compute_public_key().map_err(|_| EncryptError::Random)?;
    let as_public = own_public.as_ref().to_vec();
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, ua_public);
    let mut ikm = [0u8; 32];
    agreement::agree_ephemeral(own, &peer, |shared| {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, auth).extract(shared);
        expand(&prk, &[b"WebPush: info\0", ua_public, &as_public], &mut ikm);
    })
    .map_err(|_| EncryptError::PublicKey)?;

    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(&ikm);
    let mut cek = [0u8; 16];
    expand(&prk, &[b"Content-Encoding: aes128gcm\0"], &mut cek);
    let mut nonce = [0u8; 12];
    expand(&prk, &[b"Content-Encoding: nonce\0"], &mut nonce);

    let mut record = Vec::with_capacity(plaintext.len() + 17);
    record.extend_from_slice(plaintext);
    // The padding delimiter of the last (only) record.
    record.push(2);
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &cek).expect("16 bytes make an AES-128 key"),
    );
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::empty(),
        &mut record,
    )
    .expect("one record is within AES-GCM's limits");

    let mut body = Vec::with_capacity(21 + as_public.len() + record.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(as_public.len() as u8);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&record);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    }

    /// The worked example of RFC 8291, appendix A: the sender's key and
    /// the salt fixed, the body must come out byte for byte.
    #[test]
    #[allow(deprecated)]
    fn the_rfc_example_encrypts_byte_for_byte() {
        let salt = b64("DGv6ra1nlYgDCS1FRnbzlw");
        let as_private = b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw");
        let rng = ring::test::rand::FixedSliceSequenceRandom {
            bytes: &[&salt, &as_private],
            current: core::cell::UnsafeCell::new(0),
        };
        let body = encrypt(
            &b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
            &b64("BTBZMqHH6r4Tts7J_aSIgg"),
            b"When I grow up, I want to be a watermelon",
            &rng,
        )
        .unwrap();
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn bad_keys_and_long_messages_are_refused() {
        let rng = ring::rand::SystemRandom::new();
        let ua = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        let auth = [7u8; 16];
        assert_eq!(
            encrypt(&ua[1..], &auth, b"x", &rng),
            Err(EncryptError::PublicKey)
        );
        assert_eq!(
            encrypt(&ua, &auth[1..], b"x", &rng),
            Err(EncryptError::Auth)
        );
        assert_eq!(
            encrypt(&ua, &auth, &[b'x'; MAX_PLAINTEXT + 1], &rng),
            Err(EncryptError::TooLong(MAX_PLAINTEXT + 1))
        );
        let body = encrypt(&ua, &auth, &[b'x'; MAX_PLAINTEXT], &rng).unwrap();
        assert_eq!(body.len(), 4096);
    }
}
