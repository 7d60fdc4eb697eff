//! Mailboxes in the simulated ERP.net (`Applications.Mail`): what an administrator sets up for a
//! user before the Mail job can run, as the model pages describe the entities.

use serde_json::{Value, json};

use mssync_core::wire::erp::USERS;
use mssync_core::wire::erp::mail::{BOX_FOLDERS, BOXES, SYSTEM_PURPOSES, box_, box_folder};

use super::{ErpSim, obj, reference};

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
