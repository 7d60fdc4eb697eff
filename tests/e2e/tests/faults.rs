//! The randomized fault suite over both simulators, through `App::run_job` and real HTTP.
//!
//! A seeded generator plays the users (creates, field edits, time moves, deletes in Outlook and
//! voids in ERP.net, weekly and daily series with occurrence edits and cancellations, master
//! edits, Released activities, edits on both sides between runs) and the weather (429 and 503 on
//! either service, slow answers, timeouts with and without the work done, the engine dropped after its n-th
//! request with or without that request delivered, a failing n-th store commit, expired delta
//! tokens, two engines running at once, a failed item inside an ERP.net `$batch` or a lost answer
//! to a whole batch, half of the seeds taking ERP.net changes from the tenant's feed, the host's
//! store lost at a random point: between runs
//! or half way through one, then Service and sign-in done again on an empty store). After the
//! faults stop and a few quiet runs, both sides
//! must hold the same items by the mapping rules, none twice, nothing gone that no one deleted,
//! and Outlook's unmapped `location` intact.
//!
//! `MSSYNC_SCENARIOS` sets how many seeds run (default 12), `MSSYNC_SEED` replays one seed. A
//! failure prints its seed; every seed that ever failed is kept as a named regression test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use common::{Env, Rng, alice_env};
use mssync_core::ErrorCode;
use mssync_core::app::JobKind;
use mssync_core::erp::{Activity, Guid, Participant};
use mssync_core::graph::GraphEvent;
use mssync_core::host::Clock;
use mssync_core::jobs::calendar::{CONFLICT_CATEGORY, map_erp, map_graph, window_for};
use mssync_core::model::tz::Zone;
use mssync_core::model::{CalendarItem, When};
use mssync_sim::erp::{ActivitySeed, BatchFault, Fault};
use serde_json::{Value, json};

/// What the generator knows about each item it made: the tag in its subject names it.
#[derive(Default)]
struct Model {
    next_tag: u32,
    stamp: u32,
    /// Tags someone deleted (a void, an Outlook delete, a series cancelled whole).
    deleted: BTreeSet<String>,
    /// Tags of series: occurrences share the tag.
    series: BTreeSet<String>,
    /// Tags of Released activities changed in Outlook afterwards: a marked conflict, sides differ.
    conflicted: BTreeSet<String>,
    released: BTreeSet<String>,
    /// Series tags with an occurrence cancelled in Outlook.
    cancelled_occurrence: BTreeSet<String>,
    /// Tags edited in Outlook at any time.
    outlook_edited: BTreeSet<String>,
    /// Outlook-born tags carry `location` "Room <tag>", which must survive.
    located: BTreeSet<String>,
    log: Vec<String>,
}

impl Model {
    fn new_tag(&mut self) -> String {
        self.next_tag += 1;
        format!("T{}", self.next_tag)
    }
}

const IMPORTANCES: [&str; 3] = ["low", "normal", "high"];

fn tag_of(subject: &str) -> String {
    subject.split(' ').next().unwrap_or_default().to_owned()
}

