//! The two JWT algorithms MsSync uses, RS256 (Entra ID's id tokens) and PS256 (our client
//! assertions, as Entra's certificate-credentials page asks: "alg: PS256", "Use PSS padding"), as
//! a jsonwebtoken `CryptoProvider` over the `rsa` crate. The browser build installs it in place of
//! jsonwebtoken's `rust_crypto` provider, whose EdDSA, ECDSA and HMAC code would add about 30 KB
//! gzip that nothing calls; native builds keep `rust_crypto`, and the tests below check the two
//! agree.

// Native builds install nothing: the provider is used there only by its tests.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{self, SignatureEncoding, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::{BoxedUint, Pkcs1v15Sign, Pss, pkcs1v15, pss};
use sha2_011::{Digest, Sha256};

/// RS256 and PS256 and nothing else.
pub(crate) static RSA_SHA256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes sure jsonwebtoken has a provider before MsSync signs or verifies: the browser build
/// installs [`RSA_SHA256_ONLY`]; native builds use the `rust_crypto` one the crate features
/// select.
pub(crate) fn ensure_provider() {
    #[cfg(target_arch = "wasm32")]
    {
        // Already installed (by an earlier call) is fine.
        let _ = RSA_SHA256_ONLY.install_default();
    }
}

/// PKCS#1 v1.5 (RS256) or PSS with a 32-byte salt, SHA-256 for both digest and MGF1 (PS256,
/// RFC 7518 section 3.5).
fn padding(algorithm: &Algorithm) -> Option<bool> {
    match algorithm {
        Algorithm::RS256 => Some(false),
        Algorithm::PS256 => Some(true),
        _ => None,
    }
}

fn signer_factory(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    match padding(algorithm) {
        Some(pss) if key.family() == AlgorithmFamily::Rsa => Ok(Box::new(RsaSigner {
            key: key.clone(),
            algorithm: *algorithm,
            pss,
        })),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    match padding(algorithm) {
        Some(pss) if key.family() == AlgorithmFamily::Rsa => Ok(Box::new(RsaVerifier {
            key: key.clone(),
            algorithm: *algorithm,
            pss,
        })),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

struct RsaSigner {
    key: EncodingKey,
    algorithm: Algorithm,
    pss: bool,
}

impl Signer<Vec<u8>> for RsaSigner {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        // `EncodingKey::from_rsa_der` holds a PKCS#1 private key.
        let key = rsa::PrivateKey::from_pkcs1_der(self.key.as_bytes())
            .map_err(signature::Error::from_source)?;
        Ok(if self.pss {
            // A random salt of the digest's length, from the OS (getrandom; the browser's
            // crypto.getRandomValues in wasm).
            pss::SigningKey::<Sha256>::new(key)
                .try_sign(message)?
                .to_vec()
        } else {
            pkcs1v15::SigningKey::<Sha256>::new(key)
                .try_sign(message)?
                .to_vec()
        })
    }
}

impl JwtSigner for RsaSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

struct RsaVerifier {
    key: DecodingKey,
    algorithm: Algorithm,
    pss: bool,
}

impl Verifier<Vec<u8>> for RsaVerifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        let key = match self.key.kind() {
            DecodingKeyKind::SecretOrDer(der) => {
                rsa::PublicKey::from_pkcs1_der(der).map_err(signature::Error::from_source)?
            }
            DecodingKeyKind::RsaModulusExponent { n, e } => rsa::PublicKey::new(
                BoxedUint::from_be_slice_vartime(n),
                BoxedUint::from_be_slice_vartime(e),
            )
            .map_err(signature::Error::from_source)?,
        };
        let digest = Sha256::digest(message);
        if self.pss {
            key.verify(Pss::<Sha256>::new(), &digest, signature)
        } else {
            key.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
        }
        .map_err(signature::Error::from_source)
    }
}

