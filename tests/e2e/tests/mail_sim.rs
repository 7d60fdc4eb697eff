//! The Graph simulator's mail surface answers as Graph's pages say (docs/wire/graph.md, "Mail"),
//! over real HTTP: the base the Mail job's connector is built and tested on.

use mssync_cli::http::ReqwestHttp;
use mssync_core::host::{HttpClient, HttpRequest, Method};
use mssync_sim::graph::GraphSim;
use serde_json::{Value, json};

const USER: &str = "0b9a5cf0-5f25-4f6e-9a41-2d0f5d3c1b77";
const IMMUTABLE: &str = r#"IdType="ImmutableId""#;

struct Mailbox {
    sim: GraphSim,
    http: ReqwestHttp,
}

impl Mailbox {
    async fn start() -> Self {
        let sim = GraphSim::start().await;
        sim.add_mailbox(USER);
        Self {
            sim,
            http: ReqwestHttp::new(),
        }
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/users/{USER}/{rest}", self.sim.base_url())
    }

    /// `prefer` is the whole `Prefer` value (none when empty).
    async fn send(
        &self,
        method: Method,
        url: &str,
        prefer: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = HttpRequest::new(method, url).header("Authorization", "Bearer app-token");
        if !prefer.is_empty() {
            request = request.header("Prefer", prefer);
        }
        if let Some(body) = body {
            request = request.json_body(&body);
        }
        let response = self
            .http
            .send(request)
            .await
            .expect("the simulator answers");
        let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status, body)
    }

    async fn get(&self, url: &str, prefer: &str) -> (u16, Value) {
        self.send(Method::Get, url, prefer, None).await
    }

    /// A whole delta round from `url`: every entry, and the deltaLink.
    async fn round(&self, url: &str, prefer: &str) -> (Vec<Value>, String, usize) {
        let (mut entries, mut next, mut pages) = (Vec::new(), url.to_owned(), 0);
        loop {
            let (status, body) = self.get(&next, prefer).await;
            assert_eq!(status, 200, "{body}");
            pages += 1;
            entries.extend(body["value"].as_array().cloned().unwrap_or_default());
            if let Some(link) = body["@odata.nextLink"].as_str() {
                next = link.to_owned();
                continue;
            }
            let delta = body["@odata.deltaLink"].as_str().expect("a delta link");
            return (entries, delta.to_owned(), pages);
        }
    }

    fn deliver(&self, subject: &str, received: &str) -> String {
        self.sim.deliver_message(
            USER,
            "inbox",
            json!({
                "subject": subject,
                "from": {"emailAddress": {"address": "bob@fabrikam.example", "name": "Bob"}},
                "toRecipients": [{"emailAddress": {"address": "alice@contoso.example"}}],
                "receivedDateTime": received,
                "body": {"contentType": "html", "content": format!("<p>{subject}</p>")},
            }),
        )
    }
}

fn ids(entries: &[Value]) -> Vec<&str> {
    entries.iter().filter_map(|e| e["id"].as_str()).collect()
}

#[tokio::test]
async fn a_move_keeps_the_immutable_id_and_leaves_a_removal_in_the_old_folder() {
    let m = Mailbox::start().await;
    let first = m.deliver("Quarterly numbers", "2026-11-30T09:00:00Z");
    let second = m.deliver("Lunch?", "2026-11-30T10:00:00Z");
    let prefer = format!("{IMMUTABLE}, odata.maxpagesize=1");
    let inbox = m.url("mailFolders/inbox/messages/delta");
    let (entries, inbox_link, pages) = m.round(&inbox, &prefer).await;
    assert_eq!(pages, 2, "one message a page");
    let mut seen = ids(&entries);
    seen.sort();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(seen, expected);

    let archive = m.sim.mail_folder_id(USER, "archive").unwrap();
    let (_, archive_link, _) = m
        .round(
            &m.url(&format!("mailFolders/{archive}/messages/delta")),
            IMMUTABLE,
        )
        .await;
    m.sim.user_move_message(USER, &first, "archive");

    let (entries, _, _) = m.round(&inbox_link, IMMUTABLE).await;
    assert_eq!(
        entries,
        vec![json!({"id": first, "@removed": {"reason": "deleted"}})]
    );
    let (entries, _, _) = m.round(&archive_link, IMMUTABLE).await;
    assert_eq!(
        ids(&entries),
        [first.as_str()],
        "the same id, now in Archive"
    );
    assert_eq!(entries[0]["parentFolderId"], json!(archive));
}

