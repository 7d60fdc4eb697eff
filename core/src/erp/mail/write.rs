//! The Mail job's writes to ERP.net.
//!
//! Folders: found by `ServerFolderID` first, so a create that lost its answer is never made
//! twice; created with a POST to the box's `Folders` collection, because a folder's `MailBox` is
//! ReadOnly (it cannot be written) yet Required (A21 in `docs/wire/erpnet.md`). Renames and moves
//! are a PATCH of `FolderName` and `ParentFolder`; `SystemPurpose` is never written.
//!
//! Messages go in `$batch` as the activities do (`activities/batched.rs`): each write a
//! changeset of its own so a refused one fails alone; a create is a findOrCreate by
//! `ExternalId`/`ExternalSystem` with its attachments inline, followed by a read of the message
//! by that link (its id, whatever the POST answered); an update PATCHes only what it is given.
//! Both can be sent again after a lost answer, so every batch is repeatable.

use serde_json::{Map, Value, json};

use super::{BoxFolder, FOLDER_ATTRIBUTES, id_of, read_folder};
use crate::erp::activities::ExternalLink;
use crate::erp::batch::{self, Answer, Entry, Request};
use crate::erp::client::{ErpClient, Query, Repeatable};
use crate::erp::error::ErpError;
use crate::erp::filter::{EntityRef, Filter, Guid};
use crate::erp::wire::mail::{
    BOX_FOLDERS, BOXES, MESSAGES, attachment, box_, box_folder, max_len, message,
};
use crate::erp::wire::{self, PARTIES};
use crate::host::{HttpResponse, Method};
use crate::jobs::mail::map::ErpMessage;

/// The language MsSync writes a folder's multi-language name in (`{"en": name}`).
const FOLDER_NAME_LANGUAGE: &str = "en";

/// A folder MsSync makes for an Outlook folder (never a system folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBoxFolder {
    pub mail_box: Guid,
    /// `None`: a root folder of the box.
    pub parent: Option<Guid>,
    pub name: String,
    /// The Outlook folder's id: how the folder is found again.
    pub server_folder_id: String,
}

/// An attachment written with its message: a name and the descriptor lines that say where the
/// content is (A19); the content itself is not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub name: Option<String>,
    pub content_descriptors: String,
}

/// One write of [`ErpClient::write_messages`].
// The message stays inline (not boxed), as the Mail job builds it: a run holds one batch of
// writes at a time, so the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum MessageWrite {
    /// findOrCreate by ExternalId+ExternalSystem (`link`), Attachments posted inline;
    /// ServerMessageID = message.server_message_id.
    Create {
        folder: Guid,
        message: ErpMessage,
        attachments: Vec<NewAttachment>,
        party: Option<Guid>,
        link: ExternalLink,
    },
    /// PATCH only the fields given; `content` rewrites the mapped fields (an edited draft).
    Update {
        id: Guid,
        folder: Option<Guid>,
        is_read: Option<bool>,
        content: Option<Box<ErpMessage>>,
    },
}

/// The first `max` characters of `text` (the model pages count characters).
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn bind(set: &'static str, id: &Guid) -> Value {
    json!({ wire::ODATA_ID: EntityRef::new(set, id.clone()).odata_id() })
}

impl ErpClient {
    /// Idempotent: a folder of the box with this ServerFolderID (under any parent) is returned
    /// instead of a second one.
    pub async fn create_box_folder(&self, new: &NewBoxFolder) -> Result<BoxFolder, ErpError> {
        if let Some(found) = self
            .box_folder_by_server_id(&new.mail_box, &new.server_folder_id)
            .await?
        {
            return Ok(found);
        }
        let mut body = Map::new();
        body.insert(
            box_folder::FOLDER_NAME.into(),
            json!({ FOLDER_NAME_LANGUAGE: cut(&new.name, max_len::FOLDER_NAME) }),
        );
        body.insert(
            box_folder::SERVER_FOLDER_ID.into(),
            json!(new.server_folder_id),
        );
        if let Some(parent) = &new.parent {
            body.insert(
                box_folder::PARENT_FOLDER.into(),
                bind(BOX_FOLDERS, parent),
            );
        }
        // The box's `Folders` collection: the new folder's `MailBox` is the box (A21). A plain
        // create, so never re-sent after a broken connection (it could make a second folder):
        // the next attempt finds the first by its ServerFolderID instead.
        let path = format!("{BOXES}({})/{}", new.mail_box, box_::FOLDERS);
        let response = self
            .send_ok(
                Method::Post,
                self.url(&path, &[]),
                Some(&Value::Object(body)),
                &[],
                Repeatable::No,
            )
            .await?;
        // What a POST answers is not documented (A2): the folder when it has an id, else found.
        let answered = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .filter(|v| v.get(box_folder::ID).and_then(Value::as_str).is_some());
        match answered {
            Some(object) => read_folder(&object),
            None => self
                .box_folder_by_server_id(&new.mail_box, &new.server_folder_id)
                .await?
                .ok_or_else(|| ErpError::Malformed("a folder create answered without it".into())),
        }
    }

