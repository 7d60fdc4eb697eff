//! Jobs: one per kind of resource kept in step. Calendar first.

pub mod calendar;
