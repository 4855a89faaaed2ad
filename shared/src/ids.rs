//! Identifiers: `tnt_`, `key_` and `wh_` followed by 20 base62 characters.

use rand::distr::{Alphanumeric, SampleString};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` characters drawn uniformly from the base62 alphabet (rand's
/// `Alphanumeric`: `0-9A-Za-z`) by the OS-seeded CSPRNG.
pub fn random_base62(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// Encodes `value` in base62, left-padded with `0` to `width` characters.
pub fn base62_fixed(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits.into_iter().map(char::from).collect()
}

pub fn is_base62(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub fn new_tenant_id() -> String {
    format!("tnt_{}", random_base62(20))
}

pub fn new_key_id() -> String {
    format!("key_{}", random_base62(20))
}

pub fn new_webhook_id() -> String {
    format!("wh_{}", random_base62(20))
}

/// True for `prefix` + 20 base62 characters; anything else cannot be ours.
pub fn has_id_shape(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 20 && is_base62(rest))
}

/// True for a tenant id's shape: `tnt_` + 20 base62 characters.
pub fn is_tenant_id(id: &str) -> bool {
    has_id_shape(id, "tnt_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_have_the_contract_shape() {
        let id = new_tenant_id();
        assert!(is_tenant_id(&id), "{id}");
        assert_ne!(id, new_tenant_id());
    }

    #[test]
    fn random_base62_has_the_length_asked_and_only_base62_characters() {
        let drawn = random_base62(4096);
        assert_eq!(drawn.len(), 4096);
        assert!(drawn.bytes().all(|byte| BASE62.contains(&byte)));
        // Every character of the alphabet turns up in 4096 draws (the
        // chance that one does not is about 62 * e^-66).
        assert!(BASE62.iter().all(|byte| drawn.as_bytes().contains(byte)));
    }

    #[test]
    fn fixed_width_base62_pads_and_encodes() {
        assert_eq!(base62_fixed(0, 6), "000000");
        assert_eq!(base62_fixed(61, 2), "0z");
        assert_eq!(base62_fixed(62, 2), "10");
        assert_eq!(base62_fixed(u64::from(u32::MAX), 6), "4gfFC3");
    }

    #[test]
    fn id_shape_rejects_wrong_prefix_length_and_alphabet() {
        assert!(!has_id_shape("tnt_short", "tnt_"));
        assert!(!has_id_shape("key_AAAAAAAAAAAAAAAAAAAA", "tnt_"));
        assert!(!has_id_shape("tnt_AAAAAAAAAAAAAAAAAAA-", "tnt_"));
    }
}
