//! The Mail job's part of the Graph wire contract: mail folders, their per-folder message delta,
//! message properties, attachments and marking read. Keys as in `docs/wire/graph.md`:
//! M-msg `api-reference/v1.0/resources/message.md`, M-delta `api/message-delta.md`, M-dq
//! `concepts/delta-query-messages.md`, M-fold `resources/mailfolder.md`, M-fdelta
//! `api/mailfolder-delta.md`, M-get `api/message-get.md`, M-upd `api/message-update.md`, M-att
//! `resources/attachment.md`, M-attget `api/attachment-get.md`, M-attlist
//! `api/message-list-attachments.md`, M-move `api/message-move.md`; G-immut and G-dqo as for
//! events.

/// Path segments.
pub mod path {
    /// `/users/{id}/mailFolders`, `/mailFolders/delta`, `/mailFolders/{id}/messages/delta`
    /// (M-fold, M-fdelta, M-delta).
    pub const MAIL_FOLDERS: &str = "mailFolders";
    /// `/mailFolders/{id}/messages/delta`, `/messages/{id}` (M-delta, M-upd).
    pub const MESSAGES: &str = "messages";
    /// `/messages/{id}/attachments`, `/attachments/{id}` (M-attlist, M-attget).
    pub const ATTACHMENTS: &str = "attachments";
    /// `/attachments/{id}/$value`: the raw bytes (file), MIME (item), 405 (reference) (M-attget).
    pub const VALUE: &str = "$value";
    /// `…/delta` (M-delta, M-fdelta).
    pub const DELTA: &str = "delta";
    /// `POST /users/{id}/messages/{id}/move`: "creates a new copy of the message in the
    /// destination folder and removes the original"; answers `201 Created` with the message
    /// (M-move). Needs Mail.ReadWrite.
    pub const MOVE: &str = "move";
}

/// The body of a move (M-move): `{"destinationId": "<folder id or well-known name>"}`.
pub const DESTINATION_ID: &str = "destinationId";

/// Query options of the message delta (M-delta, M-dq).
pub mod query {
    /// Only `receivedDateTime ge {v}` or `gt {v}` (M-dq); with it, at most
    /// [`super::MAX_FILTERED_DELTA`] messages come back.
    pub const FILTER: &str = "$filter";
    /// Supported by message and folder delta (`id` always comes back).
    pub const SELECT: &str = "$select";
    /// `changeType=created|updated|deleted` (M-delta), never sent: MsSync wants all three.
    pub const CHANGE_TYPE: &str = "changeType";
    /// `receivedDateTime ge {utc}`: the only filter property (M-dq).
    pub const RECEIVED_GE: &str = "receivedDateTime ge";
}

/// "With `$filter`, at most 5,000 messages are returned" by a message delta (M-dq).
pub const MAX_FILTERED_DELTA: usize = 5_000;

/// The first sync covers this many days on both sides (T sync-jobs/mail.md).
pub const INITIAL_DAYS: i64 = 7;

/// `Prefer` values for mail: immutable ids on every request (G-immut: message ids change on a
/// move without it), bodies as HTML or text (M-get), page size (M-delta).
pub mod prefer {
    pub use crate::graph::wire::prefer::{
        BODY_CONTENT_TYPE, IMMUTABLE_ID, MAX_PAGE_SIZE, max_page_size,
    };
}

/// Well-known folder names, usable in place of an id (M-fold, locale-independent).
pub mod well_known {
    pub const MSG_FOLDER_ROOT: &str = "msgfolderroot";
    pub const INBOX: &str = "inbox";
    pub const DRAFTS: &str = "drafts";
    pub const OUTBOX: &str = "outbox";
    pub const SENT_ITEMS: &str = "sentitems";
    pub const DELETED_ITEMS: &str = "deleteditems";
    pub const ARCHIVE: &str = "archive";
    pub const JUNK_EMAIL: &str = "junkemail";
    /// Every name the page lists (the simulator accepts these and nothing else as a name).
    pub const ALL: &[&str] = &[
        "archive",
        "clutter",
        "conflicts",
        "conversationhistory",
        "deleteditems",
        "drafts",
        "inbox",
        "junkemail",
        "localfailures",
        "msgfolderroot",
        "outbox",
        "recoverableitemsdeletions",
        "scheduled",
        "searchfolders",
        "sentitems",
        "serverfailures",
        "syncissues",
    ];
}

