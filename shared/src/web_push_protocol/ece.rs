//! RFC 8291 message encryption for Web Push: `aes128gcm` content coding
//! (RFC 8188) in a single record, keyed by ECDH between a fresh key of ours
//! and the subscription's `p256dh`, mixed with its `auth` secret.
//!
//! Built on aws-lc-rs (ECDH P-256, HKDF-SHA-256, AES-128-GCM), which the
//! TLS stack already links: no OpenSSL, no extra crypto crate. Tested against
//! RFC 8291's worked example (Appendix A) and an independent decryption.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey, ECDH_P256};
use aws_lc_rs::hkdf::{self, Salt, HKDF_SHA256};

use super::subscription::{AUTH_SECRET_LEN, P256_POINT_LEN};

/// Salt (16) + record size (4) + key id length (1) + key id (65).
pub const HEADER_LEN: usize = 16 + 4 + 1 + P256_POINT_LEN;
/// The padding delimiter of the last record and the GCM tag.
pub const RECORD_OVERHEAD: usize = 1 + 16;
/// RFC 8030 push services must accept 4096 bytes of message body.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// The largest plaintext that fits [`MAX_MESSAGE_LEN`] in one record.
pub const MAX_PLAINTEXT_LEN: usize = MAX_MESSAGE_LEN - HEADER_LEN - RECORD_OVERHEAD;
/// The record size we declare: one record holds any message we send.
const RECORD_SIZE: u32 = MAX_MESSAGE_LEN as u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EceError {
    #[error("the subscription key is not a P-256 point")]
    BadPeerKey,
    #[error("the message is larger than 4096 bytes once encrypted")]
    TooLarge,
    #[error("the message does not decrypt")]
    Undecryptable,
    #[error("cryptographic failure")]
    Crypto,
}

/// HKDF output lengths.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand(prk: &hkdf::Prk, info: &[&[u8]], out: &mut [u8]) -> Result<(), EceError> {
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| EceError::Crypto)
}

/// The content-encryption key and nonce for one message (RFC 8291 §3.4,
/// RFC 8188 §2.2), from the ECDH secret.
fn derive(
    ecdh_secret: &[u8],
    auth_secret: &[u8; AUTH_SECRET_LEN],
    ua_public: &[u8],
    as_public: &[u8],
    salt: &[u8; 16],
) -> Result<([u8; 16], [u8; 12]), EceError> {
    let prk_key = Salt::new(HKDF_SHA256, auth_secret).extract(ecdh_secret);
    let mut ikm = [0_u8; 32];
    expand(
        &prk_key,
        &[b"WebPush: info\0", ua_public, as_public],
        &mut ikm,
    )?;
    let prk = Salt::new(HKDF_SHA256, salt).extract(&ikm);
    let mut cek = [0_u8; 16];
    expand(&prk, &[b"Content-Encoding: aes128gcm\0"], &mut cek)?;
    let mut nonce = [0_u8; 12];
    expand(&prk, &[b"Content-Encoding: nonce\0"], &mut nonce)?;
    Ok((cek, nonce))
}

/// Encrypts `plaintext` to the subscription (`ua_public` = its `p256dh`,
/// `auth_secret` = its `auth`) with a fresh key pair and salt.
pub fn encrypt(
    plaintext: &[u8],
    ua_public: &[u8; P256_POINT_LEN],
    auth_secret: &[u8; AUTH_SECRET_LEN],
) -> Result<Vec<u8>, EceError> {
    let ephemeral = PrivateKey::generate(&ECDH_P256).map_err(|_| EceError::Crypto)?;
    let mut salt = [0_u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| EceError::Crypto)?;
    encrypt_with(plaintext, ua_public, auth_secret, &ephemeral, &salt)
}

/// [`encrypt`] with a given key pair and salt (RFC 8291's example fixes both).
pub fn encrypt_with(
    plaintext: &[u8],
    ua_public: &[u8; P256_POINT_LEN],
    auth_secret: &[u8; AUTH_SECRET_LEN],
    as_private: &PrivateKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, EceError> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(EceError::TooLarge);
    }
    let as_public = as_private
        .compute_public_key()
        .map_err(|_| EceError::Crypto)?;
    let (cek, nonce) = agreement::agree(
        as_private,
        UnparsedPublicKey::new(&ECDH_P256, ua_public),
        EceError::BadPeerKey,
        |secret| derive(secret, auth_secret, ua_public, as_public.as_ref(), salt),
    )?;
    let mut message = Vec::with_capacity(HEADER_LEN + plaintext.len() + RECORD_OVERHEAD);
    message.extend_from_slice(salt);
    message.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    message.push(P256_POINT_LEN as u8);
    message.extend_from_slice(as_public.as_ref());
    let mut record = Vec::with_capacity(plaintext.len() + RECORD_OVERHEAD);
    record.extend_from_slice(plaintext);
    // The delimiter of the last (and only) record, no padding.
    record.push(0x02);
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &cek).map_err(|_| EceError::Crypto)?);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::empty(),
        &mut record,
    )
    .map_err(|_| EceError::Crypto)?;
    message.extend_from_slice(&record);
    Ok(message)
}

