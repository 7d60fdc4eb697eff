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
use wasm_bindgen::prelude::*;

use crate::error::{MsSyncError, PANIC};

struct Pending {
    id: u64,
    reject: Function,
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
            reject_all_pending();
        }));
    });
}

fn reject_all_pending() {
    // `try_with`/`try_borrow_mut`: a panic while the list itself is borrowed must not panic again.
    let pending = PENDING
        .try_with(|p| p.try_borrow_mut().map(|mut p| std::mem::take(&mut p.1)))
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    for op in pending {
        // The panic's own message stays in the console: it can quote data (a name from the
        // services) that an error shown must not carry.
        let error: JsValue = MsSyncError::new(
            PANIC,
            "MsSync stopped on an internal error; reload the page",
        )
        .into();
        let _ = op.reject.call1(&JsValue::UNDEFINED, &error);
    }
}

/// Runs `operation` on the browser's microtask queue and returns its promise, which also rejects
/// (with code `panic`) if MsSync panics while it is pending.
pub fn spawn_guarded<F>(operation: F) -> Promise
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
