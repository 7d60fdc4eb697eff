use chrono::{DateTime, Utc};

use crate::identity::TokenError;
use crate::host::TransportError;

/// What can go wrong talking to Graph. Converted to `PublicError` in `crate::error`; the
/// details here (status, Graph's error code) are for logs and never include event content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Graph keeps throttling (429/503/504) or asked for a wait longer than a run sleeps through.
    #[error("throttled by Graph (HTTP {status}) until {until}")]
    Throttled { status: u16, until: DateTime<Utc> },
    /// The delta token or page link expired (410, `syncStateNotFound`): re-read the window.
    #[error("the delta state expired; a full re-read of the window is required")]
    ResyncRequired,
    #[error("Graph rejected the token (401)")]
    Unauthorized,
    #[error("Graph denied access (403 {code})")]
    Forbidden { code: String },
    #[error("not found in Graph (404 {code})")]
    NotFound { code: String },
    /// Any other error status; `code` is Graph's error code (e.g. `ErrorInvalidRequest`).
    #[error("Graph answered HTTP {status} ({code})")]
    Service { status: u16, code: String },
    /// A request MsSync refuses to send (a batch too large, ids not unique).
    #[error("invalid Graph request: {0}")]
    InvalidRequest(String),
    /// Graph answered something we could not read.
    #[error("malformed Graph response: {0}")]
    Malformed(String),
    /// A link outside the service (another origin or path, plain http) or a paging that does
    /// not end; the text is ours, naming which.
    #[error("Graph sent {0}")]
    UntrustedLink(&'static str),
    #[error(transparent)]
    Transport(TransportError),
    /// The token source failed (sign-in or refresh); passed on as it came.
    #[error("no token: {0}")]
    Token(TokenError),
}
