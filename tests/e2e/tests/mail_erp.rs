//! The ERP.net connector's mail reads and writes (the Mail job's ERP.net side) against the
//! ERP.net simulator, over real HTTP on loopback.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use mssync_core::erp::{
    BoxFolder, ErpClient, ErpError, ExternalLink, Guid, MailBoxCheck, MessageWrite, NewAttachment,
    NewBoxFolder,
};
use mssync_core::host::ManualClock;
use mssync_core::jobs::mail::map::ErpMessage;
use mssync_core::wire::erp::mail::MESSAGES;
use mssync_sim::erp::{BatchFault, ErpSim, Fault, MailBoxSeed};
use serde_json::{Value, json};

const ALICE: &str = "alice@contoso.example";

async fn setup() -> (ErpSim, ErpClient, Guid) {
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
    let sim = ErpSim::start(now).await;
    let user = sim.add_user(ALICE, false, true);
    let erp = common::trusted_erp_client(&sim, Arc::new(ManualClock::new(now)));
    (sim, erp, Guid::parse(&user).unwrap())
}

#[tokio::test]
async fn the_default_mailbox_check_names_what_is_wrong() {
    let (sim, erp, user) = setup().await;
    assert_eq!(
        erp.check_default_mail_box(&user, ALICE).await.unwrap(),
        MailBoxCheck::Missing
    );

    let mut seed = MailBoxSeed::default_for(user.as_str(), "a.adams@contoso.example");
    sim.add_mail_box(seed.clone());
    assert_eq!(
        erp.check_default_mail_box(&user, ALICE).await.unwrap(),
        MailBoxCheck::WrongAddress {
            found: "a.adams@contoso.example".into()
        }
    );

    let (sim, erp, user) = setup().await;
    seed = MailBoxSeed::default_for(user.as_str(), ALICE);
    seed.is_encrypted = true;
    sim.add_mail_box(seed);
    assert_eq!(
        erp.check_default_mail_box(&user, ALICE).await.unwrap(),
        MailBoxCheck::Encrypted
    );

    let (sim, erp, user) = setup().await;
    let id = sim.add_mail_box(MailBoxSeed::default_for(
        user.as_str(),
        "Alice@Contoso.example",
    ));
    match erp.check_default_mail_box(&user, ALICE).await.unwrap() {
        MailBoxCheck::Ready(found) => assert_eq!(found.id.as_str(), id),
        other => panic!("expected the box, got {other:?}"),
    }
}

#[tokio::test]
async fn a_box_reads_with_its_system_folders() {
    let (sim, erp, user) = setup().await;
    let id = sim.add_mail_box(MailBoxSeed::default_for(user.as_str(), ALICE));
    let folders = erp.box_folders(&Guid::parse(&id).unwrap()).await.unwrap();
    let mut purposes: Vec<_> = folders
        .iter()
        .filter_map(|f| f.system_purpose.clone())
        .collect();
    purposes.sort();
    assert_eq!(
        purposes,
        ["Drafts", "Inbox", "Mailbox", "Outbox", "Sent", "Trash"]
    );
    let root = folders
        .iter()
        .find(|f| f.system_purpose.as_deref() == Some("Mailbox"))
        .unwrap();
    assert_eq!(root.parent, None);
    let inbox = folders
        .iter()
        .find(|f| f.system_purpose.as_deref() == Some("Inbox"))
        .unwrap();
    assert_eq!(inbox.parent.as_ref(), Some(&root.id));
    assert_eq!(inbox.name.as_deref(), Some("Inbox"));
    assert_eq!(inbox.sync_state, None);
}

const SYSTEM: &str = "MsSync/Graph";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap()
}

/// A box with its system folders: (box id, the folders as the connector reads them).
async fn mail_setup() -> (ErpSim, ErpClient, Guid, Vec<BoxFolder>) {
    let (sim, erp, user) = setup().await;
    let id = sim.add_mail_box(MailBoxSeed::default_for(user.as_str(), ALICE));
    let mail_box = Guid::parse(&id).unwrap();
    let folders = erp.box_folders(&mail_box).await.unwrap();
    (sim, erp, mail_box, folders)
}

fn system_folder(folders: &[BoxFolder], purpose: &str) -> Guid {
    folders
        .iter()
        .find(|f| f.system_purpose.as_deref() == Some(purpose))
        .unwrap()
        .id
        .clone()
}

