//! What can go wrong talking to ERP.net, typed so the engine can act on it.
//!
//! ERP.net reports failures as HTTP 500 with its own JSON body (`message`, `code`, `type`, `info`),
//! not OData's error envelope. `message` may quote data (a subject, a customer's name), so it is
//! never kept: only the code and the exception type name, which are ERP.net's own vocabulary.

use chrono::{DateTime, Utc};
use serde::Deserialize;

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

impl ErpError {
    /// The typed error for a response that is not a success.
    pub fn from_response(response: &HttpResponse) -> Self {
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
