//! How an Outlook message becomes an `Applications_Mail_Messages` row, each choice with its
//! reason (see also `docs/wire/erpnet.md`, assumptions 19–21):
//! - **Body is HTML.** ERP.net keeps one body with no content type; Outlook's default and most
//!   mail is HTML, and an HTML body keeps links and formatting that text would lose.
//! - **Recipients** are the addresses joined by `;` (the model page: "semicolon-separated"),
//!   whole addresses only: what does not fit the 2,048 characters is dropped and counted.
//! - **A message without `from`** (a draft) is from the mailbox's own address: the field is
//!   Required, and a draft is the user's own.
//! - **A body over [`BODY_LIMIT`]** is cut with [`TRUNCATION_MARKER`]; the page gives `Body` no
//!   length, so the limit keeps one message's request well under a web server's default body
//!   limits.
//! - **Encrypted (S/MIME) messages are skipped**: their body is an attachment only the
//!   recipient's key opens, and the original does not support encrypted mail.

use chrono::{DateTime, Utc};

use crate::erp::wire::mail::max_len;
use crate::graph::{GraphAttachment, GraphMessage, Recipient};
use crate::graph::wire::mail::well_known;

/// The most characters of a body MsSync writes.
pub const BODY_LIMIT: usize = 1_000_000;

/// Ends a cut body, so a reader in ERP.net knows there is more in Outlook.
pub const TRUNCATION_MARKER: &str =
    "<p>[MsSync: the message is longer than ERP.net keeps; the rest is in Outlook.]</p>";

/// The content types of an S/MIME encrypted message's payload (RFC 8551 §3.2).
const SMIME_ENCRYPTED: &[&str] = &["application/pkcs7-mime", "application/x-pkcs7-mime"];

/// An ERP.net message's fields as MsSync writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpMessage {
    pub subject: Option<String>,
    pub body: Option<String>,
    pub from: String,
    pub to: Option<String>,
    pub cc: Option<String>,
    pub sent: Option<DateTime<Utc>>,
    pub received: Option<DateTime<Utc>>,
    pub is_read: bool,
    /// The immutable Outlook id (`ServerMessageID`, and the link in `ExternalId`).
    pub server_message_id: String,
}

/// What the mapping had to give up, each worth a line in the job's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapNote {
    BodyTruncated { characters: usize },
    SubjectTruncated,
    RecipientsDropped { field: &'static str, dropped: usize },
    NoSender,
}

/// Why a message is not copied to ERP.net.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    Encrypted,
    /// Its id is longer than `ServerMessageID` holds, so it could not be found again.
    IdTooLong,
}

/// An Outlook message as an ERP.net message; `mailbox_address` (the user's principal name) is
/// the sender of a draft that has none.
pub fn to_erp(
    message: &GraphMessage,
    mailbox_address: &str,
    attachments: &[GraphAttachment],
) -> Result<(ErpMessage, Vec<MapNote>), Skipped> {
    if is_encrypted(attachments) {
        return Err(Skipped::Encrypted);
    }
    if message.id.chars().count() > max_len::SERVER_MESSAGE_ID {
        return Err(Skipped::IdTooLong);
    }
    let mut notes = Vec::new();
    let subject = message.subject.as_deref().map(|s| {
        let (cut, truncated) = cut_chars(s, max_len::SUBJECT);
        if truncated {
            notes.push(MapNote::SubjectTruncated);
        }
        cut.to_owned()
    });
    let body = message
        .body
        .as_ref()
        .and_then(|b| b.content.as_deref())
        .map(|content| {
            let (body, cut) = limit_body(content);
            if cut {
                notes.push(MapNote::BodyTruncated {
                    characters: content.chars().count(),
                });
            }
            body
        });
    let from = match address(message.from.as_ref()) {
        Some(from) => cut_chars(from, max_len::FROM_EMAIL_ADDRESS).0.to_owned(),
        None => {
            notes.push(MapNote::NoSender);
            mailbox_address.to_owned()
        }
    };
    let mut list = |field: &'static str, recipients: Option<&Vec<Recipient>>| {
        let (joined, dropped) = join_addresses(recipients.map_or(&[][..], Vec::as_slice));
        if dropped > 0 {
            notes.push(MapNote::RecipientsDropped { field, dropped });
        }
        (!joined.is_empty()).then_some(joined)
    };
    let to = list("To", message.to_recipients.as_ref());
    let cc = list("Cc", message.cc_recipients.as_ref());
    Ok((
        ErpMessage {
            subject,
            body,
            from,
            to,
            cc,
            sent: message.sent_date_time,
            received: message.received_date_time,
            is_read: message.is_read.unwrap_or(false),
            server_message_id: message.id.clone(),
        },
        notes,
    ))
}

