//! The Graph connector against the Graph simulator, over real HTTP on loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use mssync_cli::http::ReqwestHttp;
use mssync_core::error::{ErrorCode, PublicError};
use mssync_core::graph::{
    BatchItem, EventType, GraphClient, GraphConfig, GraphError, Mailbox, Window,
};
use mssync_core::host::{
    HttpClient, HttpRequest, HttpResponse, ManualClock, Method, TransportError, TransportErrorKind,
};
use mssync_core::identity::{StaticToken, TokenSource};
use mssync_core::jobs::calendar::map_graph;
use mssync_core::model::tz::Zone;
use mssync_core::model::{Attendee, CalendarItem, Field, Importance, Sensitivity, When};
use mssync_sim::graph::{GraphSim, Principal, RecordedRequest};
use serde_json::{Value, json};

const USER: &str = "6e1f3a52-0c4b-4d7e-9a1f-2b3c4d5e6f70";

fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn window() -> Window {
    Window {
        start: t(2026, 3, 1, 0, 0),
        end: t(2026, 4, 1, 0, 0),
    }
}

fn sofia() -> Zone {
    Zone::parse("Europe/Sofia").unwrap()
}

struct Setup {
    sim: Arc<GraphSim>,
    clock: Arc<ManualClock>,
    graph: GraphClient,
}

async fn setup() -> Setup {
    let sim = Arc::new(GraphSim::start().await);
    sim.add_mailbox(USER);
    let http: Arc<dyn HttpClient> = Arc::new(ReqwestHttp::new());
    connect(
        sim,
        http,
        Mailbox::User(USER.into()),
        Arc::new(StaticToken("app-token".into())),
    )
}

fn connect(
    sim: Arc<GraphSim>,
    http: Arc<dyn HttpClient>,
    mailbox: Mailbox,
    tokens: Arc<dyn TokenSource>,
) -> Setup {
    let clock = Arc::new(ManualClock::new(t(2026, 3, 1, 8, 0)));
    let config = GraphConfig::new(sim.base_url(), mailbox, sofia());
    let graph = GraphClient::new(http, clock.clone(), tokens, config).unwrap();
    Setup { sim, clock, graph }
}

/// An event as a user would make it in Outlook, in Sofia time.
fn outlook_event(subject: &str, day: u32, hour: u32) -> Value {
    json!({
        "subject": subject,
        "body": {"contentType": "html", "content": format!("<html><body><p>About {subject}</p></body></html>")},
        "start": {"dateTime": format!("2026-03-{day:02}T{hour:02}:00:00.0000000"), "timeZone": "FLE Standard Time"},
        "end": {"dateTime": format!("2026-03-{day:02}T{:02}:00:00.0000000", hour + 1), "timeZone": "FLE Standard Time"},
        "location": {"displayName": "Room 1"},
        "categories": ["Blue"]
    })
}

fn item(subject: &str) -> CalendarItem {
    CalendarItem {
        subject: subject.into(),
        when: When::Timed {
            start: t(2026, 3, 10, 7, 0),
            end: t(2026, 3, 10, 8, 0),
            zone: None,
        },
        body: "Agenda\nnumbers & plans".into(),
        sensitivity: Sensitivity::Private,
        importance: Importance::High,
        reminder_minutes_before_start: Some(10),
        attendees: vec![Attendee {
            email: "ann@example.com".into(),
            name: Some("Ann".into()),
        }],
        series: None,
    }
}

#[tokio::test]
async fn a_throttled_run_waits_as_retry_after_says() {
    let s = setup().await;
    let id = s.sim.seed_event(USER, outlook_event("Standup", 2, 9));
    s.sim.throttle_next(2, 3);
    let event = s.graph.get_event(&id).await.unwrap();
    assert_eq!(event.subject.as_deref(), Some("Standup"));
    assert_eq!(
        s.clock.sleeps(),
        [Duration::from_secs(3), Duration::from_secs(3)]
    );
    assert_eq!(s.sim.requests().len(), 3);

    // 503 without Retry-After: exponential backoff with jitter (1 s step, then 2 s).
    s.sim.unavailable_next(2);
    s.graph.get_event(&id).await.unwrap();
    let backoff = &s.clock.sleeps()[2..];
    assert!(
        backoff[0] >= Duration::from_millis(500) && backoff[0] <= Duration::from_secs(1),
        "{backoff:?}"
    );
    assert!(
        backoff[1] >= Duration::from_secs(1) && backoff[1] <= Duration::from_secs(2),
        "{backoff:?}"
    );

    // A wait longer than a run sleeps through ends it as throttled, with the time to resume.
    s.sim.throttle_next(1, 3600);
    let err = s.graph.get_event(&id).await.unwrap_err();
    assert!(
        matches!(err, GraphError::Throttled { status: 429, .. }),
        "{err:?}"
    );
    assert_eq!(PublicError::from(err).code, ErrorCode::Throttled);
}

