//! The JS host adapter against real JavaScript: the in-page store of `js/memory-store.js`, host
//! functions written in JS, typed errors. Runs under Node:
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test --target wasm32-unknown-unknown -p mssync-wasm --features test-hooks`
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use js_sys::{Function, Reflect, Uint8Array};
use mssync_core::host::{
    Clock, Expect, HttpClient, HttpRequest, Method, Store, StoreError, TransportErrorKind,
    WriteBatch, conformance::check_store,
};
use mssync_core::{ErrorCode, PublicError};
use mssync_wasm::host::{BrowserClock, JsHttp, JsStore, host_from_js};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(module = "/js/memory-store.js")]
extern "C" {
    type MemoryStore;
    #[wasm_bindgen(constructor)]
    fn new() -> MemoryStore;
}

/// Evaluates a JS expression (test doubles are easiest to read in JS).
fn js(expression: &str) -> JsValue {
    Function::new_no_args(&format!("return ({expression});"))
        .call0(&JsValue::NULL)
        .expect("test JS evaluates")
}

fn get(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &name.into()).unwrap()
}

fn memory_store() -> JsStore {
    JsStore::new(MemoryStore::new().into()).expect("MemoryStore has get, scan, commit")
}

#[wasm_bindgen_test]
async fn memory_store_passes_the_conformance_suite() {
    check_store(&memory_store()).await;
}

#[wasm_bindgen_test]
async fn check_store_export_resolves_for_the_memory_store() {
    let host = js("{ http: async () => ({ status: 200 }) }");
    Reflect::set(&host, &"store".into(), &MemoryStore::new().into()).unwrap();
    let outcome = JsFuture::from(mssync_wasm::check_js_store(host)).await;
    assert!(outcome.is_ok(), "checkStore rejected: {outcome:?}");
}

#[wasm_bindgen_test]
async fn scan_orders_astral_keys_by_utf8_bytes() {
    let store = memory_store();
    // U+E000..U+FFFF sort before astral characters in UTF-8, after them in UTF-16.
    let rests = [
        "\u{1F600}",
        "\u{FFFD}",
        "\u{E000}",
        "z",
        "\u{10000}",
        "\u{D7FF}",
    ];
    let mut batch = WriteBatch::new();
    for rest in rests {
        batch = batch.put(
            format!("astral/{rest}"),
            rest.as_bytes().to_vec(),
            Expect::Absent,
        );
    }
    store.commit(batch).await.unwrap();
    let keys: Vec<String> = store
        .scan("astral/")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut expected: Vec<String> = rests.iter().map(|r| format!("astral/{r}")).collect();
    expected.sort();
    assert_eq!(keys, expected);
}

#[wasm_bindgen_test]
async fn js_string_order_is_not_the_contract_for_astral_keys() {
    // The memory store with plain JS string comparison in `scan`: what `compareUtf8` prevents.
    let inner: JsValue = MemoryStore::new().into();
    let wrapped = js("{}");
    let scan_by_js_order = Function::new_with_args(
        "inner, prefix",
        "return inner.scan(prefix).then((entries) => entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)));",
    );
    Reflect::set(&wrapped, &"inner".into(), &inner).unwrap();
    for (name, body) in [
        ("get", "return this.inner.get(key);"),
        ("commit", "return this.inner.commit(key);"),
    ] {
        Reflect::set(
            &wrapped,
            &name.into(),
            &Function::new_with_args("key", body),
        )
        .unwrap();
    }
    Reflect::set(
        &wrapped,
        &"scan".into(),
        &Function::new_with_args("prefix", "return this.sortWrong(this.inner, prefix);"),
    )
    .unwrap();
    Reflect::set(&wrapped, &"sortWrong".into(), &scan_by_js_order).unwrap();
    let store = JsStore::new(wrapped).unwrap();
    let mut batch = WriteBatch::new();
    for rest in ["\u{1F600}", "\u{FFFD}"] {
        batch = batch.put(format!("astral/{rest}"), b"x".to_vec(), Expect::Absent);
    }
    store.commit(batch).await.unwrap();
    let keys: Vec<String> = store
        .scan("astral/")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        ["astral/\u{1F600}", "astral/\u{FFFD}"],
        "JS string order puts the astral key first; the contract (byte order) does not"
    );
}

#[wasm_bindgen_test]
async fn store_rejections_and_bad_answers_are_backend_errors() {
    let store = JsStore::new(js(r#"{
        get: async () => { throw new Error("disk full"); },
        scan: async () => [{ key: "k", value: "not bytes", version: 1 }],
        commit: async () => ({ ok: false }),
    }"#))
    .unwrap();
    match store.get("k").await {
        Err(StoreError::Backend(message)) => assert!(message.contains("disk full"), "{message}"),
        other => panic!("expected a backend error, got {other:?}"),
    }
    assert!(matches!(store.scan("").await, Err(StoreError::Backend(_))));
    assert!(matches!(
        store.commit(WriteBatch::new()).await,
        Err(StoreError::Backend(_))
    ));
    // Through the public face: code 201 store_failure, no backend text.
    let public = PublicError::from(store.get("k").await.unwrap_err());
    assert_eq!(public.code, ErrorCode::StoreFailure);
    assert!(!public.reason.contains("disk full"));
}

#[wasm_bindgen_test]
async fn commit_conflicts_come_back_as_conflicts() {
    let store = memory_store();
    store
        .commit(WriteBatch::new().put("k", b"1".to_vec(), Expect::Absent))
        .await
        .unwrap();
    let refused = store
        .commit(WriteBatch::new().put("k", b"2".to_vec(), Expect::Absent))
        .await;
    assert_eq!(refused, Err(StoreError::Conflict { key: "k".into() }));
}

#[wasm_bindgen_test]
async fn http_request_and_response_cross_as_documented() {
    let host = js(r#"{
        seen: [],
        http: async function (request) {
            this.seen.push(request);
            return {
                status: 201,
                headers: [["Content-Type", "application/json"], ["Set-Cookie", "a"], ["Set-Cookie", "b"]],
                body: new TextEncoder().encode('{"id":"1"}'),
            };
        },
    }"#);
    let http = JsHttp::from_host(&host).unwrap();
    let request = HttpRequest::new(Method::Post, "http://127.0.0.1:9/events")
        .header("Authorization", "Bearer t")
        .json_body(&serde_json_value())
        .header("X-Twice", "1")
        .header("X-Twice", "2");
    let response = http.send(request).await.unwrap();
    assert_eq!(response.status, 201);
    assert_eq!(response.body, br#"{"id":"1"}"#);
    assert_eq!(
        response
            .headers
            .iter()
            .filter(|(n, _)| n == "Set-Cookie")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );

    let seen = js_sys::Array::from(&get(&host, "seen")).get(0);
    assert_eq!(get(&seen, "method").as_string().unwrap(), "POST");
    assert_eq!(
        get(&seen, "url").as_string().unwrap(),
        "http://127.0.0.1:9/events"
    );
    assert_eq!(get(&seen, "timeoutMs").as_f64().unwrap(), 60_000.0);
    let body = get(&seen, "body")
        .dyn_into::<Uint8Array>()
        .expect("body is a Uint8Array");
    assert_eq!(body.to_vec(), br#"{"a":1}"#);
    let headers: Vec<(String, String)> = serde_wasm_bindgen_headers(&get(&seen, "headers"));
    assert_eq!(
        headers,
        [
            ("Authorization".into(), "Bearer t".into()),
            ("Content-Type".into(), "application/json".into()),
            ("X-Twice".into(), "1".into()),
            ("X-Twice".into(), "2".into()),
        ]
    );
}

fn serde_json_value() -> serde_json::Value {
    serde_json::json!({ "a": 1 })
}

fn serde_wasm_bindgen_headers(value: &JsValue) -> Vec<(String, String)> {
    js_sys::Array::from(value)
        .iter()
        .map(|pair| {
            let pair = js_sys::Array::from(&pair);
            (
                pair.get(0).as_string().unwrap(),
                pair.get(1).as_string().unwrap(),
            )
        })
        .collect()
}

#[wasm_bindgen_test]
async fn http_failures_keep_their_kind() {
    for (thrown, kind, code) in [
        (
            "new TypeError('fetch failed')",
            TransportErrorKind::Connection,
            ErrorCode::TransportFailure,
        ),
        (
            "Object.assign(new Error('slow'), { kind: 'timeout' })",
            TransportErrorKind::Timeout,
            ErrorCode::Timeout,
        ),
        (
            "new DOMException('late', 'TimeoutError')",
            TransportErrorKind::Timeout,
            ErrorCode::Timeout,
        ),
        (
            "'a plain string'",
            TransportErrorKind::Host,
            ErrorCode::TransportFailure,
        ),
    ] {
        let host = js(&format!("{{ http: async () => {{ throw {thrown}; }} }}"));
        let error = JsHttp::from_host(&host)
            .unwrap()
            .send(HttpRequest::new(Method::Get, "http://127.0.0.1:9/"))
            .await
            .unwrap_err();
        assert_eq!(error.kind, kind, "{thrown}");
        assert_eq!(PublicError::from(error).code, code, "{thrown}");
    }
    // An answer that is not a response is the host's failure, not a response.
    let host = js("{ http: () => ({ status: 'teapot' }) }");
    let error = JsHttp::from_host(&host)
        .unwrap()
        .send(HttpRequest::new(Method::Get, "http://127.0.0.1:9/"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, TransportErrorKind::Host);
}

#[wasm_bindgen_test]
fn an_incomplete_host_is_a_typed_invalid_argument() {
    for (host, missing) in [
        ("{}", "host.http must be a function"),
        ("{ http: async () => null }", "host.store must be an object"),
        (
            "{ http: async () => null, store: { get() {}, scan() {} } }",
            "host.store.commit must be a function",
        ),
    ] {
        let error = match host_from_js(&js(host)) {
            Ok(_) => panic!("{host} was accepted"),
            Err(error) => error,
        };
        assert!(error.is_instance_of::<js_sys::Error>(), "an Error object");
        assert_eq!(get(&error, "name").as_string().unwrap(), "MsSyncError");
        assert_eq!(get(&error, "code").as_f64().unwrap(), 101.0);
        assert_eq!(
            get(&error, "codeName").as_string().unwrap(),
            "invalid_argument"
        );
        assert_eq!(get(&error, "message").as_string().unwrap(), missing);
    }
}

#[wasm_bindgen_test]
async fn browser_clock_follows_date_now_and_sleeps_on_timers() {
    let clock = BrowserClock;
    let before = js_sys::Date::now() as i64;
    let now = clock.now().timestamp_millis();
    assert!(
        (now - before).abs() < 1_000,
        "now() {now} vs Date.now() {before}"
    );
    clock.sleep(Duration::from_millis(20)).await;
    // A lower bound only: timers never fire early by more than rounding.
    let slept = clock.now().timestamp_millis() - now;
    assert!(slept >= 19, "slept only {slept} ms");
}

#[wasm_bindgen_test]
fn time_zones_list_every_windows_zone_with_its_iana_name() {
    let zones = js_sys::Array::from(&mssync_wasm::time_zones().unwrap());
    assert_eq!(
        zones.length() as usize,
        mssync_core::model::tz::windows_zones().count()
    );
    let tokyo = zones
        .iter()
        .find(|z| get(z, "id").as_string().as_deref() == Some("Tokyo Standard Time"))
        .expect("Tokyo Standard Time listed");
    assert_eq!(get(&tokyo, "iana").as_string().unwrap(), "Asia/Tokyo");
    assert_eq!(
        get(&tokyo, "displayName").as_string().unwrap(),
        "(UTC+09:00) Osaka, Sapporo, Tokyo"
    );
}
