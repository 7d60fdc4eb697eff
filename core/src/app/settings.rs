//! What a host sets when it creates the application, read and checked in one place for every
//! binding: the settings (with the endpoint rule), the sealing key and the response cap.

use base64::Engine as _;
use serde::Deserialize;

use super::{App, AppConfig, ErpAccess, NotificationEndpoint};
use crate::engine::LocalProcess;
use crate::error::{ErrorCode, PublicError, argument_error_without_values};
use crate::host::{Host, MAX_RESPONSE_BYTES};

/// The 32-byte key that seals tokens and secrets before they reach the store. Never printed.
#[derive(Clone)]
pub struct SealingKey([u8; 32]);

impl SealingKey {
    /// A key as 32 bytes of text: base64 (standard or URL-safe) or hex, surrounding whitespace
    /// ignored.
    pub fn decode(text: &[u8]) -> Result<Self, PublicError> {
        let text = text.trim_ascii();
        let decoded: Option<Vec<u8>> = if text.len() == 64 && text.iter().all(u8::is_ascii_hexdigit)
        {
            text.chunks(2)
                .map(|pair| {
                    std::str::from_utf8(pair)
                        .ok()
                        .and_then(|s| u8::from_str_radix(s, 16).ok())
                })
                .collect()
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
                .ok()
        };
        decoded
            .and_then(|d| <[u8; 32]>::try_from(d).ok())
            .map(Self)
            .ok_or_else(|| {
                PublicError::new(
                    ErrorCode::InvalidArgument,
                    "the sealing key must be 32 bytes as base64 or hex",
                )
            })
    }

    /// A key file's contents: 32 raw bytes, or the text forms [`SealingKey::decode`] reads.
    pub fn from_file_contents(bytes: &[u8]) -> Result<Self, PublicError> {
        match <[u8; 32]>::try_from(bytes) {
            Ok(raw) => Ok(Self(raw)),
            Err(_) => Self::decode(bytes),
        }
    }

    /// A key given as bytes (a browser's `Uint8Array`): exactly 32 of them.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PublicError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| {
            PublicError::new(
                ErrorCode::InvalidArgument,
                "the sealing key must be 32 bytes",
            )
        })
    }

    /// The key's bytes, for a host that keeps or compares it; never log them.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl From<[u8; 32]> for SealingKey {
    fn from(key: [u8; 32]) -> Self {
        Self(key)
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(<hidden>)")
    }
}

/// The engine's settings as a host passes them, as one JSON object; unknown fields are refused
/// so a misspelt setting is never silently ignored. With no connection fields the application
/// has no connection to the services (Setup, Home and the schedule work; Service, sign-in and
/// runs answer `NotConfigured`). With the endpoints, `erp_access`, `redirect_uri` and
/// `sealing_key` (base64 or hex of 32 bytes) it is the full application.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSettings {
    pub authority: Option<String>,
    pub graph_base_url: Option<String>,
    pub erp_base_url: Option<String>,
    pub erp_access: Option<ErpAccess>,
    pub redirect_uri: Option<String>,
    pub runner_id: Option<String>,
    pub sealing_key: Option<String>,
    /// At most [`MAX_RESPONSE_BYTES`], which is also the default.
    pub max_response_bytes: Option<usize>,
    /// Where Graph reaches the host's notification endpoint; with it, runs keep a change
    /// subscription per user and job and poll only as a backstop.
    pub notification_endpoint: Option<NotificationEndpoint>,
    /// How long a run's lease and a due job's claim outlive the node that holds them, in
    /// seconds: a node that dies mid-run keeps its jobs this long before another node of the
    /// same store takes them over. 1 to 86400; absent: 900 (15 minutes).
    pub lease_ttl_seconds: Option<u64>,
}