#[tokio::test]
async fn never_more_than_four_requests_in_flight_per_mailbox() {
    let s = setup().await;
    let ids: Vec<String> = (0..12)
        .map(|i| {
            s.sim
                .seed_event(USER, outlook_event(&format!("E{i}"), 2 + i, 9))
        })
        .collect();
    s.sim.set_delay(Duration::from_millis(300));
    let reads = futures::future::join_all(ids.iter().map(|id| s.graph.get_event(id))).await;
    for (read, id) in reads.iter().zip(&ids) {
        assert_eq!(&read.as_ref().unwrap().id, id);
    }
    let max = s.sim.max_concurrency(USER);
    assert!((2..=4).contains(&max), "max in flight {max}");
    assert!(s.clock.sleeps().is_empty(), "no request was refused");

    // The simulator does enforce the limit: twelve requests sent without the gate are refused.
    let raw = ReqwestHttp::new();
    let sends = ids.iter().map(|id| {
        let request = HttpRequest::new(
            Method::Get,
            format!("{}/users/{USER}/events/{id}", s.sim.base_url()),
        )
        .header("Authorization", "Bearer x");
        raw.send(request)
    });
    let answers = futures::future::join_all(sends).await;
    assert!(answers.iter().any(|a| a.as_ref().unwrap().status == 429));
    assert!(s.sim.max_concurrency(USER) > 4);
}

#[tokio::test]
async fn a_paged_delta_is_read_to_its_delta_link() {
    let mut s = setup().await;
    for day in 2..9 {
        s.sim
            .seed_event(USER, outlook_event(&format!("Day {day}"), day, 10));
    }
    s.sim.seed_event(
        USER,
        outlook_event("Outside", 2, 10).tap(|e| {
            e["start"]["dateTime"] = json!("2026-05-02T10:00:00.0000000");
            e["end"]["dateTime"] = json!("2026-05-02T11:00:00.0000000");
        }),
    );
    s.sim.delta_replays(true);
    s.sim.delta_empty_first_page(true);
    let config = GraphConfig {
        max_page_size: 3,
        ..s.graph.config().clone()
    };
    s.graph = GraphClient::new(
        Arc::new(ReqwestHttp::new()),
        s.clock.clone(),
        Arc::new(StaticToken("t".into())),
        config,
    )
    .unwrap();
    let delta = s.graph.delta(&window(), None).await.unwrap();
    assert_eq!(
        delta.pages, 4,
        "an empty page, then 7 changes in pages of 3"
    );
    let mut subjects: Vec<_> = delta
        .changed
        .iter()
        .map(|e| e.subject.clone().unwrap())
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        (2..9).map(|d| format!("Day {d}")).collect::<Vec<_>>(),
        "replays folded"
    );
    assert!(delta.removed.is_empty());
    assert!(
        delta.delta_link.contains("$deltatoken="),
        "{}",
        delta.delta_link
    );
    // Times come in the user's zone, bodies as text.
    let first = &delta.changed[0];
    assert_eq!(first.start.as_ref().unwrap().time_zone, "FLE Standard Time");
    assert_eq!(first.body.as_ref().unwrap().content_type, "text");
}

#[tokio::test]
async fn a_second_delta_returns_only_changes_and_removals() {
    let s = setup().await;
    let kept = s.sim.seed_event(USER, outlook_event("Kept", 2, 9));
    let edited = s.sim.seed_event(USER, outlook_event("Edited", 3, 9));
    let deleted = s.sim.seed_event(USER, outlook_event("Deleted", 4, 9));
    let moved_out = s.sim.seed_event(USER, outlook_event("Moved out", 5, 9));
    let first = s.graph.delta(&window(), None).await.unwrap();
    assert_eq!(first.changed.len(), 4);

    s.sim
        .user_update(USER, &edited, json!({"subject": "Edited in Outlook"}));
    s.sim.user_delete(USER, &deleted);
    s.sim.user_update(
        USER,
        &moved_out,
        json!({
            "start": {"dateTime": "2026-06-05T09:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-06-05T10:00:00.0000000", "timeZone": "UTC"}
        }),
    );
    let added = s.sim.seed_event(USER, outlook_event("Added", 6, 9));

    let second = s
        .graph
        .delta(&window(), Some(&first.delta_link))
        .await
        .unwrap();
    let changed: Vec<_> = second.changed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(changed.len(), 2);
    assert!(changed.contains(&edited.as_str()) && changed.contains(&added.as_str()));
    assert!(!changed.contains(&kept.as_str()));
    let mut removed = second.removed.clone();
    removed.sort();
    let mut expected = vec![deleted.clone(), moved_out.clone()];
    expected.sort();
    assert_eq!(
        removed, expected,
        "deleted and left-the-window both come as @removed"
    );

    let third = s
        .graph
        .delta(&window(), Some(&second.delta_link))
        .await
        .unwrap();
    assert!(third.changed.is_empty() && third.removed.is_empty());
}

