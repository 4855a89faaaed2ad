//! Identifiers: `tnt_` and `key_` followed by 20 base62 characters.

use rand::Rng;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` characters drawn uniformly from the base62 alphabet by the OS-seeded CSPRNG.
pub fn random_base62(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())]))
        .collect()
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

/// True for `prefix` + 20 base62 characters; anything else cannot be ours.
pub fn has_id_shape(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 20 && is_base62(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_have_the_contract_shape() {
        let id = new_tenant_id();
        assert!(has_id_shape(&id, "tnt_"), "{id}");
        assert_ne!(id, new_tenant_id());
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
