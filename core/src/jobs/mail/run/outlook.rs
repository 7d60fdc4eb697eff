//! Outlook's side of a run: each synced folder's message delta, read side by side, and where
//! the messages a delta lost track of went.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::folders::in_scope;
use super::{Run, RunError};
use crate::engine::journal::LogLevel;
use crate::graph::{GraphAttachment, GraphError, GraphMessage, MailChanges};
use crate::jobs::mail::decide::Seen;
use crate::jobs::mail::state::{MailCheckpoint, MessageLink};

/// A message read this run, in the folder whose delta reported it.
pub(super) struct Arrived {
    pub folder: String,
    pub message: GraphMessage,
}

/// What Outlook's reads found.
pub(super) struct OutlookRead {
    /// The synced folders that have an ERP.net twin, read this run.
    pub synced: Vec<String>,
    pub arrived: Vec<Arrived>,
    /// (folder, message id) of each message gone from a folder.
    pub left: Vec<(String, String)>,
    /// Each folder's delta link after this read.
    pub new_links: BTreeMap<String, String>,
    /// Folders read whole (a first read, or again after their tracking expired).
    pub complete: BTreeSet<String>,
    /// Where each message is now, by id.
    pub seen: HashMap<String, Seen>,
}

impl Run<'_, '_> {
    /// Reads each synced folder's changes since its delta link (the first sync's messages for a
    /// folder without one) and finds out where the linked messages that left a folder went.
    pub(super) async fn read_outlook(
        &mut self,
        cp: &MailCheckpoint,
        since: DateTime<Utc>,
        links: &BTreeMap<String, MessageLink>,
    ) -> Result<OutlookRead, RunError> {
        // Each synced folder's messages.
        let synced: Vec<String> = cp
            .folders
            .iter()
            .filter(|(id, f)| f.erp_folder.is_some() && in_scope(cp, id))
            .map(|(id, _)| id.clone())
            .collect();
        let mut arrived: Vec<Arrived> = Vec::new();
        let mut left: Vec<(String, String)> = Vec::new();
        let mut new_links: BTreeMap<String, String> = BTreeMap::new();
        let mut complete: BTreeSet<String> = BTreeSet::new();
        // The folders are read side by side (the mailbox's in-flight limit still holds): a
        // first sync then takes as long as its largest folder.
        let this = &*self;
        let reads = futures::future::join_all(synced.iter().map(|folder| {
            let link = cp.folders[folder].delta_link.clone();
            async move { (link.clone(), this.read_messages(folder, since, link.as_deref()).await) }
        }))
        .await;
        for (folder, (link, read)) in synced.iter().zip(reads) {
            let state = &cp.folders[folder];
            let changes = match read {
                Ok(c) => c,
                Err(GraphError::ResyncRequired) => {
                    let name = state.name.clone();
                    self.note(
                        LogLevel::Warning,
                        format!("Outlook's change tracking for folder '{name}' expired; the folder is read again."),
                    );
                    complete.insert(folder.clone());
                    self.read_messages(folder, since, None).await?
                }
                Err(e) => return Err(e.into()),
            };
            if link.is_none() {
                complete.insert(folder.clone());
            }
            if changes.capped {
                complete.remove(folder);
                let name = cp.folders[folder].name.clone();
                self.note(
                    LogLevel::Warning,
                    format!(
                        "Folder '{name}' has more than {} messages received since {}; Outlook gives a first sync the first {} of them only.",
                        crate::graph::wire::mail::MAX_FILTERED_DELTA,
                        since.format("%Y-%m-%d"),
                        crate::graph::wire::mail::MAX_FILTERED_DELTA,
                    ),
                );
            }
            new_links.insert(folder.clone(), changes.delta_link);
            left.extend(changes.removed.into_iter().map(|id| (folder.clone(), id)));
            arrived.extend(changes.changed.into_iter().map(|message| Arrived {
                folder: folder.clone(),
                message,
            }));
        }

        // What Outlook says happened to each message.
        let mut seen: HashMap<String, Seen> = HashMap::new();
        for a in &arrived {
            seen.insert(
                a.message.id.clone(),
                Seen::In {
                    folder: a.folder.clone(),
                    is_read: a.message.is_read.unwrap_or(false),
                },
            );
        }
        // A message gone from a folder and seen in none: where is it now? (A move between two
        // folders read in the other order, a delete for good, a move out of the synced ones.)
        let mut lost: BTreeSet<String> = left
            .iter()
            .filter(|(_, id)| !seen.contains_key(id) && links.get(id).is_some_and(|l| !l.gone))
            .map(|(_, id)| id.clone())
            .collect();
        // After a complete read of a folder, a linked message it no longer holds is lost too.
        for link in links.values() {
            if !link.gone && complete.contains(&link.folder) && !seen.contains_key(&link.message_id) {
                lost.insert(link.message_id.clone());
            }
        }
        // A linked message whose folder was deleted for good went with it.
        for link in links.values() {
            if !link.gone && !cp.folders.contains_key(&link.folder) && !seen.contains_key(&link.message_id) {
                lost.insert(link.message_id.clone());
            }
        }
        for id in lost {
            let (now, _) = self.locate(&id, &synced).await?;
            seen.insert(id, now);
        }
        Ok(OutlookRead {
            synced,
            arrived,
            left,
            new_links,
            complete,
            seen,
        })
    }

    /// Where a message is now, for one a delta lost track of: a synced folder (with when it last
    /// changed), or gone (deleted for good, or in a folder that is not synced).
    pub(super) async fn locate(
        &self,
        id: &str,
        synced: &[String],
    ) -> Result<(Seen, Option<DateTime<Utc>>), RunError> {
        match self.job.graph.message(id).await {
            Ok(m) => Ok(match m.parent_folder_id {
                Some(folder) if synced.contains(&folder) => (
                    Seen::In {
                        folder,
                        is_read: m.is_read.unwrap_or(false),
                    },
                    m.last_modified_date_time,
                ),
                _ => (Seen::Gone, None),
            }),
            Err(GraphError::NotFound { .. }) => Ok((Seen::Gone, None)),
            Err(e) => Err(e.into()),
        }
    }

    async fn read_messages(
        &self,
        folder: &str,
        since: DateTime<Utc>,
        link: Option<&str>,
    ) -> Result<MailChanges<GraphMessage>, GraphError> {
        self.job.graph.message_delta(folder, Some(since).filter(|_| link.is_none()), link).await
    }

    /// The attachments of new messages that have any (inline images included: `hasAttachments`
    /// leaves them out, so a body that cites a `cid:` is asked too). A message gone meanwhile
    /// has no entry.
    pub(super) async fn attachments_of(
        &self,
        new: &[&Arrived],
    ) -> Result<HashMap<String, Vec<GraphAttachment>>, RunError> {
        let wanted: Vec<&str> = new
            .iter()
            .filter(|a| {
                a.message.has_attachments == Some(true)
                    || a.message
                        .body
                        .as_ref()
                        .and_then(|b| b.content.as_deref())
                        .is_some_and(|c| c.contains("cid:"))
            })
            .map(|a| a.message.id.as_str())
            .collect();
        let listed = futures::future::join_all(wanted.iter().map(|id| self.job.graph.attachments(id))).await;
        let mut out: HashMap<String, Vec<_>> = new.iter().map(|a| (a.message.id.clone(), Vec::new())).collect();
        for (id, result) in wanted.into_iter().zip(listed) {
            match result {
                Ok(list) => {
                    out.insert(id.to_owned(), list);
                }
                Err(GraphError::NotFound { .. }) => {
                    out.remove(id);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }
}
