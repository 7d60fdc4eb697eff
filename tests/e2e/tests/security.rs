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

/// A server's numbers are the server's: a huge `Retry-After` neither overflows a date (it
/// panicked) nor pushes the next run arbitrarily far ahead.
#[tokio::test]
async fn a_huge_retry_after_is_clamped_to_an_hour() {
    let (env, alice) = common::alice_env().await;
    env.advance(Duration::from_secs(60));
    for value in [
        "100000000000000",
        "18446744073709551615",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        env.world.graph.set_retry_after(Some(value));
        env.world.graph.throttle_next(1, 1);
        let now = mssync_core::host::Clock::now(env.clock.as_ref());
        let error = env.run(&alice).await.expect_err("throttled");
        assert_eq!(error.code, mssync_core::ErrorCode::Throttled, "{value}");
        let until = error.retry_at.expect("a time to resume");
        assert!(
            until <= now + chrono::Duration::hours(1),
            "{value}: {until}"
        );
        env.advance(Duration::from_secs(3601));
    }
    env.world.graph.set_retry_after(None);
    env.run(&alice).await.expect("the next run works");
}

/// A token lifetime far beyond the calendar's end (`expires_in` 10^13 seconds) is a server's
/// number too: believed up to a day, and never a panic.
#[tokio::test]
async fn a_huge_token_lifetime_is_believed_up_to_a_day() {
    let (env, alice) = common::alice_env().await;
    env.world.erp.set_token_lifetime(10_000_000_000_000);
    env.world.erp.revoke_tokens();
    env.advance(Duration::from_secs(60));
    env.run(&alice).await.expect("a run with the huge lifetime");
    let issued = env.world.erp.tokens_issued();
    // A day and more later the token is fetched again rather than trusted for ever.
    env.advance(Duration::from_secs(25 * 60 * 60));
    env.run(&alice).await.expect("a run a day later");
    assert!(env.world.erp.tokens_issued() > issued);
}