fn zone() -> Zone {
    Zone::parse("Europe/Sofia").unwrap()
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn random_start(rng: &mut Rng) -> DateTime<Utc> {
    let day = 2 + rng.below(20) as u32;
    let hour = 6 + rng.below(10) as u32;
    Utc.with_ymd_and_hms(2026, 6, day, hour, 0, 0).unwrap()
}

fn erp_create(env: &Env, rng: &mut Rng, model: &mut Model) {
    let tag = model.new_tag();
    let all_day = rng.chance(15);
    let start = if all_day {
        // Local midnight in Sofia (UTC+3 in June).
        Utc.with_ymd_and_hms(2026, 6, 2 + rng.below(20) as u32, 21, 0, 0)
            .unwrap()
    } else {
        random_start(rng)
    };
    let mut seed = ActivitySeed::new(tag.clone(), start);
    if all_day {
        seed.end = Some(start + chrono::Duration::days(1 + rng.below(2) as i64));
    }
    seed.assigned_to = Some(env.world.alice().erp_user_id.clone());
    seed.notes = rng.chance(50).then(|| format!("notes of {tag}"));
    seed.priority = Some(["Low", "Medium", "High"][rng.below(3) as usize]);
    seed.reminder_time = rng
        .chance(40)
        .then(|| start - chrono::Duration::minutes(15));
    env.world.erp.seed_activity(seed);
    model
        .log
        .push(format!("erp create {tag} all_day={all_day}"));
}

fn live_activities(env: &Env) -> Vec<Value> {
    env.activities()
}

fn erp_edit(env: &Env, rng: &mut Rng, model: &mut Model) {
    let activities = live_activities(env);
    if activities.is_empty() {
        return;
    }
    let a = &activities[rng.below(activities.len() as u64) as usize];
    if a["State"] == "Released" {
        return;
    }
    let id = a["Id"].as_str().unwrap().to_owned();
    let tag = tag_of(a["Subject"].as_str().unwrap());
    model.stamp += 1;
    let stamp = model.stamp;
    let what = rng.below(5);
    let shift = chrono::Duration::minutes(30 * (1 + rng.below(4) as i64));
    env.world.erp.edit_activity(&id, |o| match what {
        0 => {
            o.insert("Subject".into(), json!(format!("{tag} e{stamp}")));
        }
        1 => {
            o.insert("Notes".into(), json!(format!("erp notes {stamp}")));
        }
        2 => {
            o.insert(
                "Priority".into(),
                json!(["Lowest", "Low", "Medium", "High", "Highest"][(stamp % 5) as usize]),
            );
        }
        _ => {
            let start = parse_time(&o["StartTime"]).unwrap();
            let end = parse_time(&o["EndTime"]).unwrap_or(start);
            o.insert("StartTime".into(), json!(iso(start + shift)));
            o.insert("EndTime".into(), json!(iso(end + shift)));
        }
    });
    model.log.push(format!("erp edit {tag} ({what})"));
}

fn erp_void(env: &Env, rng: &mut Rng, model: &mut Model) {
    let activities = live_activities(env);
    if activities.is_empty() {
        return;
    }
    let a = &activities[rng.below(activities.len() as u64) as usize];
    if a["State"] == "Released" {
        return;
    }
    let id = a["Id"].as_str().unwrap().to_owned();
    let tag = tag_of(a["Subject"].as_str().unwrap());
    env.world.erp.edit_activity(&id, |o| {
        o.insert("Void".into(), json!(true));
        o.insert("VoidReason".into(), json!("not needed"));
    });
    model.deleted.insert(tag.clone());
    model.log.push(format!("erp void {tag}"));
}

fn erp_release(env: &Env, rng: &mut Rng, model: &mut Model) {
    let activities = live_activities(env);
    if activities.is_empty() {
        return;
    }
    let a = &activities[rng.below(activities.len() as u64) as usize];
    let tag = tag_of(a["Subject"].as_str().unwrap());
    env.world
        .erp
        .set_state(a["Id"].as_str().unwrap(), "Released");
    model.released.insert(tag.clone());
    // An Outlook edit not yet synced meets a read-only activity: a conflict.
    if model.outlook_edited.contains(&tag) {
        model.conflicted.insert(tag.clone());
    }
    model.log.push(format!("erp release {tag}"));
}

fn local(t: DateTime<Utc>) -> String {
    zone()
        .to_local(t)
        .format("%Y-%m-%dT%H:%M:%S.0000000")
        .to_string()
}

fn outlook_create(env: &Env, alice: &str, rng: &mut Rng, model: &mut Model) {
    let tag = model.new_tag();
    let series = rng.chance(30);
    let all_day = !series && rng.chance(15);
    let start = random_start(rng);
    let mut event = json!({
        "subject": tag,
        "body": {"contentType": "html", "content": format!("<p>Agenda of <b>{tag}</b></p>")},
        "importance": IMPORTANCES[rng.below(3) as usize],
        "isReminderOn": true,
        "reminderMinutesBeforeStart": 15,
        "location": {"displayName": format!("Room {tag}")},
    });
    if all_day {
        let day = start.date_naive();
        event["isAllDay"] = json!(true);
        event["start"] =
            json!({"dateTime": format!("{day}T00:00:00.0000000"), "timeZone": "FLE Standard Time"});
        event["end"] = json!({"dateTime": format!("{}T00:00:00.0000000", day.succ_opt().unwrap()), "timeZone": "FLE Standard Time"});
    } else {
        event["start"] = json!({"dateTime": local(start), "timeZone": "FLE Standard Time"});
        event["end"] = json!({"dateTime": local(start + chrono::Duration::hours(1)), "timeZone": "FLE Standard Time"});
    }
    if series {
        let local_day = zone().to_local(start).date();
        let pattern = if rng.chance(50) {
            json!({"type": "daily", "interval": 1})
        } else {
            let day = format!("{:?}", chrono::Datelike::weekday(&local_day)).to_lowercase();
            let full = [
                ("mon", "monday"),
                ("tue", "tuesday"),
                ("wed", "wednesday"),
                ("thu", "thursday"),
                ("fri", "friday"),
                ("sat", "saturday"),
                ("sun", "sunday"),
            ]
            .iter()
            .find(|(s, _)| *s == day)
            .unwrap()
            .1;
            json!({"type": "weekly", "interval": 1, "daysOfWeek": [full]})
        };
        event["recurrence"] = json!({
            "pattern": pattern,
            "range": {"type": "numbered", "startDate": local_day.to_string(), "numberOfOccurrences": 2 + rng.below(3)},
        });
        model.series.insert(tag.clone());
    }
    env.world.graph.seed_event(alice, event);
    model.located.insert(tag.clone());
    model.log.push(format!(
        "outlook create {tag} series={series} all_day={all_day}"
    ));
}

/// What Outlook shows in the window: singles, occurrences and exceptions (not masters).
fn outlook_view(env: &Env, alice: &str) -> Vec<Value> {
    let w = window_for(env.clock.now());
    env.world.graph.calendar_view(alice, w.start, w.end)
}

fn outlook_edit(env: &Env, alice: &str, rng: &mut Rng, model: &mut Model) {
    let view = outlook_view(env, alice);
    if view.is_empty() {
        return;
    }
    let e = &view[rng.below(view.len() as u64) as usize];
    let tag = tag_of(e["subject"].as_str().unwrap_or_default());
    // Sometimes the master instead of the occurrence.
    let (id, on_master) = match e["seriesMasterId"].as_str() {
        Some(master) if rng.chance(30) => (master.to_owned(), true),
        _ => (e["id"].as_str().unwrap().to_owned(), false),
    };
    model.stamp += 1;
    let stamp = model.stamp;
    let what = rng.below(4);
    let patch = match what {
        0 => json!({"subject": format!("{tag} o{stamp}")}),
        1 => {
            json!({"body": {"contentType": "html", "content": format!("<div>Outlook&nbsp;notes <i>{stamp}</i></div>")}})
        }
        2 => json!({"importance": IMPORTANCES[(stamp % 3) as usize]}),
        _ => {
            if e["isAllDay"] == json!(true) || on_master {
                json!({"subject": format!("{tag} o{stamp}")})
            } else {
                let start = parse_graph_utc(&e["start"]);
                let end = parse_graph_utc(&e["end"]);
                let shift = chrono::Duration::minutes(30 * (1 + rng.below(4) as i64));
                json!({
                    "start": {"dateTime": local(start + shift), "timeZone": "FLE Standard Time"},
                    "end": {"dateTime": local(end + shift), "timeZone": "FLE Standard Time"},
                })
            }
        }
    };
    env.world.graph.user_update(alice, &id, patch);
    model.outlook_edited.insert(tag.clone());
    if model.released.contains(&tag) {
        model.conflicted.insert(tag.clone());
    }
    model
        .log
        .push(format!("outlook edit {tag} ({what}) master={on_master}"));
}

fn parse_graph_utc(v: &Value) -> DateTime<Utc> {
    let text = v["dateTime"].as_str().unwrap();
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").unwrap();
    naive.and_utc()
}

fn outlook_delete(env: &Env, alice: &str, rng: &mut Rng, model: &mut Model) {
    let view = outlook_view(env, alice);
    if view.is_empty() {
        return;
    }
    let e = &view[rng.below(view.len() as u64) as usize];
    let tag = tag_of(e["subject"].as_str().unwrap_or_default());
    if model.released.contains(&tag) {
        // A Released activity cannot be voided; keep the scenario's promise simple.
        return;
    }
    let (id, whole) = match e["seriesMasterId"].as_str() {
        Some(master) if rng.chance(25) => (master.to_owned(), true),
        _ => (e["id"].as_str().unwrap().to_owned(), false),
    };
    env.world.graph.user_delete(alice, &id);
    if whole || e["seriesMasterId"].is_null() {
        model.deleted.insert(tag.clone());
    } else {
        // One occurrence cancelled: an ERP.net edit of it may bring it back as a single event.
        model.cancelled_occurrence.insert(tag.clone());
    }
    model
        .log
        .push(format!("outlook delete {tag} whole_series={whole}"));
}

/// The ERP.net side of a seed's weather, drawn from its own stream so the other faults of a
/// seed stay as they were: whether runs take their changes from the tenant's feed, and faults
/// inside `$batch` (a failed item, a lost answer to the whole batch).
struct ErpWeather {
    rng: Rng,
    feed: bool,
}

impl ErpWeather {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed.wrapping_mul(0xA24B_AED4_963E_E407) | 1);
        let feed = rng.chance(50);
        Self { rng, feed }
    }

    /// Before a run: the feed's round (when this seed uses it) and maybe a batch fault.
    async fn before_run(&mut self, env: &Env, model: &mut Model) {
        if self.feed {
            let round = env.app.route_erp_changes().await;
            model.log.push(format!(
                "  feed: {:?}",
                round.map(|r| (r.changes, r.routed, r.skipped))
            ));
        }
        if self.rng.chance(20) {
            let fault = match self.rng.chance(50) {
                true => BatchFault::FailItem {
                    changeset: self.rng.below(3) as usize,
                },
                false => BatchFault::LostAnswer { status: 500 },
            };
            model.log.push(format!("  batch fault {fault:?}"));
            env.world.erp.push_batch_fault(fault);
        }
    }
}

