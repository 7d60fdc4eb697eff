//! The Graph connector's mail half (the Mail job's Outlook side) against the Graph simulator,
//! over real HTTP on loopback.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use mssync_cli::http::ReqwestHttp;
use mssync_core::graph::{GraphClient, GraphConfig, GraphError, Mailbox};
use mssync_core::host::{HttpClient, ManualClock};
use mssync_core::identity::StaticToken;
use mssync_core::model::tz::Zone;
use mssync_sim::graph::GraphSim;
use serde_json::json;

const USER: &str = "7d2e4b63-1d5c-4e8f-8b2a-3c4d5e6f7081";

fn t(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

async fn setup() -> (Arc<GraphSim>, GraphClient) {
    let sim = Arc::new(GraphSim::start().await);
    sim.add_mailbox(USER);
    let http: Arc<dyn HttpClient> = Arc::new(ReqwestHttp::new());
    let mut config = GraphConfig::new(
        sim.base_url(),
        Mailbox::User(USER.into()),
        Zone::parse("Europe/Sofia").unwrap(),
    );
    config.max_page_size = 2;
    let graph = GraphClient::new(
        http,
        Arc::new(ManualClock::new(t(30, 8))),
        Arc::new(StaticToken("app-token".into())),
        config,
    )
    .unwrap();
    (sim, graph)
}

fn deliver(sim: &GraphSim, subject: &str, received: DateTime<Utc>) -> String {
    sim.deliver_message(
        USER,
        "inbox",
        json!({
            "subject": subject,
            "from": {"emailAddress": {"address": "bob@fabrikam.example", "name": "Bob"}},
            "toRecipients": [{"emailAddress": {"address": "alice@contoso.example"}}],
            "receivedDateTime": received.to_rfc3339(),
            "body": {"contentType": "html", "content": format!("<p>{subject}</p>")},
        }),
    )
}

#[tokio::test]
async fn the_first_sync_reads_seven_days_and_a_move_keeps_the_id() {
    let (sim, graph) = setup().await;
    deliver(&sim, "Old news", t(10, 9));
    let recent = deliver(&sim, "Quarterly numbers", t(29, 9));
    deliver(&sim, "Lunch?", t(30, 7));
    let inbox = graph.mail_folder("inbox").await.unwrap();

    let first = graph
        .message_delta(&inbox.id, Some(t(23, 8)), None)
        .await
        .unwrap();
    let mut subjects: Vec<_> = first
        .changed
        .iter()
        .map(|m| m.subject.clone().unwrap())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["Lunch?", "Quarterly numbers"], "seven days only");
    assert!(!first.capped);
    let message = first.changed.iter().find(|m| m.id == recent).unwrap();
    assert_eq!(
        message
            .from
            .as_ref()
            .unwrap()
            .email_address
            .address
            .as_deref(),
        Some("bob@fabrikam.example")
    );
    assert_eq!(message.received_date_time, Some(t(29, 9)));
    assert!(
        sim.requests().iter().all(|r| r
            .header_values("prefer")
            .iter()
            .any(|v| v.contains(r#"IdType="ImmutableId""#))),
        "every mail request prefers immutable ids"
    );

    let archive = graph.mail_folder("archive").await.unwrap();
    let archive_round = graph.message_delta(&archive.id, None, None).await.unwrap();
    sim.user_move_message(USER, &recent, "archive");
    let inbox_changes = graph
        .message_delta(&inbox.id, None, Some(&first.delta_link))
        .await
        .unwrap();
    assert_eq!(inbox_changes.removed, std::slice::from_ref(&recent));
    assert!(inbox_changes.changed.is_empty());
    let archive_changes = graph
        .message_delta(&archive.id, None, Some(&archive_round.delta_link))
        .await
        .unwrap();
    assert_eq!(archive_changes.changed.len(), 1);
    assert_eq!(
        archive_changes.changed[0].id, recent,
        "the same id after the move"
    );
    assert_eq!(
        archive_changes.changed[0].parent_folder_id.as_deref(),
        Some(archive.id.as_str())
    );
}

#[tokio::test]
async fn marking_read_reaches_outlook() {
    let (sim, graph) = setup().await;
    let id = deliver(&sim, "Status", t(29, 9));
    let message = graph.set_message_read(&id, true).await.unwrap();
    assert_eq!(message.is_read, Some(true));
    assert_eq!(
        sim.messages(USER),
        [(
            id,
            sim.mail_folder_id(USER, "inbox").unwrap(),
            "Status".into(),
            true
        )]
    );
}

#[tokio::test]
async fn attachments_are_listed_and_their_uri_stays_on_graph() {
    let (sim, graph) = setup().await;
    let id = deliver(&sim, "Contract", t(29, 9));
    let attachment =
        sim.add_attachment(USER, &id, "contract.pdf", "application/pdf", 48_213, false);
    let listed = graph.attachments(&id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name.as_deref(), Some("contract.pdf"));
    assert_eq!(listed[0].size, Some(48_213));
    let uri = graph.attachment_content_uri(&id, &attachment);
    assert!(uri.starts_with(&sim.base_url()), "{uri}");
    assert!(
        uri.ends_with(&format!("/messages/{id}/attachments/{attachment}/$value")),
        "{uri}"
    );
}

#[tokio::test]
async fn an_expired_delta_link_asks_for_a_resync() {
    let (sim, graph) = setup().await;
    deliver(&sim, "Status", t(29, 9));
    let folders = graph.mail_folder_delta(None).await.unwrap();
    assert!(
        folders
            .changed
            .iter()
            .any(|f| f.display_name.as_deref() == Some("Inbox"))
    );
    sim.expire_mail_delta_tokens();
    assert_eq!(
        graph.mail_folder_delta(Some(&folders.delta_link)).await,
        Err(GraphError::ResyncRequired)
    );
}

#[tokio::test]
async fn a_link_to_another_host_is_never_followed() {
    let (_sim, graph) = setup().await;
    let result = graph
        .message_delta(
            "AAMkFold",
            None,
            Some(
                "https://attacker.example/v1.0/users/x/mailFolders/y/messages/delta?$deltatoken=1",
            ),
        )
        .await;
    assert!(
        matches!(result, Err(GraphError::UntrustedLink(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_first_round_at_the_filter_cap_says_so() {
    let (sim, graph) = setup().await;
    for i in 0..5_001u32 {
        let at = t(24, 0) + chrono::Duration::minutes(i64::from(i));
        deliver(&sim, &format!("Message {i}"), at);
    }
    let inbox = graph.mail_folder("inbox").await.unwrap();
    let changes = graph
        .message_delta(&inbox.id, Some(t(23, 0)), None)
        .await
        .unwrap();
    assert_eq!(changes.changed.len(), 5_000);
    assert!(changes.capped, "older messages in the range may be missing");
}

#[tokio::test]
async fn a_move_to_a_well_known_folder_keeps_the_id_and_answers_the_message() {
    let (sim, graph) = setup().await;
    let id = deliver(&sim, "Invoice 42", t(29, 9));
    let moved = graph.move_message(&id, "deleteditems").await.unwrap();
    let trash = sim.mail_folder_id(USER, "deleteditems").unwrap();
    assert_eq!(moved.id, id, "immutable ids survive a move");
    assert_eq!(moved.parent_folder_id.as_deref(), Some(trash.as_str()));
    assert_eq!(
        sim.messages(USER),
        [(id.clone(), trash, "Invoice 42".into(), false)]
    );
    // As documented: POST …/messages/{id}/move with {"destinationId": …}, immutable ids asked for.
    let request = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert!(
        request.path.ends_with(&format!("/messages/{id}/move")),
        "{}",
        request.path
    );
    assert_eq!(request.body, Some(json!({"destinationId": "deleteditems"})));
    assert!(
        request
            .headers
            .iter()
            .any(|(k, v)| k == "prefer" && v.contains("ImmutableId")),
        "{:?}",
        request.headers
    );
}

#[tokio::test]
async fn a_move_to_a_folder_that_does_not_exist_is_refused() {
    let (sim, graph) = setup().await;
    let id = deliver(&sim, "Invoice 43", t(29, 9));
    let refused = graph.move_message(&id, "no-such-folder").await;
    assert!(
        matches!(refused, Err(GraphError::NotFound { .. })),
        "{refused:?}"
    );
    assert_eq!(
        sim.messages(USER)[0].1,
        sim.mail_folder_id(USER, "inbox").unwrap()
    );
}