/// A fingerprint of the fields an Outlook message gives its ERP.net row (not the read state,
/// which has rules of its own): a draft edited in Outlook shows as a new fingerprint.
pub fn content_hash(m: &ErpMessage) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    for part in [
        m.subject.clone().unwrap_or_default(),
        m.body.clone().unwrap_or_default(),
        m.from.clone(),
        m.to.clone().unwrap_or_default(),
        m.cc.clone().unwrap_or_default(),
        time(m.sent),
        time(m.received),
    ] {
        // Lengths first, so no two field lists run together into the same bytes.
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

/// True for an S/MIME encrypted message (its payload is a `pkcs7-mime` attachment).
pub fn is_encrypted(attachments: &[GraphAttachment]) -> bool {
    attachments.iter().any(|a| {
        a.content_type.as_deref().is_some_and(|t| {
            let t = t.split(';').next().unwrap_or_default().trim();
            SMIME_ENCRYPTED.iter().any(|s| t.eq_ignore_ascii_case(s))
        })
    })
}

fn address(recipient: Option<&Recipient>) -> Option<&str> {
    recipient
        .and_then(|r| r.email_address.address.as_deref())
        .map(str::trim)
        .filter(|a| !a.is_empty())
}

/// Addresses joined by `;`, whole ones only, within the field's length; and how many were left
/// out.
fn join_addresses(recipients: &[Recipient]) -> (String, usize) {
    let mut joined = String::new();
    let mut dropped = 0;
    for a in recipients.iter().filter_map(|r| address(Some(r))) {
        let needed = a.chars().count() + usize::from(!joined.is_empty());
        if joined.chars().count() + needed > max_len::EMAIL_ADDRESS_LIST {
            dropped += 1;
            continue;
        }
        if !joined.is_empty() {
            joined.push(';');
        }
        joined.push_str(a);
    }
    (joined, dropped)
}

/// The first `max` characters, and whether anything was cut.
fn cut_chars(text: &str, max: usize) -> (&str, bool) {
    match text.char_indices().nth(max) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    }
}

/// The body within [`BODY_LIMIT`] characters with the marker, never ending inside a tag.
fn limit_body(content: &str) -> (String, bool) {
    let room = BODY_LIMIT - TRUNCATION_MARKER.chars().count();
    if content.chars().count() <= BODY_LIMIT {
        return (content.to_owned(), false);
    }
    let (mut cut, _) = cut_chars(content, room);
    if let Some(open) = cut.rfind('<')
        && cut[open..].find('>').is_none()
    {
        cut = &cut[..open];
    }
    (format!("{cut}{TRUNCATION_MARKER}"), true)
}

/// The `SystemPurpose` of the ERP.net folder an Outlook well-known folder matches; None for
/// ordinary folders (matched by `ServerFolderID`) and for those ERP.net has no purpose for.
pub fn system_purpose(well_known_name: &str) -> Option<&'static str> {
    Some(match well_known_name {
        well_known::MSG_FOLDER_ROOT => "Mailbox",
        well_known::INBOX => "Inbox",
        well_known::DRAFTS => "Drafts",
        well_known::OUTBOX => "Outbox",
        well_known::SENT_ITEMS => "Sent",
        well_known::DELETED_ITEMS => "Trash",
        _ => return None,
    })
}

/// `ContentDescriptors` of an attachment kept as a link (assumption 19): its type, size and
/// where the content is, as header lines, within the field's 4,000 characters.
pub fn content_descriptors(attachment: &GraphAttachment, content_uri: &str) -> String {
    let mut lines = Vec::new();
    if let Some(t) = attachment.content_type.as_deref().filter(|t| !t.is_empty()) {
        lines.push(format!("Content-Type: {t}"));
    }
    if let Some(size) = attachment.size {
        lines.push(format!("Content-Length: {size}"));
    }
    if attachment.is_inline == Some(true) {
        lines.push("Content-Disposition: inline".to_owned());
    }
    lines.push(format!("Content-Location: {content_uri}"));
    let joined = lines.join("\r\n");
    cut_chars(&joined, max_len::CONTENT_DESCRIPTORS).0.to_owned()
}

