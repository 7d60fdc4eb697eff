//! The loopback redirect receiver of `mssync signin` (RFC 8252, section 7.3): the browser comes back
//! to `http://127.0.0.1:<port>/<path>?code=...&state=...`, and this catches that one request.
//!
//! It listens on 127.0.0.1 only (never on all interfaces), answers the browser with a short page
//! saying the window can be closed, and hands the parameters to the caller, which checks `state`
//! and redeems the code. Requests for other paths (the browser's `/favicon.ico`, a stray probe) get
//! a 404 and do not end the wait.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CACHE_CONTROL, CONNECTION, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mssync_core::{ErrorCode, PublicError};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The path `mssync signin` listens on; the app registration lists `http://127.0.0.1/signin`
/// (Entra ID accepts any port for a loopback redirect URI).
pub const SIGNIN_PATH: &str = "/signin";

/// What the authorization server sent back through the browser.
#[derive(Debug)]
pub enum RedirectParams {
    /// The user signed in: redeem `code` after checking `state`.
    Code { code: SecretString, state: String },
    /// The authorization server refused (for example `access_denied` when the user cancelled).
    Error {
        error: String,
        description: Option<String>,
        state: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("no sign-in came back within {0:?}")]
    TimedOut(Duration),
    #[error("the loopback listener failed: {0}")]
    Accept(#[source] std::io::Error),
}

impl From<RedirectError> for PublicError {
    fn from(error: RedirectError) -> Self {
        match error {
            RedirectError::TimedOut(_) => PublicError::new(
                ErrorCode::Timeout,
                "no sign-in came back from the browser in time",
            ),
            RedirectError::Bind { port, .. } => PublicError::new(
                ErrorCode::TransportFailure,
                format!(
                    "cannot listen on 127.0.0.1:{port} for the sign-in redirect; \
                     is another program using it?"
                ),
            ),
            RedirectError::Accept(_) => PublicError::new(
                ErrorCode::TransportFailure,
                "the sign-in redirect listener failed",
            ),
        }
    }
}

/// A listener bound to 127.0.0.1, waiting for one redirect.
pub struct RedirectReceiver {
    listener: TcpListener,
    path: String,
    redirect_uri: String,
}

const PAGE_DONE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>MsSync</title></head>\
<body><h1>MsSync</h1><p>Sign-in is complete. You can close this window and go back to the terminal.</p></body></html>";
const PAGE_ERROR: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>MsSync</title></head>\
<body><h1>MsSync</h1><p>Sign-in did not complete. You can close this window; the terminal says why.</p></body></html>";
const PAGE_MISSING: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>MsSync</title></head>\
<body><h1>MsSync</h1><p>This address expects a sign-in response, and this request carried none.</p></body></html>";
const PAGE_FOREIGN: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>MsSync</title></head>\
<body><h1>MsSync</h1><p>This response belongs to no sign-in MsSync is waiting for.</p></body></html>";
const PAGE_FINISHED: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>MsSync</title></head>\
<body><h1>MsSync</h1><p>This sign-in has already finished. You can close this window.</p></body></html>";

impl RedirectReceiver {
    /// Listens on `127.0.0.1:port` (0: a free port the system picks) for `path` (such as
    /// `/signin`; a missing leading slash is added).
    pub async fn bind(port: u16, path: &str) -> Result<Self, RedirectError> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(|source| RedirectError::Bind { port, source })?;
        let port = listener
            .local_addr()
            .map_err(|source| RedirectError::Bind { port, source })?
            .port();
        let path = if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        };
        let redirect_uri = format!("http://127.0.0.1:{port}{path}");
        Ok(Self {
            listener,
            path,
            redirect_uri,
        })
    }

    /// The `redirect_uri` to put in the authorization request.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Serves until one request to the redirect path carries `code` or `error` with `state`
    /// equal to `expected_state`, and its page has been sent; or until `timeout` passes. A
    /// request with another state (any local process or web page can send one) is answered and
    /// ignored: it cannot end or hijack this sign-in.
    pub async fn wait(
        self,
        expected_state: &str,
        timeout: Duration,
    ) -> Result<RedirectParams, RedirectError> {
        tokio::time::timeout(timeout, self.serve(expected_state.to_owned()))
            .await
            .map_err(|_| RedirectError::TimedOut(timeout))?
    }

    async fn serve(self, expected_state: String) -> Result<RedirectParams, RedirectError> {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<RedirectParams>();
        // Set by the first request that completes the sign-in; later ones are told it is over.
        let taken = Arc::new(Mutex::new(false));
        // Dropped with this future: open browser connections are closed when we return.
        let mut connections = JoinSet::new();
        let path = Arc::new(self.path);
        let expected_state = Arc::new(expected_state);
        loop {
            tokio::select! {
                Some(params) = done_rx.recv() => return Ok(params),
                accepted = self.listener.accept() => {
                    let (stream, _) = accepted.map_err(RedirectError::Accept)?;
                    let path = path.clone();
                    let expected_state = expected_state.clone();
                    let taken = taken.clone();
                    let done_tx = done_tx.clone();
                    connections.spawn(async move {
                        // The winning request's parameters, handed over once its page is sent.
                        let result: Arc<Mutex<Option<RedirectParams>>> = Arc::default();
                        let service = {
                            let result = result.clone();
                            service_fn(move |request| {
                                let response =
                                    respond(&request, &path, &expected_state, &taken, &result);
                                async move { Ok::<_, Infallible>(response) }
                            })
                        };
                        // A failed connection (the browser gave up) only loses that connection.
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                        if let Some(params) = result.lock().unwrap().take() {
                            let _ = done_tx.send(params);
                        }
                    });
                }
            }
        }
    }
}