fn link(outlook_id: &str) -> ExternalLink {
    ExternalLink {
        external_id: outlook_id.into(),
        external_system: SYSTEM.into(),
    }
}

fn outlook_message(outlook_id: &str, subject: &str) -> ErpMessage {
    ErpMessage {
        subject: Some(subject.into()),
        body: Some(format!("<p>{subject}</p>")),
        from: "bob@fabrikam.example".into(),
        to: Some(ALICE.into()),
        cc: None,
        sent: Some(t0() - Duration::hours(2)),
        received: Some(t0() - Duration::hours(1)),
        is_read: false,
        server_message_id: outlook_id.into(),
    }
}

fn create(
    folder: &Guid,
    outlook_id: &str,
    subject: &str,
    attachments: Vec<NewAttachment>,
) -> MessageWrite {
    MessageWrite::Create {
        folder: folder.clone(),
        message: outlook_message(outlook_id, subject),
        attachments,
        party: None,
        link: link(outlook_id),
    }
}

fn contract() -> NewAttachment {
    NewAttachment {
        name: Some("contract.pdf".into()),
        content_descriptors: "Content-Type: application/pdf\r\nContent-Location: https://graph.microsoft.com/v1.0/users/u/messages/m/attachments/a/$value".into(),
    }
}

#[tokio::test]
async fn a_folder_create_is_idempotent_by_its_outlook_id() {
    let (sim, erp, mail_box, folders) = mail_setup().await;
    let inbox = system_folder(&folders, "Inbox");
    let new = NewBoxFolder {
        mail_box: mail_box.clone(),
        parent: Some(inbox.clone()),
        name: "Projects".into(),
        server_folder_id: "AAMkFolderProjects".into(),
    };
    let made = erp.create_box_folder(&new).await.unwrap();
    assert_eq!(made.name.as_deref(), Some("Projects"));
    assert_eq!(made.parent.as_ref(), Some(&inbox));
    assert_eq!(made.system_purpose, None);
    // Sent again (a lost answer, a re-run, even under another parent): the same folder.
    let again = erp
        .create_box_folder(&NewBoxFolder {
            parent: None,
            ..new.clone()
        })
        .await
        .unwrap();
    assert_eq!(again.id, made.id);
    let stored = sim.mail_folders(mail_box.as_str());
    let projects: Vec<_> = stored
        .iter()
        .filter(|f| f.server_folder_id.as_deref() == Some("AAMkFolderProjects"))
        .collect();
    assert_eq!(projects.len(), 1, "{stored:?}");
    assert_eq!(projects[0].parent.as_deref(), Some(inbox.as_str()));
    // Made through the box: the folder's MailBox is the box, and the name is multi-language.
    let json = sim.mail_folders_json(mail_box.as_str());
    let row = json.iter().find(|f| f["Id"] == made.id.as_str()).unwrap();
    assert_eq!(
        row["MailBox"]["@odata.id"],
        format!("Applications_Mail_Boxes({mail_box})")
    );
    assert_eq!(row["FolderName"], json!({"en": "Projects"}));
    let post = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.contains("/odata/"))
        .unwrap();
    assert_eq!(
        post.path,
        format!("/api/domain/odata/Applications_Mail_Boxes({mail_box})/Folders")
    );
}

#[tokio::test]
async fn a_folder_is_renamed_and_moved_to_the_root() {
    let (sim, erp, mail_box, folders) = mail_setup().await;
    let inbox = system_folder(&folders, "Inbox");
    let made = erp
        .create_box_folder(&NewBoxFolder {
            mail_box: mail_box.clone(),
            parent: Some(inbox),
            name: "Projects".into(),
            server_folder_id: "AAMkFolderProjects".into(),
        })
        .await
        .unwrap();
    erp.update_box_folder(&made.id, Some("Projects 2027"), Some(None))
        .await
        .unwrap();
    let stored = sim.mail_folders(mail_box.as_str());
    let row = stored.iter().find(|f| f.id == made.id.as_str()).unwrap();
    assert_eq!(row.name.as_deref(), Some("Projects 2027"));
    assert_eq!(row.parent, None);
    assert_eq!(row.object_version, 2);

    // The folder keeps its Graph delta link in SyncState, read back with the folders.
    let link =
        "https://graph.microsoft.com/v1.0/users/u/mailFolders/f/messages/delta?$deltatoken=abc";
    erp.set_box_folder_sync_state(&made.id, Some(link))
        .await
        .unwrap();
    let read = erp.box_folders(&mail_box).await.unwrap();
    let folder = read.iter().find(|f| f.id == made.id).unwrap();
    assert_eq!(folder.sync_state.as_deref(), Some(link));
    assert_eq!(folder.name.as_deref(), Some("Projects 2027"));
    erp.set_box_folder_sync_state(&made.id, None).await.unwrap();
    let read = erp.box_folders(&mail_box).await.unwrap();
    assert_eq!(
        read.iter().find(|f| f.id == made.id).unwrap().sync_state,
        None
    );
}

