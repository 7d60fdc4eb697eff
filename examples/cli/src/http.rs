//! The host `HttpClient` on reqwest (rustls), and a tokio-backed clock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mssync_core::host::{
    Clock, HttpClient, HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, Method, SystemClock,
    TransportError, TransportErrorKind,
};

/// Sends MsSync's requests with one shared reqwest client (connection pooling, rustls).
#[derive(Clone)]
pub struct ReqwestHttp {
    client: reqwest::Client,
    /// Bodies longer than this are not read (a server cannot make us hold more).
    max_response_bytes: usize,
}

impl ReqwestHttp {
    pub fn new() -> Self {
        Self::with_limit(MAX_RESPONSE_BYTES)
    }

    /// A client that stops reading a response body at `max_response_bytes` (at most the
    /// engine's [`MAX_RESPONSE_BYTES`]) and answers a transport error instead.
    pub fn with_limit(max_response_bytes: usize) -> Self {
        let client = reqwest::Client::builder()
            // MsSync reads Location headers itself (Graph's 410 carries one).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the TLS backend initializes");
        Self {
            client,
            max_response_bytes: max_response_bytes.min(MAX_RESPONSE_BYTES),
        }
    }
}

impl Default for ReqwestHttp {
    fn default() -> Self {
        Self::new()
    }
}

fn method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

#[async_trait(?Send)]
impl HttpClient for ReqwestHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = self
            .client
            .request(method(request.method), &request.url)
            .timeout(request.timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let response = builder.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let too_large = || {
            TransportError::new(
                TransportErrorKind::Host,
                format!(
                    "the response is longer than {} bytes (max_response_bytes)",
                    self.max_response_bytes
                ),
            )
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_response_bytes as u64)
        {
            return Err(too_large());
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn transport_error(error: reqwest::Error) -> TransportError {
    let kind = if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if error.is_connect() || error.is_request() || error.is_body() {
        TransportErrorKind::Connection
    } else {
        TransportErrorKind::Host
    };
    // reqwest errors name the URL, which may carry a query with ids: keep only the kind.
    TransportError::new(kind, format!("{kind:?} error from the HTTP client"))
}

/// Wall-clock time with tokio timers for `sleep`.
pub fn tokio_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock::new(|d: Duration| tokio::time::sleep(d)))
}
