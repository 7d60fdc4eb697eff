//! What a failure of the host (its store, its transport) shows publicly.

use super::{ErrorCode, PublicError};

impl From<crate::host::StoreError> for PublicError {
    fn from(error: crate::host::StoreError) -> Self {
        use crate::host::StoreError;
        match error {
            StoreError::Conflict { .. } => Self::new(
                ErrorCode::StoreConflict,
                "another writer changed the same record; retry",
            ),
            StoreError::Backend(_) => Self::new(ErrorCode::StoreFailure, "the host store failed"),
        }
    }
}

impl From<crate::host::TransportError> for PublicError {
    fn from(error: crate::host::TransportError) -> Self {
        use crate::host::TransportErrorKind;
        match error.kind {
            TransportErrorKind::Timeout => Self::new(ErrorCode::Timeout, "the request timed out"),
            _ => Self::new(
                ErrorCode::TransportFailure,
                "the host could not deliver the request",
            ),
        }
    }
}
