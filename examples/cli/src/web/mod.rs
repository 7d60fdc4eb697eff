//! What `mssync serve` offers browsers: the page with the Setup and Home panels, "Sign in with
//! Microsoft" as a server-side redirect (authorization code with PKCE), and the panels' API for
//! the signed-in user.
//!
//! The page holds no secret and names no user: the server knows who signed in from its own
//! session ([`session`]) and calls [`App::user_api`] with that user's id. Service is reachable
//! only for an ERP.net administrator (the application checks the signed-in user's rights).
//!
//! Routes: `GET /signin/start?login_hint=` (redirects to Entra ID), `GET /signin` (Entra ID's
//! redirect back), `GET /api/session`, `POST /api/signout`, `POST /api/panels/{operation}`,
//! `POST /api/service`, and the page's files for every other `GET`.

mod files;
pub mod session;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mssync_core::app::{Actor, App};
use mssync_core::{ErrorCode, PublicError};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::redirect::SIGNIN_PATH;
use session::{
    CSRF_HEADER, SESSION_COOKIE, SESSION_LIFETIME, SIGN_IN_COOKIE, SIGN_IN_LIFETIME, Sessions,
    SignedIn,
};

/// Where the browser starts "Sign in with Microsoft".
pub const SIGN_IN_START_PATH: &str = "/signin/start";

/// The site a `serve` offers browsers (the `[web]` table of the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSite {
    /// The page's files, served at `/`.
    pub root: PathBuf,
    /// The browser package (`wasm/build.sh`), served at `/pkg/`.
    pub package: PathBuf,
    /// Where browsers reach the listener: https, or http on this machine only.
    pub url: Url,
}

impl WebSite {
    /// Where Entra ID sends the browser back after sign-in.
    pub fn redirect_uri(&self) -> String {
        format!("{}{SIGNIN_PATH}", self.url.as_str().trim_end_matches('/'))
    }

    /// Cookies go over TLS only, unless the site is on this machine (plain http on loopback).
    fn secure_cookies(&self) -> bool {
        self.url.scheme() == "https"
    }
}

/// Work for the application, run on the listener's thread (engine futures are not `Send`).
pub type AppTask = Box<dyn FnOnce(App) -> Pin<Box<dyn Future<Output = ()>>> + Send>;

struct Web {
    site: WebSite,
    sessions: Sessions,
    tasks: mpsc::Sender<AppTask>,
}

/// The routes of the site, handing application work to `tasks`.
pub fn router(site: WebSite, tasks: mpsc::Sender<AppTask>) -> Router {
    let web = Arc::new(Web {
        site,
        sessions: Sessions::default(),
        tasks,
    });
    Router::new()
        .route(SIGN_IN_START_PATH, get(begin_sign_in))
        .route(SIGNIN_PATH, get(complete_sign_in))
        .route("/api/session", get(current_session))
        .route("/api/signout", post(sign_out))
        .route("/api/panels/{operation}", post(panels))
        .route("/api/service", post(service))
        .fallback(get(page_file))
        .with_state(web)
}

impl Web {
    /// Runs `work` with the application on its thread and waits for the answer.
    async fn on_app<T, F, Fut>(&self, work: F) -> Result<T, PublicError>
    where
        T: Send + 'static,
        F: FnOnce(App) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, PublicError>> + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task: AppTask = Box::new(move |app| {
            Box::pin(async move {
                let _ = reply.send(work(app).await);
            })
        });
        let stopped = || PublicError::new(ErrorCode::Cancelled, "the server is stopping");
        self.tasks.send(task).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// The session the request's cookie names, or 401.
    fn signed_in(&self, headers: &HeaderMap) -> Result<(String, SignedIn), PublicError> {
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| session::cookie(h, SESSION_COOKIE))
            .map(str::to_owned);
        cookie
            .and_then(|c| self.sessions.find(&c).map(|s| (c, s)))
            .ok_or_else(|| {
                PublicError::new(
                    ErrorCode::Unauthorized,
                    "not signed in: sign in with Microsoft",
                )
            })
    }

    /// The session, when the request also carries its CSRF token; 401 or 403 otherwise.
    fn signed_in_with_token(&self, headers: &HeaderMap) -> Result<(String, SignedIn), PublicError> {
        let (cookie, session) = self.signed_in(headers)?;
        let token = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !session::same_token(token, &session.csrf_token) {
            return Err(PublicError::new(
                ErrorCode::Forbidden,
                "the request lacks this session's CSRF token",
            ));
        }
        Ok((cookie, session))
    }
}

/// The HTTP status a public error answers with; the body carries the code itself.
fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::Throttled => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Internal | ErrorCode::Panic => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
        code if (400..500).contains(&code.number()) || (200..300).contains(&code.number()) => {
            StatusCode::BAD_GATEWAY
        }
        _ => StatusCode::BAD_REQUEST,
    }
}

