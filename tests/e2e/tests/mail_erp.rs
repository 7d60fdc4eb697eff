//! The ERP.net connector's mail reads (the Mail job's prerequisites) against the ERP.net
//! simulator, over real HTTP on loopback.

mod common;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use mssync_core::erp::{ErpClient, Guid, MailBoxCheck};
use mssync_core::host::ManualClock;
use mssync_sim::erp::{ErpSim, MailBoxSeed};

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
