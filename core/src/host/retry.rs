//! Retrying requests the way Microsoft Graph and ERP.net ask: honour `Retry-After` on 429, 503
//! and 504, back off exponentially with jitter when it is missing, and give up early (as
//! "throttled until") when the wait is longer than a run should sleep through.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Clock, HttpClient, HttpRequest, HttpResponse, TransportError, TransportErrorKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// First backoff step when the server gives no `Retry-After`.
    pub base_delay: Duration,
    /// Largest single backoff step.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this ends the run as throttled instead of sleeping.
    pub max_wait: Duration,
    /// Retry timeouts and broken connections too; only for requests that are safe to repeat
    /// (reads, and writes made idempotent by a transaction id or find-or-create).
    pub retry_transport: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(32),
            max_wait: Duration::from_secs(60),
            retry_transport: true,
        }
    }
}

/// Why [`send_with_retry`] gave up without a final response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryOutcome {
    /// The server keeps refusing (429, 503, 504) or asked for a longer wait than a run sleeps
    /// through; the job may resume at `until`.
    #[error("throttled (HTTP {status}) until {until}")]
    Throttled { status: u16, until: DateTime<Utc> },
    /// No response could be had.
    #[error(transparent)]
    Transport(TransportError),
}

/// Exponential backoff with "equal jitter": half the step fixed, half random, so many mailboxes
/// throttled at once do not retry in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    rng: u64,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration, seed: u64) -> Self {
        Self {
            base,
            max,
            rng: seed | 1,
        }
    }

    /// The wait before retry number `attempt` (0 for the first retry).
    pub fn delay(&mut self, attempt: u32) -> Duration {
        let step = self
            .base
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.max);
        let half = step / 2;
        // xorshift64: jitter needs spread, not cryptographic quality.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let span = half.as_millis() as u64 + 1;
        half + Duration::from_millis(self.rng % span)
    }
}

fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

/// The server's requested wait: delta-seconds or an HTTP date.
pub(crate) fn retry_after(response: &HttpResponse, now: DateTime<Utc>) -> Option<Duration> {
    parse_retry_after(response.header("Retry-After")?, now)
}

/// The longest wait a server may ask of us. A `Retry-After` is the server's number: taken as it
/// is, `Retry-After: 100000000000000` overflowed the date arithmetic, and any large value pushed
/// the next run arbitrarily far ahead. Throttling waits are seconds to minutes in practice.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(60 * 60);

/// A `Retry-After` value: whole seconds (RFC 9110), decimal seconds as Graph sends them
/// (`Retry-After: 2.128` in its throttling sample; rounded up to whole seconds, so a retry never
/// comes early), or an HTTP date; at most [`MAX_SERVER_WAIT`]. Anything else is `None` (back off
/// instead).
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = match decimal_seconds(value) {
        Some(seconds) => Duration::from_secs(seconds),
        None => {
            let date = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (date - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_SERVER_WAIT))
}

