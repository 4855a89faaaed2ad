//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>), so
//! that the `standardwebhooks` libraries verify our events: the secret is
//! `whsec_` + base64 of 32 random bytes; the signature is
//! `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with
//! the secret's decoded bytes.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

pub const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;

/// A new signing secret, from the OS-seeded CSPRNG.
pub fn new_secret() -> SecretString {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    SecretString::from(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The `webhook-signature` header's value for one attempt.
pub fn sign(secret: &SecretString, event_id: &str, timestamp: i64, body: &[u8]) -> Result<String> {
    let encoded = secret
        .expose_secret()
        .strip_prefix(SECRET_PREFIX)
        .ok_or_else(|| Error::internal("signing a webhook", "the secret has no whsec_ prefix"))?;
    let key_bytes = STANDARD
        .decode(encoded)
        .map_err(|err| Error::internal("signing a webhook", err))?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
    let mut context = hmac::Context::with_key(&key);
    context.update(event_id.as_bytes());
    context.update(b".");
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    Ok(format!("v1,{}", STANDARD.encode(context.sign().as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_whsec_and_32_bytes_of_base64() {
        let secret = new_secret();
        let text = secret.expose_secret();
        let decoded = text
            .strip_prefix(SECRET_PREFIX)
            .and_then(|rest| STANDARD.decode(rest).ok());
        assert_eq!(decoded.map(|bytes| bytes.len()), Some(32));
        assert_ne!(text, new_secret().expose_secret());
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_reference_vector() {
        // The example of the Standard Webhooks libraries' own tests.
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).ok();
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn a_secret_without_its_prefix_is_an_internal_error_not_a_panic() {
        let secret = SecretString::from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned());
        assert!(sign(&secret, "e", 1, b"{}").is_err());
    }
}
