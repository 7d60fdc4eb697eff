//! The sign-in redirect receiver, driven by a real HTTP client on loopback.

use std::time::Duration;

use mssync_cli::redirect::{RedirectError, RedirectParams, RedirectReceiver};
use mssync_core::{ErrorCode, PublicError};
use secrecy::ExposeSecret;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn get(url: &str) -> (u16, String) {
    let response = client()
        .get(url)
        .send()
        .await
        .expect("request reaches the receiver");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn the_code_and_state_come_back_and_the_browser_is_told_to_close() {
    let receiver = RedirectReceiver::bind(0, "/signin").await.unwrap();
    let uri = receiver.redirect_uri().to_owned();
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    assert!(uri.ends_with("/signin"), "{uri}");
    let origin = uri.trim_end_matches("/signin").to_owned();
    let waiting = tokio::spawn(receiver.wait("st ate", Duration::from_secs(60)));

    // What a browser does besides the redirect does not end the wait.
    assert_eq!(get(&format!("{origin}/favicon.ico")).await.0, 404);
    assert_eq!(get(&format!("{origin}/")).await.0, 404);
    assert_eq!(get(&format!("{uri}?state=only")).await.0, 400);
    let posted = client()
        .post(&uri)
        .body("code=x&state=y")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 405);
    assert!(!waiting.is_finished());

    let (status, page) = get(&format!(
        "{uri}?code=0.AAA-code%2Bvalue&state=st%20ate&session_state=x"
    ))
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("close this window"), "{page}");

    match waiting.await.unwrap().unwrap() {
        RedirectParams::Code { code, state } => {
            assert_eq!(code.expose_secret(), "0.AAA-code+value");
            assert_eq!(state, "st ate");
        }
        other => panic!("expected a code, got {other:?}"),
    }
    // Exactly one: the listener is gone once the redirect was taken.
    assert!(client().get(&uri).send().await.is_err());
}

#[tokio::test]
async fn an_error_from_the_authorization_server_comes_back() {
    let receiver = RedirectReceiver::bind(0, "callback").await.unwrap();
    let uri = receiver.redirect_uri().to_owned();
    assert!(uri.ends_with("/callback"), "{uri}");
    let waiting = tokio::spawn(receiver.wait("s1", Duration::from_secs(60)));
    let (status, page) = get(&format!(
        "{uri}?error=access_denied&error_description=The+user+cancelled&state=s1"
    ))
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("did not complete"), "{page}");
    match waiting.await.unwrap().unwrap() {
        RedirectParams::Error {
            error,
            description,
            state,
        } => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("The user cancelled"));
            assert_eq!(state.as_deref(), Some("s1"));
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_code_is_redacted_in_debug_output() {
    let receiver = RedirectReceiver::bind(0, "/signin").await.unwrap();
    let uri = receiver.redirect_uri().to_owned();
    let waiting = tokio::spawn(receiver.wait("s", Duration::from_secs(60)));
    get(&format!("{uri}?code=very-secret-code&state=s")).await;
    let params = waiting.await.unwrap().unwrap();
    let shown = format!("{params:?}");
    assert!(!shown.contains("very-secret-code"), "{shown}");
}

#[tokio::test]
async fn a_response_with_another_state_neither_ends_nor_takes_the_sign_in() {
    let receiver = RedirectReceiver::bind(0, "/signin").await.unwrap();
    let uri = receiver.redirect_uri().to_owned();
    let waiting = tokio::spawn(receiver.wait("ours", Duration::from_secs(60)));
    // Any local process or web page can reach the loopback address.
    for foreign in [
        "code=attacker-code&state=theirs",
        "error=access_denied&state=theirs",
        "error=access_denied",
        "code=attacker-code",
    ] {
        let (status, page) = get(&format!("{uri}?{foreign}")).await;
        assert_eq!(status, 400, "{foreign}");
        assert!(
            page.contains("belongs to no sign-in") || page.contains("expects"),
            "{page}"
        );
    }
    assert!(!waiting.is_finished());
    get(&format!("{uri}?code=our-code&state=ours")).await;
    match waiting.await.unwrap().unwrap() {
        RedirectParams::Code { code, state } => {
            assert_eq!(code.expose_secret(), "our-code");
            assert_eq!(state, "ours");
        }
        other => panic!("expected our code, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn nobody_coming_back_times_out() {
    let receiver = RedirectReceiver::bind(0, "/signin").await.unwrap();
    // Paused time: the five minutes pass as soon as nothing else is left to do.
    let error = receiver
        .wait("s", Duration::from_secs(300))
        .await
        .unwrap_err();
    assert!(matches!(error, RedirectError::TimedOut(_)), "{error:?}");
    assert_eq!(PublicError::from(error).code, ErrorCode::Timeout);
}

#[tokio::test]
async fn a_configured_port_is_used_and_a_busy_one_is_a_clear_error() {
    let first = RedirectReceiver::bind(0, "/signin").await.unwrap();
    let port: u16 = first
        .redirect_uri()
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/signin")
        .parse()
        .unwrap();
    let error = RedirectReceiver::bind(port, "/signin")
        .await
        .err()
        .expect("port is busy");
    assert!(matches!(error, RedirectError::Bind { port: p, .. } if p == port));
    let public = PublicError::from(error);
    assert_eq!(public.code, ErrorCode::TransportFailure);
    assert!(
        public.reason.contains(&port.to_string()),
        "{}",
        public.reason
    );

    drop(first);
    let again = RedirectReceiver::bind(port, "/signin").await.unwrap();
    assert_eq!(
        again.redirect_uri(),
        format!("http://127.0.0.1:{port}/signin")
    );
}
