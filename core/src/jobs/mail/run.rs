//! One run of the Mail job for one user, in phases: lease -> the default mailbox -> Outlook's
//! folder tree and its ERP.net twins -> each synced folder's message delta -> ERP.net's changed
//! messages -> the plan (pure: [`super::decide`]) -> ERP.net's writes in `$batch` requests, then
//! Outlook's -> one fenced commit of links, checkpoint and log -> release.
//!
//! Crash safety, as in the Calendar job: a folder's delta link advances only when every write
//! its messages called for is done, ERP.net's watermark only when every Outlook write is, and
//! both only in the commit that records the links. A run that dies anywhere is replayed by the
//! next one; replays are harmless because a message is created with findOrCreate by its
//! Outlook id, and moves and read states are idempotent.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::decide::{self, ErpSeen, Seen};
use super::map::{self, MapNote, Skipped};
use super::state::{
    FolderState, Keys, MailCheckpoint, MessageLink, Pending, all_links, all_pending, load_checkpoint,
    put_link,
};
use crate::engine::journal::{self, LogLevel, LogLine};
use crate::engine::{ConflictPolicy, Lease, LeaseError, acquire_lease, lease_key};
use crate::erp::{
    BoxFolder, ErpClient, ErpError, ExternalLink, Guid, MailBoxCheck, MailMessageRow,
    MessageWrite, NewAttachment, NewBoxFolder,
};
use crate::graph::wire::mail::{INITIAL_DAYS, well_known};
use crate::graph::{GraphClient, GraphError, GraphMessage, MailChanges, MailFolder};
use crate::host::{Expect, Host, StoreError, WriteBatch};
use crate::jobs::{Counts, EXTERNAL_SYSTEM, RUN_INTERVAL, RunReport};

/// The job's name in leases, logs and Home.
pub const JOB_NAME: &str = "mail";

/// The well-known folders whose mail is kept in ERP.net; the user's own folders under the root
/// are too. Outbox, Junk Email, Archive and Outlook's housekeeping folders are not.
const SYNCED: &[&str] = &[
    well_known::INBOX,
    well_known::SENT_ITEMS,
    well_known::DRAFTS,
    well_known::DELETED_ITEMS,
];

/// Well-known folders read once by name so that they, and what is under them, stay out.
const KEPT_OUT: &[&str] = &[
    well_known::OUTBOX,
    well_known::JUNK_EMAIL,
    well_known::ARCHIVE,
    "conversationhistory",
    "syncissues",
    "scheduled",
    "clutter",
];

/// How far back ERP.net's changes are read again, for clocks that disagree a little.
const ERP_OVERLAP: chrono::Duration = chrono::Duration::minutes(5);

/// Who and how: what a run needs.
pub struct MailJob<'a> {
    pub host: &'a Host,
    /// The user's id in MsSync (store keys, lease, log).
    pub user: &'a str,
    /// The user's principal name: the default mailbox's address, and a draft's sender.
    pub address: &'a str,
    pub erp_user: Guid,
    pub policy: ConflictPolicy,
    pub erp: &'a ErpClient,
    pub graph: &'a GraphClient,
    /// Requests sent so far through both clients.
    pub requests: &'a (dyn Fn() -> u64 + Sync),
    pub runner: &'a str,
    pub process: Option<&'a crate::engine::LocalProcess>,
    pub lease_ttl: Duration,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Read every synced folder again from the first sync's start.
    pub full_refresh: bool,
    /// Plan only: report what would be written, write and store nothing.
    pub dry_run: bool,
}

/// A finished run: its report and the log lines it committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    pub report: RunReport,
    pub log: Vec<journal::Entry>,
}

/// Why a run stopped before its commit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Erp(#[from] ErpError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The user's default mailbox is missing or not one the job can use.
    #[error("the default mailbox is not usable: {0:?}")]
    MailBox(MailBoxCheck),
}

