//! The randomized fault suite of the Mail job over both simulators, through `App::run_job` and
//! real HTTP.
//!
//! A seeded generator plays Alice (mail arriving in Inbox, Sent Items and her own folders, moves
//! between them, deletes to Deleted Items and restores, deletes for good, copies, read and unread
//! in Outlook, new and renamed folders) and ERP.net users (read and unread, a move to Trash), and
//! the weather (429 and 503 on either service, timeouts with and without the work done, the
//! engine dropped after its n-th request with or without that request delivered, a failing n-th
//! store commit, expired delta tokens, two engines running at once, a failed item inside an
//! ERP.net `$batch` or a lost answer to a whole batch, the host's store lost). After the faults
//! stop and a few quiet runs:
//! - every Outlook message of the synced folders received since the first sync has exactly one
//!   ERP.net message, in the twin of its folder: no duplicate, nothing lost;
//! - both sides hold the same read state, and a message only one side ever changed holds that
//!   side's last value: no read-state change is lost (except across a lost store, where a message
//!   touched on both sides before the next good run takes the newer side's state whole: the link
//!   that knew which side changed what went with the store);
//! - a message deleted for good in Outlook is in ERP.net's Trash; a message moved to Trash in
//!   ERP.net is in Outlook's Deleted Items.
//!
//! `MSSYNC_MAIL_SCENARIOS` sets how many seeds run (default 8), `MSSYNC_SEED` replays one seed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::SecondsFormat;
use common::{Env, Rng, alice_env, ref_id};
use mssync_core::ErrorCode;
use mssync_core::app::JobKind;
use mssync_core::host::Clock;
use mssync_sim::erp::{BatchFault, Fault};
use serde_json::{Value, json};

const MESSAGES: &str = "Applications_Mail_Messages";
const FOLDERS: &str = "Applications_Mail_BoxFolders";

/// What the generator did, to check the end state against.
#[derive(Default)]
struct Model {
    next: u32,
    /// Outlook ids of messages deleted for good.
    purged: BTreeSet<String>,
    /// Outlook ids whose ERP.net twin someone moved to Trash (never touched again).
    trashed_in_erp: BTreeSet<String>,
    /// Who changed each message's read state: (Outlook, ERP.net), and the last value set.
    read_changes: BTreeMap<String, (bool, bool, bool)>,
    /// Messages touched on either side since the last run that succeeded.
    unsettled: BTreeSet<String>,
    /// The store was lost and no run has succeeded since.
    store_lost: bool,
    /// Messages touched on both sides of a lost store: the link that knew which side changed
    /// what is gone, so the newer side wins the whole message and only sameness is checked.
    relaxed: BTreeSet<String>,
    /// Alice's own folders (Outlook ids).
    folders: Vec<String>,
    log: Vec<String>,
}

struct Mail<'a> {
    env: &'a Env,
    oid: String,
}

impl Mail<'_> {
    fn folder(&self, name: &str) -> String {
        self.env
            .world
            .graph
            .mail_folder_id(&self.oid, name)
            .unwrap()
    }

    /// Outlook's messages: (id, folder, subject, read).
    fn outlook(&self) -> Vec<(String, String, String, bool)> {
        self.env.world.graph.messages(&self.oid)
    }

    fn synced_folders(&self, model: &Model) -> Vec<String> {
        let mut folders: Vec<String> = ["inbox", "sentitems", "drafts", "deleteditems"]
            .iter()
            .map(|n| self.folder(n))
            .collect();
        folders.extend(model.folders.iter().cloned());
        folders
    }

    fn erp_row(&self, outlook_id: &str) -> Option<Value> {
        self.env
            .world
            .erp
            .list(MESSAGES)
            .into_iter()
            .find(|m| m["ExternalId"] == json!(outlook_id))
    }
}

fn deliver(mail: &Mail, rng: &mut Rng, model: &mut Model) {
    model.next += 1;
    let subject = format!("M{}", model.next);
    let mut folders = vec![mail.folder("inbox"), mail.folder("sentitems")];
    folders.extend(model.folders.iter().cloned());
    let folder = folders[rng.below(folders.len() as u64) as usize].clone();
    let received = mail.env.clock.now() - chrono::Duration::minutes(rng.below(600) as i64);
    let id = mail.env.world.graph.deliver_message(
        &mail.oid,
        &folder,
        json!({
            "subject": subject,
            "body": {"contentType": "html", "content": format!("<p>{subject}</p>")},
            "from": {"emailAddress": {"address": "bob@fabrikam.example"}},
            "receivedDateTime": received.to_rfc3339_opts(SecondsFormat::Secs, true),
            "hasAttachments": rng.chance(20),
        }),
    );
    if rng.chance(20) {
        mail.env.world.graph.add_attachment(
            &mail.oid,
            &id,
            "a.pdf",
            "application/pdf",
            1000,
            false,
        );
    }
    model
        .log
        .push(format!("deliver {subject} {id} to {folder}"));
}

