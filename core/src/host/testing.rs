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

/// An in-memory store whose n-th next commit fails as if the process died at that point:
/// nothing of that batch is written. For crash tests of anything that commits.
#[derive(Default)]
pub struct CrashingStore {
    pub inner: super::MemoryStore,
    crash_in: std::sync::Mutex<Option<u32>>,
}

impl CrashingStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The `n`-th commit from now fails (1 = the next one); `None` disarms.
    pub fn crash_at_commit(&self, n: Option<u32>) {
        *self.crash_in.lock().unwrap() = n;
    }

    /// The commit a crash is armed for, if any.
    pub fn armed(&self) -> Option<u32> {
        *self.crash_in.lock().unwrap()
    }
}

#[async_trait(?Send)]
impl super::Store for CrashingStore {
    async fn get(&self, key: &str) -> Result<Option<super::Versioned>, super::StoreError> {
        self.inner.get(key).await
    }

    async fn scan(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, super::Versioned)>, super::StoreError> {
        self.inner.scan(prefix).await
    }

    async fn commit(&self, batch: super::WriteBatch) -> Result<(), super::StoreError> {
        {
            let mut crash_in = self.crash_in.lock().unwrap();
            if let Some(n) = crash_in.as_mut() {
                *n -= 1;
                if *n == 0 {
                    *crash_in = None;
                    return Err(super::StoreError::Backend("the process died".into()));
                }
            }
        }
        self.inner.commit(batch).await
    }
}
