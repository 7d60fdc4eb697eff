//! HTTP by completion: the library asks the host's `http_send`, the host answers with
//! `mss_http_complete` / `mss_http_fail` from any thread, before or after `http_send` returns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::channel::oneshot;
use futures::future::{Either, select};
use mssync_core::ErrorCode;
use mssync_core::host::{
    HttpClient, HttpRequest, HttpResponse, TransportError, TransportErrorKind,
};

use crate::buffer::{bytes_arg, str_arg};
use crate::engine::{MssEngine, engine_arg};
use crate::host::HostCallbacks;
use crate::status::{Failure, MssError, guard};

/// How long past a request's own timeout the library waits for the host before giving up on it
/// (a host that never answers must not block an engine call forever).
const HOST_GRACE: Duration = Duration::from_secs(5);

/// One header as two UTF-8 spans (not NUL-terminated).
#[repr(C)]
pub struct MssHttpHeader {
    pub name: *const u8,
    pub name_len: usize,
    pub value: *const u8,
    pub value_len: usize,
}

/// A request for the host to send. All spans are UTF-8 except `body`; all are borrowed from the
/// library for the duration of the `http_send` callback only.
#[repr(C)]
pub struct MssHttpRequest {
    /// "GET", "POST", "PUT", "PATCH" or "DELETE".
    pub method: *const u8,
    pub method_len: usize,
    pub url: *const u8,
    pub url_len: usize,
    pub headers: *const MssHttpHeader,
    pub header_count: usize,
    pub body: *const u8,
    pub body_len: usize,
    /// Answer with `mss_http_fail(..., MSS_TRANSPORT_ERROR_KIND_TIMEOUT, ...)` after this long.
    pub timeout_ms: u64,
}

/// The host's answer: any HTTP status is a response. Borrowed from the host for the duration of
/// `mss_http_complete`; the library copies it.
#[repr(C)]
pub struct MssHttpResponse {
    /// 100..=999.
    pub status: u32,
    pub headers: *const MssHttpHeader,
    pub header_count: usize,
    pub body: *const u8,
    pub body_len: usize,
}

/// Why the host could not get a response at all (`mss_http_fail`).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MssTransportErrorKind {
    /// No answer within the request's `timeout_ms`.
    Timeout = 1,
    /// The connection could not be made or broke.
    Connection = 2,
    /// The host failed in a way of its own (an exception, a shut-down client).
    Host = 3,
}

type Answer = Result<HttpResponse, TransportError>;

/// The host `HttpClient` of one engine: requests waiting for their answer, by id.
pub(crate) struct CallbackHttp {
    host: Arc<HostCallbacks>,
    next_id: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
}

impl CallbackHttp {
    pub fn new(host: Arc<HostCallbacks>) -> Self {
        Self {
            host,
            next_id: AtomicU64::new(1),
            waiting: Mutex::new(HashMap::new()),
        }
    }

    fn take_waiting(&self, request_id: u64) -> Option<oneshot::Sender<Answer>> {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&request_id)
    }

    /// Delivers an answer; `NotFound` for an id that is unknown, already answered or given up on.
    fn answer(&self, request_id: u64, answer: Answer) -> Result<(), Failure> {
        let sender = self.take_waiting(request_id).ok_or_else(|| {
            Failure::new(
                ErrorCode::NotFound,
                format!("no request {request_id} is waiting for an answer"),
            )
        })?;
        // The engine call may have stopped waiting in between; nothing is lost either way.
        let _ = sender.send(answer);
        Ok(())
    }
}

#[async_trait(?Send)]
impl HttpClient for CallbackHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let request_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        // Registered before the host sees the id, so it may complete from inside `http_send`.
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(request_id, sender);

        let headers: Vec<MssHttpHeader> = request
            .headers
            .iter()
            .map(|(name, value)| MssHttpHeader {
                name: name.as_ptr(),
                name_len: name.len(),
                value: value.as_ptr(),
                value_len: value.len(),
            })
            .collect();
        let method = request.method.as_str();
        let view = MssHttpRequest {
            method: method.as_ptr(),
            method_len: method.len(),
            url: request.url.as_ptr(),
            url_len: request.url.len(),
            headers: headers.as_ptr(),
            header_count: headers.len(),
            body: request.body.as_ptr(),
            body_len: request.body.len(),
            timeout_ms: request.timeout.as_millis().min(u64::MAX as u128) as u64,
        };
        // SAFETY: the host's callback with its user_data; `view` outlives the call.
        let accepted = unsafe { (self.host.http_send)(self.host.user_data, request_id, &view) };
        if accepted != 0 {
            self.take_waiting(request_id);
            return Err(TransportError::new(
                TransportErrorKind::Host,
                format!("the host refused the request (status {accepted})"),
            ));
        }

        let give_up = futures_timer::Delay::new(request.timeout + HOST_GRACE);
        match select(receiver, give_up).await {
            Either::Left((Ok(answer), _)) => answer,
            Either::Left((Err(_), _)) => Err(TransportError::new(
                TransportErrorKind::Host,
                "the request was dropped unanswered",
            )),
            Either::Right(_) => {
                // A late answer now finds no waiting request and gets NotFound.
                self.take_waiting(request_id);
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    "the host did not answer within the request's timeout",
                ))
            }
        }
    }
}

