//! Changes the tenant-wide ERP.net feed routed to a user, kept in the store until a run of the
//! user's Calendar job has processed them (`erpfeed/routed/{user}/{activity id}@{stamp}`; one
//! tenant prefix, so the scheduler finds the users with routes in one scan).
//!
//! The feed writes a user's routes and advances its own watermark in one commit, and a run
//! deletes the routes it read in its own fenced commit, only when its checkpoints advance: a
//! crash anywhere between the feed's read and the run's commit loses no change. Each version of
//! an activity has its own key, so a newer change routed while a run is going is never deleted
//! by that run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::erp::Activity;
use crate::host::{Expect, Store, StoreError, WriteBatch};

/// One routed change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Routed {
    /// When the feed routed it (host clock): a job is due for routes newer than its last run.
    pub routed_at: DateTime<Utc>,
    pub activity: Activity,
}

/// The prefix of every route of every user.
pub const ALL_ROUTES: &str = "erpfeed/routed/";

pub fn routes_prefix(user: &str) -> String {
    format!("{ALL_ROUTES}{user}/")
}

/// The user a route's key belongs to.
pub fn user_of(key: &str) -> Option<&str> {
    key.strip_prefix(ALL_ROUTES)?.split('/').next()
}

fn route_key(user: &str, activity: &Activity) -> String {
    format!(
        "{}{}@{}",
        routes_prefix(user),
        activity.id,
        activity.aggregate_last_update_time_utc.timestamp_millis()
    )
}

/// Adds a route of `activity` to `user` to `batch`.
pub fn put_route(batch: WriteBatch, user: &str, routed: &Routed) -> WriteBatch {
    let value = serde_json::to_vec(routed).expect("a route serializes");
    batch.put(route_key(user, &routed.activity), value, Expect::Any)
}

/// The user's routes, and the keys of every route record read (an unreadable one is dropped
/// with the others the run processes: the user's own read at a Full refresh covers it).
pub async fn load_routes(
    store: &dyn Store,
    user: &str,
) -> Result<(Vec<Routed>, Vec<String>), StoreError> {
    let mut routes = Vec::new();
    let mut keys = Vec::new();
    for (key, v) in store.scan(&routes_prefix(user)).await? {
        if let Ok(routed) = serde_json::from_slice::<Routed>(&v.value) {
            routes.push(routed);
        }
        keys.push(key);
    }
    Ok((routes, keys))
}
