//! What a failure to read a time or an Outlook event into the calendar model shows publicly.

use super::{ErrorCode, PublicError};

impl From<crate::model::tz::TimeZoneError> for PublicError {
    fn from(error: crate::model::tz::TimeZoneError) -> Self {
        use crate::model::tz::TimeZoneError;
        match error {
            TimeZoneError::UnknownZone(_) => {
                Self::new(ErrorCode::UnknownTimeZone, "unknown time zone")
            }
            TimeZoneError::BadDateTime(_) => Self::new(
                ErrorCode::MalformedResponse,
                "a date-time could not be read",
            ),
        }
    }
}

impl From<crate::jobs::calendar::map_graph::MapError> for PublicError {
    fn from(error: crate::jobs::calendar::map_graph::MapError) -> Self {
        use crate::jobs::calendar::map_graph::MapError;
        match error {
            MapError::Missing(field) => Self::new(
                ErrorCode::MalformedResponse,
                format!("an Outlook event has no {field}"),
            ),
            MapError::Time(error) => error.into(),
        }
    }
}