#[tokio::test]
async fn an_expired_token_yields_resync_required_not_a_loop() {
    let s = setup().await;
    s.sim.seed_event(USER, outlook_event("One", 2, 9));
    let first = s.graph.delta(&window(), None).await.unwrap();
    s.sim.expire_delta_tokens();
    s.sim.clear_requests();
    let err = s
        .graph
        .delta(&window(), Some(&first.delta_link))
        .await
        .unwrap_err();
    assert_eq!(err, GraphError::ResyncRequired);
    assert_eq!(PublicError::from(err).code, ErrorCode::ResyncRequired);
    assert_eq!(s.sim.requests().len(), 1, "asked once, no retries");
    assert!(s.clock.sleeps().is_empty());
    let again = s.graph.delta(&window(), None).await.unwrap();
    assert_eq!(again.changed.len(), 1);
}

/// Expires every delta link once the first page has been answered.
struct ExpireAfterFirst {
    http: ReqwestHttp,
    sim: Arc<GraphSim>,
    sent: AtomicUsize,
}

#[async_trait(?Send)]
impl HttpClient for ExpireAfterFirst {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let response = self.http.send(request).await;
        if self.sent.fetch_add(1, Ordering::SeqCst) == 0 {
            self.sim.expire_delta_tokens();
        }
        response
    }
}

#[tokio::test]
async fn an_expired_next_link_yields_resync_required() {
    let base = setup().await;
    for day in 2..7 {
        base.sim.seed_event(USER, outlook_event("E", day, 9));
    }
    let http = Arc::new(ExpireAfterFirst {
        http: ReqwestHttp::new(),
        sim: base.sim.clone(),
        sent: AtomicUsize::new(0),
    });
    let config = GraphConfig {
        max_page_size: 2,
        ..base.graph.config().clone()
    };
    let graph = GraphClient::new(
        http,
        base.clock.clone(),
        Arc::new(StaticToken("t".into())),
        config,
    )
    .unwrap();
    let err = graph.delta(&window(), None).await.unwrap_err();
    assert_eq!(err, GraphError::ResyncRequired);
    assert_eq!(
        base.sim.requests().len(),
        2,
        "the first page, then the expired link once"
    );
}

#[tokio::test]
async fn an_unordered_batch_holds_all_four_slots_of_the_mailbox() {
    let s = setup().await;
    let ids: Vec<String> = (0..6)
        .map(|i| {
            s.sim
                .seed_event(USER, outlook_event(&format!("E{i}"), 2 + i, 9))
        })
        .collect();
    s.sim.set_delay(Duration::from_millis(300));
    let batch = s.graph.batch(
        (0..4)
            .map(|i| BatchItem::get(i.to_string(), &ids[i]))
            .collect(),
    );
    let reads = futures::future::join_all(ids[4..].iter().map(|id| s.graph.get_event(id)));
    let (batch, reads) = futures::join!(batch, reads);
    assert!(batch.unwrap().iter().all(|r| r.status == 200));
    for read in reads {
        read.unwrap();
    }
    // Outlook runs the batch's four items at once: no other request may overlap it.
    assert_eq!(s.sim.max_concurrency(USER), 4);
    assert!(s.clock.sleeps().is_empty(), "no request was refused");
    let batches = s
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/$batch"))
        .count();
    assert_eq!(batches, 1);
}

#[tokio::test]
async fn decimal_retry_after_is_honoured_rounded_up() {
    // Graph's throttling page shows `Retry-After: 2.128`.
    let s = setup().await;
    let id = s.sim.seed_event(USER, outlook_event("Standup", 2, 9));
    s.sim.set_retry_after(Some("2.128"));
    s.sim.throttle_next(1, 0);
    s.graph.get_event(&id).await.unwrap();
    assert_eq!(s.clock.sleeps(), [Duration::from_secs(3)]);

    let zone = sofia();
    let items = vec![BatchItem::create(
        "1",
        "act-decimal",
        map_graph::create_body(&item("Decimal"), &zone),
    )];
    s.sim.fail_batch_item("1", 429, 1);
    let results = s.graph.batch(items).await.unwrap();
    assert_eq!(results[0].status, 201);
    assert_eq!(
        s.clock.sleeps(),
        [Duration::from_secs(3), Duration::from_secs(3)],
        "the batch item waited its own decimal Retry-After, not a backoff step"
    );
}

