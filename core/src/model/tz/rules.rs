//! Where zone offsets come from: the rules installed by the host, else the bundled tz database.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};

use super::Zone;

/// Where zone offsets come from; see the comment of the `tz` module.
pub trait ZoneRules: Send + Sync {
    /// The zone's offset from UTC in seconds at `instant`, `None` for a zone these rules do
    /// not know.
    fn utc_offset(&self, zone: &Zone, instant: DateTime<Utc>) -> Option<i32>;
}

static INSTALLED_RULES: OnceLock<&'static dyn ZoneRules> = OnceLock::new();

/// Installs the zone rules for the whole process, before any zone is used; later calls change
/// nothing and return `false`. Builds without `bundled-zone-rules` must call this.
pub fn install_zone_rules(rules: &'static dyn ZoneRules) -> bool {
    INSTALLED_RULES.set(rules).is_ok()
}

pub(super) fn rules() -> &'static dyn ZoneRules {
    if let Some(rules) = INSTALLED_RULES.get() {
        return *rules;
    }
    #[cfg(feature = "bundled-zone-rules")]
    {
        &BundledZoneRules
    }
    #[cfg(not(feature = "bundled-zone-rules"))]
    panic!("no time-zone rules: enable `bundled-zone-rules` or call tz::install_zone_rules")
}

/// The tz database compiled in (chrono-tz).
#[cfg(feature = "bundled-zone-rules")]
#[derive(Debug, Clone, Copy, Default)]
pub struct BundledZoneRules;

#[cfg(feature = "bundled-zone-rules")]
impl ZoneRules for BundledZoneRules {
    fn utc_offset(&self, zone: &Zone, instant: DateTime<Utc>) -> Option<i32> {
        use chrono::{Offset, TimeZone};
        Some(
            zone.0
                .offset_from_utc_datetime(&instant.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    }
}