/// One run with a random fault; returns a broken promise, if any.
async fn faulty_run(
    env: &Env,
    second: &mssync_core::app::App,
    alice: &str,
    rng: &mut Rng,
    losses: &mut Option<Rng>,
    weather: &mut ErpWeather,
    model: &mut Model,
) -> Result<(), String> {
    // The schedule: runs are 16 minutes apart, so a lease a crash left behind has expired.
    env.advance(Duration::from_secs(16 * 60));
    weather.before_run(env, model).await;
    // Store losses draw from their own stream, so the other faults of a seed stay as they were.
    if let Some(losses) = losses
        && losses.chance(8)
    {
        if losses.chance(50) {
            env.http
                .crash_at(1 + losses.below(14) as u32, losses.chance(50));
            let outcome = tokio::select! {
                r = env.run(alice) => Some(r),
                _ = env.http.crashed() => None,
            };
            env.http.heal();
            model.log.push(format!(
                "store lost after a run (crashed: {})",
                outcome.is_none()
            ));
        } else {
            model.log.push("store lost between runs".into());
        }
        env.lose_the_store(alice).await;
        env.advance(Duration::from_secs(16 * 60));
    }
    let fault = rng.below(12);
    model.log.push(format!("run with fault {fault}"));
    match fault {
        0 => env
            .world
            .graph
            .throttle_next(1 + rng.below(3) as u32, 1 + rng.below(3)),
        1 => env.world.graph.unavailable_next(1 + rng.below(2) as u32),
        2 => env.world.erp.push_fault(Fault::Status {
            status: 429,
            retry_after: Some(1),
        }),
        3 => env.world.erp.push_fault(Fault::Status {
            status: 503,
            retry_after: None,
        }),
        4 => env.world.erp.push_fault(Fault::LostAnswer { status: 500 }),
        5 => env.world.graph.expire_delta_tokens(),
        6 => env
            .http
            .timeout_at(1 + rng.below(10) as u32, rng.chance(50)),
        7 => env.store.fail_commit(1 + rng.below(4) as u32),
        8 | 9 => {
            env.http.crash_at(1 + rng.below(14) as u32, rng.chance(50));
            let outcome = tokio::select! {
                r = env.run(alice) => Some(r),
                _ = env.http.crashed() => None,
            };
            env.http.heal();
            model.log.push(format!("  crashed: {}", outcome.is_none()));
            return Ok(());
        }
        10 => {
            // Slow Graph answers keep the first run inside its lease while the second reaches
            // it: a quiet run on the ERP.net feed sends only one request, and two runs that
            // happen one after the other may both succeed.
            env.world.graph.set_delay(Duration::from_millis(200));
            let (a, b) = futures::join!(
                env.run(alice),
                second.run_job(alice, JobKind::Calendar, false)
            );
            env.world.graph.set_delay(Duration::ZERO);
            let b = b.result;
            let held = |r: &Result<_, mssync_core::PublicError>| matches!(r, Err(e) if e.code == ErrorCode::LeaseHeld);
            if !held(&a) && !held(&b) {
                return Err(format!(
                    "two engines synced together: {:?} / {:?}",
                    a.map(|_| "ok"),
                    b.map(|_| "ok")
                ));
            }
            return Ok(());
        }
        _ => {
            // Slow answers (wall clock, short): the run just takes longer.
            env.world.graph.set_delay(Duration::from_millis(5));
            env.world
                .erp
                .push_fault(Fault::Slow(Duration::from_millis(10)));
        }
    }
    let outcome = env.run(alice).await;
    env.world.graph.set_delay(Duration::ZERO);
    model.log.push(format!(
        "  -> {:?}",
        outcome
            .as_ref()
            .map(|r| (r.to_erp, r.to_outlook, r.failed, r.conflicts, r.full_read))
    ));
    env.http.heal();
    env.store.heal();
    if std::env::var("MSSYNC_SEED").is_ok()
        && let Ok(home) = env.app.home(alice).await
    {
        model.log.push(format!("  home log: {:#?}", home.log));
    }
    Ok(())
}

