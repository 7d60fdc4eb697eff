//! The panels' markup over the views: what users see and can operate, checked without a DOM
//! (the browser suite in `tests/browser` drives the mounted panels). Run natively and under Node.

use serde_json::json;

use super::setup::SetupData;
use super::{home, setup};
use crate::MsSyncError;
use crate::views::{HomeView, SetupOptions, SetupView};

/// The views as the backend sends them (the core's JSON).
fn home_view(state: &str, ran: bool) -> HomeView {
    let last_run = if ran {
        json!({"finished": "1970-01-01T00:00:00Z",
               "to_outlook": {"created": 2, "updated": 1, "removed": 0},
               "to_erp": {"created": 1, "updated": 0, "removed": 3},
               "conflicts": 1, "failed": 0, "requests": 9, "duration_ms": 120, "node": "sync-1"})
    } else {
        json!({"finished": null, "to_outlook": {"created": 0, "updated": 0, "removed": 0},
               "to_erp": {"created": 0, "updated": 0, "removed": 0},
               "conflicts": 0, "failed": 0, "requests": 0, "duration_ms": 0, "node": null})
    };
    serde_json::from_value(json!({
        "name": "Alice <Adams>",
        "email": "alice@contoso.example",
        "state": state,
        "fix": state.starts_with("Error").then_some("Ask an administrator to grant access."),
        "jobs": [{
            "job": "calendar",
            "title": "Calendar",
            "enabled": ran,
            "state": state,
            "latest_sync": ran.then_some("2026-11-28 10:00Z"),
            "remote_checkpoint": ran.then_some("2026-11-28 09:59Z"),
            "local_checkpoint": ran.then_some("2026-11-28 09:58Z"),
            "next_run": null,
            "kept_current": "Live (change notifications, renews 2026-12-04 10:00Z)",
            "last_run": last_run,
        }],
        "log": ["[2026-11-28 10:00Z INF] Pulled 2 activities for 154ms."],
    }))
    .unwrap()
}

const ZONES: usize = 3;

