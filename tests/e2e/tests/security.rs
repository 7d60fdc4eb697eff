//! Security properties seen from outside, through the public API over the simulators.

mod common;

use std::time::Duration;

use common::env;
use mssync_core::host::Store;

const PENDING_SIGN_INS: &str = "identity/pending-sign-in/";

#[tokio::test]
async fn abandoned_sign_ins_are_purged_and_never_pile_up() {
    let env = env().await;
    env.connect_tenant().await;
    // Anyone who can reach the sign-in page can start sign-ins and walk away.
    for _ in 0..50 {
        env.app.begin_sign_in(None).await.unwrap();
    }
    assert_eq!(env.store.scan(PENDING_SIGN_INS).await.unwrap().len(), 50);
    env.advance(Duration::from_secs(16 * 60));
    let fresh = env.app.begin_sign_in(None).await.unwrap();
    let left = env.store.scan(PENDING_SIGN_INS).await.unwrap();
    assert_eq!(left.len(), 1, "only the sign-in begun now remains");
    assert!(left[0].0.ends_with(&fresh.state));
    // A real sign-in still completes after the purge.
    let session = env.sign_in(&env.world.alice().email).await.unwrap();
    assert_eq!(session.email, env.world.alice().email);
}
