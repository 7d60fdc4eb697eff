//! Outlook mail of the simulated mailboxes: folders, messages and attachments, the per-folder
//! message delta and the folder delta, as `core/src/graph/wire/mail.rs` names them.
//!
//! What it holds to, from the pages: message delta is per folder and copies its links as-is;
//! `receivedDateTime ge` is its only filter and caps a filtered round at 5,000 messages; a
//! message's id changes when it moves unless the request prefers immutable ids (folder ids never
//! change); a message gone from a folder is `{"id", "@removed": {"reason": "deleted"}}`; an
//! expired token is 410 `syncStateNotFound`. Unknown property names are refused as Graph refuses
//! them. Where the pages are silent (default page size, the reason for a move), see
//! `docs/wire/graph.md`, "Assumptions".

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Utc};
use mssync_core::wire::graph::mail as wire;
use serde_json::{Map, Value, json};

use super::state::Failure;

/// Messages per delta page when the client sets no `odata.maxpagesize` (no page documents the
/// default: `docs/wire/graph.md`, assumption 21; MsSync always sets it).
const DEFAULT_PAGE: usize = 10;

/// The folders every mailbox has, by well-known name, with their display names.
const SYSTEM_FOLDERS: &[(&str, &str)] = &[
    (wire::well_known::INBOX, "Inbox"),
    (wire::well_known::DRAFTS, "Drafts"),
    (wire::well_known::SENT_ITEMS, "Sent Items"),
    (wire::well_known::DELETED_ITEMS, "Deleted Items"),
    (wire::well_known::OUTBOX, "Outbox"),
    (wire::well_known::JUNK_EMAIL, "Junk Email"),
    (wire::well_known::ARCHIVE, "Archive"),
];

pub struct Folder {
    pub id: String,
    pub name: String,
    /// None for the root (`msgfolderroot`).
    pub parent: Option<String>,
    pub well_known: Option<&'static str>,
    /// The change that last touched it (created, renamed, moved, deleted).
    version: u64,
    deleted: bool,
}

pub struct Attachment {
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub is_inline: bool,
}

pub struct Message {
    /// The immutable id.
    pub id: String,
    /// The id a client sees without `Prefer: IdType="ImmutableId"`: new on every move.
    pub rest_id: String,
    pub folder: String,
    /// Graph's names, without the id, folder and read state.
    pub fields: Map<String, Value>,
    pub is_read: bool,
    pub attachments: Vec<Attachment>,
    version: u64,
    last_modified: DateTime<Utc>,
}

/// One mailbox's mail.
#[derive(Default)]
pub struct MailBox {
    pub folders: BTreeMap<String, Folder>,
    pub messages: BTreeMap<String, Message>,
    /// (change, folder, immutable id): a message left a folder (moved or deleted).
    departures: Vec<(u64, String, String)>,
}

/// What a delta token or a page link remembers.
#[derive(Clone)]
struct Round {
    user: String,
    /// None: the folder delta.
    folder: Option<String>,
    /// Changes up to this one were delivered.
    seen: u64,
    received_ge: Option<DateTime<Utc>>,
    select: Option<Vec<String>>,
}

struct PendingRound {
    pages: VecDeque<Vec<Value>>,
    delta_token: String,
}

/// The mail of every mailbox, with delta rounds in progress.
#[derive(Default)]
pub struct Mail {
    pub boxes: BTreeMap<String, MailBox>,
    change: u64,
    next_id: u64,
    tokens: HashMap<String, Round>,
    pending: HashMap<String, PendingRound>,
}

/// A request to the mail part of a mailbox: `rest` is the path after `users/{id}` or `me`.
pub struct MailCall<'a> {
    pub method: &'a str,
    pub user: &'a str,
    pub mailbox_path: &'a str,
    pub rest: &'a [&'a str],
    pub query: &'a HashMap<String, String>,
    pub page_size: Option<usize>,
    pub immutable_ids: bool,
    pub body: Option<Value>,
    pub now: DateTime<Utc>,
    pub base: &'a str,
}

/// An answer: status, JSON body, headers.
pub type MailReply = (u16, Option<Value>, Vec<(String, String)>);

