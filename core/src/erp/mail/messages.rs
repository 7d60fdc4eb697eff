//! The Mail job's reads of messages: what changed in a box's folders since a time, the message
//! MsSync made for an Outlook message, and the party a sender is.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{id_of, text};
use crate::erp::activities::{ExternalLink, read_ref};
use crate::erp::client::{ErpClient, Query, TimeBasis};
use crate::erp::error::ErpError;
use crate::erp::filter::{EntityRef, Filter, Guid};
use crate::erp::wire::{self, mail::BOX_FOLDERS, mail::MESSAGES, mail::message};

/// A message as the Mail job reads it back from ERP.net.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessageRow {
    pub id: Guid,
    pub external_id: Option<String>,
    pub external_system: Option<String>,
    pub server_message_id: Option<String>,
    pub folder: Option<Guid>,
    pub is_read: bool,
    /// `AggregateLastUpdateTimeUtc`: moves with any change to the message or its attachments.
    pub updated: Option<DateTime<Utc>>,
}

const MESSAGE_ATTRIBUTES: &[&str] = &[
    message::ID,
    message::EXTERNAL_ID,
    message::EXTERNAL_SYSTEM,
    message::SERVER_MESSAGE_ID,
    message::MAIL_BOX_FOLDER,
    message::IS_READ,
    message::AGGREGATE_LAST_UPDATE_TIME_UTC,
];

/// Folders per `MailBoxFolder in (...)` query: keeps each URL short (a box's folders are
/// usually fewer).
const FOLDERS_PER_QUERY: usize = 50;

fn read_message(object: &Value) -> Result<MailMessageRow, ErpError> {
    Ok(MailMessageRow {
        id: id_of(object)?,
        external_id: text(object, message::EXTERNAL_ID),
        external_system: text(object, message::EXTERNAL_SYSTEM),
        server_message_id: text(object, message::SERVER_MESSAGE_ID),
        folder: read_ref(object.get(message::MAIL_BOX_FOLDER)),
        is_read: object[message::IS_READ].as_bool().unwrap_or(false),
        // A `...Utc` field: UTC whatever the instance's time basis is.
        updated: object[message::AGGREGATE_LAST_UPDATE_TIME_UTC]
            .as_str()
            .and_then(|t| TimeBasis::Utc.read(t).ok()),
    })
}

fn link_filter(link: &ExternalLink) -> Filter {
    Filter::new()
        .eq(message::EXTERNAL_ID, link.external_id.as_str())
        .eq(message::EXTERNAL_SYSTEM, link.external_system.as_str())
}

/// The query parameters of the read of a message by its link (also a `$batch` part).
pub(super) fn by_link_params(link: &ExternalLink) -> Vec<(&'static str, String)> {
    vec![
        (wire::FILTER, link_filter(link).render()),
        (wire::SELECT, MESSAGE_ATTRIBUTES.join(",")),
    ]
}

impl ErpClient {
    /// Messages in these folders whose aggregate changed at or after `since` (the server
    /// truncates the date-time filter to a date — D querying-data filter l.106 — so filter
    /// client-side too), paged.
    pub async fn mail_messages_changed_since(
        &self,
        folders: &[Guid],
        since: DateTime<Utc>,
    ) -> Result<Vec<MailMessageRow>, ErpError> {
        let mut rows = Vec::new();
        for chunk in folders.chunks(FOLDERS_PER_QUERY) {
            let query = Query {
                filter: Filter::new()
                    .is_in(
                        message::MAIL_BOX_FOLDER,
                        chunk
                            .iter()
                            .map(|f| EntityRef::new(BOX_FOLDERS, f.clone())),
                    )
                    .ge(message::AGGREGATE_LAST_UPDATE_TIME_UTC, since),
                select: MESSAGE_ATTRIBUTES.to_vec(),
                expand: vec![],
            };
            for object in self.get_all(MESSAGES, &query).await? {
                let row = read_message(&object)?;
                if row.updated.is_some_and(|t| t >= since) {
                    rows.push(row);
                }
            }
        }
        Ok(rows)
    }

    /// The message MsSync created with this link, if any.
    pub async fn mail_message_by_link(
        &self,
        link: &ExternalLink,
    ) -> Result<Option<MailMessageRow>, ErpError> {
        let query = Query {
            filter: link_filter(link),
            select: MESSAGE_ATTRIBUTES.to_vec(),
            expand: vec![],
        };
        let found = self.get_all(MESSAGES, &query).await?;
        // Filters are taken to ignore case (A4); Outlook ids do not, so match exactly.
        found
            .iter()
            .map(read_message)
            .find(|row| {
                row.as_ref().map_or(true, |r| {
                    r.external_id.as_deref() == Some(link.external_id.as_str())
                        && r.external_system.as_deref() == Some(link.external_system.as_str())
                })
            })
            .transpose()
    }

    /// The one party with this e-mail address, None when none or several (RelatedToParty
    /// rule). No model page names an e-mail property of `General_Contacts_Parties` that can be
    /// filtered (A22 in `docs/wire/erpnet.md`), so MsSync relates no party: always `None`.
    pub async fn party_by_email(&self, email: &str) -> Result<Option<Guid>, ErpError> {
        let _ = email;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_message_row_reads_as_erp_net_writes_it() {
        let row = read_message(&json!({
            "Id": "00000000-0000-4000-8000-000000000001",
            "ExternalId": "AAMkMsg1",
            "ExternalSystem": "MsSync/Graph",
            "ServerMessageID": "AAMkMsg1",
            "MailBoxFolder": {"@odata.id": "Applications_Mail_BoxFolders(00000000-0000-4000-8000-000000000002)"},
            "IsRead": true,
            "AggregateLastUpdateTimeUtc": "2026-11-30T08:00:00.250Z",
        }))
        .unwrap();
        assert_eq!(row.external_id.as_deref(), Some("AAMkMsg1"));
        assert_eq!(
            row.folder.unwrap().as_str(),
            "00000000-0000-4000-8000-000000000002"
        );
        assert!(row.is_read);
        assert_eq!(
            row.updated,
            Some(Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap() + chrono::Duration::milliseconds(250))
        );
        assert!(read_message(&json!({"IsRead": true})).is_err());
    }

    #[test]
    fn the_link_read_filters_by_both_halves_of_the_link() {
        let params = by_link_params(&ExternalLink {
            external_id: "AAMk'1".into(),
            external_system: "MsSync/Graph".into(),
        });
        assert_eq!(
            params[0].1,
            "ExternalId eq 'AAMk''1' and ExternalSystem eq 'MsSync/Graph'"
        );
        assert!(params[1].1.contains("AggregateLastUpdateTimeUtc"));
    }
}
