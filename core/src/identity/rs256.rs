//! RS256, the one JWT algorithm MsSync uses (Entra ID's id tokens, our client assertions), as a
//! jsonwebtoken `CryptoProvider`. The browser build installs it in place of jsonwebtoken's
//! `rust_crypto` provider, whose EdDSA, ECDSA and HMAC code would add about 30 KB gzip that
//! nothing calls; native builds keep `rust_crypto`, and the tests below check the two agree.

// Native builds install nothing: the provider is used there only by its tests.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{self, SignatureEncoding, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::{BoxedUint, Pkcs1v15Sign, pkcs1v15};
use sha2_011::{Digest, Sha256};

/// RS256 and nothing else.
pub(crate) static RS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory,
    verifier_factory,
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes sure jsonwebtoken has a provider before MsSync signs or verifies: the browser build
/// installs [`RS256_ONLY`]; native builds use the `rust_crypto` one the crate features select.
pub(crate) fn ensure_provider() {
    #[cfg(target_arch = "wasm32")]
    {
        // Already installed (by an earlier call) is fine.
        let _ = RS256_ONLY.install_default();
    }
}

fn signer_factory(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::RS256 || key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(Rs256Signer(key.clone())))
}

fn verifier_factory(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::RS256 || key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(Rs256Verifier(key.clone())))
}

struct Rs256Signer(EncodingKey);

impl Signer<Vec<u8>> for Rs256Signer {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        // `EncodingKey::from_rsa_der` holds a PKCS#1 private key.
        let key = rsa::PrivateKey::from_pkcs1_der(self.0.as_bytes())
            .map_err(signature::Error::from_source)?;
        Ok(pkcs1v15::SigningKey::<Sha256>::new(key)
            .try_sign(message)?
            .to_vec())
    }
}

impl JwtSigner for Rs256Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

struct Rs256Verifier(DecodingKey);

impl Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        let key = match self.0.kind() {
            DecodingKeyKind::SecretOrDer(der) => {
                rsa::PublicKey::from_pkcs1_der(der).map_err(signature::Error::from_source)?
            }
            DecodingKeyKind::RsaModulusExponent { n, e } => rsa::PublicKey::new(
                BoxedUint::from_be_slice_vartime(n),
                BoxedUint::from_be_slice_vartime(e),
            )
            .map_err(signature::Error::from_source)?,
        };
        key.verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(message),
            signature,
        )
        .map_err(signature::Error::from_source)
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
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

    fn sign_with(provider: &CryptoProvider, key: &EncodingKey, message: &[u8]) -> Vec<u8> {
        (provider.signer_factory)(&Algorithm::RS256, key)
            .unwrap()
            .try_sign(message)
            .unwrap()
    }

    fn verifies_with(
        provider: &CryptoProvider,
        key: &DecodingKey,
        message: &[u8],
        sig: &[u8],
    ) -> bool {
        (provider.verifier_factory)(&Algorithm::RS256, key)
            .unwrap()
            .verify(message, &sig.to_vec())
            .is_ok()
    }

    #[test]
    fn signs_and_verifies_exactly_as_rust_crypto_does() {
        let (encoding, decoding) = keys();
        let message = b"header.claims";
        let ours = sign_with(&RS256_ONLY, &encoding, message);
        assert_eq!(
            ours,
            sign_with(&RUST_CRYPTO, &encoding, message),
            "PKCS#1 v1.5 is deterministic"
        );
        assert!(verifies_with(&RUST_CRYPTO, &decoding, message, &ours));
        assert!(verifies_with(&RS256_ONLY, &decoding, message, &ours));
        let mut tampered = ours.clone();
        tampered[10] ^= 1;
        assert!(!verifies_with(&RS256_ONLY, &decoding, message, &tampered));
        assert!(!verifies_with(
            &RS256_ONLY,
            &decoding,
            b"header.other",
            &ours
        ));
    }

    #[test]
    fn refuses_every_other_algorithm() {
        let (encoding, decoding) = keys();
        for algorithm in [
            Algorithm::HS256,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::ES256,
        ] {
            assert!(
                (RS256_ONLY.signer_factory)(&algorithm, &encoding).is_err(),
                "{algorithm:?}"
            );
            assert!(
                (RS256_ONLY.verifier_factory)(&algorithm, &decoding).is_err(),
                "{algorithm:?}"
            );
        }
        let secret = DecodingKey::from_secret(b"shared").unwrap();
        assert!((RS256_ONLY.verifier_factory)(&Algorithm::RS256, &secret).is_err());
    }
}