#[tokio::test]
async fn a_message_create_with_attachments_is_idempotent() {
    let (sim, erp, mail_box, folders) = mail_setup().await;
    let inbox = system_folder(&folders, "Inbox");
    let first = erp
        .write_messages(vec![create(
            &inbox,
            "AAMkMsg1",
            "Contract",
            vec![contract()],
        )])
        .await;
    let id = first[0].clone().unwrap();
    // A replayed create (an answer lost, the run repeated): the same message, no second row.
    let replay = erp
        .write_messages(vec![create(
            &inbox,
            "AAMkMsg1",
            "Contract",
            vec![contract()],
        )])
        .await;
    assert_eq!(replay[0].as_ref().unwrap(), &id);
    let messages = sim.mail_messages(mail_box.as_str());
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(m.id, id.as_str());
    assert_eq!(m.folder.as_deref(), Some(inbox.as_str()));
    assert_eq!(m.subject.as_deref(), Some("Contract"));
    assert_eq!(m.from.as_deref(), Some("bob@fabrikam.example"));
    assert_eq!(m.server_message_id.as_deref(), Some("AAMkMsg1"));
    assert_eq!(m.external_id.as_deref(), Some("AAMkMsg1"));
    assert_eq!(m.external_system.as_deref(), Some(SYSTEM));
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].name.as_deref(), Some("contract.pdf"));
    assert!(!m.attachments[0].content_downloaded);
    assert_eq!(
        m.attachments[0].content_descriptors.as_deref(),
        Some(contract().content_descriptors.as_str())
    );
    let found = erp
        .mail_message_by_link(&link("AAMkMsg1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
    assert_eq!(found.folder.as_ref(), Some(&inbox));
    assert_eq!(
        erp.mail_message_by_link(&link("AAMkOther")).await.unwrap(),
        None
    );
    // One $batch per write call: the findOrCreate changeset, then the read by the link.
    assert_eq!(sim.batches(), 2);
    let batch = sim
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("$batch"))
        .unwrap()
        .body
        .unwrap();
    let post = &batch[0]["changeset"][0];
    assert_eq!(post["method"], "POST");
    assert_eq!(post["url"], "Applications_Mail_Messages");
    let body = &post["body"];
    assert_eq!(body["@erpnet.action"], "findOrCreate");
    assert_eq!(
        body["@erpnet.findBy"],
        json!({"ExternalId": "AAMkMsg1", "ExternalSystem": SYSTEM})
    );
    assert_eq!(
        body["MailBoxFolder"],
        json!({"@odata.id": format!("Applications_Mail_BoxFolders({inbox})")})
    );
    assert_eq!(body["ServerMessageID"], "AAMkMsg1");
    assert_eq!(body["SentDateTime"], "2026-11-30T06:00:00Z");
    assert_eq!(
        body["Attachments"],
        json!([{"Name": "contract.pdf", "ContentDescriptors": contract().content_descriptors, "ContentDownloaded": false}])
    );
    assert_eq!(batch[1]["method"], "GET");
    assert!(
        batch[1]["url"]
            .as_str()
            .unwrap()
            .starts_with("Applications_Mail_Messages?%24filter=ExternalId"),
        "{}",
        batch[1]["url"]
    );
}