/// One seed's story; `store_losses` adds the lost-store fault (the regression seeds replay the
/// stories they were kept for, without it).
async fn scenario(seed: u64, store_losses: bool) -> Result<(), String> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut losses = store_losses.then(|| Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1));
    let mut weather = ErpWeather::new(seed);
    let (env, alice) = alice_env().await;
    let second = env.engine("second-node");
    let mut model = Model::default();
    for _ in 0..1 + rng.below(3) {
        erp_create(&env, &mut rng, &mut model);
    }
    for _ in 0..1 + rng.below(3) {
        outlook_create(&env, &alice, &mut rng, &mut model);
    }
    for _ in 0..6 + rng.below(6) {
        for _ in 0..rng.below(4) {
            match rng.below(10) {
                0 => erp_create(&env, &mut rng, &mut model),
                1 => outlook_create(&env, &alice, &mut rng, &mut model),
                2 | 3 => erp_edit(&env, &mut rng, &mut model),
                4 | 5 => outlook_edit(&env, &alice, &mut rng, &mut model),
                6 => erp_void(&env, &mut rng, &mut model),
                7 => outlook_delete(&env, &alice, &mut rng, &mut model),
                8 => erp_release(&env, &mut rng, &mut model),
                _ => {}
            }
            env.advance(Duration::from_secs(60));
        }
        faulty_run(
            &env,
            &second,
            &alice,
            &mut rng,
            &mut losses,
            &mut weather,
            &mut model,
        )
        .await
        .map_err(|e| format!("{e}\n{}", model.log.join("\n")))?;
    }
    // Quiet runs: the faults have stopped.
    env.http.heal();
    env.store.heal();
    env.world.erp.clear_batch_faults();
    for i in 0..3 {
        env.advance(Duration::from_secs(16 * 60));
        if weather.feed {
            let _ = env.app.route_erp_changes().await;
        }
        if let Err(e) = env.run(&alice).await {
            return Err(format!(
                "quiet run {i} failed: {e}\n{}",
                model.log.join("\n")
            ));
        }
    }
    check(&env, &alice, &model).map_err(|e| format!("{e}\n{}", model.log.join("\n")))
}

