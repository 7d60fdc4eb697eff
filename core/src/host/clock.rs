use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MaybeSendSync;

/// Time as the host sees it. Short waits (a `Retry-After`, backoff) go through [`Clock::sleep`] so
/// tests can control them.
#[async_trait(?Send)]
pub trait Clock: MaybeSendSync {
    fn now(&self) -> DateTime<Utc>;
    async fn sleep(&self, duration: Duration);
}

/// Wall-clock time whose `sleep` is supplied by the binding (a timer thread, `setTimeout`, tokio).
pub struct SystemClock<S> {
    sleeper: S,
}

impl<S> SystemClock<S> {
    pub fn new(sleeper: S) -> Self {
        Self { sleeper }
    }
}

#[async_trait(?Send)]
impl<S, F> Clock for SystemClock<S>
where
    S: Fn(Duration) -> F + MaybeSendSync,
    F: std::future::Future<Output = ()>,
{
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep(&self, duration: Duration) {
        (self.sleeper)(duration).await
    }
}

/// A clock for tests: time stands still until advanced, and `sleep` advances it at once and
/// remembers how long each sleep was.
pub struct ManualClock {
    state: Mutex<(DateTime<Utc>, Vec<Duration>)>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            state: Mutex::new((start, Vec::new())),
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut state = self.state.lock().unwrap();
        state.0 += chrono::Duration::from_std(by).expect("duration in range");
    }

    pub fn set(&self, to: DateTime<Utc>) {
        self.state.lock().unwrap().0 = to;
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().unwrap().1.clone()
    }
}

#[async_trait(?Send)]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.state.lock().unwrap().0
    }

    async fn sleep(&self, duration: Duration) {
        let mut state = self.state.lock().unwrap();
        state.0 += chrono::Duration::from_std(duration).expect("duration in range");
        state.1.push(duration);
    }
}
