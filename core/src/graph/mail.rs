//! Outlook mail through Graph, for the Mail job: the folder delta, a message delta per folder,
//! marking a message read, and a message's attachments (listed, never downloaded: ERP.net gets
//! their URI, as the original does). Every request prefers immutable ids, so a message keeps its
//! id when it moves between folders (folder ids never change).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{GraphClient, Prefer, parse_json};
use super::error::GraphError;
use super::wire::mail::{self as wire, path, query};
use crate::host::Method;

/// A mail folder as the folder delta or a GET shows it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailFolder {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub parent_folder_id: Option<String>,
}

/// `{emailAddress: {name, address}}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub email_address: EmailAddress,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmailAddress {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageBody {
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
}

/// A message as a delta entry or a GET shows it (a delta entry of an update may carry only
/// the changed properties besides `id`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphMessage {
    pub id: String,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<MessageBody>,
    #[serde(default)]
    pub from: Option<Recipient>,
    #[serde(default)]
    pub to_recipients: Option<Vec<Recipient>>,
    #[serde(default)]
    pub cc_recipients: Option<Vec<Recipient>>,
    #[serde(default)]
    pub received_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sent_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_read: Option<bool>,
    #[serde(default)]
    pub is_draft: Option<bool>,
    #[serde(default)]
    pub has_attachments: Option<bool>,
    #[serde(default)]
    pub parent_folder_id: Option<String>,
    #[serde(default)]
    pub internet_message_id: Option<String>,
    /// When the message last changed (a read state too): decides between the sides when the
    /// link that knew which one changed is gone.
    #[serde(default)]
    pub last_modified_date_time: Option<DateTime<Utc>>,
}

/// An attachment as listed (its content stays in Outlook).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphAttachment {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub is_inline: Option<bool>,
}

/// What one delta round of a folder (or of the folder tree) changed.
#[derive(Debug, Clone, PartialEq)]
pub struct MailChanges<T> {
    /// New or changed items, one per id (the last entry wins), in the order first seen.
    pub changed: Vec<T>,
    /// Ids reported `@removed`: deleted, or moved out of this folder (a move shows up again
    /// in the destination's delta with the same id).
    pub removed: Vec<String>,
    /// Store it (BoxFolders.SyncState) and pass it to the next call.
    pub delta_link: String,
    pub pages: u32,
    /// The first filtered round returned as many messages as Graph ever returns with a filter
    /// ([`wire::MAX_FILTERED_DELTA`]): older messages in the range may be missing.
    pub capped: bool,
}

/// The properties a message delta asks for: what the mapping uses.
const MESSAGE_SELECT: &[&str] = &[
    wire::message::SUBJECT,
    wire::message::BODY,
    wire::message::FROM,
    wire::message::TO_RECIPIENTS,
    wire::message::CC_RECIPIENTS,
    wire::message::RECEIVED_DATE_TIME,
    wire::message::SENT_DATE_TIME,
    wire::message::IS_READ,
    wire::message::IS_DRAFT,
    wire::message::HAS_ATTACHMENTS,
    wire::message::PARENT_FOLDER_ID,
    wire::message::INTERNET_MESSAGE_ID,
    wire::message::LAST_MODIFIED_DATE_TIME,
];

impl GraphClient {
    /// The folder tree's changes since `delta_link` (every folder for none). An expired link is
    /// [`GraphError::ResyncRequired`].
    pub async fn mail_folder_delta(
        &self,
        delta_link: Option<&str>,
    ) -> Result<MailChanges<MailFolder>, GraphError> {
        let url = match delta_link {
            Some(link) => {
                self.check_link(link)?;
                link.to_owned()
            }
            None => self.url(&[path::MAIL_FOLDERS, path::DELTA], &[]),
        };
        self.mail_round(url, "mail folder").await
    }

    /// One folder's message changes since `delta_link`; for none, the messages received since
    /// `since` (the first sync's seven days) or all of them.
    pub async fn message_delta(
        &self,
        folder_id: &str,
        since: Option<DateTime<Utc>>,
        delta_link: Option<&str>,
    ) -> Result<MailChanges<GraphMessage>, GraphError> {
        let (url, filtered) = match delta_link {
            Some(link) => {
                self.check_link(link)?;
                (link.to_owned(), false)
            }
            None => {
                let select = MESSAGE_SELECT.join(",");
                let filter = since.map(|at| {
                    format!(
                        "{} {}",
                        query::RECEIVED_GE,
                        at.to_rfc3339_opts(SecondsFormat::Secs, true)
                    )
                });
                let mut options = vec![(query::SELECT, select.as_str())];
                if let Some(filter) = &filter {
                    options.push((query::FILTER, filter.as_str()));
                }
                let segments = [path::MAIL_FOLDERS, folder_id, path::MESSAGES, path::DELTA];
                (self.url(&segments, &options), filter.is_some())
            }
        };
        let mut changes = self.mail_round::<GraphMessage>(url, "message").await?;
        changes.capped = filtered && changes.changed.len() >= wire::MAX_FILTERED_DELTA;
        Ok(changes)
    }

