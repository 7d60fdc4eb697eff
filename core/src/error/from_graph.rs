//! What a Microsoft Graph failure shows publicly.

use super::{ErrorCode, PublicError};

impl From<crate::graph::GraphError> for PublicError {
    fn from(error: crate::graph::GraphError) -> Self {
        use crate::graph::GraphError;
        match error {
            GraphError::Throttled { until, .. } => Self::throttled(
                format!(
                    "Microsoft Graph is throttling this mailbox; retry after {}",
                    until.format("%Y-%m-%d %H:%M:%SZ")
                ),
                until,
            ),
            GraphError::ResyncRequired => Self::new(
                ErrorCode::ResyncRequired,
                "the calendar change token expired; the window is read again in full",
            ),
            GraphError::Unauthorized => Self::new(
                ErrorCode::Unauthorized,
                "Microsoft Graph rejected the token",
            ),
            GraphError::Forbidden { .. } => Self::new(
                ErrorCode::Forbidden,
                "Microsoft Graph denied access to the calendar",
            ),
            GraphError::NotFound { .. } => {
                Self::new(ErrorCode::NotFound, "the event or mailbox was not found")
            }
            GraphError::Service { status, .. } if status >= 500 => Self::new(
                ErrorCode::RemoteUnavailable,
                format!("Microsoft Graph failed (HTTP {status})"),
            ),
            GraphError::Service { status, code } => Self::new(
                ErrorCode::GraphError,
                // Graph's error codes are fixed identifiers, never content.
                format!("Microsoft Graph refused the request (HTTP {status} {code})"),
            ),
            GraphError::InvalidRequest(reason) => Self::new(ErrorCode::InvalidArgument, reason),
            GraphError::Malformed(_) => Self::new(
                ErrorCode::MalformedResponse,
                "Microsoft Graph answered something unreadable",
            ),
            GraphError::UntrustedLink(what) => Self::new(
                ErrorCode::UntrustedLink,
                format!("Microsoft Graph sent {what}; it was not followed"),
            ),
            GraphError::Transport(error) => error.into(),
            GraphError::Token(error) => error.into(),
        }
    }
}