/// An attachment's `Name` within its 128 characters.
pub fn attachment_name(attachment: &GraphAttachment) -> Option<String> {
    attachment
        .name
        .as_deref()
        .map(|n| cut_chars(n, max_len::ATTACHMENT_NAME).0.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(value: serde_json::Value) -> GraphMessage {
        serde_json::from_value(value).unwrap()
    }

    fn attachment(content_type: &str) -> GraphAttachment {
        serde_json::from_value(json!({"id": "a1", "name": "x", "contentType": content_type, "size": 10}))
            .unwrap()
    }

    const ME: &str = "alice@contoso.example";

    #[test]
    fn a_received_message_maps_field_by_field() {
        let m = message(json!({
            "id": "AAkALgImm00001Qk",
            "subject": "Quarterly numbers",
            "body": {"contentType": "html", "content": "<p>See attached</p>"},
            "from": {"emailAddress": {"address": "bob@fabrikam.example", "name": "Bob"}},
            "toRecipients": [
                {"emailAddress": {"address": "alice@contoso.example"}},
                {"emailAddress": {"address": "carol@contoso.example"}}
            ],
            "ccRecipients": [],
            "receivedDateTime": "2026-11-30T09:00:00Z",
            "sentDateTime": "2026-11-30T08:59:58Z",
            "isRead": false
        }));
        let (erp, notes) = to_erp(&m, ME, &[]).unwrap();
        assert_eq!(notes, []);
        assert_eq!(erp.subject.as_deref(), Some("Quarterly numbers"));
        assert_eq!(erp.body.as_deref(), Some("<p>See attached</p>"));
        assert_eq!(erp.from, "bob@fabrikam.example");
        assert_eq!(
            erp.to.as_deref(),
            Some("alice@contoso.example;carol@contoso.example")
        );
        assert_eq!(erp.cc, None);
        assert_eq!(erp.received.unwrap().to_rfc3339(), "2026-11-30T09:00:00+00:00");
        assert!(!erp.is_read);
        assert_eq!(erp.server_message_id, "AAkALgImm00001Qk");
    }

    #[test]
    fn a_draft_without_a_sender_is_from_the_mailbox() {
        let m = message(json!({"id": "d1", "subject": "Draft", "isDraft": true}));
        let (erp, notes) = to_erp(&m, ME, &[]).unwrap();
        assert_eq!(erp.from, ME);
        assert_eq!(notes, [MapNote::NoSender]);
    }

    #[test]
    fn a_long_body_is_cut_with_the_marker_and_never_inside_a_tag() {
        let mut content = "a".repeat(BODY_LIMIT - TRUNCATION_MARKER.len() - 3);
        content.push_str("<a href=\"https://example.test\">link</a>");
        content.push_str(&"b".repeat(500));
        let m = message(json!({
            "id": "m",
            "from": {"emailAddress": {"address": "bob@fabrikam.example"}},
            "body": {"contentType": "html", "content": content}
        }));
        let (erp, notes) = to_erp(&m, ME, &[]).unwrap();
        let body = erp.body.unwrap();
        assert!(body.chars().count() <= BODY_LIMIT);
        assert!(body.ends_with(TRUNCATION_MARKER));
        assert!(!body.contains("<a href"), "the tag cut in half is dropped whole");
        assert!(matches!(notes[..], [MapNote::BodyTruncated { .. }]));
    }

    #[test]
    fn recipients_that_do_not_fit_are_dropped_whole_and_counted() {
        let many: Vec<_> = (0..200)
            .map(|i| json!({"emailAddress": {"address": format!("person{i:03}@contoso.example")}}))
            .collect();
        let m = message(json!({
            "id": "m",
            "from": {"emailAddress": {"address": "bob@fabrikam.example"}},
            "toRecipients": many
        }));
        let (erp, notes) = to_erp(&m, ME, &[]).unwrap();
        let to = erp.to.unwrap();
        assert!(to.chars().count() <= 2048);
        assert!(to.split(';').all(|a| a.ends_with("@contoso.example")));
        let kept = to.split(';').count();
        assert_eq!(
            notes,
            [MapNote::RecipientsDropped {
                field: "To",
                dropped: 200 - kept
            }]
        );
    }

    #[test]
    fn encrypted_messages_are_skipped() {
        let m = message(json!({"id": "m", "subject": "Secret"}));
        assert_eq!(
            to_erp(&m, ME, &[attachment("application/pkcs7-mime; smime-type=enveloped-data")]),
            Err(Skipped::Encrypted)
        );
        assert!(to_erp(&m, ME, &[attachment("application/pdf")]).is_ok());
    }

    #[test]
    fn well_known_folders_match_erp_purposes() {
        assert_eq!(system_purpose("inbox"), Some("Inbox"));
        assert_eq!(system_purpose("sentitems"), Some("Sent"));
        assert_eq!(system_purpose("deleteditems"), Some("Trash"));
        assert_eq!(system_purpose("junkemail"), None, "ERP.net has no Junk purpose");
        for purpose in ["inbox", "drafts", "outbox", "sentitems", "deleteditems", "msgfolderroot"]
            .map(system_purpose)
        {
            assert!(crate::erp::wire::mail::SYSTEM_PURPOSES.contains(&purpose.unwrap()));
        }
    }

    #[test]
    fn an_attachment_is_described_by_type_size_and_uri() {
        let a: GraphAttachment = serde_json::from_value(json!({
            "id": "a1", "name": "logo.png", "contentType": "image/png", "size": 2048, "isInline": true
        }))
        .unwrap();
        assert_eq!(
            content_descriptors(&a, "https://graph.microsoft.com/v1.0/users/u/messages/m/attachments/a1/$value"),
            "Content-Type: image/png\r\nContent-Length: 2048\r\nContent-Disposition: inline\r\n\
             Content-Location: https://graph.microsoft.com/v1.0/users/u/messages/m/attachments/a1/$value"
        );
    }
}
