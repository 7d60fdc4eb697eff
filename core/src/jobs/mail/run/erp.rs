//! ERP.net's side of a run: the box's messages changed since the watermark, and rows of ours
//! that lost their link (a run that died between a create and its commit, a lost store), which
//! are adopted instead of created again.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::outlook::OutlookRead;
use super::{Run, RunError};
use crate::erp::{Guid, MailMessageRow};
use crate::jobs::EXTERNAL_SYSTEM;
use crate::jobs::mail::decide::{ErpSeen, Seen};
use crate::jobs::mail::state::{MailCheckpoint, MessageLink, Pending};

/// How far back ERP.net's changes are read again, for clocks that disagree a little.
const ERP_OVERLAP: chrono::Duration = chrono::Duration::minutes(5);

/// Where ERP.net's read looks: the box's folders, its Trash, and the first sync's start (where a
/// first run starts reading).
pub(super) struct ErpScope<'a> {
    pub since: DateTime<Utc>,
    pub folders: &'a [Guid],
    pub trash: Option<&'a str>,
}

/// What ERP.net's read found: each linked message's state, by Outlook id.
pub(super) struct ErpRead {
    pub seen: HashMap<String, ErpSeen>,
    pub pulled: u32,
}

impl Run<'_, '_> {
    /// Reads the messages of the box's folders changed since the watermark (on a first run,
    /// since the first sync's start). Rows of ours without a link are linked here, and Outlook
    /// is asked where their message is when its read did not say.
    pub(super) async fn read_erp(
        &self,
        cp: &MailCheckpoint,
        scope: &ErpScope<'_>,
        pending: &BTreeMap<String, Pending>,
        links: &mut BTreeMap<String, MessageLink>,
        outlook: &mut OutlookRead,
    ) -> Result<ErpRead, RunError> {
        let read_from = cp.erp_since.map_or(scope.since, |at| at - ERP_OVERLAP);
        let rows = self
            .job
            .erp
            .mail_messages_changed_since(scope.folders, read_from)
            .await?;
        let by_erp: HashMap<String, String> = links
            .values()
            .map(|l| (l.erp_id.clone(), l.message_id.clone()))
            .collect();
        let modified: HashMap<String, DateTime<Utc>> = outlook
            .arrived
            .iter()
            .filter_map(|a| Some((a.message.id.clone(), a.message.last_modified_date_time?)))
            .collect();
        let mut read = ErpRead {
            seen: HashMap::new(),
            pulled: 0,
        };
        for row in rows {
            let message_id = match (by_erp.get(&row.id.to_string()), &row.external_id, &row.external_system) {
                (Some(linked), _, _) => linked.clone(),
                (None, Some(id), Some(system)) if system == EXTERNAL_SYSTEM => {
                    let mut changed_at = modified.get(id).copied();
                    // Not seen this run (deleted or moved since, say): where is it now?
                    if !outlook.seen.contains_key(id) {
                        let (now, at) = self.locate(id, &outlook.synced).await?;
                        outlook.seen.insert(id.clone(), now);
                        changed_at = at;
                    }
                    let created = pending.get(id).and_then(|p| p.created.as_ref());
                    let link = match created {
                        // Created by a run that died before its commit: the state it was
                        // created with is the base both sides changed from.
                        Some(base) => MessageLink {
                            message_id: id.clone(),
                            erp_id: row.id.to_string(),
                            folder: base.folder.clone(),
                            is_read: base.is_read,
                            gone: false,
                            content: base.content.clone(),
                        },
                        None => adopt(cp, &row, id, &outlook.seen[id], changed_at),
                    };
                    links.insert(id.clone(), link);
                    id.clone()
                }
                _ => continue,
            };
            read.pulled += 1;
            read.seen.insert(message_id, erp_state(&row, scope.trash));
        }
        Ok(read)
    }
}

/// The link of a row of ours that had none and no record of its create (a lost store). The
/// rules then carry the newer side's read state
/// to the other (ERP.net wins a tie), move the row to its message's folder when it is elsewhere,
/// or take it to Trash when the message left Outlook.
fn adopt(
    cp: &MailCheckpoint,
    row: &MailMessageRow,
    id: &str,
    seen: &Seen,
    outlook_modified: Option<DateTime<Utc>>,
) -> MessageLink {
    let (folder, is_read) = match seen {
        Seen::In { folder, is_read } => {
            let in_twin = cp.folders.get(folder).and_then(|f| f.erp_folder.as_deref())
                == row.folder.as_ref().map(ToString::to_string).as_deref();
            let outlook_newer = outlook_modified
                .zip(row.updated)
                .is_some_and(|(o, e)| o > e);
            (
                // Unknown when it is elsewhere: Outlook's folder then moves it.
                if in_twin { folder.clone() } else { String::new() },
                if outlook_newer { row.is_read } else { *is_read },
            )
        }
        Seen::Gone => (String::new(), row.is_read),
    };
    MessageLink {
        message_id: id.to_owned(),
        erp_id: row.id.to_string(),
        folder,
        is_read,
        gone: false,
        content: None,
    }
}

/// An ERP.net message's state as the rules compare it.
fn erp_state(row: &MailMessageRow, trash: Option<&str>) -> ErpSeen {
    let folder = row.folder.as_ref().map(ToString::to_string);
    ErpSeen {
        is_read: row.is_read,
        in_trash: folder.is_some() && folder.as_deref() == trash,
    }
}
