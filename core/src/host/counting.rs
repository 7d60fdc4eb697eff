use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{HttpClient, HttpRequest, HttpResponse, TransportError};

/// Counts the requests sent through it, for run reports and benchmarks.
pub struct CountingHttp {
    inner: Arc<dyn HttpClient>,
    sent: AtomicU64,
}

impl CountingHttp {
    pub fn new(inner: Arc<dyn HttpClient>) -> Self {
        Self {
            inner,
            sent: AtomicU64::new(0),
        }
    }

    pub fn count(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

#[async_trait(?Send)]
impl HttpClient for CountingHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.inner.send(request).await
    }
}
