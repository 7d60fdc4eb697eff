//! Test-only: the seeded world of the three simulators for hosts written in other languages
//! (the C and C# tests, `examples/c-host`). Starts `World::start` on the real clock, seeds one
//! ERP.net activity and one Outlook event for Alice two days ahead, prints one JSON line with the
//! endpoints and fixture values on stdout, and serves until stdin closes.
//!
//! It also serves `GET {inspect_url}`: Alice's items on each side as
//! `{"outlook": ["subject", ...], "erp": ["subject", ...]}`, so a host can check what arrived
//! where over plain HTTP, with Alice's mail on each side as `mail_outlook` and `mail_erp`
//! (`{"subject", "read"}`); `POST {control_url}/graph/refuse` / `.../graph/allow`, which make
//! Graph refuse every mailbox (403) or serve again, for tests of the error state; and
//! `POST {control_url}/mail/read-in-erp`, which reads every message in ERP.net as Alice would.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as ChronoDuration, NaiveTime, Utc};
use chrono_tz::Europe::Sofia;
use mssync_sim::erp::ActivitySeed;
use mssync_sim::world::{DOMAIN, World};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ACTIVITY_SUBJECT: &str = "Budget review (from ERP.net)";
const EVENT_SUBJECT: &str = "Customer call (from Outlook)";
const MESSAGE_SUBJECT: &str = "Quarterly figures (mail)";

/// Alice's items on each side, by subject (voided activities left out).
struct Inspect {
    world: Arc<World>,
}

impl Respond for Inspect {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        match (request.method.as_str(), request.url.path()) {
            ("POST", "/graph/refuse") => {
                self.world.graph.refuse_access(true);
                return ResponseTemplate::new(204);
            }
            ("POST", "/graph/allow") => {
                self.world.graph.refuse_access(false);
                return ResponseTemplate::new(204);
            }
            ("POST", "/mail/read-in-erp") => {
                for m in self.world.erp.list("Applications_Mail_Messages") {
                    self.world
                        .erp
                        .user_set_mail_read(m["Id"].as_str().unwrap_or_default(), true);
                }
                return ResponseTemplate::new(204);
            }
            _ => {}
        }
        let alice = &self.world.alice().oid;
        let outlook: Vec<Value> = self
            .world
            .graph
            .events(alice)
            .iter()
            .map(|e| e["subject"].clone())
            .collect();
        let erp: Vec<Value> = self
            .world
            .erp
            .list("General_Activities_Activities")
            .iter()
            .filter(|a| a["Void"] != json!(true))
            .map(|a| a["Subject"].clone())
            .collect();
        let mail_outlook: Vec<Value> = self
            .world
            .graph
            .messages(alice)
            .into_iter()
            .map(|(_, _, subject, read)| json!({"subject": subject, "read": read}))
            .collect();
        let mail_erp: Vec<Value> = self
            .world
            .erp
            .list("Applications_Mail_Messages")
            .iter()
            .map(|m| json!({"subject": m["Subject"], "read": m["IsRead"]}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "outlook": outlook,
            "erp": erp,
            "mail_outlook": mail_outlook,
            "mail_erp": mail_erp,
        }))
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let world = Arc::new(World::start(Arc::new(Utc::now), 1).await);
    // ERP.net stamps its records with its own clock: keep it on the real one.
    let ticking = world.clone();
    tokio::spawn(async move {
        loop {
            ticking.erp.set_now(Utc::now());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let alice = world.alice().clone();
    // Two days ahead, inside the sync window: 10:00 and 14:00 in Sofia.
    let day = (Utc::now() + ChronoDuration::days(2))
        .with_timezone(&Sofia)
        .date_naive();
    let at = |hour| {
        day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).expect("a time"))
            .and_local_timezone(Sofia)
            .single()
            .expect("no DST change at that hour")
            .with_timezone(&Utc)
    };
    let mut seed = ActivitySeed::new(ACTIVITY_SUBJECT, at(10));
    seed.assigned_to = Some(alice.erp_user_id.clone());
    world.erp.seed_activity(seed);
    let wall = |hour: u32| format!("{day}T{hour:02}:00:00.0000000");
    world.graph.seed_event(
        &alice.oid,
        json!({
            "subject": EVENT_SUBJECT,
            "start": {"dateTime": wall(14), "timeZone": "FLE Standard Time"},
            "end": {"dateTime": wall(15), "timeZone": "FLE Standard Time"},
            "body": {"contentType": "text", "content": "Agenda"},
        }),
    );

    world.graph.deliver_message(
        &alice.oid,
        "inbox",
        json!({
            "subject": MESSAGE_SUBJECT,
            "body": {"contentType": "html", "content": "<p>Figures attached.</p>"},
            "from": {"emailAddress": {"address": "cfo@fabrikam.example"}},
            "receivedDateTime": (Utc::now() - ChronoDuration::hours(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }),
    );

    let inspect = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Inspect {
            world: world.clone(),
        })
        .mount(&inspect)
        .await;

    let info = json!({
        "authority": world.entra.authority(),
        "graph_base_url": world.graph.base_url(),
        "erp_base_url": world.erp.odata_root(),
        "erp_identity_base": world.erp.identity_base(),
        "erp_client_id": world.erp_client_id,
        "erp_client_secret": world.erp_client_secret,
        "redirect_uri": world.redirect_uri,
        "tenant_id": world.tenant,
        "client_id": world.client_id,
        "client_secret": world.client_secret,
        "admin_oid": world.admin.oid,
        "domain": DOMAIN,
        "alice_email": alice.email,
        "alice_oid": alice.oid,
        // A second ordinary user and the ERP.net administrator, for tests of who may see what.
        "second_email": world.users[1].email,
        "second_name": world.users[1].name,
        "admin_email": world.admin.email,
        "company_id": world.company,
        "location_id": world.location,
        "time_zone": "FLE Standard Time",
        "activity_subject": ACTIVITY_SUBJECT,
        "event_subject": EVENT_SUBJECT,
        "message_subject": MESSAGE_SUBJECT,
        "inspect_url": format!("{}/items", inspect.uri()),
        "control_url": inspect.uri(),
    });
    println!("{info}");

    // Serve until the parent closes stdin (or dies).
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .expect("the stdin reader ends");
}