fn not_found() -> Failure {
    Failure::new(
        404,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

fn unknown_property(name: &str, on: &str, in_body: bool) -> Failure {
    if in_body {
        Failure::new(
            400,
            "RequestBodyRead",
            format!("The property '{name}' does not exist on type 'microsoft.graph.{on}'."),
        )
    } else {
        Failure::new(
            400,
            "RequestBroker--ParseUri",
            format!("Could not find a property named '{name}' on type 'microsoft.graph.{on}'."),
        )
    }
}

fn expired(link: String) -> MailReply {
    (
        410,
        Some(
            Failure::new(
                410,
                "syncStateNotFound",
                "The sync state generation is not found.",
            )
            .body(),
        ),
        vec![("Location".into(), link)],
    )
}

impl Mail {
    fn next_change(&mut self) -> u64 {
        self.change += 1;
        self.change
    }

    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:05}Qk", self.next_id)
    }

    /// The mailbox's mail, made with its system folders on first use.
    pub fn mailbox(&mut self, user: &str) -> &mut MailBox {
        if !self.boxes.contains_key(user) {
            let version = self.next_change();
            let mut mailbox = MailBox::default();
            let root = self.new_id("AAMkRoot");
            mailbox.folders.insert(
                root.clone(),
                Folder {
                    id: root.clone(),
                    name: "Top of Information Store".into(),
                    parent: None,
                    well_known: Some(wire::well_known::MSG_FOLDER_ROOT),
                    version,
                    deleted: false,
                },
            );
            for (well_known, name) in SYSTEM_FOLDERS {
                let id = self.new_id("AAMkFold");
                mailbox.folders.insert(
                    id.clone(),
                    Folder {
                        id,
                        name: (*name).into(),
                        parent: Some(root.clone()),
                        well_known: Some(well_known),
                        version,
                        deleted: false,
                    },
                );
            }
            self.boxes.insert(user.to_owned(), mailbox);
        }
        self.boxes.get_mut(user).expect("just made")
    }

    /// A folder's id from its id or well-known name.
    pub fn folder_id(&mut self, user: &str, id_or_name: &str) -> Result<String, Failure> {
        let mailbox = self.mailbox(user);
        mailbox
            .folders
            .values()
            .find(|f| !f.deleted && (f.id == id_or_name || f.well_known == Some(id_or_name)))
            .map(|f| f.id.clone())
            .ok_or_else(not_found)
    }

    // --- what the user does in Outlook ------------------------------------------------------

    /// A message arrives in (or is saved to) a folder; returns its immutable id. `fields` uses
    /// Graph's names (`subject`, `body`, `from`, `toRecipients`, `receivedDateTime`, …).
    pub fn deliver(
        &mut self,
        user: &str,
        folder: &str,
        mut fields: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<String, Failure> {
        let folder = self.folder_id(user, folder)?;
        if let Some(name) = fields
            .keys()
            .find(|k| !wire::message::ALL.contains(&k.as_str()))
        {
            return Err(unknown_property(name, "message", true));
        }
        let is_read = fields
            .remove(wire::message::IS_READ)
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        fields.remove(wire::message::ID);
        fields.remove(wire::message::PARENT_FOLDER_ID);
        let id = self.new_id("AAkALgImm");
        let rest_id = self.new_id("AAMkMsg");
        let version = self.next_change();
        self.mailbox(user).messages.insert(
            id.clone(),
            Message {
                id: id.clone(),
                rest_id,
                folder,
                fields,
                is_read,
                attachments: Vec::new(),
                version,
                last_modified: now,
            },
        );
        Ok(id)
    }

    fn message_mut(&mut self, user: &str, id: &str) -> Result<&mut Message, Failure> {
        self.mailbox(user)
            .messages
            .values_mut()
            .find(|m| m.id == id || m.rest_id == id)
            .ok_or_else(not_found)
    }

    /// Moves a message to another folder (the immutable id stays; the other id changes).
    pub fn move_message(&mut self, user: &str, id: &str, to: &str) -> Result<(), Failure> {
        let to = self.folder_id(user, to)?;
        let change = self.next_change();
        let rest_id = self.new_id("AAMkMsg");
        let message = self.message_mut(user, id)?;
        let from = std::mem::replace(&mut message.folder, to);
        message.rest_id = rest_id;
        message.version = change;
        let id = message.id.clone();
        self.mailbox(user).departures.push((change, from, id));
        Ok(())
    }

    /// Copies a message: a new message (new ids) with the same content in `to`.
    pub fn copy_message(
        &mut self,
        user: &str,
        id: &str,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<String, Failure> {
        let message = self.message_mut(user, id)?;
        let mut fields = message.fields.clone();
        fields.insert(wire::message::IS_READ.into(), json!(message.is_read));
        self.deliver(user, to, fields, now)
    }

    /// Deletes a message for good (as emptying Deleted Items does). Outlook's delete is a move to
    /// Deleted Items: use [`Mail::move_message`] for that.
    pub fn delete_message(&mut self, user: &str, id: &str) -> Result<(), Failure> {
        let change = self.next_change();
        let message = self.message_mut(user, id)?;
        let (id, folder) = (message.id.clone(), message.folder.clone());
        let mailbox = self.mailbox(user);
        mailbox.messages.remove(&id);
        mailbox.departures.push((change, folder, id));
        Ok(())
    }

    /// The user reads (or marks unread) a message.
    pub fn set_read(
        &mut self,
        user: &str,
        id: &str,
        read: bool,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let change = self.next_change();
        let message = self.message_mut(user, id)?;
        message.is_read = read;
        message.version = change;
        message.last_modified = now;
        Ok(())
    }

    /// The user edits a draft (or anything Outlook lets them): `fields` replace the message's.
    pub fn edit_message(
        &mut self,
        user: &str,
        id: &str,
        fields: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        if let Some(name) = fields
            .keys()
            .find(|k| !wire::message::ALL.contains(&k.as_str()))
        {
            return Err(unknown_property(name, "message", true));
        }
        let change = self.next_change();
        let message = self.message_mut(user, id)?;
        message.fields.extend(fields);
        message.version = change;
        message.last_modified = now;
        Ok(())
    }

    pub fn add_attachment(
        &mut self,
        user: &str,
        id: &str,
        name: &str,
        content_type: &str,
        size: u64,
        is_inline: bool,
    ) -> Result<String, Failure> {
        let attachment_id = self.new_id("AAMkAtt");
        let change = self.next_change();
        let message = self.message_mut(user, id)?;
        message.attachments.push(Attachment {
            id: attachment_id.clone(),
            name: name.into(),
            content_type: content_type.into(),
            size,
            is_inline,
        });
        message.version = change;
        message
            .fields
            .insert(wire::message::HAS_ATTACHMENTS.into(), json!(true));
        Ok(attachment_id)
    }

    /// A folder of the user's own under `parent` (an id or well-known name).
    pub fn create_folder(
        &mut self,
        user: &str,
        parent: &str,
        name: &str,
    ) -> Result<String, Failure> {
        let parent = self.folder_id(user, parent)?;
        let id = self.new_id("AAMkFold");
        let version = self.next_change();
        self.mailbox(user).folders.insert(
            id.clone(),
            Folder {
                id: id.clone(),
                name: name.into(),
                parent: Some(parent),
                well_known: None,
                version,
                deleted: false,
            },
        );
        Ok(id)
    }

    pub fn rename_folder(&mut self, user: &str, id: &str, name: &str) -> Result<(), Failure> {
        let id = self.folder_id(user, id)?;
        let version = self.next_change();
        let folder = self.mailbox(user).folders.get_mut(&id).expect("found");
        folder.name = name.into();
        folder.version = version;
        Ok(())
    }

    pub fn move_folder(&mut self, user: &str, id: &str, parent: &str) -> Result<(), Failure> {
        let (id, parent) = (self.folder_id(user, id)?, self.folder_id(user, parent)?);
        let version = self.next_change();
        let folder = self.mailbox(user).folders.get_mut(&id).expect("found");
        folder.parent = Some(parent);
        folder.version = version;
        Ok(())
    }

    /// Every delta token and page link of every mailbox stops working (410), as when Outlook
    /// evicts old sync states.
    pub fn expire_tokens(&mut self) {
        self.tokens.clear();
        self.pending.clear();
    }

    // --- rendering -----------------------------------------------------------------------

    fn render_message(message: &Message, immutable: bool, select: Option<&[String]>) -> Value {
        let mut out = Map::new();
        for (name, value) in &message.fields {
            out.insert(name.clone(), value.clone());
        }
        out.insert(wire::message::IS_READ.into(), json!(message.is_read));
        out.insert(
            wire::message::PARENT_FOLDER_ID.into(),
            json!(message.folder),
        );
        out.insert(
            wire::message::LAST_MODIFIED_DATE_TIME.into(),
            json!(
                message
                    .last_modified
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        );
        out.entry(wire::message::HAS_ATTACHMENTS)
            .or_insert(json!(false));
        if let Some(select) = select {
            out.retain(|k, _| select.iter().any(|s| s == k));
        }
        let id = if immutable {
            &message.id
        } else {
            &message.rest_id
        };
        out.insert(wire::message::ID.into(), json!(id));
        Value::Object(out)
    }

    fn render_folder(folder: &Folder, mailbox: &MailBox) -> Value {
        let children = mailbox
            .folders
            .values()
            .filter(|f| !f.deleted && f.parent.as_deref() == Some(&folder.id))
            .count();
        let items: Vec<&Message> = mailbox
            .messages
            .values()
            .filter(|m| m.folder == folder.id)
            .collect();
        json!({
            wire::folder::ID: folder.id,
            wire::folder::DISPLAY_NAME: folder.name,
            wire::folder::PARENT_FOLDER_ID: folder.parent,
            wire::folder::CHILD_FOLDER_COUNT: children,
            wire::folder::TOTAL_ITEM_COUNT: items.len(),
            wire::folder::UNREAD_ITEM_COUNT: items.iter().filter(|m| !m.is_read).count(),
            wire::folder::IS_HIDDEN: false,
        })
    }

    // --- the HTTP surface ----------------------------------------------------------------

    /// Routes a request whose path starts with `mailFolders` or `messages`.
    pub fn route(&mut self, call: MailCall<'_>) -> Result<MailReply, Failure> {
        let ok = |body: Value| -> Result<MailReply, Failure> { Ok((200, Some(body), Vec::new())) };
        // A mailbox's system folders are made on first use, before a delta round takes its change
        // number, so the first round's token already covers them.
        self.mailbox(call.user);
        match (call.method, call.rest) {
            ("GET", ["mailFolders", "delta"]) => self.delta(&call, None),
            ("GET", ["mailFolders", folder, "messages", "delta"]) => {
                let folder = self.folder_id(call.user, folder)?;
                self.delta(&call, Some(folder))
            }
            ("GET", ["mailFolders", folder]) => {
                let folder = self.folder_id(call.user, folder)?;
                let mailbox = self.mailbox(call.user);
                ok(Self::render_folder(&mailbox.folders[&folder], mailbox))
            }
            ("GET", ["messages", id]) => {
                let select = select(call.query, wire::message::ALL, "message")?;
                let immutable = call.immutable_ids;
                let message = self.message_mut(call.user, id)?;
                ok(Self::render_message(message, immutable, select.as_deref()))
            }
            ("PATCH", ["messages", id]) => {
                let Some(Value::Object(body)) = call.body.clone() else {
                    return Err(Failure::new(
                        400,
                        "ErrorInvalidRequest",
                        "a JSON object body is required",
                    ));
                };
                if let Some(name) = body
                    .keys()
                    .find(|k| !wire::message::ALL.contains(&k.as_str()))
                {
                    return Err(unknown_property(name, "message", true));
                }
                // Only the read state is written by MsSync; other writable properties of a
                // received message are not simulated.
                if let Some(name) = body.keys().find(|k| *k != wire::message::IS_READ) {
                    return Err(Failure::new(
                        400,
                        "ErrorInvalidRequest",
                        format!("updating '{name}' is not simulated"),
                    ));
                }
                let read = body[wire::message::IS_READ].as_bool().ok_or_else(|| {
                    Failure::new(400, "ErrorInvalidRequest", "isRead must be a boolean")
                })?;
                let id = self.message_mut(call.user, id)?.id.clone();
                self.set_read(call.user, &id, read, call.now)?;
                let immutable = call.immutable_ids;
                let message = self.message_mut(call.user, &id)?;
                ok(Self::render_message(message, immutable, None))
            }
            ("POST", ["messages", id, "move"]) => {
                let Some(Value::Object(body)) = call.body.clone() else {
                    return Err(Failure::new(
                        400,
                        "ErrorInvalidRequest",
                        "a JSON object body is required",
                    ));
                };
                if let Some(name) = body.keys().find(|k| *k != wire::DESTINATION_ID) {
                    return Err(Failure::new(
                        400,
                        "RequestBodyRead",
                        format!(
                            "The parameter '{name}' in the request payload is not a valid parameter for the operation 'move'."
                        ),
                    ));
                }
                let destination = body[wire::DESTINATION_ID].as_str().ok_or_else(|| {
                    Failure::new(400, "ErrorInvalidRequest", "destinationId must be a string")
                })?;
                let id = self.message_mut(call.user, id)?.id.clone();
                self.move_message(call.user, &id, destination)?;
                let immutable = call.immutable_ids;
                let message = self.message_mut(call.user, &id)?;
                message.last_modified = call.now;
                // M-move: 201 Created with the message.
                Ok((
                    201,
                    Some(Self::render_message(message, immutable, None)),
                    Vec::new(),
                ))
            }
            ("GET", ["messages", id, "attachments"]) => {
                let message = self.message_mut(call.user, id)?;
                let value: Vec<Value> = message
                    .attachments
                    .iter()
                    .map(|a| {
                        json!({
                            wire::attachment::ODATA_TYPE: "#microsoft.graph.fileAttachment",
                            wire::attachment::ID: a.id,
                            wire::attachment::NAME: a.name,
                            wire::attachment::CONTENT_TYPE: a.content_type,
                            wire::attachment::SIZE: a.size,
                            wire::attachment::IS_INLINE: a.is_inline,
                        })
                    })
                    .collect();
                ok(json!({ "value": value }))
            }
            _ => Err(Failure::new(400, "BadRequest", "Unsupported request path")),
        }
    }

    fn delta(&mut self, call: &MailCall<'_>, folder: Option<String>) -> Result<MailReply, Failure> {
        let path = match &folder {
            Some(f) => format!("mailFolders/{f}/messages/delta"),
            None => "mailFolders/delta".to_owned(),
        };
        let link = |param: &str, token: &str| {
            format!(
                "{}/v1.0/{}/{path}?{param}={token}",
                call.base, call.mailbox_path
            )
        };
        if let Some(skip) = call.query.get("$skiptoken") {
            let Some(mut pending) = self.pending.remove(skip) else {
                return Ok(expired(link("$deltatoken", "")));
            };
            return Ok(self.serve_page(&mut pending, &link));
        }
        let round = match call.query.get("$deltatoken") {
            Some(token) => match self.tokens.get(token) {
                Some(round) if round.user == call.user && round.folder == folder => round.clone(),
                _ => return Ok(expired(link("$deltatoken", ""))),
            },
            None => {
                let received_ge = match call.query.get(wire::query::FILTER) {
                    None => None,
                    Some(filter) if folder.is_some() => Some(parse_received_ge(filter)?),
                    Some(_) => {
                        return Err(Failure::new(
                            400,
                            "ErrorInvalidUrlQueryFilter",
                            "$filter is not supported on mail folder delta",
                        ));
                    }
                };
                let on = if folder.is_some() {
                    "message"
                } else {
                    "mailFolder"
                };
                let names = if folder.is_some() {
                    wire::message::ALL
                } else {
                    wire::folder::ALL
                };
                Round {
                    user: call.user.to_owned(),
                    folder: folder.clone(),
                    seen: 0,
                    received_ge,
                    select: select(call.query, names, on)?,
                }
            }
        };
        let first_round = round.seen == 0;
        let now_change = self.change;
        let mailbox = self.mailbox(call.user);
        let mut entries: Vec<Value> = Vec::new();
        match &round.folder {
            None => {
                for f in mailbox.folders.values().filter(|f| f.version > round.seen) {
                    if f.deleted {
                        if !first_round {
                            entries.push(json!({"id": f.id, "@removed": {"reason": "deleted"}}));
                        }
                    } else if f.parent.is_some() {
                        let mut rendered = Self::render_folder(f, mailbox);
                        if let (Some(select), Value::Object(map)) =
                            (round.select.as_ref(), &mut rendered)
                        {
                            map.retain(|k, _| k == "id" || select.iter().any(|s| s == k));
                        }
                        entries.push(rendered);
                    }
                }
            }
            Some(folder) => {
                let mut changed: Vec<&Message> = mailbox
                    .messages
                    .values()
                    .filter(|m| &m.folder == folder && m.version > round.seen)
                    .filter(|m| match round.received_ge {
                        Some(since) => received(m).is_some_and(|at| at >= since),
                        None => true,
                    })
                    .collect();
                if first_round && round.received_ge.is_some() {
                    // Newest first, and no more than a filtered delta returns.
                    changed.sort_by_key(|m| std::cmp::Reverse(received(m)));
                    changed.truncate(wire::MAX_FILTERED_DELTA);
                }
                for m in changed {
                    entries.push(Self::render_message(
                        m,
                        call.immutable_ids,
                        round.select.as_deref(),
                    ));
                }
                if !first_round {
                    let mut gone: Vec<&String> = mailbox
                        .departures
                        .iter()
                        .filter(|(change, from, _)| *change > round.seen && from == folder)
                        .map(|(_, _, id)| id)
                        .filter(|id| {
                            mailbox
                                .messages
                                .get(*id)
                                .is_none_or(|m| &m.folder != folder)
                        })
                        .collect();
                    gone.dedup();
                    for id in gone {
                        // The immutable id (MsSync always prefers immutable ids).
                        entries.push(json!({"id": id, "@removed": {"reason": "deleted"}}));
                    }
                }
            }
        }
        let page_size = call.page_size.unwrap_or(DEFAULT_PAGE).max(1);
        let mut pages: VecDeque<Vec<Value>> =
            entries.chunks(page_size).map(<[Value]>::to_vec).collect();
        if pages.is_empty() {
            pages.push_back(Vec::new());
        }
        let delta_token = format!("md{:06}x{now_change}", self.next_id);
        self.next_id += 1;
        self.tokens.insert(
            delta_token.clone(),
            Round {
                seen: now_change,
                ..round
            },
        );
        let mut pending = PendingRound { pages, delta_token };
        Ok(self.serve_page(&mut pending, &link))
    }

    fn serve_page(
        &mut self,
        pending: &mut PendingRound,
        link: &dyn Fn(&str, &str) -> String,
    ) -> MailReply {
        let page = pending.pages.pop_front().unwrap_or_default();
        let mut body = json!({ "value": page });
        if pending.pages.is_empty() {
            body["@odata.deltaLink"] = json!(link("$deltatoken", &pending.delta_token));
        } else {
            let skip = format!("ms{:06}", self.next_id);
            self.next_id += 1;
            body["@odata.nextLink"] = json!(link("$skiptoken", &skip));
            self.pending.insert(
                skip,
                PendingRound {
                    pages: std::mem::take(&mut pending.pages),
                    delta_token: pending.delta_token.clone(),
                },
            );
        }
        (200, Some(body), Vec::new())
    }
}

fn received(message: &Message) -> Option<DateTime<Utc>> {
    message
        .fields
        .get(wire::message::RECEIVED_DATE_TIME)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// `receivedDateTime ge {utc}` (or `gt`): the only filter a message delta takes.
fn parse_received_ge(filter: &str) -> Result<DateTime<Utc>, Failure> {
    let refused = || {
        Failure::new(
            400,
            "ErrorInvalidUrlQueryFilter",
            "only receivedDateTime ge|gt is supported on message delta",
        )
    };
    let mut parts = filter.split_whitespace();
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("receivedDateTime"), Some("ge" | "gt"), Some(at), None) => {
            DateTime::parse_from_rfc3339(at)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| refused())
        }
        _ => Err(refused()),
    }
}

/// `$select`, refused when it names what the resource does not have.
fn select(
    query: &HashMap<String, String>,
    names: &[&str],
    on: &str,
) -> Result<Option<Vec<String>>, Failure> {
    let Some(select) = query.get(wire::query::SELECT) else {
        return Ok(None);
    };
    let chosen: Vec<String> = select.split(',').map(|s| s.trim().to_owned()).collect();
    if let Some(name) = chosen.iter().find(|n| !names.contains(&n.as_str())) {
        return Err(unknown_property(name, on, false));
    }
    Ok(Some(chosen))
}
