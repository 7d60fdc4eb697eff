//! The host `HttpClient` on reqwest (rustls), and a tokio-backed clock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mssync_core::host::{
    Clock, HttpClient, HttpRequest, HttpResponse, Method, SystemClock, TransportError,
    TransportErrorKind,
};

/// Sends MsSync's requests with one shared reqwest client (connection pooling, rustls).
#[derive(Clone)]
pub struct ReqwestHttp {
    client: reqwest::Client,
}

impl ReqwestHttp {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            // MsSync reads Location headers itself (Graph's 410 carries one).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the TLS backend initializes");
        Self { client }
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
        let body = response.bytes().await.map_err(transport_error)?.to_vec();
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
