//! The Mail job's part of the ERP.net wire contract: the four `Applications.Mail` entity sets,
//! their documented properties and enums, each with its model page. The original MsSync's Mail
//! job uses Boxes, BoxFolders and Messages (T modules/applications/mssync/sync-jobs/mail.md,
//! "Resources"); MessageAttachments holds a message's attachments, as the same page says they are
//! created ("their content is specified as a URI").
//!
//! What no page confirms (how the original fills ContentDescriptors, which SyncProtocol it sets,
//! whether the Domain API creates folders with a SystemPurpose) is listed in
//! `docs/wire/erpnet.md`, "Assumptions".

use super::{
    EQ, EQ_LIKE, EntitySet, LIKE, MULTI_EQ, NONE, RANGE, USERS,
    collection, reference, value,
};

/// M entities/Applications.Mail.Boxes.md (API section, ReadWrite): a user's mailboxes.
pub const BOXES: &str = "Applications_Mail_Boxes";
/// M entities/Applications.Mail.BoxFolders.md (API section, ReadWrite): a box's folders, the
/// `Folders` child collection of a box.
pub const BOX_FOLDERS: &str = "Applications_Mail_BoxFolders";
/// M entities/Applications.Mail.Messages.md (API section, ReadWrite): an aggregate root of its
/// own, not a child of its folder.
pub const MESSAGES: &str = "Applications_Mail_Messages";
/// M entities/Applications.Mail.MessageAttachments.md (API section, ReadWrite): the
/// `Attachments` child collection of a message.
pub const MESSAGE_ATTACHMENTS: &str = "Applications_Mail_MessageAttachments";

/// M Applications.Mail.Boxes.md.
pub mod box_ {
    pub const ID: &str = "Id";
    pub const OBJECT_VERSION: &str = "ObjectVersion";
    /// boolean, Required, Default(true), Filter(eq): "active for mail synchronization, sending
    /// and receiving".
    pub const ACTIVE: &str = "Active";
    /// string(254), Required, Filter(eq). The Mail job needs it to equal the user's principal
    /// name (T sync-jobs/mail.md).
    pub const EMAIL_ADDRESS: &str = "EmailAddress";
    /// boolean, Required, Default(true), Filter(eq): the user's default mailbox.
    pub const IS_DEFAULT: &str = "IsDefault";
    /// boolean, Required, Default(false), Filter(eq). Encrypted boxes are not supported (T).
    pub const IS_ENCRYPTED: &str = "IsEncrypted";
    /// boolean, Required, Default(false), Filter(eq), ReadOnly: "next sync should delete and
    /// retrieve again all messages".
    pub const RESET_ON_NEXT_SYNC: &str = "ResetOnNextSync";
    /// enum SyncProtocol, nullable, not filterable (values: [`super::SYNC_PROTOCOLS`]).
    pub const SYNC_PROTOCOL: &str = "SyncProtocol";
    /// string(254) nullable: where ERP.net keeps sent mail.
    pub const SENT_ITEMS_FOLDER_NAME: &str = "SentItemsFolderName";
    /// → Systems_Security_Users, Filter(eq, in): "The user, who owns the mailbox".
    pub const OWNER_USER: &str = "OwnerUser";
    /// Child collection → BoxFolders (back-reference `MailBox`). Also the path segment a new
    /// folder is POSTed to, `Applications_Mail_Boxes(<box>)/Folders`, as its `MailBox` is
    /// ReadOnly (`docs/wire/erpnet.md` A21).
    pub const FOLDERS: &str = "Folders";
    /// System attributes, 24.1.0.89, Filter(multi eq).
    pub const EXTERNAL_ID: &str = "ExternalId";
    pub const EXTERNAL_SYSTEM: &str = "ExternalSystem";
}

/// M Applications.Mail.BoxFolders.md. It has no ExternalId: `ServerFolderID` is the only place
/// for the Outlook folder's id.
pub mod box_folder {
    pub const ID: &str = "Id";
    pub const OBJECT_VERSION: &str = "ObjectVersion";
    /// boolean, Required, Default(true), Filter(eq); since 25.1.0.76.
    pub const ACTIVE: &str = "Active";
    /// MultilanguageString(254), Required, Filter(eq; like): `{"en": "Inbox"}` on the wire.
    pub const FOLDER_NAME: &str = "FolderName";
    /// string(256) nullable, Filter(eq): "ID of the folder on the mail server in the format of
    /// the mail server".
    pub const SERVER_FOLDER_ID: &str = "ServerFolderID";
    /// string(max) nullable, not filterable: "for Exchange - this is SyncState" (the place for a
    /// folder's Graph deltaLink).
    pub const SYNC_STATE: &str = "SyncState";
    /// enum, nullable, Filter(eq), ReadOnly (values: [`super::SYSTEM_PURPOSES`]); null = an
    /// ordinary folder.
    pub const SYSTEM_PURPOSE: &str = "SystemPurpose";
    /// → Boxes, Required, Filter(multi eq), ReadOnly, Owner.
    pub const MAIL_BOX: &str = "MailBox";
    /// → BoxFolders nullable, Filter(eq, in); null = a root folder.
    pub const PARENT_FOLDER: &str = "ParentFolder";
}