#[tokio::test]
async fn an_update_marks_read_and_moves_only_what_it_names() {
    let (sim, erp, mail_box, folders) = mail_setup().await;
    let inbox = system_folder(&folders, "Inbox");
    let trash = system_folder(&folders, "Trash");
    let id = erp
        .write_messages(vec![create(&inbox, "AAMkMsg1", "Status", vec![])])
        .await[0]
        .clone()
        .unwrap();
    sim.advance(std::time::Duration::from_secs(60));
    let results = erp
        .write_messages(vec![
            MessageWrite::Update {
                id: id.clone(),
                folder: None,
                is_read: Some(true),
                content: None,
            },
            MessageWrite::Update {
                id: id.clone(),
                folder: None,
                is_read: None,
                content: None,
            },
        ])
        .await;
    assert_eq!(results, [Ok(id.clone()), Ok(id.clone())]);
    let m = &sim.mail_messages(mail_box.as_str())[0];
    assert!(m.is_read);
    assert_eq!(m.folder.as_deref(), Some(inbox.as_str()));
    assert_eq!(m.subject.as_deref(), Some("Status"));
    assert_eq!(m.updated, Some(t0() + Duration::seconds(60)));
    erp.write_messages(vec![MessageWrite::Update {
        id: id.clone(),
        folder: Some(trash.clone()),
        is_read: None,
        content: None,
    }])
    .await[0]
        .clone()
        .unwrap();
    let m = &sim.mail_messages(mail_box.as_str())[0];
    assert_eq!(m.folder.as_deref(), Some(trash.as_str()));
    assert!(m.is_read, "a move leaves the read state as it was");
    assert_eq!(m.object_version, 3);
}

#[tokio::test]
async fn messages_changed_since_are_cut_exactly_though_the_filter_is_by_day() {
    let (sim, erp, _mail_box, folders) = mail_setup().await;
    let inbox = system_folder(&folders, "Inbox");
    let sent = system_folder(&folders, "Sent");
    let early = sim.user_add_mail(inbox.as_str(), "Early", "carol@fabrikam.example");
    // Same day, before `since`, never touched: the server's by-day filter returns it, the
    // connector cuts it.
    let _before = sim.user_add_mail(inbox.as_str(), "Before", "carol@fabrikam.example");
    sim.advance(std::time::Duration::from_secs(3600));
    let since = sim.now();
    let later = sim.user_add_mail(sent.as_str(), "Later", "carol@fabrikam.example");
    sim.advance(std::time::Duration::from_secs(3600));
    // A person in ERP.net reads the early one: its aggregate moves past `since`.
    let unread = sim.user_add_mail(inbox.as_str(), "Untouched", "dan@fabrikam.example");
    sim.user_set_mail_read(&early, true);
    let trash = system_folder(&folders, "Trash");
    let rows = erp
        .mail_messages_changed_since(&[inbox.clone(), sent.clone()], since)
        .await
        .unwrap();
    let mut ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
    ids.sort();
    let mut expected = vec![early.clone(), later.clone(), unread.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    let early_row = rows.iter().find(|r| r.id.as_str() == early).unwrap();
    assert!(early_row.is_read);
    assert_eq!(early_row.updated, Some(since + Duration::hours(1)));
    // Moved to a folder not asked about: gone from the answer.
    sim.user_move_mail(&later, trash.as_str());
    let rows = erp
        .mail_messages_changed_since(
            &[inbox.clone(), sent.clone()],
            since + Duration::minutes(30),
        )
        .await
        .unwrap();
    let mut ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
    ids.sort();
    let mut expected = vec![early, unread];
    expected.sort();
    assert_eq!(ids, expected);
    // The filter asked is ERP.net's: `MailBoxFolder in (...)` and `AggregateLastUpdateTimeUtc ge`.
    let filter = sim
        .requests()
        .iter()
        .rev()
        .find_map(|r| r.filter().map(str::to_owned))
        .unwrap();
    assert!(
        filter.starts_with(&format!(
            "MailBoxFolder in ('Applications_Mail_BoxFolders({inbox})','Applications_Mail_BoxFolders({sent})') and AggregateLastUpdateTimeUtc ge "
        )),
        "{filter}"
    );
}

#[tokio::test]
async fn a_deleted_message_is_not_found_by_its_link() {
    let (sim, erp, mail_box, folders) = mail_setup().await;
    let inbox = system_folder(&folders, "Inbox");
    let id = erp
        .write_messages(vec![create(&inbox, "AAMkMsg1", "Bye", vec![contract()])])
        .await[0]
        .clone()
        .unwrap();
    sim.user_delete_mail(id.as_str());
    assert_eq!(
        erp.mail_message_by_link(&link("AAMkMsg1")).await.unwrap(),
        None
    );
    assert!(sim.mail_messages(mail_box.as_str()).is_empty());
    assert!(sim.list("Applications_Mail_MessageAttachments").is_empty());
}

#[tokio::test]
async fn a_batch_with_one_refused_write_leaves_its_neighbours_written() {
    let (sim, erp, mail_box, folders) = mail_setup().await;
    let inbox = system_folder(&folders, "Inbox");
    // The middle one's subject is longer than `Subject` holds (1024): ERP.net refuses it.
    let mut too_long = create(&inbox, "AAMkMsg2", "x", vec![]);
    if let MessageWrite::Create { message, .. } = &mut too_long {
        message.subject = Some("x".repeat(1025));
    }
    let results = erp
        .write_messages(vec![
            create(&inbox, "AAMkMsg1", "First", vec![contract()]),
            too_long,
            create(&inbox, "AAMkMsg3", "Third", vec![]),
        ])
        .await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        matches!(&results[1], Err(ErpError::Remote { status: 500, .. })),
        "{results:?}"
    );
    let mut subjects: Vec<_> = sim
        .mail_messages(mail_box.as_str())
        .into_iter()
        .filter_map(|m| m.subject)
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["First", "Third"]);
    assert_eq!(sim.batches(), 1);

    // An injected failure of one changeset: the same, and a re-run writes it.
    sim.push_batch_fault(BatchFault::FailItem { changeset: 0 });
    let results = erp
        .write_messages(vec![
            create(&inbox, "AAMkMsg4", "Fourth", vec![]),
            MessageWrite::Update {
                id: results[0].clone().unwrap(),
                folder: None,
                is_read: Some(true),
                content: None,
            },
        ])
        .await;
    assert!(results[0].is_err() && results[1].is_ok(), "{results:?}");
    let results = erp
        .write_messages(vec![create(&inbox, "AAMkMsg4", "Fourth", vec![])])
        .await;
    assert!(results[0].is_ok());
    assert_eq!(sim.mail_messages(mail_box.as_str()).len(), 3);
}

