//! What can go wrong talking to ERP.net, typed so the engine can act on it.
//!
//! ERP.net reports failures as HTTP 500 with its own JSON body (`message`, `code`, `type`, `info`),
//! not OData's error envelope. `message` may quote data (a subject, a customer's name), so it is
//! never kept: only the code and the exception type name, which are ERP.net's own vocabulary.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::wire;
use crate::host::{HttpResponse, RetryOutcome, TransportError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErpError {
    /// The token was refused even after fetching a fresh one, or there is none to fetch.
    #[error("ERP.net refused the credentials")]
    Unauthorized,
    /// The identity server refused the Trusted Application's client id or secret.
    #[error("ERP.net identity server refused the client credentials ({error})")]
    InvalidClient { error: String },
    #[error("ERP.net denied access")]
    Forbidden,
    #[error("no such object in ERP.net")]
    NotFound,
    /// ERP.net does not know a name MsSync uses (an entity set, a segment) or no longer supports
    /// it (renamed): the versions of ERP.net and MsSync do not match. `name` is the segment as
    /// ERP.net quoted it (one of our own names, never data); `renamed` when ERP.net said it was
    /// renamed (ERP.net is newer than this MsSync).
    #[error("ERP.net does not know {name:?} (renamed: {renamed})")]
    VersionMismatch { name: Option<String>, renamed: bool },
    /// Released, Completed and Closed activities cannot be changed.
    #[error("the activity is {state} and read-only in ERP.net")]
    ReadOnlyActivity { state: String },
    /// The activity changed since it was read (`ObjectVersion` differs).
    #[error("the activity changed in ERP.net since it was read")]
    StaleVersion,
    #[error("ERP.net is throttling (HTTP {status}) until {until}")]
    Throttled { status: u16, until: DateTime<Utc> },
    #[error(transparent)]
    Transport(TransportError),
    /// Any other failure ERP.net reported; `code` and `kind` are its own, `message` is dropped.
    #[error("ERP.net error (HTTP {status}, code {code:?}, type {kind:?})")]
    Remote {
        status: u16,
        code: Option<String>,
        kind: Option<String>,
    },
    /// The connector's settings are unusable; the text is ours.
    #[error("bad ERP.net settings: {0}")]
    BadConfig(String),
    /// A response we could not read; the text is ours, naming what was wrong.
    #[error("unreadable ERP.net response: {0}")]
    Malformed(String),
    /// A link outside the service (another origin or path, plain http) or a paging that does
    /// not end; the text is ours, naming which.
    #[error("ERP.net sent {0}")]
    UntrustedLink(&'static str),
}

impl From<RetryOutcome> for ErpError {
    fn from(outcome: RetryOutcome) -> Self {
        match outcome {
            RetryOutcome::Throttled { status, until } => ErpError::Throttled { status, until },
            RetryOutcome::Transport(e) => ErpError::Transport(e),
        }
    }
}

/// ERP.net's error body. Only what is safe to keep is read.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ErpErrorBody {
    #[serde(default)]
    pub code: Option<serde_json::Value>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// The `message` of an error body, top-level (D error-handling.md) or inside OData's `error`
/// envelope (how the OData stack and `$batch` answer). Read only to classify, never kept.
fn message_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .get(wire::ERROR_MESSAGE)
        .or_else(|| {
            value
                .get(wire::ERROR_ENVELOPE)
                .and_then(|e| e.get(wire::ERROR_MESSAGE))
        })
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// The first quoted name in `message`, when it is an identifier (an entity set or segment name
/// we sent); anything else might be data and is dropped.
fn quoted_name(message: &str) -> Option<String> {
    let start = message.find('\'')? + 1;
    let len = message[start..].find('\'')?;
    let name = &message[start..start + len];
    (!name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    .then(|| name.to_owned())
}

/// A version mismatch, if the body says one: an unknown segment (404, "Resource not found for
/// the segment '<name>'") or a renamed entity set (D common-tasks/handling-renames.md).
fn version_mismatch(status: u16, body: &[u8]) -> Option<ErpError> {
    let message = message_of(body)?;
    if message.contains(wire::RENAMED_MESSAGE) {
        return Some(ErpError::VersionMismatch {
            name: quoted_name(&message),
            renamed: true,
        });
    }
    if status == 404 && message.contains(wire::UNKNOWN_SEGMENT_MESSAGE) {
        return Some(ErpError::VersionMismatch {
            name: quoted_name(&message),
            renamed: false,
        });
    }
    None
}

impl ErpError {
    /// The typed error for a response that is not a success.
    pub fn from_response(response: &HttpResponse) -> Self {
        if let Some(mismatch) = version_mismatch(response.status, &response.body) {
            return mismatch;
        }
        match response.status {
            401 => return ErpError::Unauthorized,
            403 => return ErpError::Forbidden,
            404 => return ErpError::NotFound,
            _ => {}
        }
        let body: ErpErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
        let code = body.code.map(|c| match c {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
        ErpError::Remote {
            status: response.status,
            code,
            kind: body.kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_of_a_500_is_never_kept() {
        let mut response = HttpResponse::new(500);
        response.body = br#"{"message":"Subject 'Secret merger talks' too long","code":"E123","type":"ArgumentException","info":"at Foo.Bar"}"#.to_vec();
        let error = ErpError::from_response(&response);
        assert_eq!(
            error,
            ErpError::Remote {
                status: 500,
                code: Some("E123".into()),
                kind: Some("ArgumentException".into())
            }
        );
        assert!(!format!("{error:?} {error}").contains("Secret"));
    }

    #[test]
    fn an_unknown_segment_is_a_version_mismatch_not_a_missing_object() {
        let mut response = HttpResponse::new(404);
        response.body = br#"{"message":"Resource not found for the segment 'Systems_Documents_DocumentTypes'.","code":0,"type":"ODataException","info":null}"#.to_vec();
        assert_eq!(
            ErpError::from_response(&response),
            ErpError::VersionMismatch {
                name: Some("Systems_Documents_DocumentTypes".into()),
                renamed: false
            }
        );
        // OData's envelope says the same.
        response.body =
            br#"{"error":{"code":"","message":"Resource not found for the segment 'X_Y'."}}"#
                .to_vec();
        assert!(matches!(
            ErpError::from_response(&response),
            ErpError::VersionMismatch { name: Some(n), .. } if n == "X_Y"
        ));
        // A renamed set, with whatever status.
        let mut renamed = HttpResponse::new(500);
        renamed.body = br#"{"message":"The provided entity set name 'General_DocumentTypes' is no more supported.\nThe new name of this entity is 'Systems_Documents_DocumentTypes'.","code":0,"type":"x"}"#.to_vec();
        assert_eq!(
            ErpError::from_response(&renamed),
            ErpError::VersionMismatch {
                name: Some("General_DocumentTypes".into()),
                renamed: true
            }
        );
        // A 404 of a missing object stays NotFound; a quoted non-identifier is not kept.
        assert_eq!(
            ErpError::from_response(&HttpResponse::new(404)),
            ErpError::NotFound
        );
        response.body =
            br#"{"message":"Resource not found for the segment 'Secret merger talks'."}"#.to_vec();
        assert_eq!(
            ErpError::from_response(&response),
            ErpError::VersionMismatch {
                name: None,
                renamed: false
            }
        );
    }

    #[test]
    fn non_json_bodies_still_give_a_typed_error() {
        let mut response = HttpResponse::new(502);
        response.body = b"<html>bad gateway</html>".to_vec();
        assert!(matches!(
            ErpError::from_response(&response),
            ErpError::Remote {
                status: 502,
                code: None,
                kind: None
            }
        ));
    }
}
