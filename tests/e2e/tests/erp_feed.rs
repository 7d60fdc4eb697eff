//! The tenant-wide ERP.net change feed through `App`, over real HTTP to the simulators: one
//! read per round routed to owners, runs that read no ERP.net changes of their own, routed users
//! due first, and no change lost when a run fails or never comes.

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::{Env, alice_env};
use mssync_core::app::JobKind;
use mssync_core::host::{Clock, Store};
use mssync_sim::erp::ActivitySeed;

fn erp_requests(env: &Env) -> usize {
    env.world
        .erp
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .count()
}

fn graph_requests(env: &Env) -> usize {
    env.world.graph.requests().len()
}

fn clear(env: &Env) {
    env.world.erp.clear_requests();
    env.world.graph.clear_requests();
}

fn seed_for_alice(env: &Env, subject: &str) -> String {
    let mut seed = ActivitySeed::new(subject, Utc.with_ymd_and_hms(2026, 6, 3, 7, 0, 0).unwrap());
    seed.assigned_to = Some(env.world.alice().erp_user_id.clone());
    env.world.erp.seed_activity(seed)
}

async fn routes(env: &Env) -> usize {
    env.store.scan("erpfeed/routed/").await.unwrap().len()
}

/// 15 minutes on, as a scheduler round: the feed, then the due jobs.
async fn round(env: &Env) -> mssync_core::app::FeedRound {
    env.advance(Duration::from_secs(15 * 60));
    env.app.route_erp_changes().await.unwrap()
}

#[tokio::test]
async fn a_quiet_run_on_the_feed_costs_one_graph_and_one_erp_request() {
    let (env, alice) = alice_env().await;
    env.run(&alice).await.unwrap();
    round(&env).await;
    env.run(&alice).await.unwrap();

    clear(&env);
    let feed = round(&env).await;
    assert_eq!((feed.requests, feed.changes), (1, 0), "{feed:?}");
    let report = env.run(&alice).await.unwrap();
    assert_eq!(report.pulled_from_erp, 0);
    assert_eq!(
        (graph_requests(&env), erp_requests(&env)),
        (1, 1),
        "{:#?}",
        env.world.erp.requests()
    );
}

#[tokio::test]
async fn a_change_is_routed_to_its_owner_who_runs_first_and_reads_no_erp() {
    let (env, alice) = alice_env().await;
    env.run(&alice).await.unwrap();
    round(&env).await;
    env.run(&alice).await.unwrap();

    let id = seed_for_alice(&env, "Budget review");
    // Created by a login no user of MsSync has: read, routed to nobody.
    let mut stranger = ActivitySeed::new(
        "Not ours",
        Utc.with_ymd_and_hms(2026, 6, 3, 9, 0, 0).unwrap(),
    );
    stranger.creation_user = Some("somebody-else".into());
    env.world.erp.seed_activity(stranger);
    clear(&env);
    let feed = round(&env).await;
    assert_eq!((feed.changes, feed.routed), (2, 1), "{feed:?}");
    assert_eq!(feed.users, std::slice::from_ref(&alice));
    assert_eq!(routes(&env).await, 1);

    let due = env.app.due_jobs(env.clock.now()).await.unwrap();
    assert_eq!(
        (due[0].user_id.as_str(), due[0].job),
        (alice.as_str(), JobKind::Calendar)
    );

    clear(&env);
    let report = env.run(&alice).await.unwrap();
    assert_eq!(
        (report.pulled_from_erp, report.to_outlook.created),
        (1, 1),
        "{report:?}"
    );
    // No read of its own: the change came from the route. The one ERP.net request is the
    // write-back of the event's id onto the activity (a `$batch`).
    let sent = env.world.erp.requests();
    let sent: Vec<_> = sent
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(sent[0].path.ends_with("$batch"));
    assert_eq!(
        sent[0].body.as_ref().unwrap()[0]["changeset"][0]["method"],
        "PATCH"
    );
    assert!(
        env.world
            .graph
            .events(&alice)
            .iter()
            .any(|e| e["subject"] == "Budget review")
    );
    assert_eq!(routes(&env).await, 0, "the route is processed");
    assert!(env.world.erp.activity(&id).unwrap()["ExternalId"].is_string());
}

#[tokio::test]
async fn a_run_that_fails_or_never_comes_loses_no_routed_change() {
    let (env, alice) = alice_env().await;
    env.run(&alice).await.unwrap();
    round(&env).await;
    env.run(&alice).await.unwrap();

    seed_for_alice(&env, "Kept for later");
    assert_eq!(round(&env).await.routed, 1);
    // The run's commit fails: the route stays for the next run.
    env.store.fail_commit(1);
    assert!(env.run(&alice).await.is_err());
    env.store.heal();
    assert_eq!(routes(&env).await, 1);
    // No run for two rounds; the feed reads on and routes nothing new.
    assert_eq!(round(&env).await.routed, 0);
    assert_eq!(round(&env).await.routed, 0);
    let report = env.run(&alice).await.unwrap();
    assert_eq!(report.to_outlook.created, 1, "{report:?}");
    assert_eq!(routes(&env).await, 0);
}

#[tokio::test]
async fn a_feed_no_longer_read_sends_runs_back_to_their_own_reads() {
    let (env, alice) = alice_env().await;
    env.run(&alice).await.unwrap();
    round(&env).await;
    env.run(&alice).await.unwrap();
    // The host stops calling the feed: 45 minutes later it is not current any more.
    env.advance(Duration::from_secs(45 * 60));
    seed_for_alice(&env, "Seen by the user's own read");
    clear(&env);
    let report = env.run(&alice).await.unwrap();
    assert_eq!(report.to_outlook.created, 1, "{report:?}");
    assert!(erp_requests(&env) >= 2, "the owner rule's two queries");
    // The feed resumes from its watermark; the change is routed but already processed.
    let feed = round(&env).await;
    assert_eq!(feed.routed, 1);
    let report = env.run(&alice).await.unwrap();
    assert_eq!(report.to_outlook.created, 0, "{report:?}");
    assert_eq!(env.world.graph.events(&alice).len(), 1);
}

#[tokio::test]
async fn a_second_call_within_the_round_reads_nothing() {
    let (env, alice) = alice_env().await;
    env.run(&alice).await.unwrap();
    round(&env).await;
    clear(&env);
    let again = env.app.route_erp_changes().await.unwrap();
    assert!(again.skipped);
    assert_eq!(erp_requests(&env), 0);
}
