//! Panics in the browser.
//!
//! On `wasm32-unknown-unknown` a panic aborts: the module traps, and a promise whose future was
//! being polled would stay pending forever. So every exported async operation runs through
//! [`spawn_guarded`], which registers its promise's `reject`; the panic hook logs the panic
//! (`console_error_panic_hook`) and rejects every pending operation with an `MsSyncError` of code
//! `panic` (104). After a panic the module's state is unknown: the page should reload it.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Once;

use js_sys::{Function, Promise};
use mssync_core::{ErrorCode, PublicError};
use wasm_bindgen::prelude::*;

use crate::error::to_js_error;

/// Whether a panic's own message may be shown to the page. Only test hooks say yes: a panic
/// message can quote data (an event title, a key) that a public error must not carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicDetail {
    Hidden,
    #[cfg_attr(
        not(all(feature = "test-hooks", target_arch = "wasm32")),
        allow(dead_code)
    )]
    Shown,
}

struct Pending {
    id: u64,
    reject: Function,
    detail: PanicDetail,
}

thread_local! {
    static PENDING: RefCell<(u64, Vec<Pending>)> = const { RefCell::new((0, Vec::new())) };
}

static HOOK: Once = Once::new();

/// Logs panics to the console and turns them into rejections of the pending operations. Called
/// by the module's start function and again (harmlessly) before each guarded operation, because
/// test harnesses do not always run start functions.
pub(crate) fn install_hook() {
    // After an abort the thread still counts as panicking, and std refuses hook changes then.
    if std::thread::panicking() {
        return;
    }
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            console_error_panic_hook::hook(info);
            previous(info);
            reject_all_pending(&panic_message(info));
        }));
    });
}

fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

fn reject_all_pending(message: &str) {
    // `try_with`/`try_borrow_mut`: a panic while the list itself is borrowed must not panic again.
    let pending = PENDING
        .try_with(|p| p.try_borrow_mut().map(|mut p| std::mem::take(&mut p.1)))
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    for op in pending {
        let reason = match op.detail {
            PanicDetail::Shown => format!("MsSync panicked: {message}"),
            PanicDetail::Hidden => {
                "MsSync stopped on an internal error; reload the page".to_owned()
            }
        };
        let error = to_js_error(&PublicError::new(ErrorCode::Panic, reason));
        let _ = op.reject.call1(&JsValue::UNDEFINED, &error);
    }
}

/// Runs `operation` on the browser's microtask queue and returns its promise, which also rejects
/// (with code `panic`) if MsSync panics while it is pending.
pub fn spawn_guarded<F>(operation: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    spawn_guarded_with(PanicDetail::Hidden, operation)
}

pub(crate) fn spawn_guarded_with<F>(detail: PanicDetail, operation: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    install_hook();
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject) = settle.expect("the Promise executor runs synchronously");
    let id = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        p.0 += 1;
        let id = p.0;
        p.1.push(Pending {
            id,
            reject: reject.clone(),
            detail,
        });
        id
    });
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = operation.await;
        PENDING.with(|p| p.borrow_mut().1.retain(|op| op.id != id));
        let _ = match outcome {
            Ok(value) => resolve.call1(&JsValue::UNDEFINED, &value),
            Err(error) => reject.call1(&JsValue::UNDEFINED, &error),
        };
    });
    promise
}