/// M Applications.Mail.Messages.md. Recipients are flat semicolon-separated strings; there is
/// one body, no Bcc, no Internet Message-ID and no reference to the box (reach it through the
/// folder).
pub mod message {
    pub const ID: &str = "Id";
    pub const OBJECT_VERSION: &str = "ObjectVersion";
    /// datetime, Filter(ge; le), ORD; D domain-api/data-sync/incremental-pull.md.
    pub const AGGREGATE_LAST_UPDATE_TIME_UTC: &str = "AggregateLastUpdateTimeUtc";
    /// string(max) nullable: the only body field.
    pub const BODY: &str = "Body";
    /// string(2048) nullable, Filter(like): semicolon-separated.
    pub const CC_EMAIL_ADDRESS_LIST: &str = "CcEmailAddressList";
    /// datetime, Required, Default(Now), Filter(ge; le).
    pub const CREATION_DATE_TIME: &str = "CreationDateTime";
    /// string(512), Required, Filter(like): "Sending email address".
    pub const FROM_EMAIL_ADDRESS: &str = "FromEmailAddress";
    /// boolean, Required, Default(false), Filter(eq).
    pub const IS_ENCRYPTED: &str = "IsEncrypted";
    /// boolean, Required, Default(false), Filter(eq): "read by the user".
    pub const IS_READ: &str = "IsRead";
    /// datetime nullable, Filter(ge; le).
    pub const RECEIVED_DATE_TIME: &str = "ReceivedDateTime";
    /// datetime nullable, Filter(ge; le).
    pub const SENT_DATE_TIME: &str = "SentDateTime";
    /// string(256) nullable, Filter(eq), ORD, indexed: "Message ID as it appears on the mail
    /// server".
    pub const SERVER_MESSAGE_ID: &str = "ServerMessageID";
    /// string(1024) nullable, Filter(like).
    pub const SUBJECT: &str = "Subject";
    /// string(2048) nullable, Filter(like): semicolon-separated.
    pub const TO_EMAIL_ADDRESS_LIST: &str = "ToEmailAddressList";
    /// → BoxFolders, Filter(eq, in) (not a filterable reference): the folder of the message.
    pub const MAIL_BOX_FOLDER: &str = "MailBoxFolder";
    /// → General_Contacts_Parties nullable, Filter(eq, in): the external sender or receiver.
    pub const RELATED_TO_PARTY: &str = "RelatedToParty";
    /// Child collection → MessageAttachments (back-reference `MailMessage`).
    pub const ATTACHMENTS: &str = "Attachments";
    /// System attributes, Filter(multi eq), ORD.
    pub const EXTERNAL_ID: &str = "ExternalId";
    pub const EXTERNAL_SYSTEM: &str = "ExternalSystem";
}

/// M Applications.Mail.MessageAttachments.md. No ExternalId, no URI attribute.
pub mod attachment {
    pub const ID: &str = "Id";
    pub const OBJECT_VERSION: &str = "ObjectVersion";
    /// byte[] nullable: "NULL when the content is not downloaded or is unknown".
    pub const ATTACHMENT_CONTENT: &str = "AttachmentContent";
    /// string(4000) nullable: "Content flags, like 'Content-Type: text/plain; charset=utf-8'".
    pub const CONTENT_DESCRIPTORS: &str = "ContentDescriptors";
    /// boolean, Required, Default(false), Filter(eq): "0 when this is only an empty container".
    pub const CONTENT_DOWNLOADED: &str = "ContentDownloaded";
    /// string(128) nullable, Filter(eq; like): the file name.
    pub const NAME: &str = "Name";
    /// → Messages, Required, Filter(multi eq), Owner.
    pub const MAIL_MESSAGE: &str = "MailMessage";
}

/// M Applications.Mail.BoxFolders.md, `SystemPurpose` (Domain API values, in model order; the
/// database stores M, I, D, O, S, T). No value exists for Junk or Archive.
pub const SYSTEM_PURPOSES: &[&str] = &["Mailbox", "Inbox", "Drafts", "Outbox", "Sent", "Trash"];

/// M Applications.Mail.Boxes.md, `SyncProtocol` (Domain API values; IMAP's is literally
/// "Recommended").
pub const SYNC_PROTOCOLS: &[&str] = &["Recommended", "POP3", "MicrosoftExchange", "NOSYNC"];