    /// The box's folder with this `ServerFolderID`, if any.
    async fn box_folder_by_server_id(
        &self,
        mail_box: &Guid,
        server_folder_id: &str,
    ) -> Result<Option<BoxFolder>, ErpError> {
        let query = Query {
            filter: Filter::new()
                .eq(
                    box_folder::MAIL_BOX,
                    EntityRef::new(BOXES, mail_box.clone()),
                )
                .eq(box_folder::SERVER_FOLDER_ID, server_folder_id),
            select: FOLDER_ATTRIBUTES.to_vec(),
            expand: vec![],
        };
        let found = self.get_all(BOX_FOLDERS, &query).await?;
        // The filter is taken to ignore case (A4); Outlook ids do not, so match exactly.
        found
            .iter()
            .map(read_folder)
            .find(|f| {
                f.as_ref()
                    .map_or(true, |f| f.server_folder_id.as_deref() == Some(server_folder_id))
            })
            .transpose()
    }

    /// Rename and/or move (parent: Some(None) = to the root).
    pub async fn update_box_folder(
        &self,
        id: &Guid,
        name: Option<&str>,
        parent: Option<Option<Guid>>,
    ) -> Result<(), ErpError> {
        let mut body = Map::new();
        if let Some(name) = name {
            body.insert(
                box_folder::FOLDER_NAME.into(),
                json!({ FOLDER_NAME_LANGUAGE: cut(name, max_len::FOLDER_NAME) }),
            );
        }
        if let Some(parent) = parent {
            body.insert(
                box_folder::PARENT_FOLDER.into(),
                parent.map_or(Value::Null, |p| bind(BOX_FOLDERS, &p)),
            );
        }
        if body.is_empty() {
            return Ok(());
        }
        let url = self.url(&format!("{BOX_FOLDERS}({id})"), &[]);
        self.send_ok(
            Method::Patch,
            url,
            Some(&Value::Object(body)),
            &[],
            Repeatable::Yes,
        )
        .await?;
        Ok(())
    }

    /// Keeps a folder's Graph delta link in its `SyncState` ("for Exchange - this is
    /// SyncState", M BoxFolders); `None` clears it (a full resync next time).
    pub async fn set_box_folder_sync_state(
        &self,
        id: &Guid,
        sync_state: Option<&str>,
    ) -> Result<(), ErpError> {
        let body = json!({ box_folder::SYNC_STATE: sync_state });
        let url = self.url(&format!("{BOX_FOLDERS}({id})"), &[]);
        self.send_ok(Method::Patch, url, Some(&body), &[], Repeatable::Yes)
            .await?;
        Ok(())
    }

    /// The findOrCreate body of a message with its attachments.
    /// The mapped fields of a message: on a create only those it has, on an update all of them
    /// (`null` clears what the message no longer has).
    fn content_fields(&self, m: &ErpMessage, body: &mut Map<String, Value>, update: bool) {
        let basis = &self.config.time_basis;
        body.insert(message::FROM_EMAIL_ADDRESS.into(), json!(m.from));
        for (name, value) in [
            (message::SUBJECT, &m.subject),
            (message::BODY, &m.body),
            (message::TO_EMAIL_ADDRESS_LIST, &m.to),
            (message::CC_EMAIL_ADDRESS_LIST, &m.cc),
        ] {
            if value.is_some() || update {
                body.insert(name.into(), json!(value));
            }
        }
        for (name, value) in [
            (message::SENT_DATE_TIME, m.sent),
            (message::RECEIVED_DATE_TIME, m.received),
        ] {
            if value.is_some() || update {
                body.insert(name.into(), json!(value.map(|v| basis.write(v))));
            }
        }
    }

