//! Outlook as one side of the calendar job: events through the Graph connector.
//!
//! Occurrences of a series come from `calendarView/delta` one by one, often with only their
//! identity and times; their content is the series master's, read once per run and series.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;

use super::map_graph::{create_body, patch_body, to_item};
use super::side::{
    CalendarSide, SideError, Pull, RemoteChange, RemoteItem, RemoteWrite, Window, WriteOutcome, twin_of_key,
};
use crate::engine::{Side, SideState};

use crate::graph::{self, BATCH_LIMIT, BatchItem, EventType, GraphClient, GraphError, GraphEvent};
use crate::host::CountingHttp;
use crate::model::tz::Zone;

/// The Outlook category that marks a synchronization conflict on an event.
pub const CONFLICT_CATEGORY: &str = "MsSync: synchronization conflict";

pub struct GraphSide {
    client: GraphClient,
    requests: Arc<CountingHttp>,
    zone: Zone,
    /// Series masters read this run, by id.
    masters: Mutex<HashMap<String, GraphEvent>>,
}

impl GraphSide {
    /// `client` must send through `requests`, so the run can report what it sent.
    pub fn new(client: GraphClient, requests: Arc<CountingHttp>, zone: Zone) -> Self {
        Self {
            client,
            requests,
            zone,
            masters: Mutex::new(HashMap::new()),
        }
    }

    async fn master(&self, id: &str) -> Result<GraphEvent, GraphError> {
        if let Some(m) = self.masters.lock().unwrap().get(id) {
            return Ok(m.clone());
        }
        let master = self.client.get_series_master(id).await?;
        self.masters
            .lock()
            .unwrap()
            .insert(id.to_owned(), master.clone());
        Ok(master)
    }

    /// A full event for an entry: sparse occurrences get their master's content.
    async fn complete(&self, event: GraphEvent) -> Result<GraphEvent, GraphError> {
        if !event.is_sparse() {
            return Ok(event);
        }
        let Some(master_id) = event.series_master_id.clone() else {
            return self.client.get_event(&event.id).await;
        };
        let master = self.master(&master_id).await?;
        Ok(GraphEvent {
            id: event.id.clone(),
            event_type: event.event_type.or(Some(EventType::Occurrence)),
            series_master_id: Some(master_id),
            original_start: event.original_start.or(event
                .start
                .as_ref()
                .and_then(|s| s.to_instant(&self.zone).ok())),
            start: event.start.clone(),
            end: event.end.clone(),
            // An occurrence changes when its series does.
            change_key: master
                .change_key
                .clone()
                .map(|k| format!("{k}/{}", event.id)),
            recurrence: None,
            transaction_id: None,
            single_value_extended_properties: None,
            removed: None,
            ..master
        })
    }

    fn item(&self, event: &GraphEvent) -> Option<RemoteItem> {
        let item = to_item(event, &self.zone).ok()?;
        Some(RemoteItem {
            id: event.id.clone(),
            twin: event.activity_id().map(|a| twin_of_key(a).to_owned()),
            version: event.change_key.clone().unwrap_or_default(),
            state: SideState {
                item,
                // Without a modification time the event counts as old in "newest wins".
                modified: event
                    .last_modified_date_time
                    .unwrap_or(chrono::DateTime::<Utc>::UNIX_EPOCH),
                read_only: false,
            },
        })
    }

    async fn mark_conflict(&self, id: &str) -> WriteOutcome {
        let event = match self.client.get_event(id).await {
            Ok(e) => e,
            Err(e) => return outcome_of(Err(e)),
        };
        let mut categories = event.categories.unwrap_or_default();
        if categories.iter().any(|c| c == CONFLICT_CATEGORY) {
            return WriteOutcome::Done(None);
        }
        // The user's own categories stay: PATCH replaces the list, so send it whole.
        categories.push(CONFLICT_CATEGORY.to_owned());
        let patch = serde_json::json!({ crate::graph::wire::event::CATEGORIES: categories });
        outcome_of(self.client.update_event(id, &patch).await.map(|_| None))
    }
}

fn outcome_of(result: Result<Option<RemoteItem>, GraphError>) -> WriteOutcome {
    match result {
        Ok(item) => WriteOutcome::Done(item),
        Err(GraphError::NotFound { .. }) => WriteOutcome::Missing,
        Err(
            e @ (GraphError::Throttled { .. }
            | GraphError::Transport(_)
            | GraphError::Unauthorized
            | GraphError::Token(_)
            | GraphError::Malformed(_)),
        ) => WriteOutcome::Failed(e.into()),
        Err(e @ GraphError::Service { status, .. }) if status >= 500 || status == 429 => {
            WriteOutcome::Failed(e.into())
        }
        // A failed dependency is decided by the item it depended on.
        Err(e @ GraphError::Service { status: 424, .. }) => WriteOutcome::Failed(e.into()),
        Err(e) => WriteOutcome::Refused(e.into()),
    }
}

