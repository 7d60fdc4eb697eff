//! Who we are to Entra ID: the authority, the tenant and the app registration with its credential.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use sha2::Digest;

use super::error::IdentityError;
use super::wire;

/// The public cloud's login host; sovereign clouds and the simulators use their own.
pub const PUBLIC_CLOUD: &str = "https://login.microsoftonline.com";

/// The tenant every personal Microsoft account signs in through; such accounts are refused.
pub const PERSONAL_ACCOUNT_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// An Entra ID app registration as MsSync uses it.
#[derive(Clone, Debug)]
pub struct EntraApp {
    /// Login host base URL without a trailing slash, e.g. [`PUBLIC_CLOUD`].
    pub authority: String,
    /// The connected tenant id (a GUID), or `organizations` for multi-tenant sign-in.
    pub tenant: String,
    pub client_id: String,
    /// Where the authorization and admin-consent redirects come back to.
    pub redirect_uri: Option<String>,
    pub credential: ClientCredential,
}

impl EntraApp {
    pub fn new(
        authority: impl Into<String>,
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        credential: ClientCredential,
    ) -> Self {
        Self {
            authority: authority.into().trim_end_matches('/').to_owned(),
            tenant: tenant.into(),
            client_id: client_id.into(),
            redirect_uri: None,
            credential,
        }
    }

    pub fn with_redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(redirect_uri.into());
        self
    }

    pub fn authorize_endpoint(&self) -> String {
        format!(
            "{}/{}/{}",
            self.authority,
            self.tenant,
            wire::AUTHORIZE_PATH
        )
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/{}/{}", self.authority, self.tenant, wire::TOKEN_PATH)
    }

    pub fn jwks_endpoint(&self) -> String {
        format!("{}/{}/{}", self.authority, self.tenant, wire::JWKS_PATH)
    }

    pub fn admin_consent_endpoint(&self) -> String {
        format!(
            "{}/{}/{}",
            self.authority,
            self.tenant,
            wire::ADMIN_CONSENT_PATH
        )
    }

    /// The `iss` an id token of tenant `tid` must carry.
    pub fn issuer_for(&self, tid: &str) -> String {
        format!("{}/{}/{}", self.authority, tid, wire::ISSUER_SUFFIX)
    }

    /// True when the app is bound to one tenant (a GUID), not `organizations`/`common`.
    pub fn is_single_tenant(&self) -> bool {
        !wire::TENANT_ALIASES
            .iter()
            .any(|alias| self.tenant.eq_ignore_ascii_case(alias))
    }
}

/// How the app proves itself at the token endpoint.
#[derive(Clone)]
pub enum ClientCredential {
    /// A public client (no secret); only delegated sign-in works.
    None,
    Secret(String),
    /// A signed client assertion (the better choice: nothing secret leaves the host).
    Certificate(ClientCertificate),
}

impl std::fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Secret(_) => f.write_str("Secret(<hidden>)"),
            Self::Certificate(c) => write!(f, "Certificate(x5t#S256={})", c.x5t_s256),
        }
    }
}

/// The PKCS#1 key of a PEM block `RSA PRIVATE KEY` (PKCS#1) or `PRIVATE KEY` (PKCS#8 holding an
/// RSA key). Read here rather than by jsonwebtoken's `use_pem`, whose ASN.1 stack would add about
/// 20 KB gzip to the browser module.
fn rsa_key_from_pem(text: &[u8]) -> Option<EncodingKey> {
    /// rsaEncryption (RFC 8017).
    const RSA_ENCRYPTION: pkcs8::ObjectIdentifier =
        pkcs8::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    let blocks = pem::parse_many(text).ok()?;
    blocks.iter().find_map(|block| match block.tag() {
        "RSA PRIVATE KEY" => Some(EncodingKey::from_rsa_der(block.contents())),
        "PRIVATE KEY" => {
            let info = pkcs8::PrivateKeyInfoRef::try_from(block.contents()).ok()?;
            (info.algorithm.oid == RSA_ENCRYPTION)
                .then(|| EncodingKey::from_rsa_der(info.private_key.as_bytes()))
        }
        _ => None,
    })
}

/// A certificate's private key and thumbprints, for RS256 client assertions.
#[derive(Clone)]
pub struct ClientCertificate {
    pub(crate) key: EncodingKey,
    /// base64url SHA-256 thumbprint of the certificate's DER (header `x5t#S256`).
    pub x5t_s256: String,
    /// base64url SHA-1 thumbprint (the `x5t` header of the older assertion form; no longer sent,
    /// kept to show beside the thumbprint Entra's admin center lists).
    pub x5t: String,
}

impl ClientCertificate {
    /// From a PEM private key (PKCS#8 or PKCS#1) and the PEM certificate registered with the app.
    /// Either may be a file holding both blocks, as certificate files often do.
    pub fn from_pem(private_key_pem: &[u8], certificate_pem: &[u8]) -> Result<Self, IdentityError> {
        let key = rsa_key_from_pem(private_key_pem).ok_or(IdentityError::InvalidConfig(
            "the certificate key is not an RSA PEM key",
        ))?;
        let cert = pem::parse_many(certificate_pem)
            .ok()
            .and_then(|blocks| blocks.into_iter().find(|p| p.tag() == "CERTIFICATE"))
            .ok_or(IdentityError::InvalidConfig(
                "the certificate is not a PEM certificate",
            ))?;
        let der = cert.contents();
        Ok(Self {
            key,
            x5t_s256: URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der)),
            x5t: URL_SAFE_NO_PAD.encode(<sha1::Sha1 as sha1::Digest>::digest(der)),
        })
    }
}

#[cfg(test)]
mod pem_tests {
    use super::rsa_key_from_pem;

    const PKCS8: &[u8] = include_bytes!("../../../tests/sim/keys/client-cert-key.pem");

    fn sign(key: &jsonwebtoken::EncodingKey) -> String {
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        jsonwebtoken::encode(&header, &serde_json::json!({"sub": "x"}), key).unwrap()
    }

    #[test]
    fn pkcs1_and_pkcs8_forms_of_one_key_sign_alike() {
        let block = pem::parse(PKCS8).unwrap();
        let info = pkcs8::PrivateKeyInfoRef::try_from(block.contents()).unwrap();
        let pkcs1 = pem::encode(&pem::Pem::new(
            "RSA PRIVATE KEY",
            info.private_key.as_bytes().to_vec(),
        ));
        let from_pkcs8 = rsa_key_from_pem(PKCS8).expect("PKCS#8 key");
        let from_pkcs1 = rsa_key_from_pem(pkcs1.as_bytes()).expect("PKCS#1 key");
        // RS256 (PKCS#1 v1.5) signatures are deterministic: same key, same token.
        assert_eq!(sign(&from_pkcs8), sign(&from_pkcs1));
    }

    #[test]
    fn other_pem_blocks_are_not_rsa_keys() {
        let cert = pem::encode(&pem::Pem::new("CERTIFICATE", vec![1, 2, 3]));
        assert!(rsa_key_from_pem(cert.as_bytes()).is_none());
        let bogus = pem::encode(&pem::Pem::new("PRIVATE KEY", vec![0x30, 0x03, 1, 2, 3]));
        assert!(rsa_key_from_pem(bogus.as_bytes()).is_none());
        assert!(rsa_key_from_pem(b"not pem").is_none());
    }
}