fn setup_data(company: Option<&str>) -> SetupData {
    let setup: SetupView = serde_json::from_value(json!({
        "company_id": company,
        "location_id": company.map(|_| "l2"),
        "time_zone": "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
        "time_zone_iana": "Europe/Kiev",
        "policy": "erp_wins",
        "jobs": [{"job": "calendar", "title": "Calendar", "enabled": false,
                  "full_refresh_requested": true}],
    }))
    .unwrap();
    let options: SetupOptions = serde_json::from_value(json!({
        "companies": [{"id": "c1", "name": "Contoso & Sons", "locations": [
            {"id": "l1", "name": "Sofia office"}, {"id": "l2", "name": "Plovdiv office"}]}],
        "time_zones": [
            {"id": "UTC", "display_name": "(UTC) Coordinated Universal Time", "iana": "Etc/UTC"},
            {"id": "FLE Standard Time",
             "display_name": "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius",
             "iana": "Europe/Kiev"},
            {"id": "Tokyo Standard Time", "display_name": "(UTC+09:00) Osaka, Sapporo, Tokyo",
             "iana": "Asia/Tokyo"}],
        "policies": ["newest", "erp_wins", "outlook_wins"],
    }))
    .unwrap();
    SetupData {
        setup: Some(setup),
        options: Some(options),
        home: Some(home_view("Operational", false)),
    }
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn setup_offers_the_allowed_choices_with_the_current_ones_selected() {
    let html = setup::render("p", &setup_data(Some("C1")), None, false);
    assert!(html.contains(r#"<label for="p-company">Enterprise company</label>"#));
    assert!(html.contains(r#"<option value="c1" selected>Contoso &amp; Sons</option>"#));
    assert!(html.contains(r#"<option value="l2" selected>Plovdiv office</option>"#));
    assert!(html.contains(r#"<option value="l1">Sofia office</option>"#));
    assert!(html.contains(r#"<option value="FLE Standard Time" selected>(UTC+02:00) Helsinki"#));
    assert_eq!(html.matches("<option value=\"").count(), 2 + ZONES + 3 + 1);
    assert!(html.contains(r#"<option value="erp_wins" selected>ERP.net wins</option>"#));
    assert!(html.contains(r#"role="switch" aria-checked="false" data-action="job" data-job="calendar">Calendar</button>"#));
    assert!(html.contains("Full refresh at the next run"));
    assert!(html.contains(r#"data-state="operational""#));
    assert!(html.contains("Pulled 2 activities for 154ms."));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn setup_without_a_company_asks_for_one_and_lists_no_locations() {
    let html = setup::render("p", &setup_data(None), None, false);
    assert!(html.contains(r#"<option value="" disabled selected>Choose a company</option>"#));
    assert!(html.contains(r#"<option value="" disabled selected>Choose a location</option>"#));
    assert!(
        !html.contains("Sofia office"),
        "locations belong to a chosen company"
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn errors_show_their_code_and_message_as_an_alert() {
    let error = MsSyncError::new((301, "forbidden"), "only <admins>");
    let html = setup::render("p", &setup_data(Some("c1")), Some(&error), false);
    let code = 301;
    assert!(html.contains(&format!(
        r#"<p class="mssync-error" role="alert" data-code="{code}">Error {code}: only &lt;admins&gt;</p>"#
    )));
    let html = home::render("p", None, None, Some(&error), false, true);
    assert!(
        html.contains(r#"role="alert""#),
        "Home shows a failed read too"
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn home_shows_who_state_checkpoints_counts_and_log() {
    let html = home::render(
        "p",
        Some(&home_view("Operational", true)),
        None,
        None,
        false,
        true,
    );
    assert!(html.contains(r#"<dd id="p-name">Alice &lt;Adams&gt;</dd>"#));
    // Without a zone (and natively, without Intl) the UTC label shows; the instant is kept.
    assert!(html.contains(r#"<td data-field="latest-sync"><time datetime="2026-11-28T10:00:00Z">2026-11-28 10:00Z</time></td>"#));
    assert!(html.contains(r#"<td data-field="remote-checkpoint"><time datetime="2026-11-28T09:59:00Z">2026-11-28 09:59Z</time></td>"#));
    assert!(html.contains(r#"<td data-field="local-checkpoint"><time datetime="2026-11-28T09:58:00Z">2026-11-28 09:58Z</time></td>"#));
    assert!(html.contains("(times in UTC)"));
    assert!(html.contains(
        r#"<td data-field="kept-current">Live (change notifications, renews 2026-12-04 10:00Z)</td>"#
    ));
    assert!(html.contains("To Outlook: 2 created, 1 updated, 0 removed. To ERP.net: 1 created, 0 updated, 3 removed. Conflicts: 1. 9 requests in 120 ms."));
    assert!(html.contains(r#"aria-label="Sync Calendar now">Sync now</button>"#));
    assert!(html.contains("<li>[2026-11-28 10:00Z INF] Pulled 2 activities for 154ms.</li>"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn home_offers_sync_now_only_where_the_host_allows_and_the_job_is_on() {
    let html = home::render(
        "p",
        Some(&home_view("Operational", true)),
        None,
        None,
        false,
        false,
    );
    assert!(!html.contains("Sync now"));
    let html = home::render(
        "p",
        Some(&home_view("Disabled", false)),
        None,
        None,
        false,
        true,
    );
    assert!(html.contains(r#"aria-label="Sync Calendar now" disabled>"#));
    assert!(html.contains(r#"<td data-field="latest-sync">—</td>"#));
    assert!(html.contains("Not run yet"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn an_error_state_is_marked_with_its_fix() {
    let html = home::render(
        "p",
        Some(&home_view("Error: Access denied", true)),
        None,
        None,
        false,
        true,
    );
    assert!(html.contains(r#"data-state="error""#));
    assert!(html.contains(r#"<p class="mssync-fix">Ask an administrator to grant access.</p>"#));
}