#[async_trait(?Send)]
impl CalendarSide for GraphSide {
    fn side(&self) -> Side {
        Side::Outlook
    }

    async fn pull(&self, window: &Window, checkpoint: Option<&str>) -> Result<Pull, SideError> {
        let window = graph::Window {
            start: window.start,
            end: window.end,
        };
        let (delta, complete) = match self.client.delta(&window, checkpoint).await {
            Ok(delta) => (delta, checkpoint.is_none()),
            // The token expired: read the whole window again.
            Err(GraphError::ResyncRequired) if checkpoint.is_some() => {
                (self.client.delta(&window, None).await?, true)
            }
            Err(e) => return Err(e.into()),
        };
        let mut changes = Vec::with_capacity(delta.changed.len() + delta.removed.len());
        for event in delta.changed {
            if event.event_type == Some(EventType::SeriesMaster) {
                continue; // its occurrences are the items
            }
            if event.is_cancelled == Some(true) {
                changes.push(RemoteChange::Removed { id: event.id });
                continue;
            }
            let event = self.complete(event).await?;
            // An event Graph describes in a way we cannot read is left alone, never deleted.
            if let Some(item) = self.item(&event) {
                changes.push(RemoteChange::Upsert(item));
            }
        }
        changes.extend(
            delta
                .removed
                .into_iter()
                .map(|id| RemoteChange::Removed { id }),
        );
        Ok(Pull {
            changes,
            checkpoint: delta.delta_link,
            complete,
        })
    }

    async fn get(&self, id: &str) -> Result<Option<RemoteItem>, SideError> {
        match self.client.get_event(id).await {
            Ok(e) if e.is_cancelled == Some(true) => Ok(None),
            Ok(e) => Ok(self.item(&self.complete(e).await?)),
            Err(GraphError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn find_by_twin(&self, twin_id: &str) -> Result<Option<RemoteItem>, SideError> {
        Ok(self
            .client
            .find_by_activity_id(twin_id)
            .await?
            .and_then(|e| self.item(&e)))
    }

    async fn recorded_twins(&self) -> Result<Option<Vec<(String, String)>>, SideError> {
        let events = self.client.list_linked_events().await?;
        Ok(Some(
            events
                .into_iter()
                .map(|(event, key)| (event, twin_of_key(&key).to_owned()))
                .collect(),
        ))
    }

    async fn apply(&self, writes: Vec<RemoteWrite>) -> Vec<WriteOutcome> {
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; writes.len()];
        let mut batched: Vec<(usize, BatchItem)> = Vec::new();
        for (i, write) in writes.iter().enumerate() {
            let id = i.to_string();
            match write {
                RemoteWrite::Create {
                    idempotency_key,
                    item,
                } => batched.push((
                    i,
                    BatchItem::create(id, idempotency_key, create_body(item, &self.zone)),
                )),
                RemoteWrite::Update {
                    id: event,
                    fields,
                    item,
                    ..
                } => batched.push((
                    i,
                    BatchItem::update(id, event, patch_body(item, fields, &self.zone)),
                )),
                RemoteWrite::Remove { id: event } => {
                    batched.push((i, BatchItem::delete(id, event)))
                }
                RemoteWrite::MarkConflict { id: event } => {
                    outcomes[i] = Some(self.mark_conflict(event).await);
                }
                // Setting an extended property on an existing event is a PATCH (G-xpost).
                RemoteWrite::Link { id: event, twin } => batched.push((
                    i,
                    BatchItem::update(
                        id,
                        event,
                        serde_json::json!({ graph::wire::event::SINGLE_VALUE_EXTENDED_PROPERTIES: [{
                            graph::wire::extended::ID: graph::ACTIVITY_ID_PROPERTY,
                            graph::wire::extended::VALUE: twin,
                        }]}),
                    ),
                )),
            }
        }
        for chunk in batched.chunks(BATCH_LIMIT) {
            let items: Vec<BatchItem> = chunk.iter().map(|(_, b)| b.clone()).collect();
            match self.client.batch(items).await {
                Ok(results) => {
                    for result in results {
                        let Ok(index) = result.id.parse::<usize>() else {
                            continue;
                        };
                        let outcome = match result.result {
                            // Deleting what is gone is done.
                            Err(GraphError::NotFound { .. })
                                if matches!(writes[index], RemoteWrite::Remove { .. }) =>
                            {
                                WriteOutcome::Missing
                            }
                            other => outcome_of(other.map(|e| e.and_then(|e| self.item(&e)))),
                        };
                        outcomes[index] = Some(outcome);
                    }
                }
                Err(e) => {
                    let error = SideError::from(e);
                    for (index, _) in chunk {
                        outcomes[*index] = Some(WriteOutcome::Failed(error.clone()));
                    }
                }
            }
        }
        outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    WriteOutcome::Failed(SideError::Graph(GraphError::Malformed(
                        "the batch answer lacks an item".into(),
                    )))
                })
            })
            .collect()
    }

    fn requests(&self) -> u64 {
        self.requests.count()
    }
}
