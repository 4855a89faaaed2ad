//! API keys: `msk_live_` + 30 random base62 characters + a 6-character base62
//! CRC32 of those 30 (as GitHub's tokens do), so a mistyped or made-up key is
//! rejected before any database read. Only the SHA-256 of a key is stored.

use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::ids::{base62_fixed, is_base62, random_base62};

pub const KEY_PREFIX: &str = "msk_live_";
const RANDOM_LEN: usize = 30;
const CHECKSUM_LEN: usize = 6;
/// Characters of the key shown back in listings: the prefix plus four.
const DISPLAY_LEN: usize = KEY_PREFIX.len() + 4;

/// A freshly minted key: the plain text is shown once, then only `hash` is
/// kept. `plain` is a `SecretString`: `Debug` and `tracing` print it as
/// `[REDACTED]`; only `expose_secret()` reads it.
#[derive(Debug)]
pub struct ApiKeyMaterial {
    pub plain: SecretString,
    /// SHA-256 of `plain`, hex: the lookup key of the store, not a credential.
    pub hash: String,
    pub display_prefix: String,
}

/// A key whose shape and checksum are right; whether it exists is the
/// store's call. Only the key's SHA-256 is kept: the presented key itself
/// stays in the request.
#[derive(Debug)]
pub struct ParsedApiKey {
    pub hash: String,
}

pub fn generate() -> ApiKeyMaterial {
    let random = random_base62(RANDOM_LEN);
    let plain = format!("{KEY_PREFIX}{random}{}", checksum(&random));
    ApiKeyMaterial {
        hash: hash(&plain),
        display_prefix: plain[..DISPLAY_LEN].to_owned(),
        plain: SecretString::from(plain),
    }
}

/// Checks shape and checksum; `None` means the key cannot be one of ours.
pub fn parse(candidate: &str) -> Option<ParsedApiKey> {
    let body = candidate.strip_prefix(KEY_PREFIX)?;
    if body.len() != RANDOM_LEN + CHECKSUM_LEN || !is_base62(body) {
        return None;
    }
    let (random, check) = body.split_at(RANDOM_LEN);
    (checksum(random) == check).then(|| ParsedApiKey {
        hash: hash(candidate),
    })
}

fn checksum(random: &str) -> String {
    base62_fixed(u64::from(crc32fast::hash(random.as_bytes())), CHECKSUM_LEN)
}

pub fn hash(plain: &str) -> String {
    hex::encode(Sha256::digest(plain.as_bytes()))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn generated_keys_parse_and_hash_to_the_stored_hash() {
        let key = generate();
        let plain = key.plain.expose_secret();
        assert!(plain.starts_with(KEY_PREFIX));
        assert_eq!(plain.len(), KEY_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN);
        assert_eq!(key.display_prefix, plain[..13]);
        let parsed = parse(plain).map(|parsed| parsed.hash);
        assert_eq!(parsed.as_deref(), Some(key.hash.as_str()));
        assert_eq!(key.hash.len(), 64);
    }

    #[test]
    fn a_single_changed_character_fails_the_checksum() {
        let key = generate();
        let mut chars: Vec<char> = key.plain.expose_secret().chars().collect();
        let index = KEY_PREFIX.len() + 3;
        chars[index] = if chars[index] == 'a' { 'b' } else { 'a' };
        let tampered: String = chars.into_iter().collect();
        assert!(parse(&tampered).is_none());
    }

    #[test]
    fn wrong_prefix_length_or_alphabet_is_rejected() {
        let key = generate();
        let plain = key.plain.expose_secret();
        assert!(parse(&plain.replace("msk_live_", "msk_test_")).is_none());
        assert!(parse(&plain[..plain.len() - 1]).is_none());
        assert!(parse(&format!("{}-", &plain[..plain.len() - 1])).is_none());
        assert!(parse("").is_none());
        assert!(parse("msk_live_ü").is_none());
    }

    #[test]
    fn debug_output_never_contains_the_key() {
        let key = generate();
        let printed = format!("{key:?}");
        assert!(!printed.contains(key.plain.expose_secret()), "{printed}");
        // The part after the displayed prefix appears nowhere either.
        let hidden = &key.plain.expose_secret()[DISPLAY_LEN..];
        assert!(!printed.contains(hidden), "{printed}");
    }
}
