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
        env.app
            .begin_sign_in(None, common::BROWSER_SESSION)
            .await
            .unwrap();
    }
    assert_eq!(env.store.scan(PENDING_SIGN_INS).await.unwrap().len(), 50);
    env.advance(Duration::from_secs(16 * 60));
    let fresh = env
        .app
        .begin_sign_in(None, common::BROWSER_SESSION)
        .await
        .unwrap();
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

/// Answers of one service get a chosen `@odata.nextLink`; every address asked is recorded.
struct HostileLinks {
    inner: mssync_cli::http::ReqwestHttp,
    /// (service URL prefix whose collection answers are rewritten, the link to put in them)
    rewrite: std::sync::Mutex<Option<(String, String)>>,
    asked: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait(?Send)]
impl mssync_core::host::HttpClient for HostileLinks {
    async fn send(
        &self,
        request: mssync_core::host::HttpRequest,
    ) -> Result<mssync_core::host::HttpResponse, mssync_core::host::TransportError> {
        self.asked.lock().unwrap().push(request.url.clone());
        let rewrite = self.rewrite.lock().unwrap().clone();
        let mut response = self.inner.send(request.clone()).await?;
        if let Some((prefix, link)) = rewrite
            && request.url.starts_with(&prefix)
            && let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&response.body)
            && body.get("value").is_some_and(serde_json::Value::is_array)
        {
            let link = if link == "SELF" {
                request.url.clone()
            } else {
                link
            };
            body["@odata.nextLink"] = serde_json::json!(link);
            body.as_object_mut().unwrap().remove("@odata.deltaLink");
            response.body = serde_json::to_vec(&body).unwrap();
        }
        Ok(response)
    }
}

/// A service's next link is followed only within that service: never to another host, a
/// scheme-relative address, plain http, another port or path, and never round in a circle.
/// The run stops with its own code, and no request reaches the foreign address.
#[tokio::test]
async fn links_a_service_sends_are_followed_only_within_that_service() {
    let (env, alice) = common::alice_env().await;
    let http = std::sync::Arc::new(HostileLinks {
        inner: mssync_cli::http::ReqwestHttp::new(),
        rewrite: Default::default(),
        asked: Default::default(),
    });
    let app = mssync_core::app::App::with_config(
        mssync_core::host::Host {
            http: http.clone(),
            store: env.store.clone(),
            clock: env.clock.clone(),
        },
        env.world.app_config("hostile-links"),
        common::SEALING_KEY,
    )
    .unwrap();
    let erp_root = env.world.erp.odata_root();
    let graph_root = env.world.graph.base_url();
    let erp_origin = url::Url::parse(&erp_root).unwrap();
    let erp_host_port = format!(
        "{}:{}",
        erp_origin.host_str().unwrap(),
        erp_origin.port().unwrap()
    );
    let cases = [
        (
            &erp_root,
            "https://attacker.example/api/domain/odata/General_Activities_Activities".to_owned(),
        ),
        (
            &erp_root,
            "//attacker.example/api/domain/odata/General_Activities_Activities".to_owned(),
        ),
        (
            &erp_root,
            format!(
                "http://{}:1/api/domain/odata/x",
                erp_origin.host_str().unwrap()
            ),
        ),
        (&erp_root, format!("http://{erp_host_port}/elsewhere/x")),
        (&erp_root, "SELF".to_owned()),
        (
            &graph_root,
            "https://attacker.example/v1.0/users/x/calendarView/delta".to_owned(),
        ),
        (&graph_root, "SELF".to_owned()),
    ];
    for (service, link) in cases {
        *http.rewrite.lock().unwrap() = Some((service.clone(), link.clone()));
        http.asked.lock().unwrap().clear();
        env.advance(Duration::from_secs(16 * 60));
        let error = app
            .run_job(&alice, mssync_core::app::JobKind::Calendar, true)
            .await
            .result
            .expect_err(&link);
        assert_eq!(
            error.code,
            mssync_core::ErrorCode::UntrustedLink,
            "{link}: {error:?}"
        );
        let asked = http.asked.lock().unwrap().clone();
        assert!(
            asked.iter().all(|u| u.starts_with(&erp_root)
                || u.starts_with(&graph_root)
                || u.contains("/connect/token")
                || u.contains("/oauth2/")),
            "{link}: {asked:#?}"
        );
        if link == "SELF" {
            assert!(
                asked.len() < 20,
                "a circle is noticed at once: {}",
                asked.len()
            );
        }
    }
    *http.rewrite.lock().unwrap() = None;
    env.advance(Duration::from_secs(16 * 60));
    app.run_job(&alice, mssync_core::app::JobKind::Calendar, true)
        .await
        .result
        .expect("honest links work");
}

