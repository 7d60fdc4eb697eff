//! Operations that need no engine.

use mssync_core::model::tz::windows_zones;

use crate::buffer::{MssBuffer, fill, out_buffer};
use crate::status::{MssError, guard};

/// The time zones Setup offers, as a UTF-8 JSON array in Windows' display order:
/// `[{"id": "FLE Standard Time", "display_name": "(UTC+02:00) Helsinki, ...", "iana": "Europe/Kiev"}, ...]`.
///
/// # Safety
/// `out` is NULL or a writable `MssBuffer`; free the result with `mss_buffer_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_time_zones(out: *mut MssBuffer, out_error: *mut *mut MssError) -> i32 {
    guard(out_error, || {
        let out = out_buffer(out)?;
        let zones: Vec<_> = windows_zones().collect();
        fill(out, serde_json::to_vec(&zones).expect("zones serialize"));
        Ok(())
    })
}
