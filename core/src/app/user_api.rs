//! The operations of the signed-in user: what a browser's panels may ask of their backend.
//!
//! A backend (the C ABI, .NET, `mssync serve`) knows who is signed in from its own authenticated
//! session and passes that user's id here; the page only names an operation and its request.
//! Nothing a page sends can name another user or an actor: requests are closed objects (unknown
//! fields, such as a forged `user_id`, are refused), and there is no Service operation here.
//! JSON in and out in this one place, so every backend exposes the same surface the same way.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{App, ConflictPolicy, JobKind, LogEntry, RunView, SetupChange};
use crate::error::{ErrorCode, PublicError};

/// What the panels may do, by the name they use on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserOperation {
    /// `{}` -> `HomeView`
    Home,
    /// `{}` -> `SetupView`
    Setup,
    /// `{}` -> `SetupOptions` (reads ERP.net's companies and locations)
    SetupOptions,
    /// `{company_id?, location_id?}` -> `SetupView`: both set both; a company alone keeps the
    /// location when the company has it; a location alone stays within the chosen company.
    SetCompany,
    /// `SetupChange` (`{time_zone?, policy?}`) -> `SetupView`
    ChangeSetup,
    /// `{job, enabled}` -> `SetupView`
    SetJobEnabled,
    /// `{job}` -> `SetupView`
    RequestFullRefresh,
    /// `{job}` -> `{report, log}`; a failed run is the error, its log lines are in Home.
    SyncNow,
}