#[tokio::test]
async fn a_batch_with_one_failed_item_reports_that_item_alone() {
    let s = setup().await;
    let zone = sofia();
    let items: Vec<BatchItem> = (1..=4)
        .map(|i| {
            BatchItem::create(
                i.to_string(),
                &format!("act-{i}"),
                map_graph::create_body(&item(&format!("Activity {i}")), &zone),
            )
        })
        .collect();
    s.sim.fail_batch_item("2", 500, 1);
    s.sim.fail_batch_item("3", 429, 1);
    let results = s.graph.batch(items).await.unwrap();
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 500, 201, 201]);
    assert!(matches!(
        results[1].result,
        Err(GraphError::Service { status: 500, .. })
    ));
    for i in [0, 2, 3] {
        assert!(results[i].result.as_ref().unwrap().is_some());
    }
    assert_eq!(
        s.clock.sleeps(),
        [Duration::from_secs(1)],
        "the throttled item waited its Retry-After"
    );
    assert_eq!(s.sim.events(USER).len(), 3);
    // The throttled item went again alone.
    let batches: Vec<usize> = s
        .sim
        .requests()
        .iter()
        .map(|r| {
            r.body.as_ref().unwrap()["requests"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(batches, [4, 1]);

    // A failed item fails those that depend on it (424), and only those.
    let id = results[0]
        .result
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap()
        .id
        .clone();
    let dependent = vec![
        BatchItem::update("a", "no-such-event", json!({"subject": "x"})),
        BatchItem::update("b", &id, json!({"subject": "y"})).after("a"),
        BatchItem::update("c", &id, json!({"subject": "z"})),
    ];
    let results = s.graph.batch(dependent).await.unwrap();
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [404, 424, 200]);

    let too_many: Vec<BatchItem> = (0..21)
        .map(|i| BatchItem::get(i.to_string(), &id))
        .collect();
    assert!(matches!(
        s.graph.batch(too_many).await,
        Err(GraphError::InvalidRequest(_))
    ));
}

/// Delivers the first POST but loses its answer, as a dropped connection would.
struct LoseFirstAnswer {
    http: ReqwestHttp,
    lost: AtomicUsize,
}

#[async_trait(?Send)]
impl HttpClient for LoseFirstAnswer {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let post = request.method == Method::Post;
        let response = self.http.send(request).await?;
        if post && self.lost.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(TransportError::new(
                TransportErrorKind::Connection,
                "connection reset",
            ));
        }
        Ok(response)
    }
}

#[tokio::test]
async fn a_retried_create_with_the_same_transaction_id_makes_no_duplicate() {
    let base = setup().await;
    let http = Arc::new(LoseFirstAnswer {
        http: ReqwestHttp::new(),
        lost: AtomicUsize::new(0),
    });
    let s = connect(
        base.sim.clone(),
        http,
        Mailbox::User(USER.into()),
        Arc::new(StaticToken("t".into())),
    );
    let body = map_graph::create_body(&item("Review"), &sofia());
    let created = s.graph.create_event("act-42", body.clone()).await.unwrap();
    assert_eq!(
        s.sim
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count(),
        2,
        "the create was sent twice"
    );
    // A crash and a new run: the same activity is created again.
    let again = s.graph.create_event("act-42", body).await.unwrap();
    assert_eq!(again.id, created.id);
    let events = s.sim.events(USER);
    assert_eq!(events.len(), 1, "no duplicate");
    assert_eq!(
        events[0]["transactionId"],
        json!(mssync_core::graph::transaction_id_for("act-42"))
    );
}

#[tokio::test]
async fn find_by_extended_property_works() {
    let s = setup().await;
    s.sim
        .seed_event(USER, outlook_event("Someone else's", 2, 9));
    let zone = sofia();
    let mine = s
        .graph
        .create_event("act-7", map_graph::create_body(&item("Mine"), &zone))
        .await
        .unwrap();
    s.graph
        .create_event("act-8", map_graph::create_body(&item("Other"), &zone))
        .await
        .unwrap();
    let found = s.graph.find_by_activity_id("act-7").await.unwrap().unwrap();
    assert_eq!(found.id, mine.id);
    assert_eq!(found.activity_id(), Some("act-7"));
    assert_eq!(
        s.graph.get_event(&mine.id).await.unwrap().activity_id(),
        Some("act-7")
    );
    assert_eq!(s.graph.find_by_activity_id("act-9").await.unwrap(), None);
    assert_eq!(s.graph.find_by_activity_id("it's").await.unwrap(), None);
}