/// Every binding gets the one endpoint rule from the core: https, or http to this machine only,
/// never a user name or password in the address.
#[tokio::test]
async fn endpoints_must_be_https_or_this_machine() {
    let env = env().await;
    let host = || mssync_core::host::Host {
        http: env.http.clone(),
        store: env.store.clone(),
        clock: env.clock.clone(),
    };
    let good = env.world.app_config("rule");
    assert!(mssync_core::app::App::with_config(host(), good.clone(), common::SEALING_KEY).is_ok());
    let mut cases = Vec::new();
    let mut c = good.clone();
    c.authority = "http://login.microsoftonline.com".into();
    cases.push(("authority", c));
    let mut c = good.clone();
    c.graph_base_url = "http://graph.microsoft.com/v1.0".into();
    cases.push(("graph_base_url", c));
    let mut c = good.clone();
    c.erp_base_url = "https://svc:secret@acme.my.erp.net/api/domain/odata/".into();
    cases.push(("erp_base_url", c));
    let mut c = good.clone();
    c.erp_access = mssync_core::app::ErpAccess::TrustedApp {
        identity_base: "http://acme.my.erp.net/id".into(),
        client_id: "x".into(),
        client_secret: "y".into(),
    };
    cases.push(("identity_base", c));
    for (setting, config) in cases {
        let error = mssync_core::app::App::with_config(host(), config, common::SEALING_KEY)
            .err()
            .expect(setting);
        assert_eq!(error.code, mssync_core::ErrorCode::InvalidArgument);
        assert!(error.reason.contains(setting), "{}", error.reason);
        assert!(!error.reason.contains("secret"), "{}", error.reason);
    }
}

/// An ERP.net user is pinned to the Microsoft account (tenant, object id) that first signed in
/// for it: when the address is reassigned to another account, that account inherits nothing.
#[tokio::test]
async fn an_erp_user_is_pinned_to_the_account_that_first_linked_it() {
    use mssync_sim::entra::{SimUser, fixture};
    let (env, alice) = common::alice_env().await;
    assert_eq!(alice, fixture::ALICE_OID);
    // Alice's account is renamed and her old address given to a new account.
    env.world
        .entra
        .rename_user(fixture::ALICE_OID, "alice.former@contoso.example");
    env.world.entra.add_user(SimUser {
        oid: "0e0e0e0e-0000-4000-8000-000000000099".into(),
        tid: fixture::TENANT.into(),
        preferred_username: fixture::ALICE.into(),
        email: Some(fixture::ALICE.into()),
        name: "Someone Else".into(),
    });
    let error = env.sign_in(fixture::ALICE).await.expect_err("refused");
    assert_eq!(error.code, mssync_core::ErrorCode::IdentityLinkedElsewhere);
    assert!(
        env.store
            .get("user/0e0e0e0e-0000-4000-8000-000000000099")
            .await
            .unwrap()
            .is_none(),
        "nothing stored for the newcomer"
    );
    // Alice keeps syncing as herself.
    env.advance(Duration::from_secs(60));
    env.run(&alice).await.expect("Alice's runs go on");
}