impl EngineSettings {
    /// Reads the settings; blank text is no settings. Errors name the setting, never its value.
    pub fn from_json(json: &str) -> Result<Self, PublicError> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        let invalid = |what: &str, e: serde_json::Error| {
            PublicError::new(
                ErrorCode::InvalidJson,
                format!(
                    "the engine config {what}: {}",
                    argument_error_without_values(&e.to_string())
                ),
            )
        };
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| invalid("is not JSON", e))?;
        if !value.is_object() {
            return Err(PublicError::new(
                ErrorCode::InvalidJson,
                "the engine config must be a JSON object",
            ));
        }
        serde_json::from_value(value).map_err(|e| invalid("is not valid", e))
    }

    /// The cap on response bodies from the host's HTTP: the default, or a smaller one (a
    /// larger one is held to the default).
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
            .unwrap_or(MAX_RESPONSE_BYTES)
            .min(MAX_RESPONSE_BYTES)
    }

    /// The notification endpoint, taken out of the settings once both its URLs pass the
    /// endpoint rule.
    pub fn take_notification_endpoint(
        &mut self,
    ) -> Result<Option<NotificationEndpoint>, PublicError> {
        let Some(endpoint) = self.notification_endpoint.take() else {
            return Ok(None);
        };
        endpoint.check()?;
        Ok(Some(endpoint))
    }

    fn connects(&self) -> bool {
        self.authority.is_some()
            || self.graph_base_url.is_some()
            || self.erp_base_url.is_some()
            || self.erp_access.is_some()
            || self.redirect_uri.is_some()
            || self.runner_id.is_some()
            || self.sealing_key.is_some()
    }

    /// The application's settings (checked against the endpoint rule) and sealing key, or
    /// `None` for an application with no connection to the services.
    pub fn app_config(self) -> Result<Option<(AppConfig, SealingKey)>, PublicError> {
        // Checked even without a connection, so a wrong value is never silently ignored.
        let lease_ttl = match self.lease_ttl_seconds {
            None => super::DEFAULT_LEASE_TTL,
            Some(seconds) => super::lease_ttl_from_seconds(seconds).map_err(|reason| {
                PublicError::new(
                    ErrorCode::InvalidArgument,
                    format!("`lease_ttl_seconds` {reason}"),
                )
            })?,
        };
        if !self.connects() {
            return Ok(None);
        }
        fn required<T>(value: Option<T>, name: &str) -> Result<T, PublicError> {
            value.ok_or_else(|| {
                PublicError::new(
                    ErrorCode::InvalidJson,
                    format!("the engine config lacks `{name}`"),
                )
            })
        }
        let key = SealingKey::decode(required(self.sealing_key, "sealing_key")?.as_bytes())
            .map_err(|_| {
                PublicError::new(
                    ErrorCode::InvalidJson,
                    "`sealing_key` must be the base64 of exactly 32 bytes",
                )
            })?;
        let config = AppConfig {
            authority: required(self.authority, "authority")?,
            graph_base_url: required(self.graph_base_url, "graph_base_url")?,
            erp_base_url: required(self.erp_base_url, "erp_base_url")?,
            erp_access: required(self.erp_access, "erp_access")?,
            redirect_uri: required(self.redirect_uri, "redirect_uri")?,
            runner_id: self.runner_id.unwrap_or_else(|| "mssync".into()),
            local_process: None,
            lease_ttl,
        };
        config.validate()?;
        Ok(Some((config, key)))
    }

    /// The application these settings describe, over `host`.
    pub fn into_app(self, host: Host, process: Option<LocalProcess>) -> Result<App, PublicError> {
        match self.app_config()? {
            None => Ok(App::new(host)),
            Some((mut config, key)) => {
                config.local_process = process;
                App::with_config(host, config, key)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_keys_read_as_base64_hex_or_raw_and_nothing_else() {
        let raw = [7u8; 32];
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        for text in [b64.as_str(), hex.as_str(), &format!("  {b64}\n")] {
            assert_eq!(
                SealingKey::decode(text.as_bytes()).unwrap().0,
                raw,
                "{text}"
            );
        }
        assert_eq!(SealingKey::from_file_contents(&raw).unwrap().0, raw);
        for bad in ["", "c2hvcnQ=", &hex[..62]] {
            let e = SealingKey::decode(bad.as_bytes()).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{bad}");
        }
        assert!(SealingKey::from_slice(&raw[..31]).is_err());
        assert_eq!(
            format!("{:?}", SealingKey::from(raw)),
            "SealingKey(<hidden>)"
        );
    }

    #[test]
    fn settings_are_a_json_object_with_known_fields_and_a_valid_key() {
        let full = format!(
            "{{\"authority\": \"https://login.example\", \"graph_base_url\": \"https://graph.example/v1.0\", \"erp_base_url\": \"https://erp.example/api/domain/odata/\", \"erp_access\": {{\"kind\": \"host\"}}, \"redirect_uri\": \"http://127.0.0.1:1/signin\", \"sealing_key\": \"{}\"}}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        );
        let (config, key) = EngineSettings::from_json(&full)
            .and_then(EngineSettings::app_config)
            .unwrap()
            .expect("a full config");
        assert_eq!((config.runner_id.as_str(), key.0), ("mssync", [7u8; 32]));
        assert!(EngineSettings::from_json(" {} ").is_ok());
        for bad in [
            "{",
            "[]",
            "42",
            "{\"no_such_setting\": 1}",
            "{\"authority\": \"https://login.example\"}",
            "{\"authority\": \"a\", \"graph_base_url\": \"g\", \"erp_base_url\": \"e\", \"erp_access\": {\"kind\": \"host\"}, \"redirect_uri\": \"r\", \"sealing_key\": \"c2hvcnQ=\"}",
        ] {
            let failure = EngineSettings::from_json(bad)
                .and_then(EngineSettings::app_config)
                .map(|_| ())
                .expect_err(bad);
            assert_eq!(failure.code, ErrorCode::InvalidJson, "{bad}");
        }
    }

    #[test]
    fn settings_refuse_unknown_fields_and_missing_ones_by_name() {
        let e = EngineSettings::from_json(r#"{"authorty": "x"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidJson);
        let e = EngineSettings::from_json(r#"{"authority": "https://login.example"}"#)
            .unwrap()
            .app_config()
            .unwrap_err();
        assert!(e.reason.contains("sealing_key"), "{}", e.reason);
        assert!(
            EngineSettings::from_json("  ")
                .unwrap()
                .app_config()
                .unwrap()
                .is_none()
        );
        let huge = format!(r#"{{"max_response_bytes": {}}}"#, MAX_RESPONSE_BYTES * 2);
        let settings = EngineSettings::from_json(&huge).unwrap();
        assert_eq!(settings.max_response_bytes(), MAX_RESPONSE_BYTES);
    }

    #[test]
    fn lease_ttl_seconds_is_read_and_refused_out_of_range_by_name() {
        let full = |ttl: &str| {
            format!(
                "{{\"authority\": \"https://login.example\", \"graph_base_url\": \"https://graph.example/v1.0\", \"erp_base_url\": \"https://erp.example/api/domain/odata/\", \"erp_access\": {{\"kind\": \"host\"}}, \"redirect_uri\": \"http://127.0.0.1:1/signin\", \"sealing_key\": \"{}\"{ttl}}}",
                base64::engine::general_purpose::STANDARD.encode([7u8; 32])
            )
        };
        let config =
            |json: &str| EngineSettings::from_json(json).and_then(EngineSettings::app_config);
        let (default, _) = config(&full("")).unwrap().unwrap();
        assert_eq!(default.lease_ttl, super::super::DEFAULT_LEASE_TTL);
        let (short, _) = config(&full(", \"lease_ttl_seconds\": 5"))
            .unwrap()
            .unwrap();
        assert_eq!(short.lease_ttl, std::time::Duration::from_secs(5));
        let (day, _) = config(&full(", \"lease_ttl_seconds\": 86400"))
            .unwrap()
            .unwrap();
        assert_eq!(day.lease_ttl, super::super::MAX_LEASE_TTL);
        for bad in ["0", "86401", "18446744073709551615"] {
            let e = config(&full(&format!(", \"lease_ttl_seconds\": {bad}"))).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{bad}");
            assert!(e.reason.contains("`lease_ttl_seconds`"), "{}", e.reason);
        }
        // Checked even when nothing else is set.
        assert!(config(r#"{"lease_ttl_seconds": 0}"#).is_err());
        assert!(config(r#"{"lease_ttl_seconds": -1}"#).is_err());
    }
}