#[tokio::test]
async fn recurring_occurrences_appear_individually_in_the_delta() {
    let s = setup().await;
    let master = s.sim.seed_event(USER, json!({
        "subject": "Weekly sync",
        "start": {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "FLE Standard Time"},
        "end": {"dateTime": "2026-03-02T09:30:00.0000000", "timeZone": "FLE Standard Time"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "wednesday"], "firstDayOfWeek": "sunday"},
            "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 6}
        }
    }));
    let all = s.graph.instances(&master, &window()).await.unwrap();
    assert_eq!(all.len(), 6);
    // The user moves the third occurrence and cancels the fourth.
    s.sim.user_update(
        USER,
        &all[2].id,
        json!({
            "subject": "Weekly sync (moved)",
            "start": {"dateTime": "2026-03-09T14:00:00.0000000", "timeZone": "FLE Standard Time"},
            "end": {"dateTime": "2026-03-09T14:30:00.0000000", "timeZone": "FLE Standard Time"}
        }),
    );
    s.sim.user_delete(USER, &all[3].id);

    let delta = s.graph.delta(&window(), None).await.unwrap();
    assert_eq!(delta.changed.len(), 5, "six occurrences, one cancelled");
    for event in &delta.changed {
        assert_eq!(event.series_master_id.as_deref(), Some(master.as_str()));
        assert_ne!(event.event_type, Some(EventType::SeriesMaster));
    }
    let exceptions: Vec<_> = delta
        .changed
        .iter()
        .filter(|e| e.event_type == Some(EventType::Exception))
        .collect();
    assert_eq!(exceptions.len(), 1);
    let moved = map_graph::to_item(exceptions[0], &sofia()).unwrap();
    assert_eq!(moved.subject, "Weekly sync (moved)");
    let link = moved.series.unwrap();
    assert_eq!(link.series_id, master);
    assert_eq!(
        link.original_start,
        t(2026, 3, 9, 7, 0),
        "Monday 9 March 09:00 in Sofia"
    );
    assert!(
        delta
            .changed
            .iter()
            .filter(|e| e.event_type == Some(EventType::Occurrence))
            .all(|e| e.is_sparse())
    );

    let series = s.graph.get_series_master(&master).await.unwrap();
    assert_eq!(series.event_type, Some(EventType::SeriesMaster));
    assert!(series.recurrence.is_some());

    // Editing an occurrence from our side makes it an exception; the next delta has only that.
    let occurrence = delta
        .changed
        .iter()
        .find(|e| e.event_type == Some(EventType::Occurrence))
        .unwrap();
    let patch = map_graph::patch_body(&item("From ERP.net"), &[Field::Subject], &sofia());
    let edited = s.graph.update_event(&occurrence.id, &patch).await.unwrap();
    assert_eq!(edited.event_type, Some(EventType::Exception));
    let next = s
        .graph
        .delta(&window(), Some(&delta.delta_link))
        .await
        .unwrap();
    assert_eq!(next.changed.len(), 1);
    assert_eq!(next.changed[0].subject.as_deref(), Some("From ERP.net"));
    assert_eq!(
        next.changed[0].id, occurrence.id,
        "an edited occurrence keeps its id"
    );
    assert_eq!(next.changed[0].event_type, Some(EventType::Exception));
    assert!(next.removed.is_empty());

    // Cancelling an occurrence from our side reports it removed; a series edit in Outlook
    // re-reports the plain occurrences and keeps the exceptions' own edits.
    let cancelled = next_plain_occurrence(&delta.changed, &occurrence.id);
    assert!(s.graph.delete_event(&cancelled).await.unwrap());
    s.sim
        .user_update(USER, &master, json!({"subject": "Weekly sync, new name"}));
    let last = s
        .graph
        .delta(&window(), Some(&next.delta_link))
        .await
        .unwrap();
    assert_eq!(last.removed, [cancelled]);
    assert_eq!(last.changed.len(), 2, "the two plain occurrences left");
    assert!(
        last.changed
            .iter()
            .all(|e| e.event_type == Some(EventType::Occurrence))
    );
    let instances = s.graph.instances(&master, &window()).await.unwrap();
    let subjects: Vec<_> = instances
        .iter()
        .map(|e| e.subject.clone().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "From ERP.net",
            "Weekly sync (moved)",
            "Weekly sync, new name",
            "Weekly sync, new name"
        ]
    );
}

#[tokio::test]
async fn written_items_read_back_unchanged_and_unmapped_fields_survive() {
    let s = setup().await;
    let zone = sofia();
    let original = item("Review");
    let created = s
        .graph
        .create_event("act-1", map_graph::create_body(&original, &zone))
        .await
        .unwrap();
    let read = s.graph.get_event(&created.id).await.unwrap();
    let back = map_graph::to_item(&read, &zone).unwrap();
    assert!(back.changed_fields(&original).is_empty(), "{back:?}");
    // Outlook keeps the body as HTML; what comes back as text is no change.
    let stored = s.sim.event(USER, &created.id).unwrap();
    assert_eq!(stored["body"]["contentType"], json!("html"));

    // The user adds a location in Outlook; our PATCH of the subject leaves it alone.
    s.sim.user_update(
        USER,
        &created.id,
        json!({"location": {"displayName": "Room 7"}}),
    );
    let mut renamed = original.clone();
    renamed.subject = "Review (moved)".into();
    let patch = map_graph::patch_body(&renamed, &renamed.changed_fields(&original), &zone);
    s.graph.update_event(&created.id, &patch).await.unwrap();
    let stored = s.sim.event(USER, &created.id).unwrap();
    assert_eq!(stored["location"]["displayName"], json!("Room 7"));
    assert_eq!(stored["subject"], json!("Review (moved)"));

    // An all-day event made in Outlook reads as dates.
    let all_day = s.sim.seed_event(
        USER,
        json!({
            "subject": "Holiday", "isAllDay": true,
            "start": {"dateTime": "2026-03-03T00:00:00.0000000", "timeZone": "FLE Standard Time"},
            "end": {"dateTime": "2026-03-04T00:00:00.0000000", "timeZone": "FLE Standard Time"}
        }),
    );
    let holiday = map_graph::to_item(&s.graph.get_event(&all_day).await.unwrap(), &zone).unwrap();
    assert_eq!(
        holiday.when,
        When::AllDay {
            start: chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(),
            end: chrono::NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(),
        }
    );
    assert!(s.graph.delete_event(&all_day).await.unwrap());
    assert!(
        !s.graph.delete_event(&all_day).await.unwrap(),
        "already gone is not an error"
    );
    // Ids are case-sensitive.
    let err = s
        .graph
        .get_event(&created.id.to_lowercase())
        .await
        .unwrap_err();
    assert!(matches!(err, GraphError::NotFound { .. }), "{err:?}");
}

