//! Sending a run's plan: what is about to be written is recorded first (so a run that dies
//! before its commit leaves the echo of its writes recognisable, and the rows it created adopted
//! with the state they were created with), then ERP.net's writes in `$batch` requests, then
//! Outlook's.

use std::collections::{BTreeMap, BTreeSet};

use super::outlook::OutlookRead;
use super::plan::{OutlookWrite, Plan, Purpose, count_outlook};
use super::{Run, RunError};
use crate::engine::Lease;
use crate::engine::journal::LogLevel;
use crate::erp::MessageWrite;
use crate::graph::GraphError;
use crate::host::{Expect, WriteBatch};
use crate::jobs::Counts;
use crate::jobs::mail::state::{Created, MessageLink, Pending};

/// How a plan's writes ended.
#[derive(Default)]
pub(super) struct Applied {
    pub to_erp: Counts,
    pub to_outlook: Counts,
    pub failed: u32,
    /// Folders whose delta link must not advance: a write one of their messages called for failed.
    pub stuck_folders: BTreeSet<String>,
    /// An Outlook write failed: ERP.net's watermark must not advance.
    pub outlook_failed: bool,
    /// Messages a write failed for, perhaps after it was done (a lost answer): their records
    /// stay for the next run.
    pub failed_messages: BTreeSet<String>,
}

impl Run<'_, '_> {
    /// Records, under the lease's fence, what the plan is about to write to linked messages;
    /// returns the records, for the run's commit to remove.
    pub(super) async fn record_intents(
        &self,
        lease: &mut Lease,
        plan: &Plan,
    ) -> Result<BTreeMap<String, Pending>, RunError> {
        let mut intents: BTreeMap<String, Pending> = BTreeMap::new();
        for (write, purpose) in &plan.erp {
            match (write, purpose) {
                (
                    MessageWrite::Update {
                        is_read: Some(read),
                        ..
                    },
                    Purpose::Learn { message_id, .. },
                ) => {
                    intents.entry(message_id.clone()).or_default().erp_read = Some(*read);
                }
                (
                    MessageWrite::Create { .. },
                    Purpose::Create {
                        message_id,
                        folder,
                        is_read,
                        content,
                    },
                ) => {
                    intents.entry(message_id.clone()).or_default().created = Some(Created {
                        folder: folder.clone(),
                        is_read: *is_read,
                        content: Some(content.clone()),
                    });
                }
                _ => {}
            }
        }
        for (write, _) in &plan.outlook {
            match write {
                OutlookWrite::Read { id, read } => {
                    intents.entry(id.clone()).or_default().outlook_read = Some(*read);
                }
                OutlookWrite::Move { id, to, is_read } => {
                    let intent = intents.entry(id.clone()).or_default();
                    intent.outlook_folder = Some(to.clone());
                    intent.outlook_read = *is_read;
                }
            }
        }
        if !intents.is_empty() {
            let mut batch = WriteBatch::new();
            for (id, intent) in &intents {
                let value = serde_json::to_vec(intent).expect("a pending write serializes");
                batch = batch.put(self.keys.pending(id), value, Expect::Any);
            }
            self.commit(lease, batch, &[]).await?;
        }
        Ok(intents)
    }

    /// Sends ERP.net's writes, then Outlook's; a link learns what each done write carried.
    pub(super) async fn apply(
        &mut self,
        plan: Plan,
        links: &mut BTreeMap<String, MessageLink>,
        outlook: &OutlookRead,
    ) -> Applied {
        let mut applied = Applied::default();
        let (writes, purposes): (Vec<_>, Vec<_>) = plan.erp.into_iter().unzip();
        let results = if writes.is_empty() {
            Vec::new()
        } else {
            self.job.erp.write_messages(writes).await
        };
        for (result, purpose) in results.into_iter().zip(purposes) {
            match (result, purpose) {
                (
                    Ok(erp_id),
                    Purpose::Create {
                        message_id,
                        folder,
                        is_read,
                        content,
                    },
                ) => {
                    applied.to_erp.created += 1;
                    links.insert(
                        message_id.clone(),
                        MessageLink {
                            message_id,
                            erp_id: erp_id.to_string(),
                            folder,
                            is_read,
                            gone: false,
                            content: Some(content),
                        },
                    );
                }
                (
                    Ok(_),
                    Purpose::Learn {
                        message_id,
                        learned,
                        trash,
                    },
                ) => {
                    if trash {
                        applied.to_erp.removed += 1;
                    } else {
                        applied.to_erp.updated += 1;
                    }
                    if let Some(link) = links.get_mut(&message_id) {
                        learned.apply(link);
                    }
                }
                (Err(e), purpose) => {
                    applied.failed += 1;
                    self.note(
                        LogLevel::Warning,
                        format!("A message could not be written to ERP.net yet ({e}); it is retried."),
                    );
                    // Every folder that reported the message keeps its delta link, so the
                    // next run reads the change again.
                    let id = purpose.message_id();
                    applied.failed_messages.insert(id.to_owned());
                    let stuck = &mut applied.stuck_folders;
                    stuck.extend(
                        outlook
                            .arrived
                            .iter()
                            .filter(|a| a.message.id == id)
                            .map(|a| a.folder.clone()),
                    );
                    stuck.extend(
                        outlook
                            .left
                            .iter()
                            .filter(|(_, m)| m == id)
                            .map(|(f, _)| f.clone()),
                    );
                    stuck.extend(links.get(id).map(|l| l.folder.clone()));
                }
            }
        }
        for (write, purpose) in plan.outlook {
            let Purpose::Learn {
                message_id,
                learned,
                ..
            } = purpose
            else {
                continue;
            };
            let graph = self.job.graph;
            let done = match &write {
                OutlookWrite::Read { id, read } => graph.set_message_read(id, *read).await.map(|_| ()),
                OutlookWrite::Move { id, to, is_read } => {
                    let moved = graph.move_message(id, to).await.map(|_| ());
                    match (moved, is_read) {
                        (Ok(()), Some(read)) => graph.set_message_read(id, *read).await.map(|_| ()),
                        (r, _) => r,
                    }
                }
            };
            match done {
                Ok(()) => {
                    count_outlook(&mut applied.to_outlook, &write);
                    if let Some(link) = links.get_mut(&message_id) {
                        learned.apply(link);
                    }
                }
                // Deleted in Outlook meanwhile: the next delta says so.
                Err(GraphError::NotFound { .. }) => {}
                Err(e) => {
                    applied.failed += 1;
                    applied.outlook_failed = true;
                    applied.failed_messages.insert(message_id.clone());
                    self.note(
                        LogLevel::Warning,
                        format!("A change could not be written to Outlook yet ({e}); it is retried."),
                    );
                }
            }
        }
        applied
    }
}
