//! The neutral calendar model both connectors map into, and time zones.

mod item;
pub mod tz;

pub use item::{
    Attendee, CalendarItem, ContentHash, Field, Importance, Sensitivity, SeriesLink, When,
    normalize_text,
};