/// Reads a host-supplied header array.
///
/// # Safety
/// `headers` is NULL (with count 0) or valid for `count` headers whose spans are valid.
unsafe fn headers_arg(
    headers: *const MssHttpHeader,
    count: usize,
) -> Result<Vec<(String, String)>, Failure> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if headers.is_null() {
        return Err(Failure::invalid("headers is NULL with a non-zero count"));
    }
    // SAFETY: per the contract.
    let headers = unsafe { std::slice::from_raw_parts(headers, count) };
    headers
        .iter()
        .map(|h| {
            // SAFETY: per the contract.
            let name = unsafe { str_arg(h.name, h.name_len, "a header name") }?;
            // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
            let value = unsafe { str_arg(h.value, h.value_len, "a header value") }?;
            Ok((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Answers request `request_id` with a response. Callable from any thread, also from inside the
/// `http_send` callback, at most once per request. Returns `MSS_STATUS_NOT_FOUND` when no such
/// request is waiting (unknown id, already answered, or given up on after its timeout). An
/// unreadable response (NULL spans, invalid UTF-8 in a header, status out of range) returns
/// `MSS_STATUS_INVALID_ARGUMENT` and fails the request as a host transport error.
///
/// # Safety
/// `engine` is a live engine; `response` is NULL or a valid response whose spans are readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_http_complete(
    engine: *const MssEngine,
    request_id: u64,
    response: *const MssHttpResponse,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `engine` is NULL or a live engine, per this function's contract.
        let engine = unsafe { engine_arg(engine) }?;
        let read = || -> Result<HttpResponse, Failure> {
            // SAFETY: NULL or valid, per the contract.
            let response =
                unsafe { response.as_ref() }.ok_or_else(|| Failure::invalid("response is NULL"))?;
            if !(100..=999).contains(&response.status) {
                return Err(Failure::invalid(format!(
                    "HTTP status {} is out of range",
                    response.status
                )));
            }
            if response.body_len > engine.max_response_bytes {
                return Err(Failure::invalid(format!(
                    "the response body is longer than {} bytes (max_response_bytes)",
                    engine.max_response_bytes
                )));
            }
            // SAFETY: per the contract.
            let headers = unsafe { headers_arg(response.headers, response.header_count) }?;
            // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
            let body = unsafe { bytes_arg(response.body, response.body_len, "body") }?.to_vec();
            Ok(HttpResponse {
                status: response.status as u16,
                headers,
                body,
            })
        };
        match read() {
            Ok(answer) => engine.http.answer(request_id, Ok(answer)),
            Err(bad) => {
                let _ = engine.http.answer(
                    request_id,
                    Err(TransportError::new(
                        TransportErrorKind::Host,
                        "the host delivered an unreadable response",
                    )),
                );
                Err(bad)
            }
        }
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}

/// Answers request `request_id` with a transport failure (no response at all). `kind` is an
/// `MssTransportErrorKind`; `message` (UTF-8, may be empty) is for the host's own logs. Same
/// threading and `NOT_FOUND` rules as `mss_http_complete`.
///
/// # Safety
/// `engine` is a live engine; `message` is NULL (length 0) or valid for `message_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_http_fail(
    engine: *const MssEngine,
    request_id: u64,
    kind: i32,
    message: *const u8,
    message_len: usize,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `engine` is NULL or a live engine, per this function's contract.
        let engine = unsafe { engine_arg(engine) }?;
        let kind = match kind {
            1 => TransportErrorKind::Timeout,
            2 => TransportErrorKind::Connection,
            3 => TransportErrorKind::Host,
            other => {
                return Err(Failure::invalid(format!(
                    "{other} is not a transport error kind"
                )));
            }
        };
        // SAFETY: per the contract.
        let message = unsafe { str_arg(message, message_len, "message") };
        // The request fails either way: an unreadable log text must not leave it hanging.
        let text = message
            .as_deref()
            .unwrap_or("(the host's message was not UTF-8)");
        engine
            .http
            .answer(request_id, Err(TransportError::new(kind, text)))?;
        message.map(|_| ())
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}