fn next_plain_occurrence(events: &[mssync_core::graph::GraphEvent], except: &str) -> String {
    events
        .iter()
        .find(|e| e.event_type == Some(EventType::Occurrence) && e.id != except)
        .unwrap()
        .id
        .clone()
}

/// Hands out `old` until told it was rejected, then `new`.
struct Rotating {
    rejected: Mutex<Vec<String>>,
}

#[async_trait(?Send)]
impl TokenSource for Rotating {
    async fn token(&self) -> Result<String, mssync_core::identity::TokenError> {
        Ok(if self.rejected.lock().unwrap().is_empty() {
            "old".into()
        } else {
            "new".into()
        })
    }
    async fn invalidate(&self, rejected: &str) {
        self.rejected.lock().unwrap().push(rejected.into());
    }
}

fn jwt_with_oid(oid: &str) -> String {
    use base64::Engine;
    let enc = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.sig",
        enc(json!({"alg": "none"})),
        enc(json!({"oid": oid}))
    )
}

#[tokio::test]
async fn me_is_the_tokens_user_and_a_401_refreshes_the_token_once() {
    let base = setup().await;
    let id = base.sim.seed_event(USER, outlook_event("Mine", 2, 9));
    let me = connect(
        base.sim.clone(),
        Arc::new(ReqwestHttp::new()),
        Mailbox::Me,
        Arc::new(StaticToken(jwt_with_oid(USER))),
    );
    assert_eq!(
        me.graph.get_event(&id).await.unwrap().subject.as_deref(),
        Some("Mine")
    );

    base.sim.set_authorizer(Arc::new(|token: &str| {
        if token == "new" {
            Ok(Principal::default())
        } else {
            Err("expired".into())
        }
    }));
    let tokens = Arc::new(Rotating {
        rejected: Mutex::new(Vec::new()),
    });
    let s = connect(
        base.sim.clone(),
        Arc::new(ReqwestHttp::new()),
        Mailbox::User(USER.into()),
        tokens.clone(),
    );
    s.graph.get_event(&id).await.unwrap();
    assert_eq!(*tokens.rejected.lock().unwrap(), ["old"]);

    base.sim
        .set_authorizer(Arc::new(|_: &str| Err("revoked".into())));
    let err = s.graph.get_event(&id).await.unwrap_err();
    assert_eq!(err, GraphError::Unauthorized, "one refresh, then the error");
    assert_eq!(PublicError::from(err).code, ErrorCode::Unauthorized);
}

/// Answers every request with a body that is not JSON.
struct Garbled(ReqwestHttp);

#[async_trait(?Send)]
impl HttpClient for Garbled {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut response = self.0.send(request).await?;
        response.body = b"{\"value\": [ {\"id\": 42".to_vec();
        Ok(response)
    }
}

#[tokio::test]
async fn malformed_answers_are_a_typed_error_not_a_panic() {
    let base = setup().await;
    let id = base.sim.seed_event(USER, outlook_event("X", 2, 9));
    let s = connect(
        base.sim.clone(),
        Arc::new(Garbled(ReqwestHttp::new())),
        Mailbox::User(USER.into()),
        Arc::new(StaticToken("t".into())),
    );
    let err = s.graph.get_event(&id).await.unwrap_err();
    assert!(matches!(err, GraphError::Malformed(_)));
    let public = PublicError::from(err);
    assert_eq!(public.code, ErrorCode::MalformedResponse);
    let err = s.graph.delta(&window(), None).await.unwrap_err();
    assert!(matches!(err, GraphError::Malformed(_)));
}

/// Method, path, query, the headers that matter (Authorization redacted) and body of a request.
fn shape(r: &RecordedRequest) -> Value {
    let headers: Vec<Value> = r
        .headers
        .iter()
        .filter(|(n, _)| matches!(n.as_str(), "authorization" | "prefer" | "content-type"))
        .map(|(n, v)| {
            let v = if n == "authorization" {
                format!("{} [redacted]", v.split(' ').next().unwrap_or_default())
            } else {
                v.clone()
            };
            json!([n, v])
        })
        .collect();
    json!({
        "method": r.method,
        "path": r.path,
        "query": r.query,
        "headers": headers,
        "body": r.body,
    })
}

