//! `mssync demo`: the whole story on the embedded simulators, on one screen, in seconds.
//!
//! Everything runs for real: the simulators listen on 127.0.0.1, MsSync reaches them over HTTP
//! with reqwest, keeps its state in a SQLite file, verifies Entra ID's signed tokens, and writes
//! through Graph `$batch` and the ERP.net Domain API. Only time is simulated (a manual clock), so
//! the story takes seconds and reads the same every run.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, Duration as ChronoDuration, NaiveTime, TimeZone, Utc, Weekday};
use mssync_core::app::RunView;
use mssync_core::app::{App, HomeView, JobKind, SetupChange};
use mssync_core::host::{Clock, Host, ManualClock};
use mssync_core::{ErrorCode, PublicError};
use mssync_sim::erp::ActivitySeed;
use mssync_sim::world::{DOMAIN, World};
use serde_json::json;

use crate::SqliteStore;
use crate::http::ReqwestHttp;

/// Runs the demo, printing as it goes. Returns the two run reports for the caller's summary.
pub async fn run(out: &mut dyn std::io::Write) -> Result<(), PublicError> {
    let io =
        |e: std::io::Error| PublicError::new(ErrorCode::Internal, format!("cannot print: {e}"));
    // Monday 08:00 UTC of the week after today, so the story's days are in the future.
    let today = Utc::now().date_naive();
    let monday = today + ChronoDuration::days(7 - today.weekday().num_days_from_monday() as i64);
    let start = monday
        .and_time(NaiveTime::from_hms_opt(6, 0, 0).unwrap())
        .and_utc();
    let clock = Arc::new(ManualClock::new(start));
    let sim_clock = clock.clone();
    let world = World::start(Arc::new(move || sim_clock.now()), 2).await;
    let dir = std::env::temp_dir().join(format!("mssync-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| PublicError::new(ErrorCode::StoreFailure, e.to_string()))?;
    let store_path = dir.join("mssync.sqlite");
    let store = Arc::new(
        SqliteStore::open(&store_path)
            .map_err(|e| PublicError::new(ErrorCode::StoreFailure, e.to_string()))?,
    );
    let host = Host {
        http: Arc::new(ReqwestHttp::new()),
        store,
        clock: clock.clone(),
    };
    let app = App::with_config(host, world.app_config("demo"), demo_sealing_key())?;
    let advance = |minutes: i64| {
        clock.advance(Duration::from_secs(minutes as u64 * 60));
        world.erp.set_now(clock.now());
    };

    writeln!(
        out,
        "MsSync demo: Entra ID, Microsoft Graph and ERP.net simulators on 127.0.0.1; store {}",
        store_path.display()
    )
    .map_err(io)?;
    writeln!(out).map_err(io)?;

    // 1-2. The admin connects the tenant; Alice signs in (the simulator plays the browser).
    let onboarded = world.onboard(&app, world.alice()).await?;
    writeln!(
        out,
        " 1. Admin: tenant {} connected (token {}, Graph {}); document type 'Meeting' {}; domain {DOMAIN} granted",
        world.tenant,
        tick(onboarded.connect.token),
        tick(onboarded.connect.graph),
        onboarded.permissions.meeting_document_type
    )
    .map_err(io)?;
    let session = onboarded.session;
    let alice = session.user_id.clone();
    app.set_company(&alice, &world.company, &world.location)
        .await?;
    let setup = app
        .change_setup(
            &alice,
            SetupChange {
                time_zone: Some("FLE Standard Time".into()),
                policy: None,
            },
        )
        .await?;
    app.set_job_enabled(&alice, JobKind::Calendar, true).await?;
    writeln!(out, " 2. {} <{}> signed in with Microsoft (PKCE, id token verified) and set up: Contoso Ltd, Sofia office, {}; Calendar on", session.name, session.email, setup.time_zone).map_err(io)?;

    // 3. What each side holds before the first sync.
    let erp_user = world.alice().erp_user_id.clone();
    let at = |day: i64, hour: u32, minute: u32| {
        (monday + ChronoDuration::days(day))
            .and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap())
            .and_utc()
    };
    let seed = |subject: &str, start: chrono::DateTime<Utc>, minutes: i64, state: &'static str| {
        let mut s = ActivitySeed::new(subject, start);
        s.end = Some(start + ChronoDuration::minutes(minutes));
        s.assigned_to = Some(erp_user.clone());
        s.state = state;
        world.erp.seed_activity(s)
    };
    let budget = seed("Budget review", at(2, 8, 0), 60, "Planned");
    let sofia_midnight = |day: i64| {
        let midnight = (monday + ChronoDuration::days(day)).and_time(NaiveTime::MIN);
        chrono_tz::Europe::Sofia
            .from_local_datetime(&midnight)
            .earliest()
            .expect("midnight exists in Sofia")
            .with_timezone(&Utc)
    };
    seed(
        "Company offsite (all day)",
        sofia_midnight(4),
        24 * 60,
        "Planned",
    );
    seed("Contract signing", at(3, 12, 0), 30, "Released");
    let local = |day: i64, hour: u32| {
        format!(
            "{}T{hour:02}:00:00.0000000",
            monday + ChronoDuration::days(day)
        )
    };
    let standup = world.graph.seed_event(&alice, json!({
        "subject": "Team standup",
        "start": {"dateTime": local(0, 10), "timeZone": "FLE Standard Time"},
        "end": {"dateTime": format!("{}T10:15:00.0000000", monday), "timeZone": "FLE Standard Time"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [weekday(Weekday::Mon), weekday(Weekday::Wed)], "firstDayOfWeek": "monday"},
            "range": {"type": "numbered", "startDate": monday.to_string(), "numberOfOccurrences": 4}
        }
    }));
    let occurrences: Vec<serde_json::Value> = world
        .graph
        .calendar_view(&alice, start, start + ChronoDuration::days(30))
        .into_iter()
        .filter(|e| e["seriesMasterId"] == json!(standup))
        .collect();
    if let Some(second) = occurrences.get(1) {
        world.graph.user_update(&alice, second["id"].as_str().unwrap_or_default(), json!({
            "subject": "Team standup (moved to 11:00)",
            "start": {"dateTime": local(2, 11), "timeZone": "FLE Standard Time"},
            "end": {"dateTime": format!("{}T11:15:00.0000000", monday + ChronoDuration::days(2)), "timeZone": "FLE Standard Time"},
        }));
    }
    let call = world.graph.seed_event(&alice, json!({
        "subject": "Customer call",
        "start": {"dateTime": local(1, 15), "timeZone": "FLE Standard Time"},
        "end": {"dateTime": local(1, 16), "timeZone": "FLE Standard Time"},
        "body": {"contentType": "html", "content": "<p>Join on <a href='https://teams.example/l/meetup'>Teams</a></p>"},
        "isOnlineMeeting": true,
        "location": {"displayName": "Microsoft Teams Meeting"},
        "importance": "high",
    }));
    world.graph.seed_event(&alice, json!({
        "subject": "Conference (all day)",
        "isAllDay": true,
        "start": {"dateTime": format!("{}T00:00:00.0000000", monday + ChronoDuration::days(3)), "timeZone": "FLE Standard Time"},
        "end": {"dateTime": format!("{}T00:00:00.0000000", monday + ChronoDuration::days(4)), "timeZone": "FLE Standard Time"},
    }));
    writeln!(
        out,
        " 3. ERP.net: Budget review, Company offsite (all day), Contract signing (Released)"
    )
    .map_err(io)?;
    writeln!(out, "    Outlook: Team standup (4 occurrences, one moved), Customer call (Teams link), Conference (all day)").map_err(io)?;

    // 4. First sync.
    advance(1);
    let first = app.run_job(&alice, JobKind::Calendar, false).await.result?;
    writeln!(out, " 4. First sync: {}", moved(&first)).map_err(io)?;

    // 5. Edits on both sides, and an Outlook edit to the Released activity.
    advance(30);
    world
        .graph
        .user_update(&alice, &call, json!({"subject": "Customer call: pricing"}));
    world.erp.edit_activity(&budget, |a| {
        a.insert("StartTime".into(), json!(at(2, 9, 0).to_rfc3339()));
        a.insert("EndTime".into(), json!(at(2, 10, 0).to_rfc3339()));
    });
    let events = world.graph.events(&alice);
    if let Some(contract_event) = events.iter().find(|e| e["subject"] == "Contract signing") {
        world.graph.user_update(
            &alice,
            contract_event["id"].as_str().unwrap_or_default(),
            json!({"subject": "Contract signing (can we move it?)"}),
        );
    }
    writeln!(out, " 5. Alice renames 'Customer call' in Outlook; ERP.net moves 'Budget review' an hour later; Alice edits the Released 'Contract signing' in Outlook").map_err(io)?;

    // 6. Second sync.
    advance(15);
    let second = app.run_job(&alice, JobKind::Calendar, false).await.result?;
    writeln!(out, " 6. Second sync: {}", moved(&second)).map_err(io)?;

    // 7. From here the scheduler reads the tenant's ERP.net feed once a round and routes its
    // changes to their owners. The next sync sees only the echoes of its own writes; after
    // that a quiet sync reads Graph once, and ERP.net once for the whole tenant.
    advance(15);
    app.route_erp_changes().await?;
    app.run_job(&alice, JobKind::Calendar, false).await.result?;
    advance(15);
    world.graph.clear_requests();
    world.erp.clear_requests();
    app.route_erp_changes().await?;
    let third = app.run_job(&alice, JobKind::Calendar, false).await.result?;
    writeln!(
        out,
        " 7. Quiet sync: {} (Graph requests {}, ERP.net requests {}: the tenant's change feed, read once a round for every user)",
        moved(&third),
        world.graph.requests().len(),
        world.erp.requests().len()
    )
    .map_err(io)?;

    // 8. The Mail job: mail from Outlook reflected in Alice's default ERP.net mailbox, and a
    // message read in ERP.net read in Outlook.
    app.set_job_enabled(&alice, JobKind::Mail, true).await?;
    let received =
        (clock.now() - ChronoDuration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let message = |folder: &str, subject: &str, from: &str| {
        world.graph.deliver_message(
            &alice,
            folder,
            json!({
                "subject": subject,
                "body": {"contentType": "html", "content": format!("<p>{subject}</p>")},
                "from": {"emailAddress": {"address": from}},
                "toRecipients": [{"emailAddress": {"address": session.email}}],
                "receivedDateTime": received,
                "hasAttachments": false,
            }),
        )
    };
    let invoice = message("inbox", "Invoice 2026-114", "billing@fabrikam.example");
    world.graph.add_attachment(
        &alice,
        &invoice,
        "invoice-2026-114.pdf",
        "application/pdf",
        48_213,
        false,
    );
    message("sentitems", "Re: offer for Q3", &session.email);
    let root = world
        .graph
        .mail_folder_id(&alice, "msgfolderroot")
        .unwrap_or_default();
    let projects = world
        .graph
        .user_create_mail_folder(&alice, &root, "Projects");
    message(&projects, "Project Alpha kickoff", "bob@fabrikam.example");
    advance(5);
    let mail_first = app.run_job(&alice, JobKind::Mail, false).await.result?;
    let in_erp = world.erp.list("Applications_Mail_Messages");
    writeln!(
        out,
        " 8. Mail on. Outlook receives 'Invoice 2026-114' (with a PDF), sends 'Re: offer for Q3', files 'Project Alpha kickoff' in a new folder 'Projects'"
    )
    .map_err(io)?;
    writeln!(
        out,
        "    Mail sync: {} messages in ERP.net's mailbox (Inbox, Sent, Projects), {} attachment kept as a link; {} requests",
        in_erp.len(),
        world.erp.list("Applications_Mail_MessageAttachments").len(),
        mail_first.requests
    )
    .map_err(io)?;
    if let Some(row) = in_erp.iter().find(|m| m["ExternalId"] == json!(invoice)) {
        world
            .erp
            .user_set_mail_read(row["Id"].as_str().unwrap_or_default(), true);
    }
    advance(15);
    let mail_second = app.run_job(&alice, JobKind::Mail, false).await.result?;
    let read_in_outlook = world
        .graph
        .messages(&alice)
        .into_iter()
        .any(|(id, _, _, read)| id == invoice && read);
    writeln!(
        out,
        " 9. Alice reads the invoice in ERP.net; Mail sync: {} marked read in Outlook (read there now: {})",
        mail_second.to_outlook.updated,
        if read_in_outlook { "yes" } else { "NO" }
    )
    .map_err(io)?;
    writeln!(out).map_err(io)?;

    print_home(out, &app.home(&alice).await?).map_err(io)?;
    writeln!(out).map_err(io)?;
    writeln!(out, "What moved            to Outlook (new/upd/del)   to ERP.net (new/upd/void)   conflicts   requests").map_err(io)?;
    for (name, r) in [
        ("first sync", &first),
        ("second sync", &second),
        ("quiet sync", &third),
    ] {
        writeln!(
            out,
            "  {name:<20} {:>3} / {:>3} / {:>3}            {:>3} / {:>3} / {:>3}             {:>3}        {:>4}",
            r.to_outlook.created, r.to_outlook.updated, r.to_outlook.removed,
            r.to_erp.created, r.to_erp.updated, r.to_erp.removed,
            r.conflicts, r.requests
        )
        .map_err(io)?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn weekday(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

fn tick(ok: bool) -> &'static str {
    if ok { "ok" } else { "FAILED" }
}

fn moved(r: &RunView) -> String {
    format!(
        "to Outlook {} created, {} updated, {} deleted; to ERP.net {} created, {} updated, {} voided; {} conflict(s); {} requests",
        r.to_outlook.created,
        r.to_outlook.updated,
        r.to_outlook.removed,
        r.to_erp.created,
        r.to_erp.updated,
        r.to_erp.removed,
        r.conflicts,
        r.requests
    )
}

/// Prints Home as the panel shows it.
pub fn print_home(out: &mut dyn std::io::Write, home: &HomeView) -> std::io::Result<()> {
    writeln!(
        out,
        "Home: {} <{}>   State: {}",
        home.name, home.email, home.state
    )?;
    if let Some(fix) = &home.fix {
        writeln!(out, "  Fix: {fix}")?;
    }
    for job in &home.jobs {
        let t = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "  {} [{}]  Latest sync (UTC) {}  Remote checkpoint (UTC) {}  Local checkpoint (UTC) {}",
            job.title,
            job.state,
            t(&job.latest_sync),
            t(&job.remote_checkpoint),
            t(&job.local_checkpoint)
        )?;
        writeln!(out, "    Kept current: {}", job.kept_current)?;
        if let (Some(finished), Some(node)) = (job.last_run.finished, &job.last_run.node) {
            writeln!(
                out,
                "    Last run: {} on node '{node}'",
                mssync_core::app::format_utc(finished)
            )?;
        }
    }
    for line in home
        .log
        .iter()
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// The demo seals with a fixed key: its store is a throwaway file.
fn demo_sealing_key() -> [u8; 32] {
    *b"mssync-demo-key-not-for-real-use"
}