/// `{code, code_name, reason}`, the same fields as every binding's errors.
fn error_response(error: &PublicError) -> Response {
    let body = json!({
        "code": error.code.number(),
        "code_name": error.code,
        "reason": error.reason,
    });
    json_response(status_of(error.code), body.to_string())
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn redirect(to: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(to) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The values of a query string, by name (the first of each).
fn query_value(query: &Option<String>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// "Sign in with Microsoft": a fresh binding cookie for this browser, then Entra ID.
async fn begin_sign_in(State(web): State<Arc<Web>>, RawQuery(query): RawQuery) -> Response {
    let binding = session::random_token();
    let bound_to = session::hash(&binding);
    let hint = query_value(&query, "login_hint").filter(|h| !h.trim().is_empty());
    let start = web
        .on_app(move |app| async move { app.begin_sign_in(hint.as_deref(), &bound_to).await })
        .await;
    match start {
        Ok(start) => {
            let cookie = session::set_cookie(
                SIGN_IN_COOKIE,
                &binding,
                SIGNIN_PATH,
                // Lax: the cookie must come back on Entra ID's top-level redirect to us.
                "Lax",
                SIGN_IN_LIFETIME,
                web.site.secure_cookies(),
            );
            redirect(&start.authorize_url, &[cookie])
        }
        Err(error) => sign_in_failed(&error),
    }
}

/// Entra ID's redirect back: completes the sign-in bound to this browser and opens a session.
async fn complete_sign_in(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let value = |name| query_value(&query, name).unwrap_or_default();
    let (state, code, error, description) = (
        value("state"),
        value("code"),
        query_value(&query, "error"),
        value("error_description"),
    );
    let binding = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::cookie(h, SIGN_IN_COOKIE))
        .map(session::hash)
        .unwrap_or_default();
    let signed_in = web
        .on_app(move |app| async move {
            if let Some(error) = error {
                return Err(app.fail_sign_in(&state, &error, &description).await);
            }
            // No binding cookie: any value works, the application refuses the sign-in.
            let binding = if binding.is_empty() {
                "no-binding-cookie".to_owned()
            } else {
                binding
            };
            app.complete_sign_in(&state, &code, &binding).await
        })
        .await;
    match signed_in {
        Ok(user) => {
            let cookie = web
                .sessions
                .open(user.user_id, user.name, user.email, user.is_admin);
            let secure = web.site.secure_cookies();
            let cookies = [
                session::set_cookie(
                    SESSION_COOKIE,
                    &cookie,
                    "/",
                    "Strict",
                    SESSION_LIFETIME,
                    secure,
                ),
                session::set_cookie(
                    SIGN_IN_COOKIE,
                    "",
                    SIGNIN_PATH,
                    "Lax",
                    std::time::Duration::ZERO,
                    secure,
                ),
            ];
            redirect("/", &cookies)
        }
        Err(error) => sign_in_failed(&error),
    }
}

/// A short page saying why sign-in failed, with the way back.
fn sign_in_failed(error: &PublicError) -> Response {
    let reason = error
        .reason
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let page = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Sign-in failed</title>\
         <p role=\"alert\">Sign-in failed: error {}: {reason}</p><p><a href=\"/\">Back</a></p>",
        error.code.number()
    );
    let mut response = (status_of(error.code), page).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// Who is signed in, and the CSRF token the page sends with every API call.
async fn current_session(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    match web.signed_in(&headers) {
        Ok((_, session)) => json_response(
            StatusCode::OK,
            json!({
                "name": session.name,
                "email": session.email,
                "is_admin": session.is_admin,
                "csrf_token": session.csrf_token,
            })
            .to_string(),
        ),
        Err(error) => error_response(&error),
    }
}

async fn sign_out(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    match web.signed_in_with_token(&headers) {
        Ok((cookie, _)) => {
            web.sessions.close(&cookie);
            let expired = session::set_cookie(
                SESSION_COOKIE,
                "",
                "/",
                "Strict",
                std::time::Duration::ZERO,
                web.site.secure_cookies(),
            );
            let mut response = StatusCode::NO_CONTENT.into_response();
            if let Ok(value) = HeaderValue::from_str(&expired) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(error) => error_response(&error),
    }
}

/// One operation of the panels, for the session's own user.
async fn panels(
    State(web): State<Arc<Web>>,
    Path(operation): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (_, session) = match web.signed_in_with_token(&headers) {
        Ok(found) => found,
        Err(error) => return error_response(&error),
    };
    let user_id = session.user_id;
    let answer = web
        .on_app(move |app| async move { app.user_api(&user_id, &operation, &body).await })
        .await;
    match answer {
        Ok(json) => json_response(StatusCode::OK, json),
        Err(error) => error_response(&error),
    }
}

/// Service as the signed-in user sees it: only ERP.net administrators get it.
async fn service(State(web): State<Arc<Web>>, headers: HeaderMap) -> Response {
    let (_, session) = match web.signed_in_with_token(&headers) {
        Ok(found) => found,
        Err(error) => return error_response(&error),
    };
    let actor = Actor::User(session.user_id);
    let answer = web
        .on_app(move |app| async move { app.service(&actor).await })
        .await;
    match answer.and_then(|view| {
        serde_json::to_string(&view)
            .map_err(|_| PublicError::new(ErrorCode::Internal, "a view did not serialize"))
    }) {
        Ok(json) => json_response(StatusCode::OK, json),
        Err(error) => error_response(&error),
    }
}

async fn page_file(State(web): State<Arc<Web>>, uri: Uri) -> Response {
    files::serve(&web.site.root, &web.site.package, uri.path()).await
}
