//! Sealing of secrets at rest: tokens, refresh tokens and Service secrets are encrypted with a key
//! the host supplies before they reach the [`crate::host::Store`], so a copy of the host's database
//! does not leak them.
//!
//! XChaCha20-Poly1305 (RustCrypto): its 24-byte nonces can be drawn at random from the CSPRNG for
//! every write without a counter to keep. The store key is bound in as associated data, so a sealed
//! value copied under another key does not open.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Format byte in front of every sealed value, so the scheme can change later.
const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the sealing key must be 32 bytes")]
    BadKey,
    #[error(
        "the sealed value is damaged, was sealed with another key, or belongs to another record"
    )]
    CannotOpen,
    #[error("sealing failed")]
    CannotSeal,
}

/// Encrypts and authenticates small values with the host's 32-byte key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer { key: <hidden> }")
    }
}

impl Sealer {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// A sealer from key bytes handed over by a binding; anything but 32 bytes is refused.
    pub fn from_slice(key: &[u8]) -> Result<Self, SealError> {
        let key: [u8; 32] = key.try_into().map_err(|_| SealError::BadKey)?;
        Ok(Self::new(key))
    }

    /// `format || nonce || ciphertext+tag`; `context` (for example the store key) must be given
    /// again to open it.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| SealError::CannotSeal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT_V1 {
            return Err(SealError::CannotOpen);
        }
        let nonce = XNonce::from_slice(&sealed[1..1 + NONCE_LEN]);
        self.cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: context,
                },
            )
            .map_err(|_| SealError::CannotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hides_the_plaintext() {
        let sealer = Sealer::new([7; 32]);
        let sealed = sealer.seal(b"key/a", b"secret-token").unwrap();
        assert!(!sealed.windows(12).any(|w| w == b"secret-token"));
        assert_eq!(sealer.open(b"key/a", &sealed).unwrap(), b"secret-token");
        // Fresh nonce every time.
        assert_ne!(sealed, sealer.seal(b"key/a", b"secret-token").unwrap());
    }

    #[test]
    fn refuses_other_key_other_context_and_tampering() {
        let sealer = Sealer::new([7; 32]);
        let sealed = sealer.seal(b"key/a", b"secret").unwrap();
        assert_eq!(
            Sealer::new([8; 32]).open(b"key/a", &sealed),
            Err(SealError::CannotOpen)
        );
        assert_eq!(sealer.open(b"key/b", &sealed), Err(SealError::CannotOpen));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open(b"key/a", &tampered), Err(SealError::CannotOpen));
        assert_eq!(sealer.open(b"key/a", &[1, 2]), Err(SealError::CannotOpen));
        assert_eq!(Sealer::from_slice(&[0; 31]).err(), Some(SealError::BadKey));
    }
}
