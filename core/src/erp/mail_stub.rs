//! TEMPORARY: the signatures of the mail writes being built on another branch.
#![allow(dead_code, unused_variables)]
use chrono::{DateTime, Utc};

use super::activities::ExternalLink;
use super::client::ErpClient;
use super::error::ErpError;
use super::filter::Guid;
use super::mail::BoxFolder;

pub struct NewBoxFolder {
    pub mail_box: Guid,
    pub parent: Option<Guid>,
    pub name: String,
    pub server_folder_id: String,
}
pub struct NewAttachment {
    pub name: Option<String>,
    pub content_descriptors: String,
}
#[derive(Debug, Clone)]
pub struct MailMessageRow {
    pub id: Guid,
    pub external_id: Option<String>,
    pub external_system: Option<String>,
    pub server_message_id: Option<String>,
    pub folder: Option<Guid>,
    pub is_read: bool,
    pub updated: Option<DateTime<Utc>>,
}
pub enum MessageWrite {
    Create {
        folder: Guid,
        message: crate::jobs::mail::map::ErpMessage,
        attachments: Vec<NewAttachment>,
        party: Option<Guid>,
        link: ExternalLink,
    },
    Update {
        id: Guid,
        folder: Option<Guid>,
        is_read: Option<bool>,
    },
}
impl ErpClient {
    pub async fn create_box_folder(&self, new: &NewBoxFolder) -> Result<BoxFolder, ErpError> {
        todo!()
    }
    pub async fn update_box_folder(
        &self,
        id: &Guid,
        name: Option<&str>,
        parent: Option<Option<Guid>>,
    ) -> Result<(), ErpError> {
        todo!()
    }
    pub async fn write_messages(&self, writes: Vec<MessageWrite>) -> Vec<Result<Guid, ErpError>> {
        todo!()
    }
    pub async fn mail_messages_changed_since(
        &self,
        folders: &[Guid],
        since: DateTime<Utc>,
    ) -> Result<Vec<MailMessageRow>, ErpError> {
        todo!()
    }
    pub async fn mail_message_by_link(
        &self,
        link: &ExternalLink,
    ) -> Result<Option<MailMessageRow>, ErpError> {
        todo!()
    }
    pub async fn party_by_email(&self, email: &str) -> Result<Option<Guid>, ErpError> {
        todo!()
    }
}
