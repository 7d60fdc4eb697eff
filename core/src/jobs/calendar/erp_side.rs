//! ERP.net as one side of the calendar job: activities through the Domain API connector.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::map_erp::{activity_to_item, item_to_new_activity, item_to_patch};
use super::side::{
    CalendarSide, SideError, Pull, RemoteChange, RemoteItem, RemoteWrite, Window, WriteOutcome, twin_of_key,
};
use crate::engine::{Side, SideState};
use crate::erp::{
    Activity, ActivityDefaults, ActivityScope, ActivityWrite, ErpClient, ErpError, ExternalLink, Guid,
    Watermark,
};

use crate::host::CountingHttp;
use crate::model::tz::Zone;

pub use crate::jobs::EXTERNAL_SYSTEM;
/// The void reason of activities whose event was deleted in Outlook.
const VOID_REASON: &str = "Deleted in Outlook (MsSync)";

pub struct ErpSide {
    client: ErpClient,
    requests: Arc<CountingHttp>,
    user: Guid,
    /// The user's ERP.net `Login`: activities the user created with nobody assigned are theirs.
    login: Option<String>,
    zone: Zone,
    defaults: ActivityDefaults,
    /// Activities as last read, for partial updates (participants are diffed against them).
    seen: Mutex<HashMap<String, Activity>>,
    /// Changes the tenant's feed routed to the user ([`ErpSide::with_routes`]).
    routes: Option<Routes>,
}

/// What the feed routed to the user, as [`ErpSide::with_routes`] takes it.
struct Routes {
    activities: Vec<Activity>,
    /// The store records they came from: the run deletes them once its checkpoints advance.
    records: Vec<String>,
    /// The feed is current: an incremental pull takes its changes from the routes instead of
    /// asking ERP.net.
    use_for_pull: bool,
    overlap: chrono::Duration,
}

impl ErpSide {
    /// `client` must send through `requests`, so the run can report what it sent. `login` is
    /// the user's ERP.net `Login` (`CreationUser` of what the user creates).
    pub fn new(
        client: ErpClient,
        requests: Arc<CountingHttp>,
        user: Guid,
        login: Option<String>,
        zone: Zone,
        defaults: ActivityDefaults,
    ) -> Self {
        Self {
            client,
            requests,
            user,
            login,
            zone,
            defaults,
            seen: Mutex::new(HashMap::new()),
            routes: None,
        }
    }

    /// Gives the side the changes the tenant's feed routed to the user and the store records
    /// they came from. With `feed_is_current`, an incremental pull reads them instead of
    /// ERP.net (no request); otherwise it reads ERP.net as usual, which covers them. Either
    /// way the run deletes the records once its checkpoints advance.
    pub fn with_routes(
        mut self,
        activities: Vec<Activity>,
        records: Vec<String>,
        feed_is_current: bool,
    ) -> Self {
        let overlap = chrono::Duration::from_std(self.client.config().overlap)
            .unwrap_or(chrono::Duration::minutes(5));
        self.routes = Some(Routes {
            activities,
            records,
            use_for_pull: feed_is_current,
            overlap,
        });
        self
    }

    fn remote(&self, activity: &Activity) -> RemoteChange {
        self.seen
            .lock()
            .unwrap()
            .insert(activity.id.as_str().to_owned(), activity.clone());
        if activity.void {
            return RemoteChange::Removed {
                id: activity.id.as_str().to_owned(),
            };
        }
        RemoteChange::Upsert(self.item(activity))
    }

    fn item(&self, activity: &Activity) -> RemoteItem {
        let twin = match (&activity.external_system, &activity.external_id) {
            (Some(system), Some(id)) if system == EXTERNAL_SYSTEM => {
                Some(twin_of_key(id).to_owned())
            }
            _ => None,
        };
        RemoteItem {
            id: activity.id.as_str().to_owned(),
            twin,
            version: activity.object_version.to_string(),
            state: SideState {
                item: activity_to_item(activity, &self.zone),
                modified: activity.aggregate_last_update_time_utc,
                read_only: activity.state.is_read_only(),
            },
        }
    }

