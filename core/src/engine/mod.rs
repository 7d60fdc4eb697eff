//! The sync engine (reconcile, plan, apply, journal): filled by its own issue.