/// The longest values the model pages allow, for truncation before a write.
pub mod max_len {
    pub const SUBJECT: usize = 1024;
    pub const FROM_EMAIL_ADDRESS: usize = 512;
    pub const EMAIL_ADDRESS_LIST: usize = 2048;
    pub const SERVER_MESSAGE_ID: usize = 256;
    pub const SERVER_FOLDER_ID: usize = 256;
    pub const FOLDER_NAME: usize = 254;
    pub const ATTACHMENT_NAME: usize = 128;
    pub const CONTENT_DESCRIPTORS: usize = 4000;
}

/// The mail entity sets, as [`super::ENTITY_SETS`] lists the Calendar's.
pub const ENTITY_SETS: &[EntitySet] = &[
    EntitySet {
        name: BOXES,
        introduced: "",
        source: "M entities/Applications.Mail.Boxes.md",
        properties: &[
            value(box_::ID, MULTI_EQ, false),
            value(box_::OBJECT_VERSION, NONE, false),
            value(box_::ACTIVE, EQ, true),
            value(box_::EMAIL_ADDRESS, EQ, true),
            value(box_::IS_DEFAULT, EQ, true),
            value(box_::IS_ENCRYPTED, EQ, true),
            value(box_::RESET_ON_NEXT_SYNC, EQ, false),
            value(box_::SYNC_PROTOCOL, NONE, true),
            value(box_::SENT_ITEMS_FOLDER_NAME, NONE, true),
            value(box_::EXTERNAL_ID, MULTI_EQ, true),
            value(box_::EXTERNAL_SYSTEM, MULTI_EQ, true),
            reference(box_::OWNER_USER, USERS, MULTI_EQ, true),
            collection(box_::FOLDERS, BOX_FOLDERS),
        ],
    },
    EntitySet {
        name: BOX_FOLDERS,
        introduced: "",
        source: "M entities/Applications.Mail.BoxFolders.md",
        properties: &[
            value(box_folder::ID, MULTI_EQ, false),
            value(box_folder::OBJECT_VERSION, NONE, false),
            value(box_folder::ACTIVE, EQ, true),
            value(box_folder::FOLDER_NAME, EQ_LIKE, true),
            value(box_folder::SERVER_FOLDER_ID, EQ, true),
            value(box_folder::SYNC_STATE, NONE, true),
            value(box_folder::SYSTEM_PURPOSE, EQ, false),
            reference(box_folder::MAIL_BOX, BOXES, MULTI_EQ, false),
            reference(box_folder::PARENT_FOLDER, BOX_FOLDERS, MULTI_EQ, true),
        ],
    },
    EntitySet {
        name: MESSAGES,
        introduced: "",
        source: "M entities/Applications.Mail.Messages.md",
        properties: &[
            value(message::ID, MULTI_EQ, false),
            value(message::OBJECT_VERSION, NONE, false),
            value(message::AGGREGATE_LAST_UPDATE_TIME_UTC, RANGE, false),
            value(message::BODY, NONE, true),
            value(message::CC_EMAIL_ADDRESS_LIST, LIKE, true),
            value(message::CREATION_DATE_TIME, RANGE, true),
            value(message::FROM_EMAIL_ADDRESS, LIKE, true),
            value(message::IS_ENCRYPTED, EQ, true),
            value(message::IS_READ, EQ, true),
            value(message::RECEIVED_DATE_TIME, RANGE, true),
            value(message::SENT_DATE_TIME, RANGE, true),
            value(message::SERVER_MESSAGE_ID, EQ, true),
            value(message::SUBJECT, LIKE, true),
            value(message::TO_EMAIL_ADDRESS_LIST, LIKE, true),
            value(message::EXTERNAL_ID, MULTI_EQ, true),
            value(message::EXTERNAL_SYSTEM, MULTI_EQ, true),
            reference(message::MAIL_BOX_FOLDER, BOX_FOLDERS, MULTI_EQ, true),
            reference(
                message::RELATED_TO_PARTY,
                super::PARTIES,
                MULTI_EQ,
                true,
            ),
            collection(message::ATTACHMENTS, MESSAGE_ATTACHMENTS),
        ],
    },
    EntitySet {
        name: MESSAGE_ATTACHMENTS,
        introduced: "",
        source: "M entities/Applications.Mail.MessageAttachments.md",
        properties: &[
            value(attachment::ID, MULTI_EQ, false),
            value(attachment::OBJECT_VERSION, NONE, false),
            value(attachment::ATTACHMENT_CONTENT, NONE, true),
            value(attachment::CONTENT_DESCRIPTORS, NONE, true),
            value(attachment::CONTENT_DOWNLOADED, EQ, true),
            value(attachment::NAME, EQ_LIKE, true),
            reference(attachment::MAIL_MESSAGE, MESSAGES, MULTI_EQ, true),
        ],
    },
];