#[tokio::test]
async fn request_shapes_are_pinned() {
    let s = setup().await;
    let zone = sofia();
    let master = s.sim.seed_event(USER, json!({
        "subject": "Daily",
        "start": {"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-02T09:15:00.0000000", "timeZone": "UTC"},
        "recurrence": {"pattern": {"type": "daily", "interval": 1}, "range": {"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-03-03"}}
    }));
    let created = s
        .graph
        .create_event("act-1", map_graph::create_body(&item("Review"), &zone))
        .await
        .unwrap();
    s.graph.get_event(&created.id).await.unwrap();
    let mut renamed = item("Review");
    renamed.reminder_minutes_before_start = None;
    renamed.when = When::AllDay {
        start: chrono::NaiveDate::from_ymd_opt(2026, 3, 12).unwrap(),
        end: chrono::NaiveDate::from_ymd_opt(2026, 3, 13).unwrap(),
    };
    s.graph
        .update_event(
            &created.id,
            &map_graph::patch_body(&renamed, &[Field::When, Field::Reminder], &zone),
        )
        .await
        .unwrap();
    s.graph.find_by_activity_id("act-1").await.unwrap();
    s.graph.instances(&master, &window()).await.unwrap();
    let config = GraphConfig {
        max_page_size: 2,
        ..s.graph.config().clone()
    };
    let paged = GraphClient::new(
        Arc::new(ReqwestHttp::new()),
        s.clock.clone(),
        Arc::new(StaticToken("app-token".into())),
        config,
    )
    .unwrap();
    let delta = paged.delta(&window(), None).await.unwrap();
    paged
        .delta(&window(), Some(&delta.delta_link))
        .await
        .unwrap();
    s.graph
        .batch(vec![
            BatchItem::create("1", "act-2", map_graph::create_body(&item("Second"), &zone)),
            BatchItem::update("2", &created.id, json!({"subject": "Renamed"})).after("1"),
            BatchItem::delete("3", &master),
        ])
        .await
        .unwrap();
    s.graph.delete_event(&created.id).await.unwrap();
    let shapes: Vec<Value> = s.sim.requests().iter().map(shape).collect();
    insta::assert_json_snapshot!(shapes);
}

trait Tap: Sized {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
impl Tap for Value {}

#[tokio::test]
async fn two_clients_of_one_mailbox_share_the_limit() {
    let s = setup().await;
    let ids: Vec<String> = (0..10)
        .map(|i| {
            s.sim
                .seed_event(USER, outlook_event(&format!("E{i}"), 2 + i, 9))
        })
        .collect();
    let other = connect(
        s.sim.clone(),
        Arc::new(ReqwestHttp::new()),
        Mailbox::User(USER.into()),
        Arc::new(StaticToken("another-job".into())),
    );
    s.sim.set_delay(Duration::from_millis(300));
    let reads = ids.iter().enumerate().map(|(i, id)| {
        let graph = if i % 2 == 0 { &s.graph } else { &other.graph };
        graph.get_event(id)
    });
    for read in futures::future::join_all(reads).await {
        read.unwrap();
    }
    assert!(s.sim.max_concurrency(USER) <= 4);
}

#[tokio::test]
async fn instances_are_read_across_pages() {
    let s = setup().await;
    let master = s.sim.seed_event(
        USER,
        json!({
            "subject": "Daily",
            "start": {"dateTime": "2026-02-20T08:00:00.0000000", "timeZone": "FLE Standard Time"},
            "end": {"dateTime": "2026-02-20T08:15:00.0000000", "timeZone": "FLE Standard Time"},
            "recurrence": {
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "noEnd", "startDate": "2026-02-20"}
            }
        }),
    );
    s.sim.clear_requests();
    let instances = s.graph.instances(&master, &window()).await.unwrap();
    assert_eq!(instances.len(), 31, "every day of March");
    assert_eq!(s.sim.requests().len(), 4, "pages of 10");
    // 29 March is the first day of summer time: the series stays at 08:00 Sofia time.
    let starts: Vec<_> = instances
        .iter()
        .map(|e| e.original_start.unwrap())
        .collect();
    assert_eq!(starts[27], t(2026, 3, 28, 6, 0));
    assert_eq!(starts[28], t(2026, 3, 29, 5, 0));
}