    /// What a write needs sent, or how it ended without a request. `currents` holds the
    /// activities read for this apply (updates and links are made against them).
    fn prepare(
        &self,
        write: RemoteWrite,
        currents: &HashMap<String, Result<Activity, ErpError>>,
    ) -> Prepared {
        let current = |id: &str| currents.get(id).cloned().unwrap_or(Err(ErpError::NotFound));
        match write {
            RemoteWrite::Create {
                idempotency_key,
                item,
            } => {
                let link = ExternalLink {
                    external_id: idempotency_key,
                    external_system: EXTERNAL_SYSTEM.into(),
                };
                let new = item_to_new_activity(&item, &self.zone, link, self.defaults.clone());
                Prepared::Batched(ActivityWrite::Create(new))
            }
            RemoteWrite::Update {
                id, fields, item, ..
            } => match current(&id) {
                Ok(current) if current.void => Prepared::Ended(WriteOutcome::Missing),
                Ok(current) => {
                    let patch = item_to_patch(&item, &self.zone, &fields, &current);
                    Prepared::Batched(ActivityWrite::Update {
                        current: Box::new(current),
                        patch,
                    })
                }
                Err(e) => Prepared::Ended(outcome(Err(e))),
            },
            RemoteWrite::Remove { id } => match Guid::parse(&id) {
                Some(guid) => Prepared::Void(guid),
                None => Prepared::Ended(WriteOutcome::Missing),
            },
            // Conflicts are marked in Outlook; ERP.net keeps its read-only activity as it is.
            RemoteWrite::MarkConflict { .. } => Prepared::Ended(WriteOutcome::Done(None)),
            RemoteWrite::Link { id, twin } => match current(&id) {
                Ok(current) if current.void => Prepared::Ended(WriteOutcome::Missing),
                // Another integration's link is never overwritten: the event's activity-id
                // property keeps ours.
                Ok(current)
                    if current.external_id.is_some()
                        && current.external_system.as_deref() != Some(EXTERNAL_SYSTEM) =>
                {
                    Prepared::Ended(WriteOutcome::Refused(SideError::LinkedElsewhere))
                }
                Ok(current) if current.state.is_read_only() => {
                    Prepared::Ended(outcome(Err(ErpError::ReadOnlyActivity {
                        state: current.state.name().into(),
                    })))
                }
                Ok(current) => Prepared::Batched(ActivityWrite::Link {
                    id: current.id,
                    link: ExternalLink {
                        external_id: twin,
                        external_system: EXTERNAL_SYSTEM.into(),
                    },
                }),
                Err(e) => Prepared::Ended(outcome(Err(e))),
            },
        }
    }

    /// The activities updates and links are made against: as the pull saw them, the others
    /// read in one `$batch`.
    async fn currents(&self, writes: &[RemoteWrite]) -> HashMap<String, Result<Activity, ErpError>> {
        let mut currents = HashMap::new();
        let mut missing = Vec::new();
        for write in writes {
            let (RemoteWrite::Update { id, .. } | RemoteWrite::Link { id, .. }) = write else {
                continue;
            };
            if currents.contains_key(id) {
                continue;
            }
            match (self.seen.lock().unwrap().get(id), Guid::parse(id)) {
                (Some(seen), _) => {
                    currents.insert(id.clone(), Ok(seen.clone()));
                }
                (None, Some(guid)) => {
                    currents.insert(id.clone(), Err(ErpError::NotFound));
                    missing.push(guid);
                }
                (None, None) => {
                    currents.insert(id.clone(), Err(ErpError::NotFound));
                }
            }
        }
        if !missing.is_empty() {
            let read = self.client.get_activities(&missing).await;
            for (guid, result) in missing.iter().zip(read) {
                if let Ok(activity) = &result {
                    self.seen
                        .lock()
                        .unwrap()
                        .insert(guid.as_str().to_owned(), activity.clone());
                }
                currents.insert(guid.as_str().to_owned(), result);
            }
        }
        currents
    }
}

/// A write made ready for [`ErpSide::apply`].
enum Prepared {
    /// Ended without a request.
    Ended(WriteOutcome),
    /// Sent in a `$batch`.
    Batched(ActivityWrite),
    /// `MakeVoid`, sent on its own.
    Void(Guid),
}

/// How a write ended, from the connector's answer.
fn outcome(result: Result<Option<RemoteItem>, ErpError>) -> WriteOutcome {
    match result {
        Ok(item) => WriteOutcome::Done(item),
        Err(ErpError::NotFound) => WriteOutcome::Missing,
        Err(e @ (ErpError::ReadOnlyActivity { .. } | ErpError::StaleVersion)) => {
            WriteOutcome::Refused(e.into())
        }
        Err(
            e @ (ErpError::Throttled { .. }
            | ErpError::Transport(_)
            | ErpError::Unauthorized
            | ErpError::VersionMismatch { .. }
            | ErpError::InvalidClient { .. }),
        ) => WriteOutcome::Failed(e.into()),
        Err(e @ ErpError::Remote { status, .. }) if status >= 500 || status == 429 => {
            WriteOutcome::Failed(e.into())
        }
        Err(e) => WriteOutcome::Refused(e.into()),
    }
}

fn watermark_text(w: &Watermark) -> String {
    serde_json::to_string(w).expect("a watermark serializes")
}

#[async_trait(?Send)]
impl CalendarSide for ErpSide {
    fn side(&self) -> Side {
        Side::Erp
    }

