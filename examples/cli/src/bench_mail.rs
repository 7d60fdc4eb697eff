//! The Mail figures of `mssync bench`: the first sync's import of a week of mail, its requests
//! against the bound of delta pages plus ERP.net batches, and its wall time when Graph answers
//! after 50 ms, against the bound of the longest chain of pages that must follow one another.

use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, SecondsFormat};
use mssync_core::PublicError;
use mssync_core::app::JobKind;
use mssync_core::host::Clock;
use serde_json::json;

/// Messages a page of a message delta carries as MsSync asks for them.
const GRAPH_PAGE: usize = 50;
/// The synced folders besides Inbox (Sent Items, Drafts, Deleted Items): one page each.
const OTHER_FOLDERS: usize = 3;
/// Distinct senders of the bench's mail (a mailbox hears from the same people again).
const SENDERS: usize = 20;

/// What an import measured.
pub(crate) struct Import {
    pub messages: usize,
    pub graph_requests: usize,
    pub erp_requests: usize,
    /// Delta pages (the folder tree's, each folder's) and ERP.net `$batch` requests the creates need.
    pub bound: usize,
    pub wall: Duration,
    /// The longest chain of requests that must follow one another, at 50 ms each.
    pub wall_bound: Duration,
}

/// A first Mail run over `messages` received in Inbox over the last six days; `latency` is how
/// long each simulator takes to answer.
pub(crate) async fn initial_import(
    messages: usize,
    latency: Duration,
) -> Result<Import, PublicError> {
    let (world, clock, app) = crate::bench::world_and_app(0, "mail.sqlite").await?;
    let fixture = world.fixture();
    let alice = fixture
        .onboard(&app, fixture.alice())
        .await?
        .session
        .user_id;
    app.set_company(&alice, &fixture.company, &fixture.location)
        .await?;
    app.set_job_enabled(&alice, JobKind::Mail, true).await?;
    let oid = world.alice().oid.clone();
    let now = clock.now();
    for n in 0..messages {
        let received = now - ChronoDuration::minutes((n * 6 * 24 * 60 / messages.max(1)) as i64);
        world.graph.deliver_message(
            &oid,
            "inbox",
            json!({
                "subject": format!("Message {n}"),
                "body": {"contentType": "html", "content": format!("<p>Message {n} of the bench, with a body of an ordinary length.</p>")},
                "from": {"emailAddress": {"address": format!("sender{}@fabrikam.example", n % SENDERS)}},
                "toRecipients": [{"emailAddress": {"address": world.alice().email}}],
                "receivedDateTime": received.to_rfc3339_opts(SecondsFormat::Secs, true),
                "hasAttachments": false,
            }),
        );
    }
    world.graph.set_delay(latency);
    world.erp.set_latency(latency);
    world.graph.clear_requests();
    world.erp.clear_requests();
    let wall0 = Instant::now();
    let report = app.run_job(&alice, JobKind::Mail, false).await.result?;
    let wall = wall0.elapsed();
    let graph_requests = world.graph.requests().len();
    let erp_requests = world.erp.requests().len();
    let inbox_pages = messages.div_ceil(GRAPH_PAGE).max(1);
    let delta_pages = 1 + inbox_pages + OTHER_FOLDERS;
    let batches = (report.to_erp.created as usize * crate::bench::ERP_PARTS_PER_MESSAGE)
        .div_ceil(crate::bench::ERP_BATCH_PARTS);
    // Inbox's pages follow one another, and so do the batches (each waits for the last).
    let chain = inbox_pages + batches;
    Ok(Import {
        messages: report.to_erp.created as usize,
        graph_requests,
        erp_requests,
        bound: delta_pages + batches,
        wall,
        wall_bound: latency * chain as u32,
    })
}
