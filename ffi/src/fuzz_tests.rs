//! Property tests of every JSON argument the C ABI reads (the engine config, actors, Service and
//! Setup changes): any text ends in a value or `INVALID_JSON`/`INVALID_ARGUMENT`, never a panic,
//! and a refusal never quotes the caller's text. `MSSYNC_FUZZ_CASES` sets the cases (default
//! 2,000; the long run takes a million).

use mssync_core::app::{Actor, ServiceChange, SetupChange};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::ops::json;

fn cases() -> u32 {
    std::env::var("MSSYNC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// JSON-ish text around the names the ABI reads, with a marker that must never be echoed.
fn argument() -> impl Strategy<Value = String> {
    let key = prop::sample::select(
        &[
            "kind",
            "user_id",
            "host",
            "user",
            "tenant_id",
            "client_id",
            "mode",
            "credential",
            "secret",
            "certificate_pem",
            "time_zone",
            "policy",
            "authority",
            "graph_base_url",
            "erp_base_url",
            "erp_access",
            "identity_base",
            "client_secret",
            "redirect_uri",
            "runner_id",
            "sealing_key",
            "max_response_bytes",
            "lease_ttl_seconds",
            "token",
            "user_id",
            "job",
            "due_since",
        ][..],
    );
    let value = prop_oneof![
        Just("\"SECRETxyzzy\"".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("-1".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("[\"SECRETxyzzy\"]".to_owned()),
        Just("{\"kind\":\"SECRETxyzzy\"}".to_owned()),
        Just("\"https://login.example\"".to_owned()),
        Just("\"http://10.0.0.1/\"".to_owned()),
    ];
    prop_oneof![
        prop::collection::vec((key, value), 0..6).prop_map(|pairs| {
            let body: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", body.join(","))
        }),
        "\\PC{0,60}",
    ]
}

#[test]
fn fuzz_abi_json_arguments_never_panic_or_echo() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&argument(), |text| {
        let (ptr, len) = (text.as_ptr(), text.len());
        // SAFETY: `ptr` and `len` describe `text`, alive for the calls.
        let failures = unsafe {
            [
                json::<Actor>(ptr, len, "actor_json").err(),
                json::<ServiceChange>(ptr, len, "change_json").err(),
                json::<SetupChange>(ptr, len, "change_json").err(),
                json::<mssync_core::app::DueJob>(ptr, len, "due_job_json").err(),
            ]
        };
        let config = mssync_core::app::EngineSettings::from_json(&text)
            .and_then(|settings| settings.app_config())
            .err()
            .map(crate::status::Failure::from);
        for failure in failures.into_iter().chain([config]).flatten() {
            prop_assert!(
                !failure.message.contains("SECRETxyzzy"),
                "{}",
                failure.message
            );
            prop_assert!(!failure.message.contains("10.0.0.1"), "{}", failure.message);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