#[tokio::test]
async fn without_immutable_ids_a_moved_message_gets_a_new_id() {
    let m = Mailbox::start().await;
    let id = m.deliver("Invoice", "2026-11-30T09:00:00Z");
    let url = m.url(&format!("messages/{id}"));
    let (_, immutable) = m.get(&url, IMMUTABLE).await;
    assert_eq!(immutable["id"], json!(id));
    let (_, before) = m.get(&url, "").await;
    assert_ne!(
        before["id"],
        json!(id),
        "the REST id is not the immutable one"
    );
    m.sim.user_move_message(USER, &id, "deleteditems");
    let (status, after) = m.get(&url, "").await;
    assert_eq!(status, 200);
    assert_ne!(after["id"], before["id"], "a move changes the REST id");
    let (_, immutable) = m.get(&url, IMMUTABLE).await;
    assert_eq!(immutable["id"], json!(id), "but not the immutable one");
}

#[tokio::test]
async fn a_filtered_delta_returns_at_most_five_thousand_messages() {
    let m = Mailbox::start().await;
    for i in 0..5_010 {
        let received = format!(
            "2026-11-{:02}T{:02}:{:02}:00Z",
            24 + i / 1_440,
            (i / 60) % 24,
            i % 60
        );
        m.deliver(&format!("Message {i}"), &received);
    }
    let url =
        m.url("mailFolders/inbox/messages/delta?$filter=receivedDateTime ge 2026-11-24T00:00:00Z");
    let (entries, _, _) = m
        .round(&url, &format!("{IMMUTABLE}, odata.maxpagesize=1000"))
        .await;
    assert_eq!(entries.len(), 5_000);
    assert!(
        entries.iter().all(|e| e["subject"] != json!("Message 0")),
        "the oldest are the ones left out"
    );
}

#[tokio::test]
async fn marking_read_is_the_one_write_and_unknown_names_are_refused() {
    let m = Mailbox::start().await;
    let id = m.deliver("Status", "2026-11-30T09:00:00Z");
    let url = m.url(&format!("messages/{id}"));
    let (status, body) = m
        .send(
            Method::Patch,
            &url,
            IMMUTABLE,
            Some(json!({"isRead": true})),
        )
        .await;
    assert_eq!((status, &body["isRead"]), (200, &json!(true)), "{body}");
    assert!(m.sim.messages(USER).iter().all(|(_, _, _, read)| *read));

    let (status, body) = m
        .send(
            Method::Patch,
            &url,
            IMMUTABLE,
            Some(json!({"IsRead": true})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], json!("RequestBodyRead"));

    let (status, _) = m
        .get(
            &m.url("mailFolders/inbox/messages/delta?$select=subject,isUnread"),
            IMMUTABLE,
        )
        .await;
    assert_eq!(status, 400, "no such property");
    let (status, _) = m
        .get(
            &m.url("mailFolders/inbox/messages/delta?$filter=subject eq 'Status'"),
            IMMUTABLE,
        )
        .await;
    assert_eq!(status, 400, "receivedDateTime is the only filter");
    let (status, _) = m
        .get(&m.url("mailFolders/notafolder/messages/delta"), IMMUTABLE)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_folder_delta_shows_new_and_renamed_folders_and_tokens_can_expire() {
    let m = Mailbox::start().await;
    let (entries, link, _) = m.round(&m.url("mailFolders/delta"), IMMUTABLE).await;
    let names: Vec<&str> = entries
        .iter()
        .filter_map(|f| f["displayName"].as_str())
        .collect();
    for name in ["Inbox", "Sent Items", "Drafts", "Deleted Items"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let projects = m.sim.user_create_mail_folder(USER, "inbox", "Projects");
    let (entries, link, _) = m.round(&link, IMMUTABLE).await;
    assert_eq!(ids(&entries), [projects.as_str()]);
    let inbox = m.sim.mail_folder_id(USER, "inbox").unwrap();
    assert_eq!(entries[0]["parentFolderId"], json!(inbox));
    m.sim
        .user_rename_mail_folder(USER, &projects, "Projects 2027");
    let (entries, link, _) = m.round(&link, IMMUTABLE).await;
    assert_eq!(entries[0]["displayName"], json!("Projects 2027"));

    m.sim.expire_mail_delta_tokens();
    let (status, body) = m.get(&link, IMMUTABLE).await;
    assert_eq!(status, 410);
    assert_eq!(body["error"]["code"], json!("syncStateNotFound"));
}

#[tokio::test]
async fn attachments_are_listed_with_their_size_and_type() {
    let m = Mailbox::start().await;
    let id = m.deliver("Contract", "2026-11-30T09:00:00Z");
    m.sim
        .add_attachment(USER, &id, "contract.pdf", "application/pdf", 48_213, false);
    m.sim
        .add_attachment(USER, &id, "logo.png", "image/png", 2_048, true);
    let (status, body) = m
        .get(&m.url(&format!("messages/{id}/attachments")), IMMUTABLE)
        .await;
    assert_eq!(status, 200);
    let names: Vec<(&str, u64, bool)> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["size"].as_u64().unwrap(),
                a["isInline"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [("contract.pdf", 48_213, false), ("logo.png", 2_048, true)]
    );
    let (_, message) = m.get(&m.url(&format!("messages/{id}")), IMMUTABLE).await;
    assert_eq!(message["hasAttachments"], json!(true));
}

#[tokio::test]
async fn an_unknown_mailbox_is_refused() {
    let m = Mailbox::start().await;
    let url = format!("{}/users/nobody/mailFolders/delta", m.sim.base_url());
    let (status, body) = m.get(&url, IMMUTABLE).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], json!("ErrorInvalidUser"));
}