/// A live Outlook message no one trashed in ERP.net, at random.
fn pick(mail: &Mail, rng: &mut Rng, model: &Model) -> Option<(String, String, bool)> {
    let synced = mail.synced_folders(model);
    let live: Vec<(String, String, bool)> = mail
        .outlook()
        .into_iter()
        .filter(|(id, folder, ..)| synced.contains(folder) && !model.trashed_in_erp.contains(id))
        .map(|(id, folder, _, read)| (id, folder, read))
        .collect();
    (!live.is_empty()).then(|| live[rng.below(live.len() as u64) as usize].clone())
}

fn outlook_action(mail: &Mail, rng: &mut Rng, model: &mut Model) {
    let graph = &mail.env.world.graph;
    match rng.below(8) {
        0 => {
            let root = mail.folder("msgfolderroot");
            let parent = match (rng.chance(50), model.folders.first()) {
                (true, Some(f)) => f.clone(),
                _ => root,
            };
            let id = graph.user_create_mail_folder(
                &mail.oid,
                &parent,
                &format!("F{}", model.folders.len() + 1),
            );
            model.log.push(format!("folder {id} under {parent}"));
            model.folders.push(id);
        }
        1 if !model.folders.is_empty() => {
            let f = model.folders[rng.below(model.folders.len() as u64) as usize].clone();
            graph.user_rename_mail_folder(&mail.oid, &f, &format!("R{}", rng.below(1000)));
            model.log.push(format!("rename folder {f}"));
        }
        2 | 3 => {
            if let Some((id, _, read)) = pick(mail, rng, model) {
                graph.user_set_message_read(&mail.oid, &id, !read);
                let entry = model.read_changes.entry(id.clone()).or_default();
                entry.0 = true;
                entry.2 = !read;
                model.log.push(format!("outlook read {id} = {}", !read));
                model.unsettled.insert(id.clone());
            }
        }
        4 => {
            if let Some((id, ..)) = pick(mail, rng, model) {
                let synced = mail.synced_folders(model);
                let to = synced[rng.below(synced.len() as u64) as usize].clone();
                graph.user_move_message(&mail.oid, &id, &to);
                model.log.push(format!("outlook move {id} to {to}"));
                model.unsettled.insert(id.clone());
            }
        }
        5 => {
            if let Some((id, ..)) = pick(mail, rng, model) {
                graph.user_purge_message(&mail.oid, &id);
                model.purged.insert(id.clone());
                model.log.push(format!("outlook purge {id}"));
                model.unsettled.insert(id.clone());
            }
        }
        6 => {
            if let Some((id, ..)) = pick(mail, rng, model) {
                let synced = mail.synced_folders(model);
                let to = synced[rng.below(synced.len() as u64) as usize].clone();
                let copy = graph.user_copy_message(&mail.oid, &id, &to);
                model
                    .log
                    .push(format!("outlook copy {id} to {to} = {copy}"));
            }
        }
        _ => deliver(mail, rng, model),
    }
}

fn erp_action(mail: &Mail, rng: &mut Rng, model: &mut Model) {
    let Some((id, ..)) = pick(mail, rng, model) else {
        return;
    };
    // Only messages already in ERP.net can be touched there.
    let Some(row) = mail.erp_row(&id) else {
        return;
    };
    let erp_id = row["Id"].as_str().unwrap().to_owned();
    if rng.chance(25) {
        let folders = mail.env.world.erp.list(FOLDERS);
        let box_of = |folder: Option<String>| {
            folders
                .iter()
                .find(|f| f["Id"].as_str().map(str::to_ascii_lowercase) == folder)
                .and_then(|f| ref_id(&f["MailBox"]))
        };
        let mail_box = box_of(ref_id(&row["MailBoxFolder"]));
        let trash = folders
            .iter()
            .find(|f| f["SystemPurpose"] == json!("Trash") && ref_id(&f["MailBox"]) == mail_box)
            .unwrap();
        let trash_id = trash["Id"].as_str().unwrap();
        if ref_id(&row["MailBoxFolder"]) == Some(trash_id.to_ascii_lowercase()) {
            // Already in Trash (it is in Deleted Items): moving it there changes nothing.
            return;
        }
        mail.env.world.erp.user_move_mail(&erp_id, trash_id);
        model.trashed_in_erp.insert(id.clone());
        model.log.push(format!("erp trash {id}"));
        model.unsettled.insert(id.clone());
    } else {
        let read = !row["IsRead"].as_bool().unwrap_or(false);
        mail.env.world.erp.user_set_mail_read(&erp_id, read);
        let entry = model.read_changes.entry(id.clone()).or_default();
        entry.1 = true;
        entry.2 = read;
        model.log.push(format!("erp read {id} = {read}"));
        model.unsettled.insert(id.clone());
    }
}

