//! The tenant-wide ERP.net change feed: one incremental read per tenant per round (the
//! `AggregateLastUpdateTimeUtc` watermark with its overlap, paged by 1,000), routed in memory to
//! users by the owner rule (the assignee, else the creator's login). The routes wait in the store
//! (`jobs::calendar::routes`) until a run of the user's Calendar job processes them, and that
//! run reads no ERP.net changes of its own; users with routes are due first.
//!
//! Crash safety: the routes and the feed's watermark (`erpfeed/state`) are one commit, and a
//! run deletes the routes it read only in the commit that advances its checkpoints. A feed that
//! has not been read for [`FEED_CURRENT_FOR`] is not current: runs read ERP.net per user again
//! (the first sync and Full refresh always do), so a host that stops calling
//! [`App::route_erp_changes`] loses nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::App;
use super::profile::UserProfile;
use super::status::{self, JobKind, JobState};
use crate::erp::{Activity, Guid, Watermark};
use crate::error::PublicError;
use crate::host::{CountingHttp, Expect, Store, StoreError, WriteBatch};
use crate::jobs::calendar::routes::{self, Routed};

const FEED_KEY: &str = "erpfeed/state";
/// How long a feed read keeps runs on routes: two rounds, so one late round does not send every
/// user back to its own ERP.net reads.
pub const FEED_CURRENT_FOR: chrono::Duration = chrono::Duration::minutes(30);

/// The feed's own state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FeedState {
    watermark: Watermark,
    /// When the feed was last read (host clock).
    read_at: Option<DateTime<Utc>>,
}

/// What one round of the feed did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedRound {
    /// Changed activities read (re-deliveries of the overlap left out).
    pub changes: u32,
    /// Of those, the ones routed to a user of MsSync.
    pub routed: u32,
    /// The users something was routed to.
    pub users: Vec<String>,
    /// ERP.net requests the round sent (the pages of the read).
    pub requests: u64,
    /// Another node read the feed for this round: nothing was read here.
    pub skipped: bool,
}

async fn load_feed(store: &dyn Store) -> Result<(FeedState, Expect), StoreError> {
    Ok(match store.get(FEED_KEY).await? {
        Some(v) => (
            serde_json::from_slice(&v.value).unwrap_or_default(),
            Expect::Version(v.version),
        ),
        None => (FeedState::default(), Expect::Absent),
    })
}

/// Whether runs take their ERP.net changes from routes at `now`.
pub(super) async fn feed_is_current(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let (state, _) = load_feed(store).await?;
    Ok(state
        .read_at
        .is_some_and(|at| at <= now && now - at < FEED_CURRENT_FOR))
}

/// Who owns what, for routing: users with Calendar on, by ERP.net user id and by login.
struct Owners {
    by_user: HashMap<Guid, String>,
    by_login: HashMap<String, String>,
}

impl Owners {
    async fn load(store: &dyn Store) -> Result<Self, PublicError> {
        let mut owners = Owners {
            by_user: HashMap::new(),
            by_login: HashMap::new(),
        };
        for (_, v) in store.scan("user/").await? {
            let Ok(profile) = serde_json::from_slice::<UserProfile>(&v.value) else {
                continue;
            };
            let (status, _) =
                status::load_status(store, &profile.user_id, JobKind::Calendar).await?;
            if !status.enabled {
                continue;
            }
            if let Some(erp_user) = Guid::parse(&profile.erp_user_id) {
                owners.by_user.insert(erp_user, profile.user_id.clone());
            }
            if let Some(login) = profile
                .erp_login
                .as_deref()
                .filter(|l| !l.trim().is_empty())
            {
                owners
                    .by_login
                    .insert(login.trim().to_lowercase(), profile.user_id.clone());
            }
        }
        Ok(owners)
    }

    /// The owner rule: the assignee, else (nobody assigned) the creator's login.
    fn of(&self, activity: &Activity) -> Option<&String> {
        match &activity.assigned_to_user {
            Some(user) => self.by_user.get(user),
            None => activity
                .creation_user
                .as_deref()
                .and_then(|login| self.by_login.get(&login.trim().to_lowercase())),
        }
    }
}

