//! Zone rules from `Intl` (the browser build bundles no tz data): the same local-time rules the
//! native build checks against the tz database, here against the JS engine's own tzdata. Runs
//! under Node with the other wasm-bindgen tests.
#![cfg(target_arch = "wasm32")]

use chrono::{DateTime, NaiveDateTime, Utc};
use mssync_core::model::tz::{GraphDateTime, TimeZoneError, Zone, windows_zones};
use wasm_bindgen_test::wasm_bindgen_test;

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn utc(text: &str) -> DateTime<Utc> {
    local(text).and_utc()
}

fn zone(name: &str) -> Zone {
    mssync_wasm::start();
    Zone::parse(name).unwrap()
}

#[wasm_bindgen_test]
fn every_windows_zone_has_rules_in_the_js_engine() {
    for windows in windows_zones() {
        let zone = zone(windows.id);
        // Any reading works: the zone resolved and the rules answered.
        let _ = zone.to_local(utc("2026-07-01 12:00"));
    }
}

#[wasm_bindgen_test]
fn an_unknown_zone_is_refused_when_named() {
    mssync_wasm::start();
    assert_eq!(
        Zone::parse("Mars/Olympus_Mons"),
        Err(TimeZoneError::UnknownZone("Mars/Olympus_Mons".into()))
    );
}

#[wasm_bindgen_test]
fn offsets_follow_dst_in_sofia_new_york_and_the_far_pacific() {
    let sofia = zone("Europe/Sofia");
    assert_eq!(
        sofia.to_local(utc("2026-01-15 10:00")),
        local("2026-01-15 12:00")
    );
    assert_eq!(
        sofia.to_local(utc("2026-07-15 10:00")),
        local("2026-07-15 13:00")
    );
    let new_york = zone("Eastern Standard Time");
    assert_eq!(
        new_york.to_local(utc("2026-03-08 06:59")),
        local("2026-03-08 01:59")
    );
    assert_eq!(
        new_york.to_local(utc("2026-03-08 07:00")),
        local("2026-03-08 03:00")
    );
    let kiritimati = zone("Pacific/Kiritimati");
    assert_eq!(
        kiritimati.to_local(utc("2026-01-01 00:00")),
        local("2026-01-01 14:00")
    );
    let kathmandu = zone("Asia/Kathmandu");
    assert_eq!(
        kathmandu.to_local(utc("2026-01-01 00:00")),
        local("2026-01-01 05:45")
    );
}

#[wasm_bindgen_test]
fn skipped_and_repeated_hours_read_as_natively() {
    let sofia = zone("Europe/Sofia");
    // Spring forward: 03:30 does not exist and moves forward by the gap.
    let skipped = sofia.to_instant(local("2026-03-29 03:30"));
    assert_eq!(sofia.to_local(skipped), local("2026-03-29 04:30"));
    // Fall back: 03:30 exists twice; the earlier instant wins.
    assert_eq!(
        sofia.to_instant(local("2026-10-25 03:30")),
        utc("2026-10-25 00:30")
    );
    let graph = GraphDateTime {
        date_time: "2026-11-01T01:30:00.0000000".into(),
        time_zone: "Eastern Standard Time".into(),
    };
    assert_eq!(
        graph.to_instant(&Zone::utc()).unwrap(),
        utc("2026-11-01 05:30")
    );
}