    fn message_body(
        &self,
        folder: &Guid,
        m: &ErpMessage,
        attachments: &[NewAttachment],
        party: Option<&Guid>,
        link: &ExternalLink,
    ) -> Value {
        let mut body = Map::new();
        body.insert(wire::ERPNET_ACTION.into(), json!(wire::FIND_OR_CREATE));
        body.insert(
            wire::ERPNET_FIND_BY.into(),
            json!({
                message::EXTERNAL_ID: link.external_id,
                message::EXTERNAL_SYSTEM: link.external_system,
            }),
        );
        body.insert(message::EXTERNAL_ID.into(), json!(link.external_id));
        body.insert(message::EXTERNAL_SYSTEM.into(), json!(link.external_system));
        body.insert(message::MAIL_BOX_FOLDER.into(), bind(BOX_FOLDERS, folder));
        body.insert(message::SERVER_MESSAGE_ID.into(), json!(m.server_message_id));
        body.insert(message::IS_READ.into(), json!(m.is_read));
        self.content_fields(m, &mut body, false);
        if let Some(party) = party {
            body.insert(message::RELATED_TO_PARTY.into(), bind(PARTIES, party));
        }
        let attachments: Vec<Value> = attachments
            .iter()
            .map(|a| {
                let mut item = Map::new();
                if let Some(name) = &a.name {
                    item.insert(
                        attachment::NAME.into(),
                        json!(cut(name, max_len::ATTACHMENT_NAME)),
                    );
                }
                item.insert(
                    attachment::CONTENT_DESCRIPTORS.into(),
                    json!(a.content_descriptors),
                );
                // Only the descriptors are copied, not the bytes (A19).
                item.insert(attachment::CONTENT_DOWNLOADED.into(), json!(false));
                Value::Object(item)
            })
            .collect();
        body.insert(message::ATTACHMENTS.into(), Value::Array(attachments));
        Value::Object(body)
    }

    fn message_parts(&self, write: &MessageWrite) -> Vec<Entry> {
        match write {
            MessageWrite::Create {
                folder,
                message,
                attachments,
                party,
                link,
            } => vec![
                Entry::Changeset(vec![Request {
                    method: Method::Post,
                    path: self.relative(MESSAGES, &[]),
                    body: Some(self.message_body(
                        folder,
                        message,
                        attachments,
                        party.as_ref(),
                        link,
                    )),
                }]),
                Entry::Read(Request {
                    method: Method::Get,
                    path: self.relative(MESSAGES, &super::messages::by_link_params(link)),
                    body: None,
                }),
            ],
            MessageWrite::Update {
                id,
                folder,
                is_read,
                content,
            } => {
                let mut body = Map::new();
                if let Some(m) = content {
                    self.content_fields(m, &mut body, true);
                }
                if let Some(folder) = folder {
                    body.insert(
                        message::MAIL_BOX_FOLDER.into(),
                        bind(BOX_FOLDERS, folder),
                    );
                }
                if let Some(read) = is_read {
                    body.insert(message::IS_READ.into(), json!(read));
                }
                if body.is_empty() {
                    return Vec::new();
                }
                vec![Entry::Changeset(vec![Request {
                    method: Method::Patch,
                    path: self.relative(&format!("{MESSAGES}({id})"), &[]),
                    body: Some(Value::Object(body)),
                }])]
            }
        }
    }

    /// What one write did, from the answers to its parts.
    fn message_outcome(write: &MessageWrite, answers: &[Answer]) -> Result<Guid, ErpError> {
        let refused = |r: &HttpResponse| ErpError::from_response(r);
        match (write, answers) {
            (MessageWrite::Create { .. }, [Answer::Changeset(written), Answer::Read(read)]) => {
                if let Err(r) = written {
                    return Err(refused(r));
                }
                if !read.is_success() {
                    return Err(refused(read));
                }
                let page: Value = serde_json::from_slice(&read.body)
                    .map_err(|_| ErpError::Malformed("a message".into()))?;
                let object = page
                    .get(wire::VALUE)
                    .and_then(Value::as_array)
                    .and_then(|found| found.first())
                    .ok_or_else(|| {
                        ErpError::Malformed("a message create answered without it".into())
                    })?;
                id_of(object)
            }
            (MessageWrite::Update { id, .. }, [Answer::Changeset(written)]) => match written {
                Ok(_) => Ok(id.clone()),
                Err(r) => Err(refused(r)),
            },
            _ => Err(ErpError::Malformed("a $batch answer out of order".into())),
        }
    }

