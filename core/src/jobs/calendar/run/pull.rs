//! The reading phase of a run: both sides' changes, the confirmation of the Outlook read, and
//! the pairing of items with their links (by the store, by pending creates, by the twins each
//! side records). A failed read stops the run before anything is written.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::super::side::{Pull, RemoteChange, Window};
use super::super::state::{activity_of_event, all_links, load_link};
use super::pairs::{Pair, PerSide, Seen, last_per_id, upserts};
use super::{BULK_DELETE_GUARD, Run, RunError, plural};
use crate::engine::{LogLevel, Side};

/// Both sides' reads and the pairs they make.
pub(super) struct Pulled {
    pub reads: PerSide<Pull>,
    pub pairs: Vec<Pair>,
}

impl Run<'_, '_> {
    /// Reads both sides from their checkpoints (`None`: the whole window) and pairs what they
    /// returned with the links.
    pub(super) async fn pull(
        &mut self,
        window: &Window,
        from: PerSide<Option<&str>>,
        fresh_store: bool,
    ) -> Result<Pulled, RunError> {
        let started = self.now();
        let mut outlook = self.job.outlook.pull(window, from.outlook).await?;
        self.confirm_outlook_read(&mut outlook).await?;
        let erp = self.job.erp.pull(window, from.erp).await?;
        let reads = PerSide::new(erp, outlook);
        let ms = (self.now() - started).num_milliseconds().max(0);
        let pulled = PerSide::new(upserts(&reads.erp), upserts(&reads.outlook));
        self.note(
            LogLevel::Info,
            format!(
                "Pulled {} and {} for {ms}ms.",
                plural(pulled.erp, "activity"),
                plural(pulled.outlook, "event")
            ),
        );
        let mut pairs = self.pair_up(&reads).await?;
        guard_against_empty_reads(&pairs, &reads)?;
        self.resolve_pending_creates(&mut pairs).await?;
        self.pair_by_recorded_twins(&mut pairs, fresh_store).await?;
        Ok(Pulled { reads, pairs })
    }

    /// Makes an incremental Outlook read tell the truth about linked events:
    /// - the stored delta link predates events we created after it was issued, and may never
    ///   report them, not even their deletion: such events are looked up by id;
    /// - delta reports `@removed` also for events that only left the window (moved far ahead,
    ///   or the window rolled past them): a removal of a linked event is looked up by id, and
    ///   an event that still exists is read as it is, never taken as a deletion.
    async fn confirm_outlook_read(&mut self, pull: &mut Pull) -> Result<(), RunError> {
        let store = self.job.host.store.as_ref();
        let prefix = self.keys.unconfirmed_prefix();
        let unconfirmed = store.scan(&prefix).await?;
        if pull.complete {
            self.unconfirmed
                .extend(unconfirmed.into_iter().map(|(key, _)| (key, true)));
            return Ok(());
        }
        let mut reported: HashSet<String> = HashSet::new();
        for change in pull.changes.iter_mut() {
            match change {
                RemoteChange::Upsert(item) => {
                    reported.insert(item.id.clone());
                }
                RemoteChange::Removed { id } => {
                    reported.insert(id.clone());
                    if activity_of_event(store, &self.keys, id).await?.is_some()
                        && let Some(event) = self.job.outlook.get(id).await?
                    {
                        *change = RemoteChange::Upsert(event);
                    }
                }
            }
        }
        for (key, _) in unconfirmed {
            let event_id = key[prefix.len()..].to_owned();
            if !reported.contains(&event_id) {
                pull.changes
                    .push(match self.job.outlook.get(&event_id).await? {
                        Some(event) => RemoteChange::Upsert(event),
                        None => RemoteChange::Removed { id: event_id },
                    });
            }
            self.unconfirmed.push((key, true));
        }
        Ok(())
    }