fn activity_of(v: &Value) -> Activity {
    let guid = |v: &Value| v.as_str().and_then(Guid::parse);
    Activity {
        id: guid(&v["Id"]).unwrap(),
        object_version: v["ObjectVersion"].as_i64().unwrap_or(1),
        aggregate_last_update_time_utc: parse_time(&v["AggregateLastUpdateTimeUtc"]).unwrap(),
        subject: v["Subject"].as_str().unwrap().to_owned(),
        start_time: parse_time(&v["StartTime"]).unwrap(),
        end_time: parse_time(&v["EndTime"]),
        notes: v["Notes"].as_str().map(str::to_owned),
        priority: serde_json::from_value(v["Priority"].clone()).ok(),
        private: v["Private"].as_bool().unwrap_or(false),
        reminder_time: parse_time(&v["ReminderTime"]),
        state: serde_json::from_value(v["State"].clone()).unwrap(),
        void: false,
        system_type: None,
        external_id: v["ExternalId"].as_str().map(str::to_owned),
        external_system: v["ExternalSystem"].as_str().map(str::to_owned),
        assigned_to_user: None,
        creation_user: None,
        participants: v["Participants"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| Participant {
                id: None,
                email: p["Email"].as_str().unwrap_or_default().to_owned(),
            })
            .collect(),
        reminders: vec![],
    }
}

