//! The Mail job end to end through `App::run_job`, over real HTTP to both simulators: mail
//! arriving in Outlook reaches the user's default ERP.net mailbox, in the twin of its folder;
//! a message read or deleted in ERP.net is read or deleted in Outlook; and the pitfalls mail adds
//! (a move between folders, a delete followed by a restore, the 5,000 cap of a first sync, a
//! folder rename, a copy that puts a message in two folders).

mod common;

use std::time::Duration;

use chrono::SecondsFormat;
use common::{Env, alice_env, ref_id};
use mssync_core::ErrorCode;
use mssync_core::app::JobKind;
use mssync_core::host::Clock;
use serde_json::{Value, json};

const MESSAGES: &str = "Applications_Mail_Messages";
const FOLDERS: &str = "Applications_Mail_BoxFolders";
const ATTACHMENTS: &str = "Applications_Mail_MessageAttachments";

fn folder_name(folder: &Value) -> String {
    match &folder["FolderName"] {
        Value::Object(m) => m
            .values()
            .next()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

struct Mail {
    env: Env,
    alice: String,
    oid: String,
}

impl Mail {
    /// Alice signed in and set up with Mail on (her default mailbox is the World's).
    async fn start() -> Self {
        let (env, alice) = alice_env().await;
        env.app
            .set_job_enabled(&alice, JobKind::Mail, true)
            .await
            .expect("Alice's default mailbox is ready");
        let oid = env.world.alice().oid.clone();
        Self { env, alice, oid }
    }

    fn graph(&self) -> &mssync_sim::graph::GraphSim {
        &self.env.world.graph
    }

    fn erp(&self) -> &mssync_sim::erp::ErpSim {
        &self.env.world.erp
    }

    fn received(&self, days_ago: i64) -> String {
        (self.env.clock.now() - chrono::Duration::days(days_ago))
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    fn deliver(&self, folder: &str, subject: &str) -> String {
        self.deliver_at(folder, subject, 0)
    }

    fn deliver_at(&self, folder: &str, subject: &str, days_ago: i64) -> String {
        self.env.world.graph.deliver_message(
            &self.oid,
            folder,
            json!({
                "subject": subject,
                "body": {"contentType": "html", "content": format!("<p>{subject}</p>")},
                "from": {"emailAddress": {"name": "Bob", "address": "bob@fabrikam.example"}},
                "toRecipients": [{"emailAddress": {"address": "alice@contoso.example"}}],
                "receivedDateTime": self.received(days_ago),
                "sentDateTime": self.received(days_ago),
                "hasAttachments": false,
            }),
        )
    }

    async fn run(&self) -> mssync_core::app::RunView {
        self.env.advance(Duration::from_secs(60));
        let run = self
            .env
            .app
            .run_job(&self.alice, JobKind::Mail, false)
            .await;
        run.result
            .unwrap_or_else(|e| panic!("the Mail run failed: {e:?}; log {:?}", run.log))
    }

    fn erp_messages(&self) -> Vec<Value> {
        self.env.world.erp.list(MESSAGES)
    }

    fn erp_message(&self, subject: &str) -> Value {
        let found: Vec<Value> = self
            .erp_messages()
            .into_iter()
            .filter(|m| m["Subject"] == json!(subject))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "exactly one ERP.net message '{subject}': {found:?}"
        );
        found.into_iter().next().unwrap()
    }

    fn erp_folder(&self, id: &str) -> Value {
        self.env
            .world
            .erp
            .list(FOLDERS)
            .into_iter()
            .find(|f| f["Id"] == json!(id))
            .expect("the folder exists")
    }

    /// The name of the ERP.net folder an ERP.net message is in.
    fn erp_folder_of(&self, subject: &str) -> String {
        let message = self.erp_message(subject);
        let folder = ref_id(&message["MailBoxFolder"]).expect("a message has a folder");
        folder_name(&self.erp_folder(&folder))
    }

    /// The Trash folder of the mailbox an ERP.net message is in.
    fn trash_of(&self, message: &Value) -> String {
        let folder = self.erp_folder(&ref_id(&message["MailBoxFolder"]).unwrap());
        let mail_box = ref_id(&folder["MailBox"]).unwrap();
        self.env
            .world
            .erp
            .list(FOLDERS)
            .into_iter()
            .find(|f| {
                f["SystemPurpose"] == json!("Trash")
                    && ref_id(&f["MailBox"]) == Some(mail_box.clone())
            })
            .and_then(|f| f["Id"].as_str().map(str::to_owned))
            .expect("the mailbox has a Trash folder")
    }

    fn outlook_folder_of(&self, id: &str) -> String {
        self.env
            .world
            .graph
            .messages(&self.oid)
            .into_iter()
            .find(|(m, ..)| m == id)
            .map(|(_, folder, ..)| folder)
            .expect("the Outlook message exists")
    }

    fn outlook_is_read(&self, id: &str) -> bool {
        self.env
            .world
            .graph
            .messages(&self.oid)
            .into_iter()
            .find(|(m, ..)| m == id)
            .map(|(.., read)| read)
            .expect("the Outlook message exists")
    }

    fn folder(&self, name: &str) -> String {
        self.env
            .world
            .graph
            .mail_folder_id(&self.oid, name)
            .unwrap()
    }
}

#[tokio::test]
async fn mail_arrives_in_erp_in_its_folder_with_attachments_and_only_from_the_last_7_days() {
    let mail = Mail::start().await;
    let invoice = mail.deliver("inbox", "Invoice 42");
    mail.graph().add_attachment(
        &mail.oid,
        &invoice,
        "invoice.pdf",
        "application/pdf",
        48_213,
        false,
    );
    mail.deliver("sentitems", "Re: offer");
    mail.deliver_at("inbox", "Old news", 9);

    let first = mail.run().await;
    assert_eq!(first.to_erp.created, 2, "{first:?}");
    assert_eq!(
        mail.erp_messages().len(),
        2,
        "the 9-day-old message is not copied"
    );
    assert_eq!(mail.erp_folder_of("Invoice 42"), "Inbox");
    assert_eq!(mail.erp_folder_of("Re: offer"), "Sent");

    let row = mail.erp_message("Invoice 42");
    assert_eq!(row["FromEmailAddress"], json!("bob@fabrikam.example"));
    assert_eq!(row["ToEmailAddressList"], json!("alice@contoso.example"));
    assert_eq!(row["ServerMessageID"], json!(invoice));
    assert_eq!(row["ExternalId"], json!(invoice));
    assert_eq!(row["IsRead"], json!(false));
    let attachments: Vec<Value> = mail
        .erp()
        .list(ATTACHMENTS)
        .into_iter()
        .filter(|a| ref_id(&a["MailMessage"]) == row["Id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(attachments.len(), 1, "{attachments:?}");
    assert_eq!(attachments[0]["Name"], json!("invoice.pdf"));
    let descriptors = attachments[0]["ContentDescriptors"].as_str().unwrap();
    assert!(
        descriptors.contains("Content-Type: application/pdf"),
        "{descriptors}"
    );
    assert!(
        descriptors.contains(&format!("/messages/{invoice}/attachments/"))
            && descriptors.contains("/$value"),
        "the content's Graph URI: {descriptors}"
    );

    // A second run with nothing new writes nothing.
    let quiet = mail.run().await;
    assert_eq!(quiet.to_erp.total(), 0, "{quiet:?}");
    assert_eq!(quiet.to_outlook.total(), 0, "{quiet:?}");
    assert_eq!(mail.erp_messages().len(), 2);
}

#[tokio::test]
async fn read_in_erp_is_read_in_outlook_and_read_in_outlook_is_read_in_erp() {
    let mail = Mail::start().await;
    let first = mail.deliver("inbox", "First");
    let second = mail.deliver("inbox", "Second");
    mail.run().await;

    let erp_id = mail.erp_message("First")["Id"].as_str().unwrap().to_owned();
    mail.erp().user_set_mail_read(&erp_id, true);
    mail.graph().user_set_message_read(&mail.oid, &second, true);
    let run = mail.run().await;
    assert_eq!(run.to_outlook.updated, 1, "{run:?}");
    assert_eq!(run.to_erp.updated, 1, "{run:?}");
    assert!(
        mail.outlook_is_read(&first),
        "read in ERP.net, so read in Outlook"
    );
    assert_eq!(mail.erp_message("Second")["IsRead"], json!(true));

    let quiet = mail.run().await;
    assert_eq!(
        quiet.to_outlook.total() + quiet.to_erp.total(),
        0,
        "{quiet:?}"
    );
}

#[tokio::test]
async fn a_move_between_folders_moves_the_erp_message_into_the_twin_of_a_new_folder() {
    let mail = Mail::start().await;
    let id = mail.deliver("inbox", "Project plan");
    mail.run().await;

    let root = mail.folder("msgfolderroot");
    let projects = mail
        .graph()
        .user_create_mail_folder(&mail.oid, &root, "Projects");
    let sub = mail
        .graph()
        .user_create_mail_folder(&mail.oid, &projects, "Alpha");
    mail.graph().user_move_message(&mail.oid, &id, &sub);
    let run = mail.run().await;
    assert_eq!(run.to_erp.updated, 1, "{run:?}");
    assert_eq!(
        run.to_erp.created, 0,
        "a move is not a new message: {run:?}"
    );
    assert_eq!(mail.erp_folder_of("Project plan"), "Alpha");
    let folders = mail.erp().list(FOLDERS);
    let alpha = folders
        .iter()
        .find(|f| f["ServerFolderID"] == json!(sub))
        .expect("Alpha's twin");
    let parent = ref_id(&alpha["ParentFolder"]).expect("under Projects' twin");
    assert_eq!(folder_name(&mail.erp_folder(&parent)), "Projects");
    assert_eq!(mail.erp_messages().len(), 1);
}

#[tokio::test]
async fn a_delete_goes_to_trash_and_a_restore_brings_it_back() {
    let mail = Mail::start().await;
    let id = mail.deliver("inbox", "Mistake");
    mail.run().await;

    mail.graph()
        .user_move_message(&mail.oid, &id, "deleteditems");
    mail.run().await;
    assert_eq!(mail.erp_folder_of("Mistake"), "Trash");

    mail.graph().user_move_message(&mail.oid, &id, "inbox");
    mail.run().await;
    assert_eq!(mail.erp_folder_of("Mistake"), "Inbox");

    // Deleted for good (Shift+Delete): Trash too, and the message stays in ERP.net.
    mail.graph().user_purge_message(&mail.oid, &id);
    let run = mail.run().await;
    assert_eq!(run.to_erp.removed, 1, "{run:?}");
    assert_eq!(mail.erp_folder_of("Mistake"), "Trash");
    assert_eq!(
        mail.erp_messages().len(),
        1,
        "no duplicate after the round trip"
    );
}

#[tokio::test]
async fn deleted_in_erp_goes_to_deleted_items_in_outlook() {
    let mail = Mail::start().await;
    let id = mail.deliver("inbox", "Spam-ish");
    mail.run().await;

    let row = mail.erp_message("Spam-ish");
    let trash = mail.trash_of(&row);
    mail.erp()
        .user_move_mail(row["Id"].as_str().unwrap(), &trash);
    let run = mail.run().await;
    assert_eq!(run.to_outlook.removed, 1, "{run:?}");
    assert_eq!(mail.outlook_folder_of(&id), mail.folder("deleteditems"));
    // The move comes back from Outlook as the message now in Deleted Items: nothing more to do.
    let quiet = mail.run().await;
    assert_eq!(
        quiet.to_outlook.total() + quiet.to_erp.total(),
        0,
        "{quiet:?}"
    );
    assert_eq!(mail.erp_folder_of("Spam-ish"), "Trash");
}

#[tokio::test]
async fn a_renamed_folder_is_renamed_in_erp() {
    let mail = Mail::start().await;
    let root = mail.folder("msgfolderroot");
    let folder = mail
        .graph()
        .user_create_mail_folder(&mail.oid, &root, "Clients");
    mail.deliver(&folder, "Contract");
    mail.run().await;
    assert_eq!(mail.erp_folder_of("Contract"), "Clients");

    mail.graph()
        .user_rename_mail_folder(&mail.oid, &folder, "Customers");
    mail.run().await;
    assert_eq!(mail.erp_folder_of("Contract"), "Customers");
    let twins = mail
        .erp()
        .list(FOLDERS)
        .into_iter()
        .filter(|f| f["ServerFolderID"] == json!(folder))
        .count();
    assert_eq!(twins, 1, "renamed, not created again");
}

#[tokio::test]
async fn a_copy_is_a_second_message_in_the_other_folder() {
    let mail = Mail::start().await;
    let id = mail.deliver("inbox", "Minutes");
    mail.run().await;
    let root = mail.folder("msgfolderroot");
    let archive = mail
        .graph()
        .user_create_mail_folder(&mail.oid, &root, "Board");
    mail.graph().user_copy_message(&mail.oid, &id, &archive);
    let run = mail.run().await;
    assert_eq!(run.to_erp.created, 1, "{run:?}");
    let mut places: Vec<String> = mail
        .erp_messages()
        .iter()
        .filter(|m| m["Subject"] == json!("Minutes"))
        .map(|m| folder_name(&mail.erp_folder(&ref_id(&m["MailBoxFolder"]).unwrap())))
        .collect();
    places.sort();
    assert_eq!(places, vec!["Board".to_owned(), "Inbox".to_owned()]);
}

#[tokio::test]
async fn junk_email_stays_out_of_erp() {
    let mail = Mail::start().await;
    mail.deliver("junkemail", "You won");
    mail.deliver("inbox", "Real");
    mail.run().await;
    let subjects: Vec<Value> = mail
        .erp_messages()
        .iter()
        .map(|m| m["Subject"].clone())
        .collect();
    assert_eq!(subjects, vec![json!("Real")]);
}

#[tokio::test]
async fn a_first_sync_over_5000_messages_takes_5000_and_says_so() {
    let mail = Mail::start().await;
    for n in 0..5_003 {
        mail.deliver("inbox", &format!("Bulk {n}"));
    }
    let run = mail
        .env
        .app
        .run_job(&mail.alice, JobKind::Mail, false)
        .await;
    let report = run.result.expect("the run succeeds");
    assert_eq!(report.to_erp.created, 5_000, "{report:?}");
    assert!(
        run.log
            .iter()
            .any(|l| l.text.contains("more than 5000 messages")),
        "the cap is logged: {:?}",
        run.log
    );
    // Later mail still arrives: the delta link after the capped round covers it.
    mail.deliver("inbox", "After the cap");
    mail.run().await;
    mail.erp_message("After the cap");
}

#[tokio::test]
async fn the_mail_switch_refuses_without_a_usable_default_mailbox_and_home_shows_the_error() {
    let (env, alice) = alice_env().await;
    let erp_user = env.world.alice().erp_user_id.clone();
    // An administrator gives the box another address: not the principal name any more.
    let boxes = env.world.erp.list("Applications_Mail_Boxes");
    let mine = boxes
        .iter()
        .find(|b| ref_id(&b["OwnerUser"]).as_deref() == Some(erp_user.as_str()))
        .unwrap();
    env.world.erp.edit(
        "Applications_Mail_Boxes",
        mine["Id"].as_str().unwrap(),
        |b| {
            b.insert("EmailAddress".into(), json!("alice.old@contoso.example"));
        },
    );
    let refused = env
        .app
        .set_job_enabled(&alice, JobKind::Mail, true)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NoMailBox);
    assert!(
        refused.reason.contains("principal name"),
        "{}",
        refused.reason
    );
    assert!(
        refused.reason.contains("administrator"),
        "the fix: {}",
        refused.reason
    );

    let permissions = env
        .app
        .give_permissions(&mssync_core::app::Actor::Host)
        .await
        .unwrap();
    let report = permissions
        .mail_boxes
        .iter()
        .find(|b| b.email == env.world.alice().email)
        .unwrap();
    assert_eq!(report.state, "wrong_address");
    assert!(!permissions.missing.is_empty());

    // Fixed, turned on; then broken again: the run fails and Home says so the original's way.
    env.world.erp.edit(
        "Applications_Mail_Boxes",
        mine["Id"].as_str().unwrap(),
        |b| {
            b.insert("EmailAddress".into(), json!(env.world.alice().email));
        },
    );
    env.app
        .set_job_enabled(&alice, JobKind::Mail, true)
        .await
        .unwrap();
    env.world.erp.edit(
        "Applications_Mail_Boxes",
        mine["Id"].as_str().unwrap(),
        |b| {
            b.insert("IsEncrypted".into(), json!(true));
        },
    );
    let failed = env.app.run_job(&alice, JobKind::Mail, false).await;
    assert_eq!(failed.result.unwrap_err().code, ErrorCode::NoMailBox);
    let home = env.app.home(&alice).await.unwrap();
    let card = home.jobs.iter().find(|j| j.job == JobKind::Mail).unwrap();
    assert!(
        card.state
            .starts_with("Error: SyncJob 'Mail' processing error."),
        "{}",
        card.state
    );
    assert!(card.state.contains("encrypted"), "{}", card.state);
    // Calendar is not affected.
    let calendar = home
        .jobs
        .iter()
        .find(|j| j.job == JobKind::Calendar)
        .unwrap();
    assert!(!calendar.state.starts_with("Error"), "{}", calendar.state);
}

#[tokio::test]
async fn without_mail_permission_the_run_fails_with_the_fix_and_connect_says_what_is_missing() {
    let (env, alice) = alice_env().await;
    env.app
        .set_job_enabled(&alice, JobKind::Mail, true)
        .await
        .unwrap();
    env.world
        .entra
        .set_app_roles(&["Calendars.ReadWrite", "User.Read.All"]);
    env.advance(Duration::from_secs(3600 * 2));
    let report = env
        .app
        .connect(&mssync_core::app::Actor::Host, &env.world.admin.oid)
        .await
        .unwrap();
    assert!(report.graph && !report.mail, "{report:?}");
    assert!(
        report.missing.iter().any(|m| m.contains("Mail.ReadWrite")),
        "{report:?}"
    );
    let permissions = env
        .app
        .give_permissions(&mssync_core::app::Actor::Host)
        .await
        .unwrap();
    assert_eq!(permissions.mail_permission, Some(false), "{permissions:?}");
    assert!(
        permissions
            .missing
            .iter()
            .any(|m| m.contains("Mail.ReadWrite")),
        "{permissions:?}"
    );
    let failed = env.app.run_job(&alice, JobKind::Mail, false).await;
    let error = failed.result.unwrap_err();
    assert_eq!(error.code, ErrorCode::Forbidden, "{error:?}");
}

#[tokio::test]
async fn calendar_and_mail_share_the_mailbox_limit_of_four_requests_in_flight() {
    let mail = Mail::start().await;
    for n in 0..12 {
        let id = mail.deliver("inbox", &format!("With file {n}"));
        mail.graph()
            .add_attachment(&mail.oid, &id, "file.pdf", "application/pdf", 1_000, false);
    }
    let erp_user = mail.env.world.alice().erp_user_id.clone();
    for n in 0..12 {
        let start = mail.env.clock.now() + chrono::Duration::days(1 + n);
        let mut seed = mssync_sim::erp::ActivitySeed::new(format!("Visit {n}"), start);
        seed.assigned_to = Some(erp_user.clone());
        mail.erp().seed_activity(seed);
    }
    // Slow answers keep requests of both jobs in flight together.
    mail.graph().set_delay(Duration::from_millis(30));
    mail.env.advance(Duration::from_secs(60));
    let (calendar, mail_run) = futures::join!(
        mail.env.app.run_job(&mail.alice, JobKind::Calendar, false),
        mail.env.app.run_job(&mail.alice, JobKind::Mail, false)
    );
    mail.graph().set_delay(Duration::ZERO);
    let calendar = calendar.result.expect("the Calendar run");
    let mail_run = mail_run.result.expect("the Mail run");
    assert_eq!(calendar.to_outlook.created, 12, "{calendar:?}");
    assert_eq!(mail_run.to_erp.created, 12, "{mail_run:?}");
    let max = mail.graph().max_concurrency(&mail.oid);
    assert!(
        (2..=4).contains(&max),
        "both jobs' requests share the mailbox's four slots: at most {max} were in flight"
    );
}

#[tokio::test]
async fn a_draft_edited_in_outlook_is_edited_in_erp() {
    let mail = Mail::start().await;
    let draft = mail.graph().deliver_message(
        &mail.oid,
        "drafts",
        json!({
            "subject": "Offer (draft)",
            "body": {"contentType": "html", "content": "<p>Dear Bob,</p>"},
            "toRecipients": [{"emailAddress": {"address": "bob@fabrikam.example"}}],
            "isDraft": true,
            "receivedDateTime": mail.received(0),
        }),
    );
    mail.run().await;
    let first = mail.erp_message("Offer (draft)");
    assert_eq!(
        first["FromEmailAddress"],
        json!("alice@contoso.example"),
        "a draft is from its mailbox"
    );
    assert_eq!(mail.erp_folder_of("Offer (draft)"), "Drafts");

    mail.graph().user_edit_message(
        &mail.oid,
        &draft,
        json!({
            "subject": "Offer for Q3 (draft)",
            "body": {"contentType": "html", "content": "<p>Dear Bob, the prices are attached.</p>"},
            "ccRecipients": [{"emailAddress": {"address": "carol@fabrikam.example"}}],
        }),
    );
    let run = mail.run().await;
    assert_eq!(run.to_erp.updated, 1, "{run:?}");
    let edited = mail.erp_message("Offer for Q3 (draft)");
    assert_eq!(edited["Id"], first["Id"], "the same row, edited");
    assert_eq!(
        edited["Body"],
        json!("<p>Dear Bob, the prices are attached.</p>")
    );
    assert_eq!(
        edited["CcEmailAddressList"],
        json!("carol@fabrikam.example")
    );
    assert_eq!(mail.erp_messages().len(), 1);

    // Read in Outlook: only the read state is written, the content is unchanged.
    mail.graph().user_set_message_read(&mail.oid, &draft, true);
    let read = mail.run().await;
    assert_eq!(read.to_erp.updated, 1, "{read:?}");
    let quiet = mail.run().await;
    assert_eq!(
        quiet.to_erp.total() + quiet.to_outlook.total(),
        0,
        "{quiet:?}"
    );
}