    /// A delta round folded by id (the last entry wins; `@removed` entries are removals).
    async fn mail_round<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        what: &str,
    ) -> Result<MailChanges<T>, GraphError> {
        let round = self.delta_round(url, Prefer::MailDelta).await?;
        let mut order: Vec<String> = Vec::new();
        let mut latest: std::collections::HashMap<String, Option<T>> = Default::default();
        for entry in round.entries {
            let id = entry["id"]
                .as_str()
                .ok_or_else(|| GraphError::Malformed("a delta entry without an id".into()))?
                .to_owned();
            let item = if entry.get("@removed").is_some() {
                None
            } else {
                Some(serde_json::from_value::<T>(entry).map_err(|e| {
                    GraphError::Malformed(format!("unreadable {what} in a delta ({e})"))
                })?)
            };
            if !latest.contains_key(&id) {
                order.push(id.clone());
            }
            latest.insert(id, item);
        }
        let (mut changed, mut removed) = (Vec::new(), Vec::new());
        for id in order {
            match latest.remove(&id).flatten() {
                Some(item) => changed.push(item),
                None => removed.push(id),
            }
        }
        Ok(MailChanges {
            changed,
            removed,
            delta_link: round.delta_link,
            pages: round.pages,
            capped: false,
        })
    }

    /// A folder by id or well-known name (`inbox`, `sentitems`, …).
    pub async fn mail_folder(&self, id_or_name: &str) -> Result<MailFolder, GraphError> {
        let url = self.url(&[path::MAIL_FOLDERS, id_or_name], &[]);
        self.execute_json(self.request(Method::Get, url, None, Prefer::Mail))
            .await
    }

    /// The ids of well-known folders (`inbox`, `deleteditems`, ...) in one `$batch`; a name the
    /// mailbox does not have (no Archive, say) is left out.
    pub async fn well_known_folders(
        &self,
        names: &[&str],
    ) -> Result<std::collections::BTreeMap<String, String>, GraphError> {
        let mut found = std::collections::BTreeMap::new();
        for chunk in names.chunks(super::BATCH_LIMIT) {
            let paths: Vec<String> = chunk
                .iter()
                .map(|name| format!("/{}/{name}", path::MAIL_FOLDERS))
                .collect();
            let answers = self.read_batch(&paths, Prefer::Mail).await?;
            for (name, (status, body)) in chunk.iter().zip(answers) {
                match status {
                    200..=299 => {
                        let folder: MailFolder = body
                            .and_then(|b| serde_json::from_value(b).ok())
                            .ok_or_else(|| GraphError::Malformed("an unreadable mail folder".into()))?;
                        found.insert((*name).to_owned(), folder.id);
                    }
                    404 => {}
                    status => {
                        let body = body.map(|b| b.to_string()).unwrap_or_default();
                        return Err(super::client::error_from(status, body.as_bytes()));
                    }
                }
            }
        }
        Ok(found)
    }

    /// One message by its (immutable) id, with its folder: where a message a delta round lost
    /// track of is now. `NotFound` when it was deleted for good.
    pub async fn message(&self, id: &str) -> Result<GraphMessage, GraphError> {
        let select = MESSAGE_SELECT.join(",");
        let url = self.url(&[path::MESSAGES, id], &[(query::SELECT, select.as_str())]);
        self.execute_json(self.request(Method::Get, url, None, Prefer::Mail))
            .await
    }

    /// Marks a message read (or unread): the one write the Mail job makes in Outlook.
    pub async fn set_message_read(&self, id: &str, read: bool) -> Result<GraphMessage, GraphError> {
        let url = self.url(&[path::MESSAGES, id], &[]);
        let body = json!({ wire::message::IS_READ: read });
        self.execute_json(self.request(Method::Patch, url, Some(&body), Prefer::Mail))
            .await
    }

    /// Moves a message to a folder (an id or a well-known name such as `deleteditems`) and
    /// answers the moved message. With immutable ids asked for (as on every mail call) its id
    /// stays the same (G-immut); Graph answers `201 Created` (M-move).
    pub async fn move_message(
        &self,
        id: &str,
        destination: &str,
    ) -> Result<GraphMessage, GraphError> {
        let url = self.url(&[path::MESSAGES, id, path::MOVE], &[]);
        let body = json!({ wire::DESTINATION_ID: destination });
        self.execute_json(self.request(Method::Post, url, Some(&body), Prefer::Mail))
            .await
    }

    /// A message's attachments, inline ones included, without their content.
    pub async fn attachments(&self, message_id: &str) -> Result<Vec<GraphAttachment>, GraphError> {
        #[derive(Deserialize)]
        struct Listing {
            #[serde(default)]
            value: Vec<Value>,
        }
        let url = self.url(&[path::MESSAGES, message_id, path::ATTACHMENTS], &[]);
        let response = self
            .execute(self.request(Method::Get, url, None, Prefer::Mail))
            .await?;
        let listing: Listing = parse_json(&response.body)?;
        listing
            .value
            .into_iter()
            .map(|a| {
                serde_json::from_value(a).map_err(|e| {
                    GraphError::Malformed(format!("unreadable attachment ({e})"))
                })
            })
            .collect()
    }

    /// Where an attachment's content can be fetched: the URI ERP.net keeps instead of the bytes.
    pub fn attachment_content_uri(&self, message_id: &str, attachment_id: &str) -> String {
        self.url(
            &[
                path::MESSAGES,
                message_id,
                path::ATTACHMENTS,
                attachment_id,
                path::VALUE,
            ],
            &[],
        )
    }
}