#[tokio::test]
async fn mail_needs_a_mail_permission_and_marking_read_needs_read_write() {
    use mssync_sim::graph::Principal;
    let m = Mailbox::start().await;
    let id = m.deliver("Status", "2026-11-30T09:00:00Z");
    let grant = |grants: &'static [&'static str]| {
        std::sync::Arc::new(move |_: &str| {
            Ok(Principal {
                oid: None,
                grants: Some(grants.iter().map(|g| (*g).to_owned()).collect()),
            })
        })
    };
    let message = m.url(&format!("messages/{id}"));
    let read = Some(json!({"isRead": true}));

    m.sim
        .set_authorizer(grant(&["Calendars.ReadWrite", "User.Read.All"]));
    let (status, body) = m.get(&message, IMMUTABLE).await;
    assert_eq!(status, 403, "a calendar-only app reads no mail: {body}");
    assert_eq!(body["error"]["code"], json!("ErrorAccessDenied"));

    m.sim.set_authorizer(grant(&["Mail.Read"]));
    assert_eq!(m.get(&message, IMMUTABLE).await.0, 200);
    assert_eq!(
        m.send(Method::Patch, &message, IMMUTABLE, read.clone())
            .await
            .0,
        403,
        "Mail.Read cannot mark read"
    );
    let calendar = m.url(
        "calendarView/delta?startDateTime=2026-11-01T00:00:00Z&endDateTime=2026-12-01T00:00:00Z",
    );
    assert_eq!(
        m.get(&calendar, IMMUTABLE).await.0,
        403,
        "nor read calendars"
    );

    m.sim.set_authorizer(grant(&["Mail.ReadWrite"]));
    assert_eq!(
        m.send(Method::Patch, &message, IMMUTABLE, read).await.0,
        200
    );
}

#[tokio::test]
async fn an_erp_mailbox_has_its_system_folders_and_reads_through_the_wire_names() {
    use mssync_core::wire::erp::mail::{BOX_FOLDERS, BOXES};
    use mssync_sim::erp::{ErpSim, MailBoxSeed};
    let erp = ErpSim::start(chrono::Utc::now()).await;
    erp.require_auth(false);
    let user = erp.add_user("alice@contoso.example", false, true);
    let mailbox = erp.add_mail_box(MailBoxSeed::default_for(&user, "alice@contoso.example"));
    let http = ReqwestHttp::new();
    let get = |url: String| {
        let http = &http;
        async move {
            let response = http.send(HttpRequest::new(Method::Get, url)).await.unwrap();
            let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
            (response.status, body)
        }
    };
    let url = |set: &str, query: &[(&str, &str)]| {
        let root = erp.odata_root();
        url::Url::parse_with_params(&format!("{}/{set}", root.trim_end_matches('/')), query)
            .unwrap()
            .to_string()
    };
    let boxes = url(
        BOXES,
        &[
            (
                "$filter",
                "IsDefault eq true and EmailAddress eq 'alice@contoso.example'",
            ),
            ("$select", "Id,IsEncrypted"),
        ],
    );
    let (status, body) = get(boxes).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"][0]["Id"], json!(mailbox));
    assert_eq!(body["value"][0]["IsEncrypted"], json!(false));

    let folders = url(
        BOX_FOLDERS,
        &[
            ("$filter", "SystemPurpose eq 'Inbox'"),
            ("$select", "Id,FolderName"),
        ],
    );
    let (status, body) = get(folders).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"].as_array().unwrap().len(), 1);

    let unknown = url(BOX_FOLDERS, &[("$select", "Id,DisplayName2")]);
    assert_ne!(get(unknown).await.0, 200, "an unknown property is refused");
}
