//! The panels' markup over core views: what users see and can operate, checked without a DOM
//! (the browser suite in `tests/browser` drives the mounted panels). Run natively and under Node.

use mssync_core::app::ConflictPolicy;
use mssync_core::app::{
    CompanyOption, CountsView, HomeView, JobKind, JobSetup, JobView, LastRun, LocationOption,
    SetupOptions, SetupView, time_zone_options,
};
use mssync_core::{ErrorCode, PublicError};

use super::setup::SetupData;
use super::{home, setup};

fn home_view(state: &str, ran: bool) -> HomeView {
    HomeView {
        name: "Alice <Adams>".into(),
        email: "alice@contoso.example".into(),
        state: state.into(),
        fix: state
            .starts_with("Error")
            .then(|| "Ask an administrator to grant access.".into()),
        jobs: vec![JobView {
            job: JobKind::Calendar,
            title: "Calendar",
            enabled: ran,
            state: state.into(),
            latest_sync: ran.then(|| "2026-11-28 10:00Z".into()),
            remote_checkpoint: ran.then(|| "2026-11-28 09:59Z".into()),
            local_checkpoint: ran.then(|| "2026-11-28 09:58Z".into()),
            next_run: None,
            kept_current: "Live (change notifications, renews 2026-12-04 10:00Z)".into(),
            last_run: if ran {
                LastRun {
                    finished: Some(chrono::DateTime::UNIX_EPOCH),
                    to_outlook: CountsView {
                        created: 2,
                        updated: 1,
                        removed: 0,
                    },
                    to_erp: CountsView {
                        created: 1,
                        updated: 0,
                        removed: 3,
                    },
                    conflicts: 1,
                    failed: 0,
                    requests: 9,
                    duration_ms: 120,
                    node: Some("sync-1".into()),
                }
            } else {
                LastRun::default()
            },
        }],
        log: vec!["[2026-11-28 10:00Z INF] Pulled 2 activities for 154ms.".into()],
    }
}

fn setup_data(company: Option<&str>) -> SetupData {
    SetupData {
        setup: Some(SetupView {
            company_id: company.map(Into::into),
            location_id: company.map(|_| "l2".into()),
            time_zone: "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius".into(),
            time_zone_iana: "Europe/Kiev".into(),
            policy: ConflictPolicy::ErpWins,
            jobs: vec![JobSetup {
                job: JobKind::Calendar,
                title: "Calendar",
                enabled: false,
                full_refresh_requested: true,
            }],
        }),
        options: Some(SetupOptions {
            companies: vec![CompanyOption {
                id: "c1".into(),
                name: "Contoso & Sons".into(),
                locations: vec![
                    LocationOption {
                        id: "l1".into(),
                        name: "Sofia office".into(),
                    },
                    LocationOption {
                        id: "l2".into(),
                        name: "Plovdiv office".into(),
                    },
                ],
            }],
            time_zones: time_zone_options(),
            policies: vec![
                ConflictPolicy::Newest,
                ConflictPolicy::ErpWins,
                ConflictPolicy::OutlookWins,
            ],
        }),
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
    assert_eq!(
        html.matches("<option value=\"").count(),
        2 + time_zone_options().len() + 3 + 1
    );
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
    let error = PublicError::new(ErrorCode::Forbidden, "only <admins>");
    let html = setup::render("p", &setup_data(Some("c1")), Some(&error), false);
    let code = ErrorCode::Forbidden.number();
    assert!(html.contains(&format!(
        r#"<p class="mssync-error" role="alert" data-code="{code}">Error {code}: only &lt;admins&gt;</p>"#
    )));
    let html = home::render("p", None, Some(&error), false, true);
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
        false,
        true,
    );
    assert!(html.contains(r#"<dd id="p-name">Alice &lt;Adams&gt;</dd>"#));
    assert!(html.contains(r#"<td data-field="latest-sync">2026-11-28 10:00Z</td>"#));
    assert!(html.contains(r#"<td data-field="remote-checkpoint">2026-11-28 09:59Z</td>"#));
    assert!(html.contains(r#"<td data-field="local-checkpoint">2026-11-28 09:58Z</td>"#));
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
        false,
        false,
    );
    assert!(!html.contains("Sync now"));
    let html = home::render("p", Some(&home_view("Disabled", false)), None, false, true);
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
        false,
        true,
    );
    assert!(html.contains(r#"data-state="error""#));
    assert!(html.contains(r#"<p class="mssync-fix">Ask an administrator to grant access.</p>"#));
}