#[tokio::test]
async fn a_lost_batch_answer_fails_each_write_and_the_retry_makes_no_duplicates() {
    let (sim, erp, mail_box, folders) = mail_setup().await;
    let inbox = system_folder(&folders, "Inbox");
    sim.push_batch_fault(BatchFault::LostAnswer { status: 500 });
    let writes = || {
        vec![
            create(&inbox, "AAMkMsg1", "One", vec![contract()]),
            create(&inbox, "AAMkMsg2", "Two", vec![]),
        ]
    };
    let lost = erp.write_messages(writes()).await;
    assert!(lost.iter().all(Result::is_err), "{lost:?}");
    let retried = erp.write_messages(writes()).await;
    assert!(retried.iter().all(Result::is_ok), "{retried:?}");
    let messages = sim.mail_messages(mail_box.as_str());
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages.iter().map(|m| m.attachments.len()).sum::<usize>(),
        1
    );
}

/// A raw request to the simulator, as another client would send it.
/// A request the simulator must refuse: what it is, method, path, body, the status, and the
/// fields of the error body that must match.
type Refusal<'a> = (
    &'a str,
    reqwest::Method,
    &'a str,
    Value,
    u16,
    Vec<(&'a str, &'a str)>,
);

async fn raw(sim: &ErpSim, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    sim.require_auth(false);
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.odata_root()))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    sim.require_auth(true);
    (status, body)
}