    /// As few `$batch` requests as the part limit allows, one result per write, in order; a
    /// Create's result is the message id. A batch that fails as a whole fails each of its
    /// writes with that error; every write is safe to send again.
    pub async fn write_messages(&self, writes: Vec<MessageWrite>) -> Vec<Result<Guid, ErpError>> {
        let mut results: Vec<Option<Result<Guid, ErpError>>> =
            (0..writes.len()).map(|_| None).collect();
        let mut planned = Vec::new();
        for (index, write) in writes.iter().enumerate() {
            let parts = self.message_parts(write);
            match (write, parts.is_empty()) {
                // Nothing to change.
                (MessageWrite::Update { id, .. }, true) => results[index] = Some(Ok(id.clone())),
                _ => planned.push((index, parts)),
            }
        }
        for chunk in batch::chunks(planned) {
            let entries: Vec<Entry> = chunk.iter().flat_map(|(_, e)| e.iter().cloned()).collect();
            match self.batch(&entries, Repeatable::Yes).await {
                Ok(answers) => {
                    let mut at = 0;
                    for (index, parts) in &chunk {
                        let mine = answers.get(at..at + parts.len()).unwrap_or(&[]);
                        at += parts.len();
                        results[*index] = Some(Self::message_outcome(&writes[*index], mine));
                    }
                }
                Err(e) => {
                    for (index, _) in &chunk {
                        results[*index] = Some(Err(e.clone()));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every write has a result"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: serde_json::Value) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            body: serde_json::to_vec(&body).unwrap(),
        }
    }

    #[test]
    fn a_create_is_answered_with_the_id_the_read_finds_and_a_refusal_with_its_error() {
        let guid = |n: u8| Guid::parse(&format!("00000000-0000-4000-8000-0000000000{n:02}")).unwrap();
        let create = MessageWrite::Create {
            folder: guid(1),
            message: ErpMessage {
                subject: None,
                body: None,
                from: "bob@fabrikam.example".into(),
                to: None,
                cc: None,
                sent: None,
                received: None,
                is_read: false,
                server_message_id: "AAMkMsg1".into(),
            },
            attachments: vec![],
            party: None,
            link: ExternalLink {
                external_id: "AAMkMsg1".into(),
                external_system: "MsSync/Graph".into(),
            },
        };
        let found = answer(200, json!({"value": [{"Id": guid(7).as_str()}]}));
        let written = Answer::Changeset(Ok(vec![answer(201, json!({}))]));
        assert_eq!(
            ErpClient::message_outcome(&create, &[written, Answer::Read(found.clone())]),
            Ok(guid(7))
        );
        let refused = Answer::Changeset(Err(answer(
            500,
            json!({"error": {"message": "Too long.", "code": 0, "type": "ArgumentException"}}),
        )));
        assert!(matches!(
            ErpClient::message_outcome(&create, &[refused, Answer::Read(found.clone())]),
            Err(ErpError::Remote { status: 500, .. })
        ));
        // Answers out of step with the parts are malformed, never another write's result.
        assert!(matches!(
            ErpClient::message_outcome(&create, &[Answer::Read(found)]),
            Err(ErpError::Malformed(_))
        ));
        let update = MessageWrite::Update {
            id: guid(7),
            folder: None,
            is_read: Some(true),
            content: None,
        };
        assert_eq!(
            ErpClient::message_outcome(&update, &[Answer::Changeset(Ok(vec![answer(204, json!(null))]))]),
            Ok(guid(7))
        );
    }

    #[test]
    fn names_are_cut_by_characters() {
        assert_eq!(cut("Éclair", 2), "Éc");
        assert_eq!(cut("ab", 10), "ab");
    }
}