/// Properties of `mailFolder` (M-fold).
pub mod folder {
    pub const ID: &str = "id";
    pub const DISPLAY_NAME: &str = "displayName";
    pub const PARENT_FOLDER_ID: &str = "parentFolderId";
    pub const CHILD_FOLDER_COUNT: &str = "childFolderCount";
    pub const TOTAL_ITEM_COUNT: &str = "totalItemCount";
    pub const UNREAD_ITEM_COUNT: &str = "unreadItemCount";
    pub const IS_HIDDEN: &str = "isHidden";
    pub const ALL: &[&str] = &[
        ID,
        DISPLAY_NAME,
        PARENT_FOLDER_ID,
        CHILD_FOLDER_COUNT,
        TOTAL_ITEM_COUNT,
        UNREAD_ITEM_COUNT,
        IS_HIDDEN,
    ];
}

/// Properties of `message` MsSync reads or writes (M-msg).
pub mod message {
    pub const ID: &str = "id";
    pub const SUBJECT: &str = "subject";
    /// `{contentType, content}` (`itemBody`, as for events).
    pub const BODY: &str = "body";
    pub const FROM: &str = "from";
    pub const SENDER: &str = "sender";
    pub const TO_RECIPIENTS: &str = "toRecipients";
    pub const CC_RECIPIENTS: &str = "ccRecipients";
    pub const BCC_RECIPIENTS: &str = "bccRecipients";
    pub const RECEIVED_DATE_TIME: &str = "receivedDateTime";
    pub const SENT_DATE_TIME: &str = "sentDateTime";
    pub const CREATED_DATE_TIME: &str = "createdDateTime";
    pub const LAST_MODIFIED_DATE_TIME: &str = "lastModifiedDateTime";
    /// The one property MsSync writes: PATCH `{"isRead": true}` needs Mail.ReadWrite (M-upd).
    pub const IS_READ: &str = "isRead";
    pub const IS_DRAFT: &str = "isDraft";
    /// Excludes inline attachments (M-msg).
    pub const HAS_ATTACHMENTS: &str = "hasAttachments";
    pub const PARENT_FOLDER_ID: &str = "parentFolderId";
    /// RFC 2822 Message-ID, stable across mailboxes (M-msg).
    pub const INTERNET_MESSAGE_ID: &str = "internetMessageId";
    pub const CONVERSATION_ID: &str = "conversationId";
    /// Recipient = `{emailAddress: {name, address}}` (M-msg).
    pub const EMAIL_ADDRESS: &str = "emailAddress";
    pub const ADDRESS: &str = "address";
    pub const NAME: &str = "name";
    pub const ALL: &[&str] = &[
        ID,
        SUBJECT,
        BODY,
        FROM,
        SENDER,
        TO_RECIPIENTS,
        CC_RECIPIENTS,
        BCC_RECIPIENTS,
        RECEIVED_DATE_TIME,
        SENT_DATE_TIME,
        CREATED_DATE_TIME,
        LAST_MODIFIED_DATE_TIME,
        IS_READ,
        IS_DRAFT,
        HAS_ATTACHMENTS,
        PARENT_FOLDER_ID,
        INTERNET_MESSAGE_ID,
        CONVERSATION_ID,
    ];
}

/// Properties of `attachment` (M-att, M-attget).
pub mod attachment {
    pub const ID: &str = "id";
    pub const NAME: &str = "name";
    pub const CONTENT_TYPE: &str = "contentType";
    /// Int32 bytes.
    pub const SIZE: &str = "size";
    pub const IS_INLINE: &str = "isInline";
    pub const LAST_MODIFIED_DATE_TIME: &str = "lastModifiedDateTime";
    /// `#microsoft.graph.fileAttachment`, `…itemAttachment`, `…referenceAttachment`.
    pub const ODATA_TYPE: &str = "@odata.type";
    pub const ALL: &[&str] = &[ID, NAME, CONTENT_TYPE, SIZE, IS_INLINE, LAST_MODIFIED_DATE_TIME];
}

/// The application permission the Mail job needs (M-delta lists Mail.ReadBasic.All as least,
/// but marking read needs Mail.ReadWrite, M-upd).
pub const MAIL_PERMISSION: &str = "Mail.ReadWrite";
