//! Mailboxes in the simulated ERP.net (`Applications.Mail`): what an administrator sets up for a
//! user before the Mail job can run, as the model pages describe the entities; the writes the
//! Mail job makes (`write.rs`); and what a person does to mail in ERP.net, for tests.

mod write;

pub(crate) use write::{dispatch, serves};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use mssync_core::wire::erp::USERS;
use mssync_core::wire::erp::mail::{
    BOX_FOLDERS, BOXES, MESSAGE_ATTACHMENTS, MESSAGES, SYSTEM_PURPOSES, attachment, box_,
    box_folder, message,
};

use super::{ErpSim, State, obj, parse_odata_id, reference};

/// How a mailbox is set up (the Mail job needs a default, unencrypted box whose address is the
/// user's principal name).
#[derive(Debug, Clone)]
pub struct MailBoxSeed {
    pub owner_user: String,
    pub email: String,
    pub is_default: bool,
    pub is_encrypted: bool,
}

impl MailBoxSeed {
    /// The box the Mail job expects: default, unencrypted, at the user's address.
    pub fn default_for(owner_user: &str, email: &str) -> Self {
        Self {
            owner_user: owner_user.to_owned(),
            email: email.to_owned(),
            is_default: true,
            is_encrypted: false,
        }
    }
}

/// The names ERP.net gives its system folders (the `FolderName` of each `SystemPurpose`).
const SYSTEM_FOLDER_NAMES: &[&str] = &["Mailbox", "Inbox", "Drafts", "Outbox", "Sent", "Trash"];

impl ErpSim {
    /// A mailbox with its system folders: the root (`Mailbox`) and, under it, Inbox, Drafts,
    /// Outbox, Sent and Trash. Returns the box's id.
    pub fn add_mail_box(&self, seed: MailBoxSeed) -> String {
        let mut s = self.lock();
        let id = s.new_id();
        s.set_mut(BOXES).push(obj(json!({
            box_::ID: id,
            box_::OBJECT_VERSION: 1,
            box_::ACTIVE: true,
            box_::EMAIL_ADDRESS: seed.email,
            box_::IS_DEFAULT: seed.is_default,
            box_::IS_ENCRYPTED: seed.is_encrypted,
            box_::RESET_ON_NEXT_SYNC: false,
            box_::SYNC_PROTOCOL: Value::Null,
            box_::SENT_ITEMS_FOLDER_NAME: "Sent",
            box_::EXTERNAL_ID: Value::Null,
            box_::EXTERNAL_SYSTEM: Value::Null,
            box_::OWNER_USER: reference(USERS, &seed.owner_user),
        })));
        let mut root = None;
        for (purpose, name) in SYSTEM_PURPOSES.iter().zip(SYSTEM_FOLDER_NAMES) {
            let folder = s.new_id();
            let parent = root
                .as_ref()
                .map_or(Value::Null, |r: &String| reference(BOX_FOLDERS, r));
            s.set_mut(BOX_FOLDERS).push(obj(json!({
                box_folder::ID: folder,
                box_folder::OBJECT_VERSION: 1,
                box_folder::ACTIVE: true,
                box_folder::FOLDER_NAME: {"en": name},
                box_folder::SERVER_FOLDER_ID: Value::Null,
                box_folder::SYNC_STATE: Value::Null,
                box_folder::SYSTEM_PURPOSE: purpose,
                box_folder::MAIL_BOX: reference(BOXES, &id),
                box_folder::PARENT_FOLDER: parent,
            })));
            root.get_or_insert(folder);
        }
        id
    }
}

/// A box's folder as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimMailFolder {
    pub id: String,
    /// The `en` name (the first language's when there is none).
    pub name: Option<String>,
    pub server_folder_id: Option<String>,
    pub system_purpose: Option<String>,
    pub parent: Option<String>,
    pub object_version: i64,
}

/// An attachment as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimMailAttachment {
    pub id: String,
    pub name: Option<String>,
    pub content_descriptors: Option<String>,
    pub content_downloaded: bool,
}