#[tokio::test]
async fn an_unknown_event_property_in_a_body_is_refused_as_graph_does() {
    let s = setup().await;
    let id = s.sim.seed_event(USER, outlook_event("Standup", 2, 9));
    let bad = |code: &str| GraphError::Service {
        status: 400,
        code: code.into(),
    };
    let err = s
        .graph
        .update_event(&id, &json!({"subject": "ok", "colour": "red"}))
        .await
        .unwrap_err();
    assert_eq!(err, bad("RequestBodyRead"));
    let mut body = map_graph::create_body(&item("New"), &sofia());
    body["reminderMinutes"] = json!(5);
    let err = s.graph.create_event("act-1", body).await.unwrap_err();
    assert_eq!(err, bad("RequestBodyRead"));
    assert_eq!(s.sim.events(USER).len(), 1, "nothing was created");

    // Inside a $batch: that item alone fails, the others go through.
    let results = s
        .graph
        .batch(vec![
            BatchItem::update("1", &id, json!({"subject": "renamed"})),
            BatchItem::update("2", &id, json!({"importanceLevel": "high"})),
        ])
        .await
        .unwrap();
    assert_eq!(results[0].status, 200);
    assert_eq!(results[1].status, 400);
    assert_eq!(results[1].result, Err(bad("RequestBodyRead")));

    // Every property the connector writes is one Graph knows.
    let written = map_graph::patch_body(&item("All"), &Field::ALL, &sofia());
    s.graph.update_event(&id, &written).await.unwrap();
}

#[tokio::test]
async fn an_unknown_event_property_in_select_is_refused_as_graph_does() {
    let s = setup().await;
    let id = s.sim.seed_event(USER, outlook_event("Standup", 2, 9));
    let http = ReqwestHttp::new();
    let get = |select: &str| {
        let url = format!(
            "{}/users/{USER}/events/{id}?$select={select}",
            s.sim.base_url()
        );
        http.send(HttpRequest::new(Method::Get, url).header("Authorization", "Bearer x"))
    };
    let answer = get("subject,start").await.unwrap();
    assert_eq!(answer.status, 200);
    let answer = get("subject,colour").await.unwrap();
    assert_eq!(answer.status, 400);
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["error"]["code"], "RequestBroker--ParseUri");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'colour'"),
        "{body}"
    );
}

#[tokio::test]
async fn linked_events_are_listed_by_the_extended_property_across_pages() {
    let s = setup().await;
    let zone = sofia();
    let mut made = Vec::new();
    for i in 0..12 {
        let activity = format!("act-{i}");
        let event = s
            .graph
            .create_event(
                &activity,
                map_graph::create_body(&item(&format!("A{i}")), &zone),
            )
            .await
            .unwrap();
        made.push((event.id, activity));
    }
    // Events MsSync did not make: none, and one with another property of another app.
    s.sim.seed_event(USER, outlook_event("Mine", 3, 9));
    s.sim.seed_event(
        USER,
        json!({
            "subject": "Other app",
            "start": {"dateTime": "2026-03-04T09:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-04T10:00:00.0000000", "timeZone": "UTC"},
            "singleValueExtendedProperties": [{"id": "String {00020329-0000-0000-c000-000000000046} Name Other", "value": "x"}]
        }),
    );
    s.sim.clear_requests();
    let mut listed = s.graph.list_linked_events().await.unwrap();
    listed.sort();
    made.sort();
    assert_eq!(listed, made);

    let requests = s.sim.requests();
    assert_eq!(requests.len(), 2, "twelve events come in two pages of ten");
    let first = &requests[0];
    let query = |name: &str| {
        first
            .query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let id = mssync_core::graph::ACTIVITY_ID_PROPERTY;
    assert_eq!(
        query("$filter"),
        format!("singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value ne '')")
    );
    assert_eq!(
        query("$expand"),
        format!("singleValueExtendedProperties($filter=id eq '{id}')")
    );
    for request in &requests {
        assert_eq!(request.header_values("prefer"), [r#"IdType="ImmutableId""#]);
    }

    // The simulator refuses filter shapes it does not know, as Graph refuses what it cannot apply.
    let url = format!(
        "{}/users/{USER}/events?$filter=subject eq 'Mine'",
        s.sim.base_url()
    );
    let answer = ReqwestHttp::new()
        .send(HttpRequest::new(Method::Get, url).header("Authorization", "Bearer x"))
        .await
        .unwrap();
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn linked_events_follow_next_links_only_to_graph() {
    // A next link to another origin is refused before a token is sent there.
    struct Redirecting(Arc<dyn HttpClient>);
    #[async_trait(?Send)]
    impl HttpClient for Redirecting {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            let mut response = self.0.send(request).await?;
            let mut body: Value = serde_json::from_slice(&response.body).unwrap();
            body["@odata.nextLink"] = json!("https://attacker.example/v1.0/users/x/events");
            response.body = serde_json::to_vec(&body).unwrap();
            Ok(response)
        }
    }
    let base = setup().await;
    let s = connect(
        base.sim.clone(),
        Arc::new(Redirecting(Arc::new(ReqwestHttp::new()))),
        Mailbox::User(USER.into()),
        Arc::new(StaticToken("t".into())),
    );
    let err = s.graph.list_linked_events().await.unwrap_err();
    assert!(matches!(err, GraphError::UntrustedLink(_)), "{err:?}");
    assert_eq!(base.sim.requests().len(), 1);
}
