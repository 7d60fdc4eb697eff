//! Delegated mode end to end: the service connected without application permissions, a user
//! signs in (user consent), the job runs on the user's own refresh token against `/me`; a revoked
//! refresh token shows on Home as an error whose fix is to sign in again, and signing in again
//! heals it. Application mode does not depend on users' refresh tokens at all.

mod common;

use std::time::Duration;

use common::{alice_env, env};
use mssync_core::ErrorCode;
use mssync_core::app::{Actor, CredentialInput, JobKind, OperationMode, ServiceChange};
use mssync_sim::world::DOMAIN;
use serde_json::json;

fn outlook_event(subject: &str) -> serde_json::Value {
    json!({
        "subject": subject,
        "start": {"dateTime": "2026-06-04T10:00:00.0000000", "timeZone": "FLE Standard Time"},
        "end": {"dateTime": "2026-06-04T11:00:00.0000000", "timeZone": "FLE Standard Time"},
    })
}

#[tokio::test]
async fn delegated_mode_runs_on_the_users_token_and_a_revoked_one_asks_to_sign_in_again() {
    let env = env().await;
    let host = Actor::Host;
    env.app
        .set_service(
            &host,
            ServiceChange {
                tenant_id: Some(env.world.tenant.clone()),
                client_id: Some(env.world.client_id.clone()),
                mode: Some(OperationMode::Delegated),
                credential: Some(CredentialInput::Secret {
                    secret: env.world.client_secret.clone(),
                }),
            },
        )
        .await
        .unwrap();
    // No admin consent for application permissions: delegated mode does not need it.
    assert!(
        !env.world
            .entra
            .has_admin_consent(&env.world.tenant, &env.world.client_id)
    );
    let report = env.app.connect(&host, &env.world.admin.oid).await.unwrap();
    assert!(report.token && report.graph, "{report:?}");
    env.app.give_permissions(&host).await.unwrap();
    env.app.grant_domain(&host, DOMAIN).await.unwrap();

    let alice = env.sign_in(&env.world.alice().email).await.unwrap().user_id;
    env.set_up(&alice).await;
    env.world
        .graph
        .seed_event(&alice, outlook_event("Customer call"));
    env.advance(Duration::from_secs(60));
    env.world.graph.clear_requests();
    let report = env.run(&alice).await.unwrap();
    assert_eq!(report.to_erp.created, 1, "{report:?}");
    let requests = env.world.graph.requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.path.starts_with("/v1.0/me/")),
        "delegated runs address /me: {:?}",
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let client_credentials = env
        .world
        .entra
        .requests_to("/oauth2/v2.0/token")
        .iter()
        .filter(|r| {
            r.form()
                .iter()
                .any(|(k, v)| k == "grant_type" && v == "client_credentials")
        })
        .count();
    assert_eq!(
        client_credentials, 0,
        "no application token is ever asked for"
    );

    // Past the access token's hour the refresh token is used, and it rotates.
    env.advance(Duration::from_secs(2 * 3600));
    env.run(&alice).await.unwrap();

    // An admin revokes Alice's sessions: her refresh token is refused (AADSTS50173).
    env.world.entra.revoke_refresh_tokens();
    env.advance(Duration::from_secs(2 * 3600));
    let error = env.run(&alice).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidGrant, "{error}");
    let home = env.app.home(&alice).await.unwrap();
    assert!(home.state.starts_with("Error: "), "{}", home.state);
    assert_eq!(home.fix.as_deref(), Some("Sign in again."));

    // Signing in again heals it.
    env.sign_in(&env.world.alice().email).await.unwrap();
    env.advance(Duration::from_secs(60));
    env.world
        .graph
        .seed_event(&alice, outlook_event("After sign-in"));
    let report = env
        .app
        .run_job(&alice, JobKind::Calendar, false)
        .await
        .result
        .unwrap();
    assert_eq!(report.to_erp.created, 1, "{report:?}");
    let home = env.app.home(&alice).await.unwrap();
    assert!(!home.state.starts_with("Error"), "{}", home.state);
}

#[tokio::test]
async fn application_mode_is_unaffected_by_revoked_user_sessions() {
    let (env, alice) = alice_env().await;
    env.world
        .graph
        .seed_event(&alice, outlook_event("Customer call"));
    env.advance(Duration::from_secs(60));
    env.run(&alice).await.unwrap();

    env.world.entra.revoke_refresh_tokens();
    env.advance(Duration::from_secs(2 * 3600));
    env.world
        .graph
        .seed_event(&alice, outlook_event("Another call"));
    let report = env.run(&alice).await.unwrap();
    assert_eq!(report.to_erp.created, 1, "{report:?}");
    let home = env.app.home(&alice).await.unwrap();
    assert!(!home.state.starts_with("Error"), "{}", home.state);
    assert!(home.fix.is_none(), "{:?}", home.fix);
    let requests = env.world.graph.requests();
    assert!(requests.iter().any(|r| r.path.starts_with("/v1.0/users/")));
}
