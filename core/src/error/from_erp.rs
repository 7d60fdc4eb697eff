//! What an ERP.net failure shows publicly.

use super::{ErrorCode, PublicError};

impl From<crate::erp::ErpError> for PublicError {
    fn from(error: crate::erp::ErpError) -> Self {
        use crate::erp::ErpError;
        // Reasons are ours: ERP.net's own messages may quote activity data.
        match error {
            ErpError::Unauthorized => Self::new(
                ErrorCode::Unauthorized,
                "ERP.net refused the credentials; check the trusted application or access token",
            ),
            ErpError::InvalidClient { .. } => Self::new(
                ErrorCode::Unauthorized,
                "the ERP.net identity server refused the client id or secret",
            ),
            ErpError::Forbidden => Self::new(
                ErrorCode::Forbidden,
                "ERP.net denied access; use Give permissions",
            ),
            ErpError::NotFound => {
                Self::new(ErrorCode::NotFound, "the ERP.net object no longer exists")
            }
            ErpError::VersionMismatch { name, renamed } => {
                let what = name.as_deref().map_or_else(
                    || "a name MsSync uses".to_owned(),
                    |n| format!("the entity set {n}"),
                );
                let reason = if renamed {
                    format!(
                        "ERP.net no longer supports {what} (it was renamed): upgrade MsSync to a version that supports this ERP.net"
                    )
                } else {
                    let since = name
                        .as_deref()
                        .and_then(crate::erp::wire::introduced_in)
                        .map(|v| format!(" (introduced in {v})"))
                        .unwrap_or_default();
                    format!(
                        "ERP.net does not know {what}{since}: upgrade ERP.net to a version MsSync supports"
                    )
                };
                Self::new(ErrorCode::ErpVersionMismatch, reason)
            }
            ErpError::ReadOnlyActivity { .. } => Self::new(
                ErrorCode::ReadOnlyActivity,
                "the activity is released or closed in ERP.net and cannot be changed",
            ),
            ErpError::StaleVersion => Self::new(
                ErrorCode::StaleVersion,
                "the activity changed in ERP.net since it was read",
            ),
            ErpError::Throttled { until, .. } => Self::throttled(
                format!(
                    "ERP.net is throttling requests until {}",
                    until.format("%Y-%m-%d %H:%MZ")
                ),
                until,
            ),
            ErpError::Transport(e) => e.into(),
            ErpError::Remote { status: 429, .. } => {
                Self::new(ErrorCode::Throttled, "ERP.net is throttling requests")
            }
            ErpError::Remote { status, .. } if status > 500 => Self::new(
                ErrorCode::RemoteUnavailable,
                format!("ERP.net is unavailable (HTTP {status})"),
            ),
            ErpError::Remote { status, code, .. } => {
                // ERP.net codes are short identifiers; anything else might be data, so it is dropped.
                let code = code.filter(|c| {
                    c.len() <= 40
                        && c.chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'))
                });
                Self::new(
                    ErrorCode::ErpError,
                    match code {
                        Some(code) => {
                            format!("ERP.net reported an error (HTTP {status}, code {code})")
                        }
                        None => format!("ERP.net reported an error (HTTP {status})"),
                    },
                )
            }
            ErpError::BadConfig(reason) => Self::new(ErrorCode::InvalidArgument, reason),
            ErpError::Malformed(_) => Self::new(
                ErrorCode::MalformedResponse,
                "ERP.net sent a response MsSync could not read",
            ),
            ErpError::UntrustedLink(what) => Self::new(
                ErrorCode::UntrustedLink,
                format!("ERP.net sent {what}; it was not followed"),
            ),
        }
    }
}