    async fn pull(&self, window: &Window, checkpoint: Option<&str>) -> Result<Pull, SideError> {
        let scope = ActivityScope {
            user: self.user.clone(),
            login: self.login.clone(),
            window: Some((window.start, window.end)),
        };
        let since = checkpoint.and_then(|c| serde_json::from_str::<Watermark>(c).ok());
        match since {
            Some(since) => {
                let batch = match &self.routes {
                    Some(routes) if routes.use_for_pull => {
                        // One version per activity: the newest routed.
                        let mut newest: HashMap<&str, &Activity> = HashMap::new();
                        for a in routes.activities.iter().filter(|a| scope.contains(a)) {
                            let slot = newest.entry(a.id.as_str()).or_insert(a);
                            if a.aggregate_last_update_time_utc > slot.aggregate_last_update_time_utc {
                                *slot = a;
                            }
                        }
                        let mut routed: Vec<Activity> = newest.into_values().cloned().collect();
                        routed.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
                        since.take_new(routed, routes.overlap)
                    }
                    _ => self.client.pull_changes(&scope, &since).await?,
                };
                Ok(Pull {
                    changes: batch.changes.iter().map(|a| self.remote(a)).collect(),
                    checkpoint: watermark_text(&batch.next),
                    complete: false,
                })
            }
            None => {
                // A complete read; the watermark starts at the newest change it saw, and the
                // overlap re-reads anything committed while it ran.
                let activities = self.client.pull_activities(&scope).await?;
                let mut next = Watermark::default();
                for a in &activities {
                    next.at = next.at.max(Some(a.aggregate_last_update_time_utc));
                }
                for a in &activities {
                    next.processed
                        .insert((a.id.clone(), a.aggregate_last_update_time_utc));
                }
                Ok(Pull {
                    changes: activities.iter().map(|a| self.remote(a)).collect(),
                    checkpoint: watermark_text(&next),
                    complete: true,
                })
            }
        }
    }

    async fn get(&self, id: &str) -> Result<Option<RemoteItem>, SideError> {
        let Some(guid) = Guid::parse(id) else {
            return Ok(None);
        };
        match self.client.get_activity(&guid).await {
            Ok(a) if a.void => Ok(None),
            Ok(a) => {
                self.seen.lock().unwrap().insert(id.to_owned(), a.clone());
                Ok(Some(self.item(&a)))
            }
            Err(ErpError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn find_by_twin(&self, twin_id: &str) -> Result<Option<RemoteItem>, SideError> {
        let link = ExternalLink {
            external_id: twin_id.to_owned(),
            external_system: EXTERNAL_SYSTEM.into(),
        };
        Ok(self
            .client
            .find_by_external_id(&link)
            .await?
            .filter(|a| !a.void)
            .map(|a| self.item(&a)))
    }

    /// Every read carries the activity's ExternalId.
    async fn recorded_twins(&self) -> Result<Option<Vec<(String, String)>>, SideError> {
        Ok(None)
    }

    /// Creates, updates and links go in `$batch` requests (each its own changeset); voids one
    /// by one.
    async fn apply(&self, writes: Vec<RemoteWrite>) -> Vec<WriteOutcome> {
        let currents = self.currents(&writes).await;
        let mut outcomes: Vec<Option<WriteOutcome>> = (0..writes.len()).map(|_| None).collect();
        let (mut batched, mut voids) = (Vec::new(), Vec::new());
        for (index, write) in writes.into_iter().enumerate() {
            match self.prepare(write, &currents) {
                Prepared::Ended(ended) => outcomes[index] = Some(ended),
                Prepared::Batched(write) => batched.push((index, write)),
                Prepared::Void(id) => voids.push((index, id)),
            }
        }
        let (indexes, writes): (Vec<usize>, Vec<ActivityWrite>) = batched.into_iter().unzip();
        let results = self.client.write_activities(writes).await;
        for (index, result) in indexes.into_iter().zip(results) {
            outcomes[index] = Some(match result {
                // findOrCreate found the activity an earlier run made for this event, and the
                // user has voided it since: it is gone, not to be made again.
                Ok(Some(found)) if found.void => WriteOutcome::Missing,
                other => outcome(other.map(|a| a.map(|a| self.item(&a)))),
            });
        }
        for (index, id) in voids {
            let voided = self.client.void_activity(&id, VOID_REASON).await;
            outcomes[index] = Some(outcome(voided.map(|()| None)));
        }
        outcomes
            .into_iter()
            .map(|o| o.expect("every write has an outcome"))
            .collect()
    }

    fn requests(&self) -> u64 {
        self.requests.count()
    }

    fn consumed_records(&self) -> Vec<String> {
        self.routes
            .as_ref()
            .map(|r| r.records.clone())
            .unwrap_or_default()
    }
}
