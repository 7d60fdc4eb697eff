use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::MaybeSendSync;

/// The HTTP verbs MsSync uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request handed to the host. Headers keep their order and may repeat. `Debug` shows no
/// credential: the values of credential headers, the query's values and the body are left out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Vec<u8>,
    /// How long the host may take before answering with a timeout.
    #[serde(with = "duration_ms")]
    pub timeout: Duration,
}

/// The largest response body MsSync accepts: a page of 1,000 activities with their participants
/// is a few megabytes, so this is far beyond any honest answer, and a server cannot make us hold
/// more. Hosts stop reading at their own limit (at most this; the command line and the C ABI
/// take it as a setting) and answer [`TransportError`] kind `Host`; the engine refuses a longer
/// body from a host that did not.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Default per-request timeout; long enough for a `$batch` of 20 writes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl HttpRequest {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn json_body(mut self, body: &serde_json::Value) -> Self {
        self.body = serde_json::to_vec(body).expect("a JSON value always serializes");
        self.headers
            .push(("Content-Type".into(), "application/json".into()));
        self
    }

    /// First value of a header, compared case-insensitively.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The host's answer. Any status is a response; only a failure to get one is a [`TransportError`].
/// `Debug` leaves out the body (token responses carry tokens) and credential headers.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// First value of a header, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Headers whose values are credentials, compared case-insensitively.
const CREDENTIAL_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

struct RedactedHeaders<'a>(&'a [(String, String)]);

impl std::fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in self.0 {
            let credential = CREDENTIAL_HEADERS
                .iter()
                .any(|c| name.eq_ignore_ascii_case(c));
            if credential {
                list.entry(&(name, "<hidden>"));
            } else {
                list.entry(&(name, value));
            }
        }
        list.finish()
    }
}

/// A URL with its query's values left out (they may carry codes, e-mail addresses, filters).
struct RedactedUrl<'a>(&'a str);

impl std::fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some((path, query)) = self.0.split_once('?') else {
            return write!(f, "{:?}", self.0);
        };
        let names: Vec<&str> = query
            .split('&')
            .map(|pair| pair.split('=').next().unwrap_or_default())
            .collect();
        write!(f, "\"{path}?{}\"", names.join("=…&") + "=…")
    }
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &RedactedUrl(&self.url))
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl std::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportErrorKind {
    /// No answer within the request's timeout.
    Timeout,
    /// The connection could not be made or broke.
    Connection,
    /// The host failed in a way of its own (an exception in a callback, a shut-down client).
    Host,
}

/// The host could not obtain a response at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("transport {kind:?}: {message}")]
pub struct TransportError {
    pub kind: TransportErrorKind,
    /// For logs of the host's own; never shown through [`crate::PublicError`].
    pub message: String,
}

impl TransportError {
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Sends requests on the host's behalf: reqwest natively, `fetch` in the browser, a callback in C.
#[async_trait(?Send)]
pub trait HttpClient: MaybeSendSync {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_requests_and_responses_shows_no_credential() {
        let request = HttpRequest::new(
            Method::Post,
            "https://login.example/token?code=the-code&state=s1",
        )
        .header("Authorization", "Bearer eyJsecret")
        .header("Prefer", "IdType=\"ImmutableId\"");
        let mut request = request;
        request.body = b"client_secret=hunter2&refresh_token=r1&code_verifier=v1".to_vec();
        let text = format!("{request:?}");
        for secret in ["eyJsecret", "hunter2", "r1", "v1", "the-code", "s1"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains("ImmutableId") && text.contains("code=…&state=…"),
            "{text}"
        );
        let mut response = HttpResponse::new(200);
        response.body = br#"{"access_token":"eyJtoken"}"#.to_vec();
        response
            .headers
            .push(("Set-Cookie".into(), "session=abc".into()));
        let text = format!("{response:?}");
        assert!(
            !text.contains("eyJtoken") && !text.contains("abc"),
            "{text}"
        );
    }
}