/// Rights are read from ERP.net again: a demoted admin loses Service within minutes, and a
/// deactivated user's job stops with the error and its fix within the hour.
#[tokio::test]
async fn a_demoted_admin_and_a_deactivated_user_lose_their_rights() {
    use mssync_core::app::Actor;
    let (env, alice) = common::alice_env().await;
    let admin = env.sign_in(&env.world.admin.email).await.unwrap();
    assert!(admin.is_admin);
    let as_admin = Actor::User(admin.user_id.clone());
    env.app
        .service(&as_admin)
        .await
        .expect("an admin uses Service");
    env.world
        .erp
        .set_user_admin(&env.world.admin.erp_user_id, false);
    env.advance(Duration::from_secs(6 * 60));
    let error = env.app.service(&as_admin).await.expect_err("demoted");
    assert_eq!(error.code, mssync_core::ErrorCode::Forbidden);

    env.advance(Duration::from_secs(60));
    env.run(&alice).await.expect("an active user syncs");
    env.world
        .erp
        .set_user_active(&env.world.alice().erp_user_id, false);
    env.advance(Duration::from_secs(61 * 60));
    let error = env.run(&alice).await.expect_err("deactivated");
    assert_eq!(error.code, mssync_core::ErrorCode::InactiveErpUser);
    let home = env.app.home(&alice).await.unwrap();
    assert!(home.state.starts_with("Error:"), "{}", home.state);
    assert!(home.state.contains("activate"), "{}", home.state);
    env.world
        .erp
        .set_user_active(&env.world.alice().erp_user_id, true);
    env.advance(Duration::from_secs(16 * 60));
    env.run(&alice).await.expect("active again, syncing again");
}

/// A sign-in completes only in the browser session that began it: an attacker who begins one
/// and has the victim's browser open its redirect (login CSRF) gets a refusal, and nothing is
/// stored for anyone.
#[tokio::test]
async fn a_sign_in_completes_only_in_the_session_that_began_it() {
    let env = env().await;
    env.connect_tenant().await;
    let start = env
        .app
        .begin_sign_in(Some(&env.world.alice().email), "attacker-browser")
        .await
        .unwrap();
    let location = common::follow_to_redirect(&start.authorize_url).await;
    let param = |name: &str| {
        location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    let error = env
        .app
        .complete_sign_in(&param("state"), &param("code"), "victim-browser")
        .await
        .expect_err("another session");
    assert_eq!(error.code, mssync_core::ErrorCode::SignInOtherSession);
    assert!(
        env.store.scan("user/").await.unwrap().is_empty(),
        "nobody signed in"
    );
    // Beginning without a binding is refused outright.
    let error = env
        .app
        .begin_sign_in(None, " ")
        .await
        .expect_err("no binding");
    assert_eq!(error.code, mssync_core::ErrorCode::InvalidArgument);
}

/// Admin consent carries a random state that the app accepts once, for the connected tenant:
/// a constant, forged, replayed or foreign-tenant consent response is refused.
#[tokio::test]
async fn an_admin_consent_response_is_accepted_once_with_its_own_state() {
    use mssync_core::app::{Actor, AdminConsentRedirect};
    let env = env().await;
    env.connect_tenant().await;
    let host = Actor::Host;
    let first = env.app.consent_url(&host).await.unwrap();
    let second = env.app.consent_url(&host).await.unwrap();
    let state_of = |url: &str| {
        url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    assert_ne!(state_of(&first), state_of(&second), "a state per consent");
    let back = common::follow_to_redirect(&first).await;
    let param = |name: &str| {
        back.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (state, consent, tenant) = (param("state"), param("admin_consent"), param("tenant"));
    fn redirect<'a>(state: &'a str, tenant: &'a str) -> AdminConsentRedirect<'a> {
        AdminConsentRedirect {
            state,
            admin_consent: "True",
            tenant,
            error: "",
            error_description: "",
        }
    }
    assert_eq!(consent, "True");
    let other_state = state_of(&second);
    let forged = env
        .app
        .complete_admin_consent(&host, redirect("mssync-admin-consent", &tenant))
        .await
        .expect_err("the old constant state");
    assert_eq!(forged.code, mssync_core::ErrorCode::SignInStateUnknown);
    let foreign = env
        .app
        .complete_admin_consent(&host, redirect(&other_state, "another-tenant"))
        .await
        .expect_err("another tenant");
    assert_eq!(foreign.code, mssync_core::ErrorCode::WrongTenant);
    env.app
        .complete_admin_consent(&host, redirect(&state, &tenant))
        .await
        .expect("the consent this app asked for");
    let replay = env
        .app
        .complete_admin_consent(&host, redirect(&state, &tenant))
        .await
        .expect_err("used once");
    assert_eq!(replay.code, mssync_core::ErrorCode::SignInStateUnknown);
}
