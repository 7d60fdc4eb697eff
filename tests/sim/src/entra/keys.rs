//! The simulator's TEST-ONLY keys (see `tests/sim/keys/README.md`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use sha2::Digest;

pub const SIGNING_KEY_1_PEM: &str = include_str!("../../keys/signing-key-1.pem");
pub const SIGNING_KEY_2_PEM: &str = include_str!("../../keys/signing-key-2.pem");
pub const ROGUE_KEY_PEM: &str = include_str!("../../keys/rogue-key.pem");
/// The registered test app's client certificate and its private key.
pub const CLIENT_CERT_PEM: &str = include_str!("../../keys/client-cert.pem");
pub const CLIENT_CERT_KEY_PEM: &str = include_str!("../../keys/client-cert-key.pem");

/// A token-signing key with its published form.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    pub jwk: serde_json::Value,
}

impl SigningKey {
    pub fn from_pem(kid: &str, pem: &str) -> Self {
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("test key parses");
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).expect("RSA JWK");
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).expect("JWK decodes");
        let mut jwk = serde_json::to_value(&jwk).expect("JWK serializes");
        // Entra publishes the issuer template beside each key.
        jwk["issuer"] = "https://login.microsoftonline.com/{tenantid}/v2.0".into();
        Self {
            kid: kid.to_owned(),
            encoding,
            decoding,
            jwk,
        }
    }
}

/// A registered client certificate: its thumbprint and the public key to check assertions with.
#[derive(Clone)]
pub struct RegisteredCertificate {
    /// base64url SHA-256 of the certificate's DER, as in an assertion's `x5t#S256` header.
    pub x5t_s256: String,
    pub key: DecodingKey,
}

impl RegisteredCertificate {
    pub fn from_pem(cert_pem: &str) -> Self {
        let der = pem::parse(cert_pem)
            .expect("certificate PEM")
            .into_contents();
        Self {
            x5t_s256: URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der)),
            key: DecodingKey::from_rsa_pem(cert_pem.as_bytes()).expect("certificate key"),
        }
    }
}