/// Runs the Mail job once for `job.user`.
pub async fn run(job: &MailJob<'_>, options: RunOptions) -> Result<Ran, RunError> {
    let store = job.host.store.as_ref();
    let key = lease_key(job.user, JOB_NAME);
    let mut lease = acquire_lease(
        store,
        job.host.clock.as_ref(),
        &key,
        job.runner,
        job.process,
        job.lease_ttl,
    )
    .await?;
    let result = Run::new(job, options).execute(&mut lease).await;
    // Releasing is best effort: an unreleased lease expires on its own.
    let _ = lease.release(store).await;
    result
}

/// A message read this run, in the folder whose delta reported it.
struct Arrived {
    folder: String,
    message: GraphMessage,
}

/// A write on one side and what it is for.
enum Purpose {
    Create { message_id: String, folder: String, is_read: bool },
    /// A linked message's change; `trash` for a move to Trash (counted as a removal).
    Learn { message_id: String, learned: decide::Learned, trash: bool },
}

struct Run<'j, 'a> {
    job: &'j MailJob<'a>,
    options: RunOptions,
    keys: Keys<'j>,
    log: Vec<LogLine>,
}

impl<'j, 'a> Run<'j, 'a> {
    fn new(job: &'j MailJob<'a>, options: RunOptions) -> Self {
        Self {
            job,
            options,
            keys: Keys::new(job.user),
            log: Vec::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.job.host.clock.now()
    }

    fn note(&mut self, level: LogLevel, text: impl Into<String>) {
        let at = self.now();
        self.log.push(LogLine::new(at, level, text));
    }

    async fn execute(mut self, lease: &mut Lease) -> Result<Ran, RunError> {
        let store = self.job.host.store.as_ref();
        let started = self.now();
        if let Some(previous) = &lease.took_over_from {
            self.note(
                LogLevel::Warning,
                format!("The run of '{previous}' stopped half way; this run takes over."),
            );
        }
        let (mut cp, cp_expect) = load_checkpoint(store, &self.keys).await?;
        let mail_box = match self
            .job
            .erp
            .check_default_mail_box(&self.job.erp_user, self.job.address)
            .await?
        {
            MailBoxCheck::Ready(b) => b,
            problem => return Err(RunError::MailBox(problem)),
        };
        let box_id = mail_box.id.to_string();
        if cp.mail_box.as_deref() != Some(&box_id) {
            if cp.mail_box.is_some() {
                self.note(
                    LogLevel::Warning,
                    "The default mailbox changed; its folders are matched again.",
                );
            }
            cp = MailCheckpoint {
                mail_box: Some(box_id),
                since: cp.since,
                erp_since: cp.erp_since,
                ..MailCheckpoint::default()
            };
        }
        if self.options.full_refresh {
            cp.folder_delta = None;
            cp.folders.values_mut().for_each(|f| f.delta_link = None);
        }
        let since = *cp
            .since
            .get_or_insert(started - chrono::Duration::days(INITIAL_DAYS));
        let links = all_links(store, &self.keys).await?;
        let pending = all_pending(store, &self.keys).await?;

        // Outlook's folders, then their twins in ERP.net.
        self.well_known(&mut cp).await?;
        let folders_full = self.read_folders(&mut cp).await?;
        let erp_folders = self.job.erp.box_folders(&mail_box.id).await?;
        let mut failed = 0u32;
        if !self.options.dry_run {
            failed += self.place_folders(&mut cp, &erp_folders, &mail_box.id).await;
        }
        let trash = erp_folders
            .iter()
            .find(|f| f.system_purpose.as_deref() == map::system_purpose(well_known::DELETED_ITEMS))
            .map(|f| f.id.to_string());

        // Each synced folder's messages.
        let synced: Vec<String> = cp
            .folders
            .iter()
            .filter(|(id, f)| f.erp_folder.is_some() && in_scope(&cp, id))
            .map(|(id, _)| id.clone())
            .collect();
        let mut arrived: Vec<Arrived> = Vec::new();
        let mut left: Vec<(String, String)> = Vec::new();
        let mut new_links: BTreeMap<String, String> = BTreeMap::new();
        let mut complete: BTreeSet<String> = BTreeSet::new();
        let mut pulled_from_outlook = 0u32;
        // The folders are read side by side (the mailbox's in-flight limit still holds): a
        // first sync then takes as long as its largest folder.
        let this = &self;
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
            pulled_from_outlook += changes.changed.len() as u32;
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
            match self.job.graph.message(&id).await {
                Ok(m) => {
                    let folder = m.parent_folder_id.clone().unwrap_or_default();
                    if synced.contains(&folder) {
                        seen.insert(id, Seen::In { folder, is_read: m.is_read.unwrap_or(false) });
                    } else {
                        seen.insert(id, Seen::Gone);
                    }
                }
                Err(GraphError::NotFound { .. }) => {
                    seen.insert(id, Seen::Gone);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let _ = folders_full;

        // ERP.net's side: messages changed since the watermark (on a first run, since the first
        // sync's start), in the box's folders.
        let mut pulled_from_erp = 0u32;
        let mut erp_seen: HashMap<String, ErpSeen> = HashMap::new();
        let mut links = links;
        let erp_ids: Vec<Guid> = erp_folders.iter().map(|f| f.id.clone()).collect();
        let read_from = cp.erp_since.map_or(since, |at| at - ERP_OVERLAP);
        let modified: HashMap<&str, DateTime<Utc>> = arrived
            .iter()
            .filter_map(|a| Some((a.message.id.as_str(), a.message.last_modified_date_time?)))
            .collect();
        let rows = self
            .job
            .erp
            .mail_messages_changed_since(&erp_ids, read_from)
            .await?;
        let by_erp: HashMap<String, String> = links
            .values()
            .map(|l| (l.erp_id.clone(), l.message_id.clone()))
            .collect();
        for row in rows {
            let linked = by_erp.get(&row.id.to_string()).cloned();
            // A message of ours without a link (a run died between its create and its commit,
            // or the store was lost): it is linked here instead of created again, and the rules
            // then carry the newer side's read state to the other, or take it to Trash when it
            // left Outlook meanwhile.
            let adopted = match (&linked, &row.external_id, &row.external_system) {
                (None, Some(id), Some(system)) if system == EXTERNAL_SYSTEM => {
                    // Not seen this run (deleted or moved since, say): where is it now?
                    let mut outlook_modified = modified.get(id.as_str()).copied();
                    if !seen.contains_key(id) {
                        let now = match self.job.graph.message(id).await {
                            Ok(m) => match m.parent_folder_id {
                                Some(folder) if synced.contains(&folder) => {
                                    outlook_modified = m.last_modified_date_time;
                                    Seen::In {
                                        folder,
                                        is_read: m.is_read.unwrap_or(false),
                                    }
                                }
                                _ => Seen::Gone,
                            },
                            Err(GraphError::NotFound { .. }) => Seen::Gone,
                            Err(e) => return Err(e.into()),
                        };
                        seen.insert(id.clone(), now);
                    }
                    let link = match &seen[id] {
                        Seen::In { folder, is_read } => {
                            let in_twin = cp.folders.get(folder).and_then(|f| f.erp_folder.as_deref())
                                == row.folder.as_ref().map(ToString::to_string).as_deref();
                            MessageLink {
                                message_id: id.clone(),
                                erp_id: row.id.to_string(),
                                // Unknown when it is elsewhere: Outlook's folder then moves it.
                                folder: if in_twin { folder.clone() } else { String::new() },
                                // The side that changed last wins (ERP.net on a tie).
                                is_read: match outlook_modified {
                                    Some(o) if row.updated.is_some_and(|e| o > e) => row.is_read,
                                    _ => *is_read,
                                },
                                gone: false,
                            }
                        }
                        // Gone from Outlook: the rules send it to Trash.
                        Seen::Gone => MessageLink {
                            message_id: id.clone(),
                            erp_id: row.id.to_string(),
                            folder: String::new(),
                            is_read: row.is_read,
                            gone: false,
                        },
                    };
                    links.insert(id.clone(), link);
                    Some(id.clone())
                }
                _ => None,
            };
            let Some(message_id) = linked.or(adopted) else {
                continue;
            };
            pulled_from_erp += 1;
            erp_seen.insert(message_id, erp_state(&row, trash.as_deref()));
        }

        // The plan.
        let folder_twin = |folder: &str| cp.folders.get(folder).and_then(|f| f.erp_folder.clone());
        let mut erp_writes: Vec<(MessageWrite, Purpose)> = Vec::new();
        let mut outlook_writes: Vec<(OutlookWrite, Purpose)> = Vec::new();
        let mut skipped = 0u32;
        let mut conflicts = 0u32;
        // New messages first: their attachments, then their rows.
        let new: Vec<&Arrived> = arrived
            .iter()
            .filter(|a| !links.contains_key(&a.message.id))
            .filter(|a| matches!(seen.get(&a.message.id), Some(Seen::In { folder, .. }) if *folder == a.folder))
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
                },
            ));
        }
        // A write a run sent but never committed shows up as a change on the side it was
        // written to: when that side holds just what was written, the link learns it instead.
        for (id, p) in &pending {
            let Some(link) = links.get_mut(id) else {
                continue;
            };
            if let (Some(read), Some(e)) = (p.erp_read, erp_seen.get(id))
                && e.is_read == read
            {
                link.is_read = read;
            }
            if let Some(Seen::In { folder, is_read }) = seen.get(id) {
                if p.outlook_read == Some(*is_read) {
                    link.is_read = *is_read;
                }
                if p.outlook_folder.as_ref() == Some(folder) {
                    link.folder = folder.clone();
                }
            }
        }