    /// Groups the changes of both sides with the links they belong to.
    async fn pair_up(&self, reads: &PerSide<Pull>) -> Result<Vec<Pair>, RunError> {
        let store = self.job.host.store.as_ref();
        let mut by_activity: BTreeMap<String, Pair> = BTreeMap::new();
        let mut unlinked_events: BTreeMap<String, Seen> = BTreeMap::new();
        let mut unlinked_activities: BTreeMap<String, Seen> = BTreeMap::new();

        if reads.outlook.complete || reads.erp.complete {
            for stored in all_links(store, &self.keys).await? {
                let activity_id = stored.link.activity_id.clone();
                by_activity.insert(activity_id, Pair::new(Some(stored), None, None));
            }
        }

        for (id, seen) in last_per_id(&reads.erp) {
            if let Some(pair) = by_activity.get_mut(&id) {
                pair.seen.erp = Some(seen);
                continue;
            }
            match load_link(store, &self.keys, &id).await? {
                Some(stored) => {
                    by_activity.insert(id, Pair::new(Some(stored), Some(seen), None));
                }
                None => {
                    unlinked_activities.insert(id, seen);
                }
            }
        }

        let linked_events: HashMap<String, String> = by_activity
            .values()
            .filter_map(|p| p.stored.as_ref())
            .map(|s| (s.link.event_id.clone(), s.link.activity_id.clone()))
            .collect();
        for (id, seen) in last_per_id(&reads.outlook) {
            let activity = match linked_events.get(&id) {
                Some(a) => Some(a.clone()),
                None => activity_of_event(store, &self.keys, &id).await?,
            };
            let Some(activity_id) = activity else {
                unlinked_events.insert(id, seen);
                continue;
            };
            if !by_activity.contains_key(&activity_id)
                && let Some(stored) = load_link(store, &self.keys, &activity_id).await?
            {
                by_activity.insert(activity_id.clone(), Pair::new(Some(stored), None, None));
            }
            match by_activity.get_mut(&activity_id) {
                Some(pair) => pair.seen.outlook = Some(seen),
                None => {
                    unlinked_events.insert(id, seen);
                }
            }
        }

        let mut pairs: Vec<Pair> = by_activity.into_values().collect();
        // New items: pair them by the twin ids they carry, else each stands alone.
        for (_, seen) in unlinked_activities {
            let twin = seen.item().and_then(|item| item.twin.clone());
            let mut outlook = twin
                .as_deref()
                .and_then(|event_id| unlinked_events.remove(event_id));
            if outlook.is_none()
                && matches!(seen, Seen::Item(_))
                && let Some(event_id) = twin.as_deref()
            {
                // Made from an event (by us before a crash, or by the original MsSync): pair
                // them, or follow the event's deletion; never copy it back.
                outlook = Some(match self.job.outlook.get(event_id).await? {
                    Some(event) => Seen::Item(event),
                    None => Seen::Removed,
                });
            }
            if matches!(seen, Seen::Removed) && outlook.is_none() {
                continue; // voided before we ever linked it: nothing to do
            }
            pairs.push(Pair::new(None, Some(seen), outlook));
        }
        for (_, seen) in unlinked_events {
            if matches!(seen, Seen::Item(_)) {
                pairs.push(Pair::new(None, None, Some(seen)));
            }
        }
        Ok(pairs)
    }

    /// Outlook creates a previous run sent but did not record: link the events they made.
    async fn resolve_pending_creates(&mut self, pairs: &mut Vec<Pair>) -> Result<(), RunError> {
        let store = self.job.host.store.as_ref();
        let prefix = self.keys.pending_prefix();
        for (key, value) in store.scan(&prefix).await? {
            let activity_id = key[prefix.len()..].to_owned();
            let creation_key =
                String::from_utf8(value.value).unwrap_or_else(|_| activity_id.clone());
            let found = self.job.outlook.find_by_twin(&creation_key).await?;
            if load_link(store, &self.keys, &activity_id).await?.is_some() {
                // A re-creation (a change won over an Outlook deletion) sent before a crash:
                // the linked pair creates it again under the same key and gets this event
                // back; it must not also stand alone as a new event to copy into ERP.net.
                match found {
                    Some(event) => pairs.retain(|p| !p.is_lone_event_with_id(&event.id)),
                    None => self.stale_pending.push(activity_id),
                }
                continue;
            }
            let Some(event) = found else {
                // The create never reached Outlook; the activity is created as usual.
                self.stale_pending.push(activity_id);
                continue;
            };
            // The event exists: pair it with its activity instead of copying either.
            pairs.retain(|p| !p.is_lone_event_with_id(&event.id));
            let unlinked_activity = |p: &&mut Pair| {
                p.stored.is_none() && p.item(Side::Erp).is_some_and(|a| a.id == activity_id)
            };
            if let Some(pair) = pairs.iter_mut().find(unlinked_activity) {
                pair.seen.outlook = Some(Seen::Item(event));
                continue;
            }
            let activity = match self.job.erp.get(&activity_id).await? {
                Some(a) => Seen::Item(a),
                // Voided since: the event made for it goes too.
                None => Seen::Removed,
            };
            pairs.push(Pair::new(None, Some(activity), Some(Seen::Item(event))));
        }
        Ok(())
    }