/// The mapped fields only, comparable across sides.
fn comparable(mut item: CalendarItem) -> String {
    item.series = None;
    if let When::Timed { zone, .. } = &mut item.when {
        *zone = None;
    }
    serde_json::to_string(&item).unwrap()
}

fn check(env: &Env, alice: &str, model: &Model) -> Result<(), String> {
    let zone = zone();
    let mut erp: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in env.activities() {
        let item = map_erp::activity_to_item(&activity_of(&a), &zone);
        erp.entry(tag_of(&item.subject))
            .or_default()
            .push(comparable(item));
    }
    let mut outlook: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut marked = BTreeSet::new();
    for e in outlook_view(env, alice) {
        let tag = tag_of(e["subject"].as_str().unwrap_or_default());
        if e["categories"].to_string().contains(CONFLICT_CATEGORY) {
            marked.insert(tag.clone());
        }
        // A deleted event that came back (an edit on the other side won) lost what only
        // Outlook held; any other must keep it.
        if model.located.contains(&tag)
            && !model.deleted.contains(&tag)
            && !model.cancelled_occurrence.contains(&tag)
            && e["location"]["displayName"] != json!(format!("Room {tag}"))
        {
            return Err(format!("the location of {tag} was lost: {e}"));
        }
        let event: GraphEvent = serde_json::from_value(e).map_err(|x| x.to_string())?;
        let item = map_graph::to_item(&event, &zone).map_err(|x| format!("{x:?}"))?;
        outlook
            .entry(tag_of(&item.subject))
            .or_default()
            .push(comparable(item));
    }
    for side in [&mut erp, &mut outlook] {
        for items in side.values_mut() {
            items.sort();
        }
    }
    let tags: BTreeSet<&String> = erp.keys().chain(outlook.keys()).collect();
    for tag in tags {
        let (a, e) = (
            erp.get(tag).cloned().unwrap_or_default(),
            outlook.get(tag).cloned().unwrap_or_default(),
        );
        if !model.series.contains(tag) && (a.len() > 1 || e.len() > 1) {
            return Err(format!("{tag} duplicated: ERP.net {a:#?} Outlook {e:#?}"));
        }
        if a.len() != e.len() {
            return Err(format!(
                "{tag} differs in count: ERP.net {a:#?} Outlook {e:#?}"
            ));
        }
        if a != e && !(model.conflicted.contains(tag) && marked.contains(tag)) {
            return Err(format!(
                "{tag} differs (conflict marked: {}): ERP.net {a:#?} Outlook {e:#?}",
                marked.contains(tag)
            ));
        }
        let distinct: BTreeSet<&String> = a.iter().collect();
        if distinct.len() != a.len() {
            return Err(format!("{tag} has a duplicated occurrence: {a:#?}"));
        }
    }
    for n in 1..=model.next_tag {
        let tag = format!("T{n}");
        // A series whose occurrences were all cancelled one by one is gone too.
        let maybe_gone = model.deleted.contains(&tag) || model.cancelled_occurrence.contains(&tag);
        if !maybe_gone && !erp.contains_key(&tag) {
            return Err(format!("{tag} was lost though no one deleted it"));
        }
    }
    Ok(())
}