impl JwtVerifier for RsaVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER as RUST_CRYPTO;

    const KEY_PEM: &[u8] = include_bytes!("../../../tests/sim/keys/client-cert-key.pem");

    fn keys() -> (EncodingKey, DecodingKey) {
        let block = pem::parse(KEY_PEM).unwrap();
        let info = pkcs8::PrivateKeyInfoRef::try_from(block.contents()).unwrap();
        let pkcs1 = info.private_key.as_bytes();
        let private = rsa::PrivateKey::from_pkcs1_der(pkcs1).unwrap();
        let public = private.to_public_key();
        use rsa::traits::PublicKeyParts;
        let decoding = DecodingKey::from_rsa_raw_components(&public.n_bytes(), &public.e_bytes());
        (EncodingKey::from_rsa_der(pkcs1), decoding)
    }

    fn sign_with(
        provider: &CryptoProvider,
        algorithm: Algorithm,
        key: &EncodingKey,
        message: &[u8],
    ) -> Vec<u8> {
        (provider.signer_factory)(&algorithm, key)
            .unwrap()
            .try_sign(message)
            .unwrap()
    }

    fn verifies_with(
        provider: &CryptoProvider,
        algorithm: Algorithm,
        key: &DecodingKey,
        message: &[u8],
        sig: &[u8],
    ) -> bool {
        (provider.verifier_factory)(&algorithm, key)
            .unwrap()
            .verify(message, &sig.to_vec())
            .is_ok()
    }

    #[test]
    fn rs256_signs_and_verifies_exactly_as_rust_crypto_does() {
        let (encoding, decoding) = keys();
        let message = b"header.claims";
        let rs = Algorithm::RS256;
        let ours = sign_with(&RSA_SHA256_ONLY, rs, &encoding, message);
        assert_eq!(
            ours,
            sign_with(&RUST_CRYPTO, rs, &encoding, message),
            "PKCS#1 v1.5 is deterministic"
        );
        assert!(verifies_with(&RUST_CRYPTO, rs, &decoding, message, &ours));
        assert!(verifies_with(
            &RSA_SHA256_ONLY,
            rs,
            &decoding,
            message,
            &ours
        ));
        let mut tampered = ours.clone();
        tampered[10] ^= 1;
        assert!(!verifies_with(
            &RSA_SHA256_ONLY,
            rs,
            &decoding,
            message,
            &tampered
        ));
        assert!(!verifies_with(
            &RSA_SHA256_ONLY,
            rs,
            &decoding,
            b"header.other",
            &ours
        ));
    }

    #[test]
    fn ps256_signatures_verify_both_ways_with_rust_crypto() {
        let (encoding, decoding) = keys();
        let message = b"header.claims";
        let ps = Algorithm::PS256;
        let ours = sign_with(&RSA_SHA256_ONLY, ps, &encoding, message);
        let again = sign_with(&RSA_SHA256_ONLY, ps, &encoding, message);
        assert_ne!(ours, again, "PSS signatures are salted");
        assert!(verifies_with(&RUST_CRYPTO, ps, &decoding, message, &ours));
        let theirs = sign_with(&RUST_CRYPTO, ps, &encoding, message);
        assert!(verifies_with(
            &RSA_SHA256_ONLY,
            ps,
            &decoding,
            message,
            &theirs
        ));
        // PSS is not PKCS#1 v1.5: neither verifies as the other.
        assert!(!verifies_with(
            &RUST_CRYPTO,
            Algorithm::RS256,
            &decoding,
            message,
            &ours
        ));
        let rs = sign_with(&RSA_SHA256_ONLY, Algorithm::RS256, &encoding, message);
        assert!(!verifies_with(
            &RSA_SHA256_ONLY,
            ps,
            &decoding,
            message,
            &rs
        ));
        let mut tampered = ours.clone();
        tampered[10] ^= 1;
        assert!(!verifies_with(
            &RSA_SHA256_ONLY,
            ps,
            &decoding,
            message,
            &tampered
        ));
    }

    #[test]
    fn refuses_every_other_algorithm() {
        let (encoding, decoding) = keys();
        for algorithm in [
            Algorithm::HS256,
            Algorithm::RS512,
            Algorithm::PS384,
            Algorithm::ES256,
        ] {
            assert!(
                (RSA_SHA256_ONLY.signer_factory)(&algorithm, &encoding).is_err(),
                "{algorithm:?}"
            );
            assert!(
                (RSA_SHA256_ONLY.verifier_factory)(&algorithm, &decoding).is_err(),
                "{algorithm:?}"
            );
        }
        let secret = DecodingKey::from_secret(b"shared").unwrap();
        assert!((RSA_SHA256_ONLY.verifier_factory)(&Algorithm::RS256, &secret).is_err());
        assert!((RSA_SHA256_ONLY.verifier_factory)(&Algorithm::PS256, &secret).is_err());
    }
}