impl UserOperation {
    pub const ALL: [UserOperation; 8] = [
        UserOperation::Home,
        UserOperation::Setup,
        UserOperation::SetupOptions,
        UserOperation::SetCompany,
        UserOperation::ChangeSetup,
        UserOperation::SetJobEnabled,
        UserOperation::RequestFullRefresh,
        UserOperation::SyncNow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UserOperation::Home => "home",
            UserOperation::Setup => "setup",
            UserOperation::SetupOptions => "setup_options",
            UserOperation::SetCompany => "set_company",
            UserOperation::ChangeSetup => "change_setup",
            UserOperation::SetJobEnabled => "set_job_enabled",
            UserOperation::RequestFullRefresh => "request_full_refresh",
            UserOperation::SyncNow => "sync_now",
        }
    }

    /// The operation a name calls; unknown names are `InvalidArgument`.
    pub fn parse(name: &str) -> Result<Self, PublicError> {
        Self::ALL
            .into_iter()
            .find(|op| op.name() == name)
            .ok_or_else(|| {
                PublicError::new(
                    ErrorCode::InvalidArgument,
                    "unknown operation of the panels",
                )
            })
    }

    /// Whether the operation changes anything (a backend may want to treat those apart).
    pub fn writes(self) -> bool {
        !matches!(
            self,
            UserOperation::Home | UserOperation::Setup | UserOperation::SetupOptions
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompanyRequest {
    company_id: Option<String>,
    location_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeSetupRequest {
    time_zone: Option<String>,
    policy: Option<ConflictPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobRequest {
    job: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobSwitchRequest {
    job: String,
    enabled: bool,
}

/// What `sync_now` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncNowView {
    pub report: RunView,
    /// Exactly the log lines this run wrote.
    pub log: Vec<LogEntry>,
}

/// The request of an operation: a JSON object with only the fields it names. An empty text is
/// taken as `{}`.
fn request<T: DeserializeOwned>(json: &str) -> Result<T, PublicError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    // serde's message names the field, never a value.
    serde_json::from_str(json).map_err(|e| {
        let reason = e.to_string();
        let reason = reason
            .split(" at line ")
            .next()
            .unwrap_or("malformed request");
        PublicError::new(ErrorCode::InvalidJson, format!("request: {reason}"))
    })
}

fn answer<T: Serialize>(value: &T) -> Result<String, PublicError> {
    serde_json::to_string(value)
        .map_err(|_| PublicError::new(ErrorCode::Internal, "a view did not serialize"))
}

impl App {
    /// One operation of the signed-in user `user_id` (the backend's own knowledge of who is
    /// signed in), with its request as JSON; the view it answers as JSON (snake_case keys, the
    /// same shapes as every other binding).
    pub async fn user_api(
        &self,
        user_id: &str,
        operation: &str,
        request_json: &str,
    ) -> Result<String, PublicError> {
        if user_id.trim().is_empty() {
            return Err(PublicError::new(
                ErrorCode::InvalidArgument,
                "the backend must name the signed-in user",
            ));
        }
        match UserOperation::parse(operation)? {
            UserOperation::Home => {
                request::<Empty>(request_json)?;
                answer(&self.home(user_id).await?)
            }
            UserOperation::Setup => {
                request::<Empty>(request_json)?;
                answer(&self.setup(user_id).await?)
            }
            UserOperation::SetupOptions => {
                request::<Empty>(request_json)?;
                answer(&self.setup_options(user_id).await?)
            }
            UserOperation::SetCompany => {
                let CompanyRequest {
                    company_id,
                    location_id,
                } = request(request_json)?;
                let view = match (company_id, location_id) {
                    (Some(company), Some(location)) => {
                        self.set_company(user_id, &company, &location).await?
                    }
                    (Some(company), None) => self.choose_company(user_id, &company).await?,
                    (None, Some(location)) => self.choose_location(user_id, &location).await?,
                    (None, None) => {
                        return Err(PublicError::new(
                            ErrorCode::InvalidArgument,
                            "set_company needs company_id, location_id or both",
                        ));
                    }
                };
                answer(&view)
            }
            UserOperation::ChangeSetup => {
                let ChangeSetupRequest { time_zone, policy } = request(request_json)?;
                let change = SetupChange { time_zone, policy };
                answer(&self.change_setup(user_id, change).await?)
            }
            UserOperation::SetJobEnabled => {
                let JobSwitchRequest { job, enabled } = request(request_json)?;
                let job = JobKind::parse(&job)?;
                answer(&self.set_job_enabled(user_id, job, enabled).await?)
            }
            UserOperation::RequestFullRefresh => {
                let JobRequest { job } = request(request_json)?;
                let job = JobKind::parse(&job)?;
                answer(&self.request_full_refresh(user_id, job).await?)
            }
            UserOperation::SyncNow => {
                let JobRequest { job } = request(request_json)?;
                let job = JobKind::parse(&job)?;
                let run = self.run_job(user_id, job, false).await;
                answer(&SyncNowView {
                    report: run.result?,
                    log: run.log,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};
    use serde_json::{Value, json};

    use super::super::profile::{self, UserProfile};
    use super::*;
    use crate::host::{Expect, Host, ManualClock, MemoryStore, Store, WriteBatch};
    use crate::model::tz::Zone;

    fn block<T>(future: impl std::future::Future<Output = T>) -> T {
        futures::executor::block_on(future)
    }

    /// An application with two signed-in users, `u1` and `u2`, and no services.
    fn two_users() -> App {
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap(),
        ));
        let store = Arc::new(MemoryStore::new());
        for (user_id, name) in [("u1", "Una One"), ("u2", "Tom Two")] {
            let profile = UserProfile {
                user_id: user_id.into(),
                tenant_id: "t1".into(),
                email: format!("{user_id}@abccompany.net"),
                name: name.into(),
                erp_user_id: format!("e-{user_id}"),
                erp_login: None,
                rights_checked_at: None,
                is_admin: false,
                company_id: Some("c1".into()),
                location_id: Some("l1".into()),
                zone: Zone::parse("Europe/Sofia").unwrap(),
                policy: ConflictPolicy::Newest,
            };
            block(store.commit(profile::put(WriteBatch::new(), &profile, Expect::Absent))).unwrap();
        }
        App::new(Host {
            http: Arc::new(crate::host::testing::RefuseHttp),
            store,
            clock,
        })
    }

    fn call(app: &App, user: &str, operation: &str, request: Value) -> Result<Value, PublicError> {
        let json = block(app.user_api(user, operation, &request.to_string()))?;
        Ok(serde_json::from_str(&json).unwrap())
    }

    #[test]
    fn each_user_reads_and_changes_only_their_own_setup_and_home() {
        let app = two_users();
        let home = call(&app, "u2", "home", json!({})).unwrap();
        assert_eq!(home["name"], "Tom Two");
        let changed = call(
            &app,
            "u2",
            "set_job_enabled",
            json!({"job": "calendar", "enabled": true}),
        )
        .unwrap();
        assert_eq!(changed["jobs"][0]["enabled"], true);
        let zone = call(
            &app,
            "u2",
            "change_setup",
            json!({"time_zone": "Tokyo Standard Time", "policy": "erp_wins"}),
        )
        .unwrap();
        assert_eq!(zone["time_zone_iana"], "Asia/Tokyo");
        assert_eq!(zone["policy"], "erp_wins");

        let first = call(&app, "u1", "setup", json!({})).unwrap();
        assert_eq!(first["jobs"][0]["enabled"], false);
        assert_eq!(first["time_zone_iana"], "Europe/Sofia");
        assert_eq!(first["policy"], "newest");
    }

    #[test]
    fn a_request_naming_a_user_or_an_actor_is_refused_and_changes_nothing() {
        let app = two_users();
        for forged in [
            json!({"job": "calendar", "enabled": true, "user_id": "u1"}),
            json!({"job": "calendar", "enabled": true, "actor": {"kind": "host"}}),
        ] {
            let error = call(&app, "u2", "set_job_enabled", forged).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidJson, "{}", error.reason);
            assert!(error.reason.contains("unknown field"), "{}", error.reason);
        }
        let error = call(&app, "u2", "home", json!({"user_id": "u1"})).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidJson);
        for user in ["u1", "u2"] {
            let setup = call(&app, user, "setup", json!({})).unwrap();
            assert_eq!(setup["jobs"][0]["enabled"], false, "{user}");
        }
    }

    #[test]
    fn unknown_operations_service_and_a_missing_user_are_refused() {
        let app = two_users();
        for operation in ["service", "set_service", "due_jobs", "Home", ""] {
            let error = call(&app, "u1", operation, json!({})).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidArgument, "{operation}");
        }
        let error = call(&app, " ", "home", json!({})).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidArgument);
        let error = call(&app, "nobody", "home", json!({})).unwrap_err();
        assert_ne!(error.code, ErrorCode::Internal);
        // An empty request is `{}`; a request that is not an object is refused.
        assert!(block(app.user_api("u1", "home", "")).is_ok());
        let error = block(app.user_api("u1", "home", "[1]")).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidJson);
    }

    #[test]
    fn operation_names_round_trip_and_reads_are_told_from_writes() {
        for op in UserOperation::ALL {
            assert_eq!(UserOperation::parse(op.name()).unwrap(), op);
        }
        let reads: Vec<_> = UserOperation::ALL
            .into_iter()
            .filter(|op| !op.writes())
            .map(UserOperation::name)
            .collect();
        assert_eq!(reads, ["home", "setup", "setup_options"]);
    }
}
