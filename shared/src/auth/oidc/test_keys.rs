//! Test keys, generated per run (no private key is checked in), and tokens
//! signed with them by hand, so a test controls every header field.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::Engine as _;
use serde_json::{json, Value};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.claims.` ready for a signature.
fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

pub struct RsaKey {
    pub kid: String,
    pair: RsaKeyPair,
}

impl RsaKey {
    pub fn generate(kid: &str) -> Self {
        match RsaKeyPair::generate(KeySize::Rsa2048) {
            Ok(pair) => Self {
                kid: kid.to_owned(),
                pair,
            },
            Err(err) => panic!("generating an RSA key: {err}"),
        }
    }

    pub fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "n": b64(public.modulus().big_endian_without_leading_zero()),
            "e": b64(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn public_der(&self) -> Vec<u8> {
        match self.pair.public_key().as_der() {
            Ok(der) => der.as_ref().to_vec(),
            Err(err) => panic!("encoding the RSA public key: {err}"),
        }
    }

    pub fn public_pem(&self) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(self.public_der());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .filter_map(|chunk| std::str::from_utf8(chunk).ok())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    /// An RS256 token naming this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": "RS256", "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }

    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let mut signature = vec![0; self.pair.public_modulus_len()];
        if let Err(err) = self.pair.sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        ) {
            panic!("RSA signing: {err}");
        }
        format!("{input}.{}", b64(&signature))
    }
}

pub struct EcKey {
    pub kid: String,
    pair: EcdsaKeyPair,
}

impl EcKey {
    pub fn generate(kid: &str) -> Self {
        match EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING) {
            Ok(pair) => Self {
                kid: kid.to_owned(),
                pair,
            },
            Err(err) => panic!("generating an EC key: {err}"),
        }
    }

    pub fn jwk(&self) -> Value {
        // The uncompressed point: 0x04, then x and y of 32 bytes each.
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "kid": self.kid,
            "x": b64(point.get(1..33).unwrap_or_default()),
            "y": b64(point.get(33..65).unwrap_or_default()),
        })
    }

    /// An ES256 token naming this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": "ES256", "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }

    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        match self.pair.sign(&SystemRandom::new(), input.as_bytes()) {
            Ok(signature) => format!("{input}.{}", b64(signature.as_ref())),
            Err(err) => panic!("EC signing: {err}"),
        }
    }
}
