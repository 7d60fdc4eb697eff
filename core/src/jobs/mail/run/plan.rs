//! The plan of a run: a new ERP.net row for each new Outlook message (attachments as links,
//! limits logged), and for each linked message what [`decide`] says each side needs.

use std::collections::{BTreeMap, HashMap};

use super::erp::ErpRead;
use super::outlook::{Arrived, OutlookRead};
use super::{Run, RunError};
use crate::engine::journal::LogLevel;
use crate::erp::{ExternalLink, Guid, MessageWrite, NewAttachment};
use crate::graph::wire::mail::well_known;
use crate::jobs::mail::decide::{self, Seen};
use crate::jobs::mail::map::{self, MapNote, Skipped};
use crate::jobs::mail::state::{MailCheckpoint, MessageLink, Pending};
use crate::jobs::{Counts, EXTERNAL_SYSTEM};

/// What a write is for: a new link, or what a link learns once it is done.
pub(super) enum Purpose {
    Create {
        message_id: String,
        folder: String,
        is_read: bool,
        /// The content fingerprint written.
        content: String,
    },
    /// A linked message's change; `trash` for a move to Trash (counted as a removal).
    Learn {
        message_id: String,
        learned: decide::Learned,
        trash: bool,
    },
}

impl Purpose {
    pub fn message_id(&self) -> &str {
        match self {
            Purpose::Create { message_id, .. } | Purpose::Learn { message_id, .. } => message_id,
        }
    }
}

/// A write the job makes in Outlook.
pub(super) enum OutlookWrite {
    Read { id: String, read: bool },
    /// To Deleted Items, with the read state ERP.net had when it differs.
    Move {
        id: String,
        to: String,
        is_read: Option<bool>,
    },
}

/// The writes a run means to make, each with its purpose.
#[derive(Default)]
pub(super) struct Plan {
    pub erp: Vec<(MessageWrite, Purpose)>,
    pub outlook: Vec<(OutlookWrite, Purpose)>,
    pub skipped: u32,
    pub conflicts: u32,
}

impl Plan {
    /// The writes planned, as a dry run reports them.
    pub fn counts(&self) -> (Counts, Counts) {
        let (mut to_erp, mut to_outlook) = (Counts::default(), Counts::default());
        for (write, purpose) in &self.erp {
            match (write, purpose) {
                (MessageWrite::Create { .. }, _) => to_erp.created += 1,
                (_, Purpose::Learn { trash: true, .. }) => to_erp.removed += 1,
                _ => to_erp.updated += 1,
            }
        }
        for (write, _) in &self.outlook {
            count_outlook(&mut to_outlook, write);
        }
        (to_erp, to_outlook)
    }
}

pub(super) fn count_outlook(counts: &mut Counts, write: &OutlookWrite) {
    match write {
        OutlookWrite::Read { .. } => counts.updated += 1,
        OutlookWrite::Move { .. } => counts.removed += 1,
    }
}

/// A write a run sent but never committed shows up as a change on the side it was written to:
/// when that side holds just what was written, the link learns it instead.
pub(super) fn learn_echoes(
    pending: &BTreeMap<String, Pending>,
    links: &mut BTreeMap<String, MessageLink>,
    outlook: &OutlookRead,
    erp: &ErpRead,
) {
    for (id, p) in pending {
        let Some(link) = links.get_mut(id) else {
            continue;
        };
        if let (Some(read), Some(e)) = (p.erp_read, erp.seen.get(id))
            && e.is_read == read
        {
            link.is_read = read;
        }
        if let Some(Seen::In { folder, is_read }) = outlook.seen.get(id) {
            if p.outlook_read == Some(*is_read) {
                link.is_read = *is_read;
            }
            if p.outlook_folder.as_ref() == Some(folder) {
                link.folder = folder.clone();
            }
        }
    }
}