/// A message as stored, with its attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimMailMessage {
    pub id: String,
    pub folder: Option<String>,
    pub subject: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub is_read: bool,
    pub server_message_id: Option<String>,
    pub external_id: Option<String>,
    pub external_system: Option<String>,
    pub related_to_party: Option<String>,
    pub object_version: i64,
    pub updated: Option<DateTime<Utc>>,
    pub attachments: Vec<SimMailAttachment>,
}

fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn ref_id(object: &Map<String, Value>, key: &str) -> Option<String> {
    object
        .get(key)?
        .get("@odata.id")?
        .as_str()
        .and_then(parse_odata_id)
        .map(|(_, id)| id)
}

fn version(object: &Map<String, Value>) -> i64 {
    object
        .get("ObjectVersion")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

impl State {
    fn box_folder_rows(&self, mail_box: &str) -> Vec<&Map<String, Value>> {
        let mail_box = mail_box.to_ascii_lowercase();
        self.sets
            .get(BOX_FOLDERS)
            .map(|folders| {
                folders
                    .iter()
                    .filter(|f| ref_id(f, box_folder::MAIL_BOX).as_deref() == Some(&mail_box))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn box_message_rows(&self, mail_box: &str) -> Vec<&Map<String, Value>> {
        let folders: Vec<String> = self
            .box_folder_rows(mail_box)
            .iter()
            .filter_map(|f| text(f, box_folder::ID))
            .collect();
        self.sets
            .get(MESSAGES)
            .map(|messages| {
                messages
                    .iter()
                    .filter(|m| {
                        ref_id(m, message::MAIL_BOX_FOLDER).is_some_and(|f| folders.contains(&f))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn attachment_rows(&self, message_id: &str) -> Vec<&Map<String, Value>> {
        self.sets
            .get(MESSAGE_ATTACHMENTS)
            .map(|rows| {
                rows.iter()
                    .filter(|a| ref_id(a, attachment::MAIL_MESSAGE).as_deref() == Some(message_id))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn folder_row(f: &Map<String, Value>) -> SimMailFolder {
    let name = match f.get(box_folder::FOLDER_NAME) {
        Some(Value::Object(languages)) => languages
            .get("en")
            .or_else(|| languages.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned),
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    SimMailFolder {
        id: text(f, box_folder::ID).unwrap_or_default(),
        name,
        server_folder_id: text(f, box_folder::SERVER_FOLDER_ID),
        system_purpose: text(f, box_folder::SYSTEM_PURPOSE),
        parent: ref_id(f, box_folder::PARENT_FOLDER),
        object_version: version(f),
    }
}

impl ErpSim {
    /// A box's folders as stored (system folders included).
    pub fn mail_folders(&self, mail_box: &str) -> Vec<SimMailFolder> {
        let s = self.lock();
        s.box_folder_rows(mail_box)
            .into_iter()
            .map(folder_row)
            .collect()
    }

    /// A box's folders as stored, as JSON.
    pub fn mail_folders_json(&self, mail_box: &str) -> Vec<Value> {
        let s = self.lock();
        s.box_folder_rows(mail_box)
            .into_iter()
            .map(|f| Value::Object(f.clone()))
            .collect()
    }

    /// The messages in a box's folders, each with its attachments.
    pub fn mail_messages(&self, mail_box: &str) -> Vec<SimMailMessage> {
        let s = self.lock();
        s.box_message_rows(mail_box)
            .into_iter()
            .map(|m| {
                let id = text(m, message::ID).unwrap_or_default();
                let attachments = s
                    .attachment_rows(&id)
                    .into_iter()
                    .map(|a| SimMailAttachment {
                        id: text(a, attachment::ID).unwrap_or_default(),
                        name: text(a, attachment::NAME),
                        content_descriptors: text(a, attachment::CONTENT_DESCRIPTORS),
                        content_downloaded: a
                            .get(attachment::CONTENT_DOWNLOADED)
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    })
                    .collect();
                SimMailMessage {
                    folder: ref_id(m, message::MAIL_BOX_FOLDER),
                    subject: text(m, message::SUBJECT),
                    from: text(m, message::FROM_EMAIL_ADDRESS),
                    to: text(m, message::TO_EMAIL_ADDRESS_LIST),
                    is_read: m
                        .get(message::IS_READ)
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    server_message_id: text(m, message::SERVER_MESSAGE_ID),
                    external_id: text(m, message::EXTERNAL_ID),
                    external_system: text(m, message::EXTERNAL_SYSTEM),
                    related_to_party: ref_id(m, message::RELATED_TO_PARTY),
                    object_version: version(m),
                    updated: text(m, message::AGGREGATE_LAST_UPDATE_TIME_UTC)
                        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.with_timezone(&Utc)),
                    attachments,
                    id,
                }
            })
            .collect()
    }

    /// The messages in a box's folders as stored, as JSON, each with an `Attachments` array of
    /// its `MessageAttachments` rows.
    pub fn mail_messages_json(&self, mail_box: &str) -> Vec<Value> {
        let s = self.lock();
        s.box_message_rows(mail_box)
            .into_iter()
            .map(|m| {
                let mut m = m.clone();
                let id = text(&m, message::ID).unwrap_or_default();
                let rows: Vec<Value> = s
                    .attachment_rows(&id)
                    .into_iter()
                    .map(|a| Value::Object(a.clone()))
                    .collect();
                m.insert(message::ATTACHMENTS.into(), Value::Array(rows));
                Value::Object(m)
            })
            .collect()
    }

    /// A message a person received or wrote in ERP.net itself (no link to Outlook). Returns its id.
    pub fn user_add_mail(&self, folder: &str, subject: &str, from: &str) -> String {
        let mut s = self.lock();
        let id = s.new_id();
        let stamp = s.stamp();
        s.set_mut(MESSAGES).push(obj(json!({
            message::ID: id,
            message::OBJECT_VERSION: 1,
            message::AGGREGATE_LAST_UPDATE_TIME_UTC: stamp,
            message::BODY: null,
            message::CC_EMAIL_ADDRESS_LIST: null,
            message::CREATION_DATE_TIME: stamp,
            message::FROM_EMAIL_ADDRESS: from,
            message::IS_ENCRYPTED: false,
            message::IS_READ: false,
            message::RECEIVED_DATE_TIME: stamp,
            message::SENT_DATE_TIME: null,
            message::SERVER_MESSAGE_ID: null,
            message::SUBJECT: subject,
            message::TO_EMAIL_ADDRESS_LIST: null,
            message::EXTERNAL_ID: null,
            message::EXTERNAL_SYSTEM: null,
            message::RELATED_TO_PARTY: null,
            message::MAIL_BOX_FOLDER: reference(BOX_FOLDERS, folder),
        })));
        id
    }

    /// A person marks a message read (or unread) in ERP.net: its aggregate time moves.
    pub fn user_set_mail_read(&self, message_id: &str, read: bool) {
        let mut s = self.lock();
        let object = s.find_mut(MESSAGES, message_id).expect("no such message");
        object.insert(message::IS_READ.into(), json!(read));
        write::touch_message(&mut s, message_id);
    }

    /// A person moves a message to another folder in ERP.net: its aggregate time moves.
    pub fn user_move_mail(&self, message_id: &str, folder_id: &str) {
        let mut s = self.lock();
        assert!(s.find(BOX_FOLDERS, folder_id).is_some(), "no such folder");
        let object = s.find_mut(MESSAGES, message_id).expect("no such message");
        object.insert(
            message::MAIL_BOX_FOLDER.into(),
            reference(BOX_FOLDERS, folder_id),
        );
        write::touch_message(&mut s, message_id);
    }

    /// A person deletes a message in ERP.net, its attachments with it.
    pub fn user_delete_mail(&self, message_id: &str) {
        let mut s = self.lock();
        let message_id = message_id.to_ascii_lowercase();
        s.set_mut(MESSAGES)
            .retain(|m| text(m, message::ID).as_deref() != Some(&message_id));
        s.set_mut(MESSAGE_ATTACHMENTS)
            .retain(|a| ref_id(a, attachment::MAIL_MESSAGE).as_deref() != Some(&message_id));
    }
}
