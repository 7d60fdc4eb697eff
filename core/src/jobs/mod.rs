//! Jobs: one per kind of resource kept in step. Calendar first; Mail is being built.

pub mod calendar;
pub mod mail;