async fn run_seed(seed: u64) {
    if let Err(e) = scenario(seed, false).await {
        panic!("fault scenario failed; replay with MSSYNC_SEED={seed}\n{e}");
    }
}

async fn run_seed_with_store_losses(seed: u64) {
    if let Err(e) = scenario(seed, true).await {
        panic!("fault scenario failed; replay with MSSYNC_SEED={seed}\n{e}");
    }
}

/// A master edit changes the exceptions that inherit the field; the simulator did not move
/// their changeKey, so delta never reported them (a simulator fidelity fix).
#[tokio::test]
async fn regression_seed_2_master_edit_reaches_inheriting_exceptions() {
    run_seed(2).await;
}

/// An event we created, first reported by a run whose commit then failed, deleted before the
/// next run: the stored delta link predates it and never reports its deletion.
#[tokio::test]
async fn regression_seed_12_deletion_of_our_event_behind_an_old_delta_link() {
    run_seed(12).await;
}

/// A run died after making activities for a series' occurrences, before recording them; the
/// user voided one; the next full read found it void through findOrCreate and linked the
/// occurrence to a void activity, so the occurrence stayed in Outlook for good.
#[tokio::test]
async fn regression_seed_87_void_of_an_unrecorded_activity_cancels_its_occurrence() {
    run_seed(87).await;
}

/// A re-creation of an event deleted in Outlook (the ERP.net edit won) was sent by a run that
/// then crashed; the next run linked the re-created event through the activity and also copied
/// it into ERP.net as a new event: a duplicate activity.
#[tokio::test]
async fn regression_seed_434_recreated_event_after_a_crash_is_not_copied_back() {
    run_seed(434).await;
}

/// An Outlook event first linked by a run that kept the old delta link (a write failed), then
/// deleted: the old link never saw the event, so it never reported the deletion.
#[tokio::test]
async fn regression_seed_643_deletion_of_an_event_linked_by_a_run_that_kept_its_checkpoint() {
    run_seed(643).await;
}

/// The activity a run re-created for an edited event (its first activity voided) lost its
/// answer; the user voided the new one too before the next run, whose create found it void. The
/// void wins: the event goes, as for an unlinked event (seed 87), instead of staying linked to
/// a void activity. Found by the 1,000-seed run of the ERP.net `$batch` work.
#[tokio::test]
async fn regression_seed_735_void_of_a_recreated_activity_after_a_lost_batch_answer() {
    run_seed_with_store_losses(735).await;
}

#[tokio::test]
async fn randomized_faults_on_both_simulators_converge_without_duplicates_or_loss() {
    if let Ok(seed) = std::env::var("MSSYNC_SEED") {
        run_seed_with_store_losses(seed.parse().expect("MSSYNC_SEED is a number")).await;
        return;
    }
    let count: u64 = std::env::var("MSSYNC_SCENARIOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    // `MSSYNC_FIRST_SEED` starts later in the sequence (to go on past a seed being looked into).
    let first: u64 = std::env::var("MSSYNC_FIRST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let started = std::time::Instant::now();
    for seed in first..=count {
        run_seed_with_store_losses(seed).await;
    }
    eprintln!("{count} fault scenarios in {:?}", started.elapsed());
}