/// The longest token lifetime believed from a token response (`expires_in`): access tokens of
/// Entra ID and ERP.net live about an hour, and a huge number must not overflow a date.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// `now` plus a duration a server gave (a wait, a token's lifetime), never overflowing: a sum
/// past the calendar's end is the calendar's end.
pub fn later_by(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(by)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `2`, `2.128`, `0.5` as whole seconds rounded up; no sign, exponent or other text.
fn decimal_seconds(value: &str) -> Option<u64> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    if value.ends_with('.') {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let round_up = fraction.bytes().any(|b| b != b'0');
    whole.checked_add(u64::from(round_up))
}

/// Sends `request`, retrying as the policy allows. Returns the first response that is not
/// retryable (success or not); waits go through the host [`Clock`].
pub async fn send_with_retry(
    http: &dyn HttpClient,
    clock: &dyn Clock,
    policy: &RetryPolicy,
    request: HttpRequest,
) -> Result<HttpResponse, RetryOutcome> {
    let seed = clock.now().timestamp_subsec_nanos() as u64 ^ fxhash(&request.url);
    let mut backoff = Backoff::new(policy.base_delay, policy.max_delay, seed);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last_attempt = attempt >= policy.max_attempts;
        let wait = match http.send(request.clone()).await {
            Ok(response) if is_retryable_status(response.status) => {
                let now = clock.now();
                let wait =
                    retry_after(&response, now).unwrap_or_else(|| backoff.delay(attempt - 1));
                if last_attempt || wait > policy.max_wait {
                    return Err(RetryOutcome::Throttled {
                        status: response.status,
                        until: later_by(now, wait),
                    });
                }
                wait
            }
            Ok(response) if response.body.len() > super::http::MAX_RESPONSE_BYTES => {
                return Err(RetryOutcome::Transport(TransportError::new(
                    TransportErrorKind::Host,
                    "a response longer than MsSync accepts was refused",
                )));
            }
            Ok(response) => return Ok(response),
            Err(error) => {
                let transient = matches!(
                    error.kind,
                    TransportErrorKind::Timeout | TransportErrorKind::Connection
                );
                if !policy.retry_transport || !transient || last_attempt {
                    return Err(RetryOutcome::Transport(error));
                }
                backoff.delay(attempt - 1)
            }
        };
        clock.sleep(wait).await;
    }
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::TimeZone;

    use super::*;
    use crate::host::{ManualClock, Method};

    struct Scripted(Mutex<VecDeque<Result<HttpResponse, TransportError>>>);

    #[async_trait(?Send)]
    impl HttpClient for Scripted {
        async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.0
                .lock()
                .unwrap()
                .pop_front()
                .expect("no more scripted answers")
        }
    }

    fn status(code: u16, retry_after: Option<&str>) -> Result<HttpResponse, TransportError> {
        let mut r = HttpResponse::new(code);
        if let Some(v) = retry_after {
            r.headers.push(("retry-after".into(), v.into()));
        }
        Ok(r)
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn run(
        answers: Vec<Result<HttpResponse, TransportError>>,
    ) -> (Result<HttpResponse, RetryOutcome>, Vec<Duration>) {
        let http = Scripted(Mutex::new(answers.into()));
        let clock = ManualClock::new(start());
        let request = HttpRequest::new(Method::Get, "https://graph.test/v1.0/me/events");
        let result = futures::executor::block_on(send_with_retry(
            &http,
            &clock,
            &RetryPolicy::default(),
            request,
        ));
        (result, clock.sleeps())
    }

    #[test]
    fn honours_retry_after_seconds() {
        let (result, sleeps) = run(vec![
            status(429, Some("3")),
            status(503, Some("1")),
            status(200, None),
        ]);
        assert_eq!(result.unwrap().status, 200);
        assert_eq!(sleeps, [Duration::from_secs(3), Duration::from_secs(1)]);
    }

    #[test]
    fn honours_decimal_retry_after_rounded_up() {
        // Graph's throttling sample answers `Retry-After: 2.128`.
        let (result, sleeps) = run(vec![
            status(429, Some("2.128")),
            status(503, Some("0.5")),
            status(429, Some("3.000")),
            status(200, None),
        ]);
        assert_eq!(result.unwrap().status, 200);
        assert_eq!(
            sleeps,
            [
                Duration::from_secs(3),
                Duration::from_secs(1),
                Duration::from_secs(3)
            ]
        );
    }

    #[test]
    fn parses_retry_after_forms_and_refuses_others() {
        let now = start();
        let parse = |v: &str| parse_retry_after(v, now);
        assert_eq!(parse(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse("2.128"), Some(Duration::from_secs(3)));
        assert_eq!(parse("0.0"), Some(Duration::ZERO));
        assert_eq!(
            parse("Sun, 01 Mar 2026 12:00:07 GMT"),
            Some(Duration::from_secs(7))
        );
        assert_eq!(parse("Sun, 01 Mar 2026 11:00:00 GMT"), Some(Duration::ZERO));
        for bad in ["", "-1", "1e3", "2.", ".5", "1.2.3", "soon", "+2"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn honours_retry_after_http_date() {
        let (result, sleeps) = run(vec![
            status(429, Some("Sun, 01 Mar 2026 12:00:07 GMT")),
            status(204, None),
        ]);
        assert_eq!(result.unwrap().status, 204);
        assert_eq!(sleeps, [Duration::from_secs(7)]);
    }

    #[test]
    fn backs_off_exponentially_with_jitter_without_retry_after() {
        let (result, sleeps) = run(vec![
            status(504, None),
            status(504, None),
            status(504, None),
            status(200, None),
        ]);
        assert_eq!(result.unwrap().status, 200);
        assert_eq!(sleeps.len(), 3);
        for (i, sleep) in sleeps.iter().enumerate() {
            let step = Duration::from_secs(1 << i);
            assert!(
                *sleep >= step / 2 && *sleep <= step,
                "retry {i} slept {sleep:?}"
            );
        }
    }

    #[test]
    fn long_retry_after_ends_the_run_as_throttled() {
        let (result, sleeps) = run(vec![status(429, Some("3600"))]);
        assert_eq!(
            result.unwrap_err(),
            RetryOutcome::Throttled {
                status: 429,
                until: start() + chrono::Duration::hours(1)
            }
        );
        assert!(sleeps.is_empty(), "must not sleep through an hour");
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let (result, sleeps) = run((0..6).map(|_| status(429, Some("1"))).collect());
        assert!(matches!(
            result,
            Err(RetryOutcome::Throttled { status: 429, .. })
        ));
        assert_eq!(sleeps.len(), 5);
    }

    #[test]
    fn other_errors_are_returned_untouched() {
        let (result, sleeps) = run(vec![status(404, None)]);
        assert_eq!(result.unwrap().status, 404);
        assert!(sleeps.is_empty());
    }

    #[test]
    fn transient_transport_errors_are_retried() {
        let (result, sleeps) = run(vec![
            Err(TransportError::new(TransportErrorKind::Timeout, "slow")),
            status(200, None),
        ]);
        assert_eq!(result.unwrap().status, 200);
        assert_eq!(sleeps.len(), 1);
        let (result, _) = run(vec![Err(TransportError::new(
            TransportErrorKind::Host,
            "boom",
        ))]);
        assert!(matches!(result, Err(RetryOutcome::Transport(_))));
    }
}
