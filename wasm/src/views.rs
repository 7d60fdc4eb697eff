//! The views the backend sends, as the panels read them: the core's JSON shapes (snake_case keys,
//! `mssync_core::app::{HomeView, SetupView, SetupOptions}`), with only the fields the panels show.
//! Declared here rather than linked from the core so that no engine code reaches the module; the
//! native tests deserialize the core's own views into these.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HomeView {
    pub name: String,
    pub email: String,
    /// The banner: `Operational`, `Error: ...`, `Throttled until ...`, `Disabled`.
    pub state: String,
    pub fix: Option<String>,
    pub jobs: Vec<JobView>,
    /// Newest last.
    pub log: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobView {
    /// The job's id, such as `calendar`.
    pub job: String,
    pub title: String,
    pub enabled: bool,
    pub state: String,
    /// Times as `2024-02-16 07:35Z` (UTC); the panels show them in the user's zone.
    pub latest_sync: Option<String>,
    pub remote_checkpoint: Option<String>,
    pub local_checkpoint: Option<String>,
    pub kept_current: String,
    pub last_run: LastRun,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LastRun {
    pub finished: Option<String>,
    pub to_outlook: CountsView,
    pub to_erp: CountsView,
    pub conflicts: u32,
    pub failed: u32,
    pub requests: u64,
    pub duration_ms: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct CountsView {
    pub created: u32,
    pub updated: u32,
    pub removed: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SetupView {
    pub company_id: Option<String>,
    pub location_id: Option<String>,
    /// The Windows display name of the user's zone.
    pub time_zone: String,
    /// The same zone's IANA name, which `Intl` knows.
    pub time_zone_iana: String,
    /// `newest`, `erp_wins` or `outlook_wins`.
    pub policy: String,
    pub jobs: Vec<JobSetup>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobSetup {
    pub job: String,
    pub title: String,
    pub enabled: bool,
    pub full_refresh_requested: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SetupOptions {
    pub companies: Vec<CompanyOption>,
    pub time_zones: Vec<TimeZoneOption>,
    /// Policy ids; [`policy_label`] names them.
    pub policies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CompanyOption {
    pub id: String,
    pub name: String,
    pub locations: Vec<LocationOption>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LocationOption {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TimeZoneOption {
    pub id: String,
    pub display_name: String,
    pub iana: String,
}

/// What Setup shows for a conflict policy (the core's `ConflictPolicy::label`; a test keeps
/// them equal), or the id itself for one this build does not know.
pub fn policy_label(id: &str) -> &str {
    match id {
        "newest" => "The newest change wins",
        "erp_wins" => "ERP.net wins",
        "outlook_wins" => "Outlook wins",
        other => other,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    //! The core's own views, made by the core's application layer, read as the panels read them.
    use std::sync::Arc;

    use mssync_core::app::{App, policy_options};
    use mssync_core::host::{Host, ManualClock, MemoryStore};

    use super::*;

    fn json<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn policy_labels_are_the_cores() {
        for option in policy_options() {
            assert_eq!(policy_label(option.id), option.label);
        }
        assert_eq!(policy_label("future_policy"), "future_policy");
    }

    #[test]
    fn the_cores_time_zone_list_reads_as_options() {
        let zones = mssync_core::app::time_zone_options();
        let read: Vec<TimeZoneOption> = serde_json::from_str(&json(&zones)).unwrap();
        assert_eq!(read.len(), zones.len());
        let tokyo = read.iter().find(|z| z.id == "Tokyo Standard Time").unwrap();
        assert_eq!(tokyo.iana, "Asia/Tokyo");
    }

    #[test]
    fn the_cores_views_read_as_the_panels_views() {
        // A user the core never saw answers with a typed error, not a view; the shapes of the
        // views themselves come from the core's own serializers over hand-made values.
        let app = App::new(Host {
            http: Arc::new(mssync_core::host::testing::RefuseHttp),
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(ManualClock::new(chrono::DateTime::UNIX_EPOCH)),
        });
        let refused = futures::executor::block_on(app.user_api("nobody", "home", "{}"));
        assert!(refused.is_err());

        let home = mssync_core::app::HomeView {
            name: "Alice".into(),
            email: "alice@contoso.example".into(),
            state: "Operational".into(),
            fix: None,
            jobs: vec![mssync_core::app::JobView {
                job: mssync_core::app::JobKind::Calendar,
                title: "Calendar",
                enabled: true,
                state: "Operational".into(),
                latest_sync: Some("2026-11-28 10:00Z".into()),
                remote_checkpoint: None,
                local_checkpoint: None,
                next_run: Some("2026-11-28 10:15Z".into()),
                kept_current: "Polling every 15 min".into(),
                last_run: mssync_core::app::LastRun {
                    finished: Some(chrono::DateTime::UNIX_EPOCH),
                    requests: 9,
                    ..Default::default()
                },
            }],
            log: vec!["[2026-11-28 10:00Z INF] ok".into()],
        };
        let read: HomeView = serde_json::from_str(&json(&home)).unwrap();
        assert_eq!(read.jobs[0].job, "calendar");
        assert_eq!(
            read.jobs[0].latest_sync.as_deref(),
            Some("2026-11-28 10:00Z")
        );
        assert_eq!(read.jobs[0].last_run.requests, 9);
        assert!(read.jobs[0].last_run.finished.is_some());

        let setup = mssync_core::app::SetupView {
            company_id: Some("c1".into()),
            location_id: None,
            time_zone: "(UTC+09:00) Osaka, Sapporo, Tokyo".into(),
            time_zone_iana: "Asia/Tokyo".into(),
            policy: mssync_core::app::ConflictPolicy::ErpWins,
            jobs: vec![mssync_core::app::JobSetup {
                job: mssync_core::app::JobKind::Calendar,
                title: "Calendar",
                enabled: false,
                full_refresh_requested: true,
            }],
        };
        let read: SetupView = serde_json::from_str(&json(&setup)).unwrap();
        assert_eq!(read.policy, "erp_wins");
        assert_eq!(read.time_zone_iana, "Asia/Tokyo");
        assert!(read.jobs[0].full_refresh_requested);

        let options = mssync_core::app::SetupOptions {
            companies: vec![mssync_core::app::CompanyOption {
                id: "c1".into(),
                name: "Contoso".into(),
                locations: vec![mssync_core::app::LocationOption {
                    id: "l1".into(),
                    name: "Sofia".into(),
                }],
            }],
            time_zones: mssync_core::app::time_zone_options(),
            policies: mssync_core::app::ConflictPolicy::ALL.to_vec(),
        };
        let read: SetupOptions = serde_json::from_str(&json(&options)).unwrap();
        assert_eq!(read.policies, ["newest", "erp_wins", "outlook_wins"]);
        assert_eq!(read.companies[0].locations[0].name, "Sofia");
    }
}