/// Decrypts a single-record `aes128gcm` message as the browser holding
/// `ua_private` and `auth_secret` would. For tests and the simulator.
pub fn decrypt(
    message: &[u8],
    ua_private: &PrivateKey,
    auth_secret: &[u8; AUTH_SECRET_LEN],
) -> Result<Vec<u8>, EceError> {
    let undecryptable = EceError::Undecryptable;
    let salt: [u8; 16] = message
        .get(..16)
        .and_then(|s| s.try_into().ok())
        .ok_or(undecryptable)?;
    let id_len = usize::from(*message.get(20).ok_or(undecryptable)?);
    let as_public = message.get(21..21 + id_len).ok_or(undecryptable)?;
    let mut record = message.get(21 + id_len..).ok_or(undecryptable)?.to_vec();
    let ua_public = ua_private
        .compute_public_key()
        .map_err(|_| EceError::Crypto)?;
    let (cek, nonce) = agreement::agree(
        ua_private,
        UnparsedPublicKey::new(&ECDH_P256, as_public),
        EceError::BadPeerKey,
        |secret| derive(secret, auth_secret, ua_public.as_ref(), as_public, &salt),
    )?;
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &cek).map_err(|_| EceError::Crypto)?);
    let plain = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut record,
        )
        .map_err(|_| undecryptable)?;
    // Strip padding: zeros after the delimiter (2 for the last record).
    let end = plain.iter().rposition(|b| *b != 0).ok_or(undecryptable)?;
    if plain[end] != 0x02 {
        return Err(undecryptable);
    }
    Ok(plain[..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web_push_protocol::subscription::decode_base64url;

    fn b64(text: &str) -> Vec<u8> {
        decode_base64url(text).unwrap()
    }

    /// RFC 8291, Appendix A: the worked example, byte for byte.
    #[test]
    fn rfc_8291_appendix_a_is_reproduced_exactly() {
        let plaintext = b"When I grow up, I want to be a watermelon";
        let as_private = PrivateKey::from_private_key(
            &ECDH_P256,
            &b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"),
        )
        .unwrap();
        let ua_private = PrivateKey::from_private_key(
            &ECDH_P256,
            &b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"),
        )
        .unwrap();
        let ua_public: [u8; 65] = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        )
        .try_into()
        .unwrap();
        let auth: [u8; 16] = b64("BTBZMqHH6r4Tts7J_aSIgg").try_into().unwrap();
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let message = encrypt_with(plaintext, &ua_public, &auth, &as_private, &salt).unwrap();
        let expected = b64(concat!(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIg",
            "Dll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVB",
            "St2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        ));
        assert_eq!(message, expected);
        assert_eq!(
            decrypt(&message, &ua_private, &auth).unwrap(),
            plaintext.to_vec()
        );
    }

    #[test]
    fn a_fresh_message_decrypts_and_a_tampered_one_does_not() {
        let ua_private = PrivateKey::generate(&ECDH_P256).unwrap();
        let ua_public: [u8; 65] = ua_private
            .compute_public_key()
            .unwrap()
            .as_ref()
            .try_into()
            .unwrap();
        let auth = [9_u8; 16];
        let message = encrypt(b"{\"title\":\"hi\"}", &ua_public, &auth).unwrap();
        assert_eq!(
            decrypt(&message, &ua_private, &auth).unwrap(),
            b"{\"title\":\"hi\"}"
        );
        let mut tampered = message.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            decrypt(&tampered, &ua_private, &auth),
            Err(EceError::Undecryptable)
        );
        assert_eq!(
            decrypt(&message, &ua_private, &[8; 16]),
            Err(EceError::Undecryptable)
        );
    }

    #[test]
    fn the_4096_byte_limit_applies_after_encryption() {
        let ua_public: [u8; 65] = PrivateKey::generate(&ECDH_P256)
            .unwrap()
            .compute_public_key()
            .unwrap()
            .as_ref()
            .try_into()
            .unwrap();
        let fits = encrypt(&vec![b'a'; MAX_PLAINTEXT_LEN], &ua_public, &[1; 16]).unwrap();
        assert_eq!(fits.len(), MAX_MESSAGE_LEN);
        assert_eq!(
            encrypt(&vec![b'a'; MAX_PLAINTEXT_LEN + 1], &ua_public, &[1; 16]),
            Err(EceError::TooLarge)
        );
    }
}