async fn run(
    env: &Env,
    alice: &str,
) -> Result<mssync_core::app::RunView, mssync_core::PublicError> {
    env.app.run_job(alice, JobKind::Mail, false).await.result
}

/// One run with a random fault.
async fn faulty_run(
    env: &Env,
    second: &mssync_core::app::App,
    alice: &str,
    rng: &mut Rng,
    model: &mut Model,
) -> Result<(), String> {
    env.advance(Duration::from_secs(16 * 60));
    if rng.chance(15) {
        let fault = match rng.chance(50) {
            true => BatchFault::FailItem {
                changeset: rng.below(3) as usize,
            },
            false => BatchFault::LostAnswer { status: 500 },
        };
        model.log.push(format!("  batch fault {fault:?}"));
        env.world.erp.push_batch_fault(fault);
    }
    if rng.chance(6) {
        model.log.push("store lost between runs".into());
        model.store_lost = true;
        lose_the_store(env, alice).await;
        env.advance(Duration::from_secs(16 * 60));
    }
    let fault = rng.below(11);
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
        3 => env.world.erp.push_fault(Fault::LostAnswer { status: 500 }),
        4 => env.world.graph.expire_mail_delta_tokens(),
        5 => env
            .http
            .timeout_at(1 + rng.below(20) as u32, rng.chance(50)),
        6 => env.store.fail_commit(1 + rng.below(3) as u32),
        7 | 8 => {
            env.http.crash_at(1 + rng.below(30) as u32, rng.chance(50));
            let outcome = tokio::select! {
                r = run(env, alice) => Some(r),
                _ = env.http.crashed() => None,
            };
            env.http.heal();
            model.log.push(format!("  crashed: {}", outcome.is_none()));
            return Ok(());
        }
        9 => {
            env.world.graph.set_delay(Duration::from_millis(100));
            let (a, b) =
                futures::join!(run(env, alice), second.run_job(alice, JobKind::Mail, false));
            env.world.graph.set_delay(Duration::ZERO);
            let held = |r: &Result<_, mssync_core::PublicError>| matches!(r, Err(e) if e.code == ErrorCode::LeaseHeld);
            if !held(&a) && !held(&b.result) {
                return Err("two engines ran Mail together".into());
            }
            return Ok(());
        }
        _ => {}
    }
    let outcome = run(env, alice).await;
    if outcome.is_ok() {
        settle(model);
    }
    model.log.push(format!(
        "  -> {:?}",
        outcome
            .as_ref()
            .map(|r| (r.to_erp, r.to_outlook, r.failed))
            .map_err(|e| e.code)
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

/// A run succeeded: what was touched before it is in step now.
fn settle(model: &mut Model) {
    let touched = std::mem::take(&mut model.unsettled);
    if std::mem::take(&mut model.store_lost) {
        model.relaxed.extend(touched);
    }
}

/// The store is lost: Service, sign-in and Setup again, Mail on again.
async fn lose_the_store(env: &Env, alice: &str) {
    env.lose_the_store(alice).await;
    env.app
        .set_job_enabled(alice, JobKind::Mail, true)
        .await
        .expect("the mailbox is ready");
}

async fn scenario(seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (env, alice) = alice_env().await;
    env.app
        .set_job_enabled(&alice, JobKind::Mail, true)
        .await
        .map_err(|e| e.to_string())?;
    let second = env.engine("second-node");
    let mail = Mail {
        env: &env,
        oid: env.world.alice().oid.clone(),
    };
    let mut model = Model::default();
    for _ in 0..2 + rng.below(4) {
        deliver(&mail, &mut rng, &mut model);
    }
    for _ in 0..6 + rng.below(6) {
        for _ in 0..rng.below(5) {
            // A minute after the last run's writes: which side changed last stays decidable.
            env.advance(Duration::from_secs(60));
            match rng.below(10) {
                0..=5 => outlook_action(&mail, &mut rng, &mut model),
                6..=8 => erp_action(&mail, &mut rng, &mut model),
                _ => {}
            }
        }
        faulty_run(&env, &second, &alice, &mut rng, &mut model)
            .await
            .map_err(|e| format!("{e}\n{}", model.log.join("\n")))?;
    }
    env.http.heal();
    env.store.heal();
    env.world.erp.clear_batch_faults();
    for i in 0..3 {
        env.advance(Duration::from_secs(16 * 60));
        let quiet = run(&env, &alice).await;
        if quiet.is_ok() {
            settle(&mut model);
        }
        if let Err(e) = quiet {
            return Err(format!(
                "quiet run {i} failed: {e}\n{}",
                model.log.join("\n")
            ));
        }
    }
    check(&mail, &model).map_err(|e| format!("{e}\n{}", model.log.join("\n")))
}

fn check(mail: &Mail, model: &Model) -> Result<(), String> {
    let erp = mail.env.world.erp.list(MESSAGES);
    let folders = mail.env.world.erp.list(FOLDERS);
    let purpose_of = |erp_folder: &str| {
        folders
            .iter()
            .find(|f| f["Id"].as_str().map(str::to_ascii_lowercase).as_deref() == Some(erp_folder))
            .map(|f| (f["SystemPurpose"].clone(), f["ServerFolderID"].clone()))
    };
    let mut by_outlook: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for row in &erp {
        if let Some(id) = row["ExternalId"].as_str() {
            by_outlook.entry(id.to_owned()).or_default().push(row);
        }
    }
    if let Some((id, rows)) = by_outlook.iter().find(|(_, rows)| rows.len() > 1) {
        return Err(format!(
            "{id} is in ERP.net {} times: {rows:#?}",
            rows.len()
        ));
    }
    let synced = mail.synced_folders(model);
    let system = |name: &'static str| (mail.folder(name), name);
    let systems = [
        system("inbox"),
        system("sentitems"),
        system("drafts"),
        system("deleteditems"),
    ];
    for (id, folder, subject, read) in mail.outlook() {
        if !synced.contains(&folder) {
            continue;
        }
        let Some(row) = by_outlook.get(&id).and_then(|r| r.first()) else {
            return Err(format!(
                "{subject} ({id}) in Outlook was never copied to ERP.net"
            ));
        };
        let (purpose, server_id) = ref_id(&row["MailBoxFolder"])
            .and_then(|f| purpose_of(&f))
            .ok_or_else(|| format!("{subject}'s ERP.net folder is unknown"))?;
        let expected_purpose = systems
            .iter()
            .find(|(f, _)| *f == folder)
            .map(|(_, n)| match *n {
                "inbox" => "Inbox",
                "sentitems" => "Sent",
                "drafts" => "Drafts",
                _ => "Trash",
            });
        let placed = match expected_purpose {
            Some(p) => purpose == json!(p),
            None => server_id == json!(folder),
        };
        if !placed {
            return Err(format!(
                "{subject} ({id}) is in Outlook folder {folder} but in ERP.net folder {purpose}/{server_id}"
            ));
        }
        if row["IsRead"] != json!(read) {
            return Err(format!(
                "{subject} ({id}) read {read} in Outlook, {} in ERP.net",
                row["IsRead"]
            ));
        }
        if let Some((outlook, erp_side, value)) = model.read_changes.get(&id)
            && outlook != erp_side
            && !model.relaxed.contains(&id)
            && read != *value
        {
            return Err(format!(
                "{subject} ({id}): the read state {value} set on one side was lost"
            ));
        }
    }
    for id in &model.purged {
        if let Some(row) = by_outlook.get(id).and_then(|r| r.first()) {
            let (purpose, _) = ref_id(&row["MailBoxFolder"])
                .and_then(|f| purpose_of(&f))
                .unwrap_or_default();
            if purpose != json!("Trash") {
                return Err(format!(
                    "{id} was deleted for good in Outlook but is in {purpose} in ERP.net"
                ));
            }
        }
    }
    let deleted_items = mail.folder("deleteditems");
    for id in &model.trashed_in_erp {
        if let Some((_, folder, subject, _)) = mail.outlook().into_iter().find(|(m, ..)| m == id)
            && folder != deleted_items
        {
            return Err(format!(
                "{subject} ({id}) was moved to Trash in ERP.net but is in {folder} in Outlook"
            ));
        }
    }
    Ok(())
}

async fn run_seed(seed: u64) {
    if let Err(e) = scenario(seed).await {
        panic!("mail fault scenario failed; replay with MSSYNC_SEED={seed}\n{e}");
    }
}

#[tokio::test]
async fn randomized_faults_on_mail_converge_without_duplicates_or_lost_changes() {
    if let Ok(seed) = std::env::var("MSSYNC_SEED") {
        run_seed(seed.parse().expect("MSSYNC_SEED is a number")).await;
        return;
    }
    let count: u64 = std::env::var("MSSYNC_MAIL_SCENARIOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let first: u64 = std::env::var("MSSYNC_FIRST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let started = std::time::Instant::now();
    for seed in first..first + count {
        run_seed(seed).await;
    }
    eprintln!("{count} mail fault scenarios in {:?}", started.elapsed());
}
