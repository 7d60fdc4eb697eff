//! The wire contract: every name MsSync sends to or reads from the services, each with the
//! public page it comes from (tables in `docs/wire/`). Public so the simulators are built from
//! the same tables and refuse what they do not name.

pub use crate::erp::wire as erp;
pub use crate::graph::wire as graph;
pub use crate::identity::wire as identity;
/// Graph's `dateTimeTimeZone`, and the instants an all-day span covers in a zone.
pub use crate::model::tz::{GraphDateTime, all_day_to_instants};
