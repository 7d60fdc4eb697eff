//! The Calendar job: ERP.net activities <-> Outlook events.

pub mod map_erp;
pub mod map_graph;