        // Linked messages: the three-way rules of `decide`.
        let deleted_items = cp.well_known.get(well_known::DELETED_ITEMS).cloned();
        for link in links.values_mut() {
            let outlook = seen.get(&link.message_id);
            let erp = erp_seen.get(&link.message_id);
            if outlook.is_none() && erp.is_none() {
                continue;
            }
            let decision = decide::decide(link, outlook, erp, deleted_items.as_deref(), self.job.policy);
            if decision.conflict {
                conflicts += 1;
                self.note(LogLevel::Warning, format!("A message was moved in Outlook and deleted in ERP.net; the conflict policy '{:?}' decided.", self.job.policy));
            }
            decision.agreed.apply(link);
            let Some(erp_id) = Guid::parse(&link.erp_id) else {
                continue;
            };
            if let Some((change, learned)) = decision.erp {
                let folder = if change.trash {
                    match &trash {
                        Some(t) => Guid::parse(t),
                        None => {
                            self.note(LogLevel::Warning, "A message deleted in Outlook stays in its ERP.net folder: the mailbox has no Trash folder.");
                            None
                        }
                    }
                } else {
                    change.folder.as_deref().and_then(folder_twin).and_then(|f| Guid::parse(&f))
                };
                if folder.is_some() || change.is_read.is_some() {
                    erp_writes.push((
                        MessageWrite::Update { id: erp_id, folder, is_read: change.is_read },
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

        let mut to_erp = Counts::default();
        let mut to_outlook = Counts::default();
        if self.options.dry_run {
            for (write, _) in &erp_writes {
                count_erp(&mut to_erp, write);
            }
            for (write, _) in &outlook_writes {
                count_outlook(&mut to_outlook, write);
            }
            let finished = self.now();
            return Ok(Ran {
                report: RunReport {
                    started,
                    finished,
                    dry_run: true,
                    full_read: folders_full || !complete.is_empty(),
                    pulled_from_erp,
                    pulled_from_outlook,
                    to_outlook,
                    to_erp,
                    conflicts,
                    failed: 0,
                    skipped,
                    requests: (self.job.requests)(),
                    checkpoints_advanced: false,
                    next_run: finished + RUN_INTERVAL,
                },
                log: Vec::new(),
            });
        }

        // What is about to be written to a linked message is recorded first (see above).
        let mut intents: BTreeMap<String, Pending> = BTreeMap::new();
        for (write, purpose) in &erp_writes {
            if let (MessageWrite::Update { is_read: Some(read), .. }, Purpose::Learn { message_id, .. }) = (write, purpose) {
                intents.entry(message_id.clone()).or_default().erp_read = Some(*read);
            }
        }
        for (write, _) in &outlook_writes {
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

        // ERP.net's writes, then Outlook's.
        let mut stuck_folders: BTreeSet<String> = BTreeSet::new();
        let (writes, purposes): (Vec<_>, Vec<_>) = erp_writes.into_iter().unzip();
        let results = if writes.is_empty() {
            Vec::new()
        } else {
            self.job.erp.write_messages(writes).await
        };
        for (result, purpose) in results.into_iter().zip(purposes) {
            match (result, purpose) {
                (Ok(erp_id), Purpose::Create { message_id, folder, is_read }) => {
                    to_erp.created += 1;
                    links.insert(
                        message_id.clone(),
                        MessageLink { message_id, erp_id: erp_id.to_string(), folder, is_read, gone: false },
                    );
                }
                (Ok(_), Purpose::Learn { message_id, learned, trash }) => {
                    if trash {
                        to_erp.removed += 1;
                    } else {
                        to_erp.updated += 1;
                    }
                    if let Some(link) = links.get_mut(&message_id) {
                        learned.apply(link);
                    }
                }
                (Err(e), purpose) => {
                    failed += 1;
                    self.note(LogLevel::Warning, format!("A message could not be written to ERP.net yet ({e}); it is retried."));
                    // Every folder that reported the message keeps its delta link, so the
                    // next run reads the change again.
                    let message_id = match purpose {
                        Purpose::Create { message_id, .. } | Purpose::Learn { message_id, .. } => message_id,
                    };
                    for a in arrived.iter().filter(|a| a.message.id == message_id) {
                        stuck_folders.insert(a.folder.clone());
                    }
                    for (f, _) in left.iter().filter(|(_, id)| *id == message_id) {
                        stuck_folders.insert(f.clone());
                    }
                    if let Some(l) = links.get(&message_id) {
                        stuck_folders.insert(l.folder.clone());
                    }
                }
            }
        }
        let mut outlook_failed = false;
        for (write, purpose) in outlook_writes {
            let Purpose::Learn { message_id, learned, .. } = purpose else {
                continue;
            };
            let done = match &write {
                OutlookWrite::Read { id, read } => self.job.graph.set_message_read(id, *read).await.map(|_| ()),
                OutlookWrite::Move { id, to, is_read } => {
                    let moved = self.job.graph.move_message(id, to).await.map(|_| ());
                    match (moved, is_read) {
                        (Ok(()), Some(read)) => self.job.graph.set_message_read(id, *read).await.map(|_| ()),
                        (r, _) => r,
                    }
                }
            };
            match done {
                Ok(()) => {
                    count_outlook(&mut to_outlook, &write);
                    if let Some(link) = links.get_mut(&message_id) {
                        learned.apply(link);
                    }
                }
                // Deleted in Outlook meanwhile: the next delta says so.
                Err(GraphError::NotFound { .. }) => {}
                Err(e) => {
                    failed += 1;
                    outlook_failed = true;
                    self.note(LogLevel::Warning, format!("A change could not be written to Outlook yet ({e}); it is retried."));
                }
            }
        }

        // The checkpoint: each folder's delta link advances unless one of its writes failed.
        for (folder, link) in new_links {
            if stuck_folders.contains(&folder) {
                continue;
            }
            if let Some(state) = cp.folders.get_mut(&folder) {
                state.delta_link = Some(link);
            }
        }
        let finished = self.now();
        let advanced = failed == 0;
        if !outlook_failed {
            cp.erp_since = Some(started);
            cp.local_checkpoint = Some(started);
        }
        if stuck_folders.is_empty() {
            cp.remote_checkpoint = Some(started);
        }
        cp.latest_sync = Some(finished);
        if !advanced {
            self.note(LogLevel::Warning, format!("{failed} changes could not be written yet; they will be retried."));
        }
        if to_erp.total() > 0 {
            self.note(
                LogLevel::Info,
                format!(
                    "Pushed {} to ERP.net ({} created, {} updated, {} moved to Trash).",
                    plural(to_erp.total(), "message"),
                    to_erp.created,
                    to_erp.updated,
                    to_erp.removed
                ),
            );
        }
        if to_outlook.total() > 0 {
            self.note(
                LogLevel::Info,
                format!(
                    "Pushed {} to Outlook ({} marked read or unread, {} moved to Deleted Items).",
                    plural(to_outlook.total(), "message"),
                    to_outlook.updated,
                    to_outlook.removed
                ),
            );
        }
        let mut batch = WriteBatch::new();
        let recorded: BTreeSet<&String> = pending.keys().chain(intents.keys()).collect();
        for id in recorded {
            batch = batch.delete(self.keys.pending(id), Expect::Any);
        }
        for link in links.values() {
            batch = put_link(batch, &self.keys, link);
        }
        batch = batch.put(
            self.keys.checkpoint(),
            serde_json::to_vec(&cp).expect("a checkpoint serializes"),
            cp_expect,
        );
        let lines = std::mem::take(&mut self.log);
        let log = self.commit(lease, batch, &lines).await?;
        Ok(Ran {
            report: RunReport {
                started,
                finished,
                dry_run: false,
                full_read: folders_full || !complete.is_empty(),
                pulled_from_erp,
                pulled_from_outlook,
                to_outlook,
                to_erp,
                conflicts,
                failed,
                skipped,
                requests: (self.job.requests)(),
                checkpoints_advanced: advanced,
                next_run: finished + RUN_INTERVAL,
            },
            log,
        })
    }

    /// Reads the ids of the well-known folders once per mailbox.
    async fn well_known(&mut self, cp: &mut MailCheckpoint) -> Result<(), RunError> {
        if !cp.well_known.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = std::iter::once(well_known::MSG_FOLDER_ROOT)
            .chain(SYNCED.iter().copied())
            .chain(KEPT_OUT.iter().copied())
            .collect();
        cp.well_known = self.job.graph.well_known_folders(&names).await?;
        Ok(())
    }

    /// Brings the folder tree up to date from the folder delta; true when it was read whole.
    async fn read_folders(&mut self, cp: &mut MailCheckpoint) -> Result<bool, RunError> {
        let link = cp.folder_delta.clone();
        let (changes, whole) = match self.job.graph.mail_folder_delta(link.as_deref()).await {
            Ok(c) => (c, link.is_none()),
            Err(GraphError::ResyncRequired) => {
                self.note(LogLevel::Warning, "Outlook's folder change tracking expired; the folders are read again.");
                (self.job.graph.mail_folder_delta(None).await?, true)
            }
            Err(e) => return Err(e.into()),
        };
        apply_folder_changes(cp, &changes, whole);
        cp.folder_delta = Some(changes.delta_link);
        Ok(whole)
    }

    /// Gives every synced Outlook folder its ERP.net twin: system folders by purpose, the
    /// others by `ServerFolderID` or created under their parent's twin; renames and moves follow.
    /// Returns how many folder writes failed (their mail waits for them).
    async fn place_folders(
        &mut self,
        cp: &mut MailCheckpoint,
        erp_folders: &[BoxFolder],
        mail_box: &Guid,
    ) -> u32 {
        let mut failed = 0;
        let root_twin = erp_folders
            .iter()
            .find(|f| f.system_purpose.as_deref() == map::system_purpose(well_known::MSG_FOLDER_ROOT))
            .map(|f| f.id.to_string());
        for id in parents_first(cp) {
            if !in_scope(cp, &id) {
                continue;
            }
            let state = cp.folders[&id].clone();
            let purpose = cp
                .well_known
                .iter()
                .find(|(_, wk)| **wk == id)
                .and_then(|(name, _)| map::system_purpose(name));
            let parent_twin = match &state.parent {
                Some(p) if cp.well_known.get(well_known::MSG_FOLDER_ROOT) == Some(p) => root_twin.clone(),
                Some(p) => cp.folders.get(p).and_then(|f| f.erp_folder.clone()),
                None => root_twin.clone(),
            };
            if let Some(purpose) = purpose {
                if state.erp_folder.is_none()
                    && let Some(twin) = erp_folders.iter().find(|f| f.system_purpose.as_deref() == Some(purpose))
                {
                    let f = cp.folders.get_mut(&id).expect("listed");
                    f.erp_folder = Some(twin.id.to_string());
                    continue;
                }
                if state.erp_folder.is_some() {
                    continue;
                }
                self.note(LogLevel::Warning, format!("The mailbox has no '{purpose}' folder in ERP.net; Outlook's '{}' is kept in a folder of that name.", state.name));
            }
            match &state.erp_folder {
                None => {
                    let existing = erp_folders
                        .iter()
                        .find(|f| f.server_folder_id.as_deref() == Some(id.as_str()));
                    let twin = match existing {
                        Some(f) => Ok((f.id.to_string(), f.name.clone(), f.parent.as_ref().map(ToString::to_string))),
                        None => self
                            .job
                            .erp
                            .create_box_folder(&NewBoxFolder {
                                mail_box: mail_box.clone(),
                                parent: parent_twin.as_deref().and_then(Guid::parse),
                                name: state.name.clone(),
                                server_folder_id: id.clone(),
                            })
                            .await
                            .map(|f| (f.id.to_string(), Some(state.name.clone()), parent_twin.clone())),
                    };
                    match twin {
                        Ok((twin, name, parent)) => {
                            if existing.is_none() {
                                self.note(LogLevel::Info, format!("Folder '{}' created in ERP.net.", state.name));
                            }
                            let f = cp.folders.get_mut(&id).expect("listed");
                            f.erp_folder = Some(twin);
                            f.erp_name = name;
                            f.erp_parent = parent;
                        }
                        Err(e) => {
                            failed += 1;
                            self.note(LogLevel::Warning, format!("Folder '{}' could not be created in ERP.net yet ({e}); its mail follows when it is.", state.name));
                        }
                    }
                }
                Some(twin) if purpose.is_none() => {
                    let rename = (state.erp_name.as_deref() != Some(state.name.as_str())).then_some(state.name.as_str());
                    let moved = (state.erp_parent != parent_twin).then(|| parent_twin.as_deref().and_then(Guid::parse));
                    if rename.is_none() && moved.is_none() {
                        continue;
                    }
                    let Some(twin_id) = Guid::parse(twin) else { continue };
                    match self.job.erp.update_box_folder(&twin_id, rename, moved).await {
                        Ok(()) => {
                            let what = if rename.is_some() { "renamed" } else { "moved" };
                            self.note(LogLevel::Info, format!("Folder '{}' {what} in ERP.net.", state.name));
                            let f = cp.folders.get_mut(&id).expect("listed");
                            f.erp_name = Some(state.name.clone());
                            f.erp_parent = parent_twin.clone();
                        }
                        Err(e) => {
                            failed += 1;
                            self.note(LogLevel::Warning, format!("Folder '{}' could not be changed in ERP.net yet ({e}).", state.name));
                        }
                    }
                }
                Some(_) => {}
            }
        }
        failed
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
    async fn attachments_of(
        &self,
        new: &[&Arrived],
    ) -> Result<HashMap<String, Vec<crate::graph::GraphAttachment>>, RunError> {
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

    /// Commits `batch` with `lines` of log under the lease's fence.
    async fn commit(
        &self,
        lease: &mut Lease,
        mut batch: WriteBatch,
        lines: &[LogLine],
    ) -> Result<Vec<journal::Entry>, RunError> {
        let store = self.job.host.store.as_ref();
        let entries = journal::append(store, &mut batch, self.job.user, lines).await?;
        let until = self.now() + chrono::Duration::from_std(self.job.lease_ttl).unwrap_or_default();
        batch.push(lease.fence(until));
        match store.commit(batch).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => return Err(LeaseError::Lost.into()),
            Err(e) => return Err(e.into()),
        }
        lease.refresh_version(store, until).await?;
        Ok(entries)
    }
}

/// A write the job makes in Outlook.
enum OutlookWrite {
    Read { id: String, read: bool },
    /// To Deleted Items, with the read state ERP.net had when it differs.
    Move { id: String, to: String, is_read: Option<bool> },
}

fn count_erp(counts: &mut Counts, write: &MessageWrite) {
    match write {
        MessageWrite::Create { .. } => counts.created += 1,
        MessageWrite::Update { .. } => counts.updated += 1,
    }
}

fn count_outlook(counts: &mut Counts, write: &OutlookWrite) {
    match write {
        OutlookWrite::Read { .. } => counts.updated += 1,
        OutlookWrite::Move { .. } => counts.removed += 1,
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

/// Folds a folder delta round into the tree; a whole read replaces it.
fn apply_folder_changes(cp: &mut MailCheckpoint, changes: &MailChanges<MailFolder>, whole: bool) {
    if whole {
        let present: BTreeSet<&str> = changes.changed.iter().map(|f| f.id.as_str()).collect();
        cp.folders.retain(|id, _| present.contains(id.as_str()));
    }
    for folder in &changes.changed {
        let entry = cp.folders.entry(folder.id.clone()).or_insert_with(|| FolderState {
            name: String::new(),
            parent: None,
            erp_folder: None,
            erp_name: None,
            erp_parent: None,
            delta_link: None,
        });
        entry.name = folder.display_name.clone().unwrap_or_default();
        entry.parent = folder.parent_folder_id.clone();
    }
    for id in &changes.removed {
        cp.folders.remove(id);
    }
}

/// True for a folder whose mail is kept: a synced well-known folder, or a folder of the user's
/// own whose ancestors up to the root are kept too.
fn in_scope(cp: &MailCheckpoint, id: &str) -> bool {
    let root = cp.well_known.get(well_known::MSG_FOLDER_ROOT);
    let mut current = id.to_owned();
    // A tree deeper than this is a loop in what Graph sent.
    for _ in 0..64 {
        if let Some((name, _)) = cp.well_known.iter().find(|(_, wk)| **wk == current) {
            return SYNCED.contains(&name.as_str());
        }
        let Some(parent) = cp.folders.get(&current).and_then(|f| f.parent.clone()) else {
            return false;
        };
        if Some(&parent) == root {
            return true;
        }
        current = parent;
    }
    false
}

/// The folders, every parent before its children.
fn parents_first(cp: &MailCheckpoint) -> Vec<String> {
    let depth = |id: &str| {
        let mut d = 0;
        let mut current = id.to_owned();
        while let Some(p) = cp.folders.get(&current).and_then(|f| f.parent.clone()) {
            d += 1;
            if d > 64 {
                break;
            }
            current = p;
        }
        d
    };
    let mut ids: Vec<(usize, String)> = cp.folders.keys().map(|id| (depth(id), id.clone())).collect();
    ids.sort();
    ids.into_iter().map(|(_, id)| id).collect()
}

fn plural(n: u32, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}