/// Where a first feed read starts: the oldest ERP.net watermark of the users' runs, so nothing
/// a user's own reads have not covered is skipped; with none, now.
async fn start_of_feed(store: &dyn Store, now: DateTime<Utc>) -> Result<Watermark, StoreError> {
    let mut oldest: Option<DateTime<Utc>> = None;
    for (key, v) in store.scan("cal/").await? {
        if !key.ends_with("/checkpoint") {
            continue;
        }
        let Ok(checkpoint) = serde_json::from_slice::<crate::jobs::calendar::Checkpoint>(&v.value)
        else {
            continue;
        };
        let at = checkpoint
            .erp
            .as_deref()
            .and_then(|w| serde_json::from_str::<Watermark>(w).ok())
            .and_then(|w| w.at);
        if let Some(at) = at {
            oldest = Some(oldest.map_or(at, |o: DateTime<Utc>| o.min(at)));
        }
    }
    Ok(Watermark {
        at: Some(oldest.unwrap_or(now)),
        processed: BTreeSet::new(),
    })
}

impl App {
    /// One round of the tenant-wide ERP.net feed: reads what changed since the last round and
    /// routes each change to its owner (see the module). Hosts call it once per scheduler round,
    /// before [`App::due_jobs`]; a call within [`crate::jobs::calendar::RUN_INTERVAL`] of the last read reads
    /// nothing (a scheduler may call it on every tick). Several nodes may call it: one commit
    /// wins, the others report `skipped`.
    pub async fn route_erp_changes(&self) -> Result<FeedRound, PublicError> {
        let store = self.host.store.as_ref();
        let now = self.now();
        let (state, expect) = load_feed(store).await?;
        if state
            .read_at
            .is_some_and(|at| at <= now && now - at < crate::jobs::calendar::RUN_INTERVAL)
        {
            return Ok(FeedRound {
                skipped: true,
                ..FeedRound::default()
            });
        }
        let since = match state.read_at {
            Some(_) => state.watermark.clone(),
            None => start_of_feed(store, now).await?,
        };
        let owners = Owners::load(store).await?;
        let http = Arc::new(CountingHttp::new(self.host.http.clone()));
        let client = self.erp_client(http.clone(), None, None)?;
        let changes = client.pull_feed(&since).await?;
        let mut batch = WriteBatch::new();
        let mut users = BTreeMap::new();
        for activity in &changes.changes {
            let Some(user) = owners.of(activity) else {
                continue;
            };
            *users.entry(user.clone()).or_insert(0u32) += 1;
            batch = routes::put_route(
                batch,
                user,
                &Routed {
                    routed_at: now,
                    activity: activity.clone(),
                },
            );
        }
        let next = FeedState {
            watermark: changes.next,
            read_at: Some(now),
        };
        batch = batch.put(
            FEED_KEY,
            serde_json::to_vec(&next).expect("the feed state serializes"),
            expect,
        );
        match store.commit(batch).await {
            Ok(()) => {}
            // Another node read this round's feed first; its routes stand.
            Err(StoreError::Conflict { .. }) => {
                return Ok(FeedRound {
                    requests: http.count(),
                    skipped: true,
                    ..FeedRound::default()
                });
            }
            Err(e) => return Err(e.into()),
        }
        Ok(FeedRound {
            changes: changes.changes.len() as u32,
            routed: users.values().sum(),
            users: users.into_keys().collect(),
            requests: http.count(),
            skipped: false,
        })
    }
}

/// (user, Calendar, since) of each enabled, operational Calendar job with routes newer than its
/// last run. Routes a run could not process yet (a write failed) wait for the schedule.
pub(super) async fn routed_due(
    store: &dyn Store,
    now: DateTime<Utc>,
    process: Option<&crate::engine::LocalProcess>,
) -> Result<Vec<(String, JobKind, DateTime<Utc>)>, PublicError> {
    let mut newest: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for (key, v) in store.scan(routes::ALL_ROUTES).await? {
        let Some(user) = routes::user_of(&key) else {
            continue;
        };
        let Ok(routed) = serde_json::from_slice::<Routed>(&v.value) else {
            continue;
        };
        let slot = newest.entry(user.to_owned()).or_insert(routed.routed_at);
        *slot = (*slot).max(routed.routed_at);
    }
    let mut due = Vec::new();
    for (user, routed_at) in newest {
        let (status, expect) = status::load_status(store, &user, JobKind::Calendar).await?;
        let ran_since = status
            .last_run
            .finished
            .is_some_and(|finished| finished >= routed_at);
        if expect != Expect::Absent
            && status.enabled
            && status.state == JobState::Operational
            && !status.claimed(now, process)
            && !ran_since
        {
            due.push((user, JobKind::Calendar, routed_at));
        }
    }
    Ok(due)
}
