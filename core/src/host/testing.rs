//! Test doubles of host contracts beyond the in-memory store and manual clock.

use async_trait::async_trait;

use super::{HttpClient, HttpRequest, HttpResponse, TransportError, TransportErrorKind};

/// An HTTP client for tests that must not reach any service: every request fails.
pub struct RefuseHttp;

#[async_trait(?Send)]
impl HttpClient for RefuseHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::new(
            TransportErrorKind::Host,
            format!(
                "this test allows no HTTP ({} {})",
                request.method, request.url
            ),
        ))
    }
}