impl Run<'_, '_> {
    /// The writes both sides need: a row for each new message (its attachments listed first),
    /// and what the rules decide for each linked message either side changed.
    pub(super) async fn plan(
        &mut self,
        cp: &MailCheckpoint,
        trash: Option<&str>,
        links: &mut BTreeMap<String, MessageLink>,
        outlook: &OutlookRead,
        erp: &ErpRead,
    ) -> Result<Plan, RunError> {
        let folder_twin = |folder: &str| cp.folders.get(folder).and_then(|f| f.erp_folder.clone());
        let mut erp_writes: Vec<(MessageWrite, Purpose)> = Vec::new();
        let mut outlook_writes: Vec<(OutlookWrite, Purpose)> = Vec::new();
        let mut skipped = 0u32;
        let mut conflicts = 0u32;
        // New messages first: their attachments, then their rows.
        let new: Vec<&Arrived> = outlook
            .arrived
            .iter()
            .filter(|a| !links.contains_key(&a.message.id))
            .filter(|a| matches!(outlook.seen.get(&a.message.id), Some(Seen::In { folder, .. }) if *folder == a.folder))
            .collect();
        let attachments = self.attachments_of(&new).await?;
        let mut parties: HashMap<String, Option<Guid>> = HashMap::new();
        for a in &new {
            let Some(list) = attachments.get(&a.message.id) else {
                // Gone from Outlook between the delta and the attachments: the next delta says so.
                continue;
            };
            let subject = a.message.subject.clone().unwrap_or_default();
            let (message, notes) = match map::to_erp(&a.message, self.job.address, list) {
                Ok(m) => m,
                Err(Skipped::Encrypted) => {
                    skipped += 1;
                    self.note(LogLevel::Warning, format!("Message '{subject}' is encrypted (S/MIME); encrypted mail is not copied to ERP.net."));
                    continue;
                }
                Err(Skipped::IdTooLong) => {
                    skipped += 1;
                    self.note(LogLevel::Warning, format!("Message '{subject}' has an id longer than ERP.net keeps; it is not copied."));
                    continue;
                }
            };
            for note in notes {
                let text = match note {
                    MapNote::BodyTruncated { characters } => format!("Message '{subject}': its body of {characters} characters is cut to {} in ERP.net.", map::BODY_LIMIT),
                    MapNote::SubjectTruncated => format!("Message '{subject}': its subject is cut to ERP.net's length."),
                    MapNote::RecipientsDropped { field, dropped } => format!("Message '{subject}': {dropped} {field} addresses do not fit ERP.net's list and are left out."),
                    MapNote::NoSender => format!("Message '{subject}' has no sender (a draft); ERP.net shows it as from {}.", self.job.address),
                };
                self.note(LogLevel::Info, text);
            }
            let Some(folder) = folder_twin(&a.folder).and_then(|f| Guid::parse(&f)) else {
                continue;
            };
            let party = match parties.get(&message.from) {
                Some(p) => p.clone(),
                None => {
                    let p = self.job.erp.party_by_email(&message.from).await?;
                    parties.insert(message.from.clone(), p.clone());
                    p
                }
            };
            let uri = |attachment_id: &str| self.job.graph.attachment_content_uri(&a.message.id, attachment_id);
            let attachments = list
                .iter()
                .map(|att| NewAttachment {
                    name: map::attachment_name(att),
                    content_descriptors: map::content_descriptors(att, &uri(&att.id)),
                })
                .collect();
            let is_read = message.is_read;
            let content = map::content_hash(&message);
            erp_writes.push((
                MessageWrite::Create {
                    folder,
                    message,
                    attachments,
                    party,
                    link: ExternalLink {
                        external_id: a.message.id.clone(),
                        external_system: EXTERNAL_SYSTEM.into(),
                    },
                },
                Purpose::Create {
                    message_id: a.message.id.clone(),
                    folder: a.folder.clone(),
                    is_read,
                    content,
                },
            ));
        }
        // Linked messages: the three-way rules of `decide`.
        let arrived: HashMap<&str, &Arrived> = outlook
            .arrived
            .iter()
            .map(|a| (a.message.id.as_str(), a))
            .collect();
        let deleted_items = cp.well_known.get(well_known::DELETED_ITEMS).cloned();
        for link in links.values_mut() {
            let on_outlook = outlook.seen.get(&link.message_id);
            let on_erp = erp.seen.get(&link.message_id);
            if on_outlook.is_none() && on_erp.is_none() {
                continue;
            }
            let decision = decide::decide(link, on_outlook, on_erp, deleted_items.as_deref(), self.job.policy);
            if decision.conflict {
                conflicts += 1;
                self.note(LogLevel::Warning, format!("A message was moved in Outlook and deleted in ERP.net; the conflict policy '{:?}' decided.", self.job.policy));
            }
            decision.agreed.apply(link);
            let Some(erp_id) = Guid::parse(&link.erp_id) else {
                continue;
            };
            // An edited draft: Outlook's content replaces what ERP.net was given.
            let edited = self.edited_draft(arrived.get(link.message_id.as_str()).copied(), link);
            let decision_erp = match (decision.erp, edited) {
                (Some((change, mut learned)), Some((content, hash))) => {
                    learned.content = Some(hash);
                    Some((change, learned, Some(content)))
                }
                (Some((change, learned)), None) => Some((change, learned, None)),
                (None, Some((content, hash))) => Some((
                    decide::ToErp {
                        folder: None,
                        trash: false,
                        is_read: None,
                    },
                    decide::Learned {
                        content: Some(hash),
                        ..Default::default()
                    },
                    Some(content),
                )),
                (None, None) => None,
            };
            if let Some((change, learned, content)) = decision_erp {
                let folder = if change.trash {
                    match trash {
                        Some(t) => Guid::parse(t),
                        None => {
                            self.note(LogLevel::Warning, "A message deleted in Outlook stays in its ERP.net folder: the mailbox has no Trash folder.");
                            None
                        }
                    }
                } else {
                    change.folder.as_deref().and_then(folder_twin).and_then(|f| Guid::parse(&f))
                };
                if folder.is_some() || change.is_read.is_some() || content.is_some() {
                    erp_writes.push((
                        MessageWrite::Update {
                            id: erp_id,
                            folder,
                            is_read: change.is_read,
                            content: content.map(Box::new),
                        },
                        Purpose::Learn { message_id: link.message_id.clone(), learned, trash: change.trash },
                    ));
                }
            }
            if let Some((change, learned)) = decision.outlook {
                let id = link.message_id.clone();
                let write = match (change.delete, &deleted_items) {
                    (true, Some(to)) => OutlookWrite::Move { id, to: to.clone(), is_read: change.is_read },
                    (true, None) => continue,
                    (false, _) => match change.is_read {
                        Some(read) => OutlookWrite::Read { id, read },
                        None => continue,
                    },
                };
                outlook_writes.push((write, Purpose::Learn { message_id: link.message_id.clone(), learned, trash: false }));
            }
        }
        Ok(Plan {
            erp: erp_writes,
            outlook: outlook_writes,
            skipped,
            conflicts,
        })
    }

    /// The new content of a linked draft Outlook reported whole this run (`arrived`), when it differs from
    /// what ERP.net was last given. Only drafts change after they are sent or received, and a
    /// delta entry without its subject or body may be a partial one: nothing is written then.
    fn edited_draft(
        &self,
        arrived: Option<&Arrived>,
        link: &MessageLink,
    ) -> Option<(map::ErpMessage, String)> {
        if link.gone {
            return None;
        }
        let m = &arrived?.message;
        if m.is_draft != Some(true) || m.subject.is_none() || m.body.is_none() {
            return None;
        }
        let (content, _) = map::to_erp(m, self.job.address, &[]).ok()?;
        let hash = map::content_hash(&content);
        (link.content.as_deref() != Some(hash.as_str())).then_some((content, hash))
    }
}