fn respond(
    request: &Request<Incoming>,
    path: &str,
    expected_state: &str,
    taken: &Mutex<bool>,
    result: &Mutex<Option<RedirectParams>>,
) -> Response<Full<Bytes>> {
    if request.uri().path() != path {
        return page(StatusCode::NOT_FOUND, "Not found", false);
    }
    if request.method() != Method::GET {
        return page(StatusCode::METHOD_NOT_ALLOWED, PAGE_MISSING, false);
    }
    let Some(params) = parse(request.uri().query().unwrap_or("")) else {
        return page(StatusCode::BAD_REQUEST, PAGE_MISSING, false);
    };
    let state = match &params {
        RedirectParams::Code { state, .. } => Some(state.as_str()),
        RedirectParams::Error { state, .. } => state.as_deref(),
    };
    if state != Some(expected_state) {
        return page(StatusCode::BAD_REQUEST, PAGE_FOREIGN, false);
    }
    let mut taken = taken.lock().unwrap();
    if *taken {
        return page(StatusCode::CONFLICT, PAGE_FINISHED, true);
    }
    *taken = true;
    let body = match params {
        RedirectParams::Code { .. } => PAGE_DONE,
        RedirectParams::Error { .. } => PAGE_ERROR,
    };
    *result.lock().unwrap() = Some(params);
    // `Connection: close` ends the connection once the page is written, which hands the result on.
    page(StatusCode::OK, body, true)
}

fn parse(query: &str) -> Option<RedirectParams> {
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match name.as_ref() {
            "code" => &mut code,
            "state" => &mut state,
            "error" => &mut error,
            "error_description" => &mut description,
            _ => continue,
        };
        if !value.is_empty() {
            *slot = Some(value.into_owned());
        }
    }
    match (error, code, state) {
        (Some(error), _, state) => Some(RedirectParams::Error {
            error,
            description,
            state,
        }),
        (None, Some(code), Some(state)) => Some(RedirectParams::Code {
            code: SecretString::from(code),
            state,
        }),
        _ => None,
    }
}

fn page(status: StatusCode, body: &'static str, close: bool) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/html; charset=utf-8")
        .header(CACHE_CONTROL, "no-store");
    if close {
        builder = builder.header(CONNECTION, "close");
    }
    builder
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("static response parts are valid")
}