#[tokio::test]
async fn the_simulator_refuses_what_the_model_pages_do_not_allow() {
    let (sim, erp, mail_box, folders) = mail_setup().await;
    let inbox = system_folder(&folders, "Inbox");
    let folder_ref = json!({"@odata.id": format!("Applications_Mail_BoxFolders({inbox})")});
    let message = |extra: Value| {
        let mut body =
            json!({"FromEmailAddress": "bob@fabrikam.example", "MailBoxFolder": folder_ref});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let post = reqwest::Method::POST;
    let patch = reqwest::Method::PATCH;
    let nowhere =
        json!({"@odata.id": "Applications_Mail_BoxFolders(00000000-0000-4000-8000-0000000fffff)"});
    let box_ref = json!({"@odata.id": format!("Applications_Mail_Boxes({mail_box})")});
    let inbox_path = format!("Applications_Mail_BoxFolders({inbox})");
    let box_folders = format!("Applications_Mail_Boxes({mail_box})/Folders");
    let refusals: Vec<Refusal> = vec![
        (
            "an unknown property: 400 with the OData message, in ERP.net's error body",
            post.clone(),
            MESSAGES,
            message(json!({"Bcc": "eve@x.example"})),
            400,
            vec![
                (
                    "message",
                    "Could not find a property named 'Bcc' on entity set 'Applications_Mail_Messages'.",
                ),
                ("type", "ODataException"),
            ],
        ),
        (
            "a missing Required sender",
            post.clone(),
            MESSAGES,
            json!({"MailBoxFolder": folder_ref}),
            500,
            vec![("message", "The property 'FromEmailAddress' is required.")],
        ),
        (
            "a missing Required folder",
            post.clone(),
            MESSAGES,
            json!({"FromEmailAddress": "bob@fabrikam.example"}),
            500,
            vec![("message", "The property 'MailBoxFolder' is required.")],
        ),
        (
            "an over-long ServerMessageID",
            post.clone(),
            MESSAGES,
            message(json!({"ServerMessageID": "x".repeat(257)})),
            500,
            vec![],
        ),
        (
            "a reference to nothing",
            post.clone(),
            MESSAGES,
            message(json!({"MailBoxFolder": nowhere})),
            500,
            vec![("type", "ObjectNotFoundException")],
        ),
        (
            "an attachment row without its message",
            post.clone(),
            "Applications_Mail_MessageAttachments",
            json!({"Name": "a.txt"}),
            500,
            vec![("message", "The property 'MailMessage' is required.")],
        ),
        (
            "a folder posted to the folders' set with its box (ReadOnly)",
            post.clone(),
            "Applications_Mail_BoxFolders",
            json!({"FolderName": {"en": "X"}, "MailBox": box_ref}),
            500,
            vec![("message", "The property 'MailBox' is read-only.")],
        ),
        (
            "a folder posted to the folders' set without its box",
            post.clone(),
            "Applications_Mail_BoxFolders",
            json!({"FolderName": {"en": "X"}}),
            500,
            vec![("message", "The property 'MailBox' is required.")],
        ),
        (
            "a folder's ReadOnly SystemPurpose on update",
            patch,
            &inbox_path,
            json!({"SystemPurpose": "Trash"}),
            500,
            vec![("message", "The property 'SystemPurpose' is read-only.")],
        ),
        (
            "a FolderName that is not multi-language",
            post.clone(),
            &box_folders,
            json!({"FolderName": "Plain"}),
            500,
            vec![],
        ),
    ];
    for (what, method, path, body, status, fields) in refusals {
        let (got, answer) = raw(&sim, method, path, body).await;
        assert_eq!(got, status, "{what}: {answer}");
        for (field, expected) in fields {
            assert_eq!(answer[field].as_str(), Some(expected), "{what}: {answer}");
        }
    }
    assert!(sim.mail_messages(mail_box.as_str()).is_empty());
    assert_eq!(sim.mail_folders(mail_box.as_str()).len(), 6);

    // An attachment added on its own changes its message's aggregate time and version.
    let id = erp
        .write_messages(vec![create(&inbox, "AAMkMsg1", "Later attachment", vec![])])
        .await[0]
        .clone()
        .unwrap();
    sim.advance(std::time::Duration::from_secs(120));
    let message_ref = json!({"@odata.id": format!("Applications_Mail_Messages({id})")});
    let (status, _) = raw(
        &sim,
        post,
        "Applications_Mail_MessageAttachments",
        json!({"MailMessage": message_ref, "Name": "late.txt"}),
    )
    .await;
    assert_eq!(status, 201);
    let m = &sim.mail_messages(mail_box.as_str())[0];
    assert_eq!(m.updated, Some(t0() + Duration::seconds(120)));
    assert_eq!(m.object_version, 2);
    assert_eq!(m.attachments.len(), 1);
}

#[tokio::test]
async fn a_folder_whose_create_answer_was_lost_is_found_not_made_again() {
    let (sim, erp, mail_box, _folders) = mail_setup().await;
    let new = NewBoxFolder {
        mail_box: mail_box.clone(),
        parent: None,
        name: "Receipts".into(),
        server_folder_id: "AAMkFolderReceipts".into(),
    };
    // The look-up is answered; the POST is carried out and its answer lost.
    sim.push_fault(Fault::Slow(std::time::Duration::ZERO));
    sim.push_fault(Fault::LostAnswer { status: 500 });
    let lost = erp.create_box_folder(&new).await;
    assert!(
        matches!(lost, Err(ErpError::Remote { status: 500, .. })),
        "{lost:?}"
    );
    let found = erp.create_box_folder(&new).await.unwrap();
    let receipts: Vec<_> = sim
        .mail_folders(mail_box.as_str())
        .into_iter()
        .filter(|f| f.name.as_deref() == Some("Receipts"))
        .collect();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].id, found.id.as_str());
    assert_eq!(
        sim.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/Folders"))
            .count(),
        1
    );
}