    /// An unlinked event may be one MsSync made for an activity whose link the store lost (or
    /// never had: a Released activity refuses its ExternalId). Such events carry the activity's
    /// id, which delta does not return, so a run that might meet one (an unlinked event beside
    /// an unlinked activity that names no event, or any unlinked event on a store that holds
    /// no checkpoint) lists them once and pairs them, never creating twins of twins.
    async fn pair_by_recorded_twins(
        &mut self,
        pairs: &mut Vec<Pair>,
        fresh_store: bool,
    ) -> Result<(), RunError> {
        fn lone_activity(p: &Pair) -> Option<&str> {
            match (&p.stored, p.item(Side::Erp), &p.seen.outlook) {
                (None, Some(a), None) if a.twin.is_none() => Some(a.id.as_str()),
                _ => None,
            }
        }
        fn lone_event(p: &Pair) -> Option<&str> {
            match p.is_lone_event() {
                true => p.item(Side::Outlook).map(|e| e.id.as_str()),
                false => None,
            }
        }
        let any_event = pairs.iter().any(|p| lone_event(p).is_some());
        let any_activity = pairs.iter().any(|p| lone_activity(p).is_some());
        if !any_event || !(fresh_store || any_activity) {
            return Ok(());
        }
        let Some(recorded) = self.job.outlook.recorded_twins().await? else {
            return Ok(());
        };
        let store = self.job.host.store.as_ref();
        let index = |lone: fn(&Pair) -> Option<&str>| -> HashMap<String, usize> {
            pairs
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((lone(p)?.to_owned(), i)))
                .collect()
        };
        let lone_events = index(lone_event);
        let lone_activities = index(lone_activity);
        let mut paired_activities: HashSet<String> =
            pairs.iter().filter_map(|p| p.id(Side::Erp)).collect();
        for (event_id, activity_id) in recorded {
            // Each event and each activity is paired once, whatever the listing repeats.
            let Some(&e) = lone_events.get(&event_id) else {
                continue;
            };
            if lone_event(&pairs[e]).is_none() {
                continue;
            }
            if let Some(&a) = lone_activities.get(&activity_id) {
                if lone_activity(&pairs[a]).is_some() {
                    pairs[a].seen.outlook = pairs[e].seen.outlook.take();
                }
                continue;
            }
            let known = paired_activities.contains(&activity_id)
                || load_link(store, &self.keys, &activity_id).await?.is_some();
            if known {
                continue; // the activity is linked to another event: leave this one alone
            }
            // Its activity is not among this read's changes: read it; a void one takes the
            // event with it.
            paired_activities.insert(activity_id.clone());
            pairs[e].seen.erp = Some(match self.job.erp.get(&activity_id).await? {
                Some(activity) => Seen::Item(activity),
                None => Seen::Removed,
            });
        }
        pairs.retain(|p| p.stored.is_some() || p.seen.erp.is_some() || p.seen.outlook.is_some());
        Ok(())
    }
}

/// A complete read that comes back empty while links exist is far more likely a fault (a wrong
/// mailbox, a permissions change, a broken response) than a user deleting everything: stop
/// before it deletes the other side in bulk.
fn guard_against_empty_reads(pairs: &[Pair], reads: &PerSide<Pull>) -> Result<(), RunError> {
    let links = pairs.iter().filter(|p| p.stored.is_some()).count();
    if links < BULK_DELETE_GUARD {
        // A user may well delete their last one or two items.
        return Ok(());
    }
    for (pull, side) in [(&reads.outlook, "Outlook"), (&reads.erp, "ERP.net")] {
        if pull.complete && upserts(pull) == 0 {
            return Err(RunError::EmptyRead { side, links });
        }
    }
    Ok(())
}
