//! The Mail job's reads of ERP.net: a user's mailboxes, the check the original makes of the
//! default one (T sync-jobs/mail.md: default, its address the principal name, not encrypted),
//! and a box's folders; the Mail job's writes (`write.rs`): folders created through their box,
//! messages created find-or-create with their attachments and updated, in `$batch`; and the
//! reads of messages it made (`messages.rs`).

use serde_json::Value;

mod messages;
mod write;

pub use messages::MailMessageRow;
pub use write::{MessageWrite, NewAttachment, NewBoxFolder};

use super::activities::read_ref;
use super::client::{ErpClient, Query};
use super::error::ErpError;
use super::filter::{EntityRef, Filter, Guid};
use super::wire::USERS;
use super::wire::mail::{BOX_FOLDERS, BOXES, box_, box_folder};

/// A mailbox as MsSync reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailBox {
    pub id: Guid,
    pub email: String,
    pub is_default: bool,
    pub is_encrypted: bool,
    pub active: bool,
}

/// A box's folder as MsSync reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxFolder {
    pub id: Guid,
    /// The first language's name of the multi-language `FolderName`.
    pub name: Option<String>,
    pub server_folder_id: Option<String>,
    pub system_purpose: Option<String>,
    pub parent: Option<Guid>,
    /// Where MsSync keeps the folder's Graph delta link.
    pub sync_state: Option<String>,
}

/// What the default mailbox check found, each with the fix the original names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailBoxCheck {
    Ready(MailBox),
    /// No active default mailbox: an administrator creates one.
    Missing,
    /// The default box's address is not the user's principal name.
    WrongAddress { found: String },
    /// The default box is encrypted, which the Mail job does not support.
    Encrypted,
}

const BOX_ATTRIBUTES: &[&str] = &[
    box_::ID,
    box_::EMAIL_ADDRESS,
    box_::IS_DEFAULT,
    box_::IS_ENCRYPTED,
    box_::ACTIVE,
];

pub(super) const FOLDER_ATTRIBUTES: &[&str] = &[
    box_folder::ID,
    box_folder::FOLDER_NAME,
    box_folder::SERVER_FOLDER_ID,
    box_folder::SYSTEM_PURPOSE,
    box_folder::PARENT_FOLDER,
    box_folder::SYNC_STATE,
];

pub(super) fn text(object: &Value, name: &str) -> Option<String> {
    object[name].as_str().map(str::to_owned)
}

pub(super) fn id_of(object: &Value) -> Result<Guid, ErpError> {
    object["Id"]
        .as_str()
        .and_then(Guid::parse)
        .ok_or_else(|| ErpError::Malformed("an object without an id".into()))
}

fn read_box(object: &Value) -> Result<MailBox, ErpError> {
    Ok(MailBox {
        id: id_of(object)?,
        email: text(object, box_::EMAIL_ADDRESS).unwrap_or_default(),
        is_default: object[box_::IS_DEFAULT].as_bool().unwrap_or(false),
        is_encrypted: object[box_::IS_ENCRYPTED].as_bool().unwrap_or(false),
        active: object[box_::ACTIVE].as_bool().unwrap_or(true),
    })
}

pub(super) fn read_folder(object: &Value) -> Result<BoxFolder, ErpError> {
    // A multi-language string reads as {"en": "Inbox", ...}; a plain string is taken as is.
    let name = match &object[box_folder::FOLDER_NAME] {
        Value::String(s) => Some(s.clone()),
        Value::Object(languages) => languages.values().find_map(|v| v.as_str().map(str::to_owned)),
        _ => None,
    };
    Ok(BoxFolder {
        id: id_of(object)?,
        name,
        server_folder_id: text(object, box_folder::SERVER_FOLDER_ID),
        system_purpose: text(object, box_folder::SYSTEM_PURPOSE),
        parent: read_ref(object.get(box_folder::PARENT_FOLDER)),
        sync_state: text(object, box_folder::SYNC_STATE),
    })
}

impl ErpClient {
    /// Every mailbox `owner` owns.
    pub async fn mail_boxes(&self, owner: &Guid) -> Result<Vec<MailBox>, ErpError> {
        let query = Query {
            filter: Filter::new().eq(box_::OWNER_USER, EntityRef::new(USERS, owner.clone())),
            select: BOX_ATTRIBUTES.to_vec(),
            expand: vec![],
        };
        self.get_all(BOXES, &query).await?.iter().map(read_box).collect()
    }

    /// The user's default mailbox as the Mail job needs it: active and default, at the user's
    /// principal name (compared without regard to case, as e-mail domains are), not encrypted.
    pub async fn check_default_mail_box(
        &self,
        owner: &Guid,
        principal_name: &str,
    ) -> Result<MailBoxCheck, ErpError> {
        let boxes = self.mail_boxes(owner).await?;
        let Some(default) = boxes.into_iter().find(|b| b.is_default && b.active) else {
            return Ok(MailBoxCheck::Missing);
        };
        if !default.email.trim().eq_ignore_ascii_case(principal_name.trim()) {
            return Ok(MailBoxCheck::WrongAddress {
                found: default.email,
            });
        }
        if default.is_encrypted {
            return Ok(MailBoxCheck::Encrypted);
        }
        Ok(MailBoxCheck::Ready(default))
    }

    /// A box's folders, the system ones (with a `SystemPurpose`) included.
    pub async fn box_folders(&self, mail_box: &Guid) -> Result<Vec<BoxFolder>, ErpError> {
        let query = Query {
            filter: Filter::new().eq(
                box_folder::MAIL_BOX,
                EntityRef::new(BOXES, mail_box.clone()),
            ),
            select: FOLDER_ATTRIBUTES.to_vec(),
            expand: vec![],
        };
        self.get_all(BOX_FOLDERS, &query)
            .await?
            .iter()
            .map(read_folder)
            .collect()
    }
}
