//! Writing activities: find-or-create, partial updates under `ObjectVersion`, the external link,
//! participants one by one, `MakeVoid` and `ChangeState`, and the classification of a refused write.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::*;
use crate::erp::client::{ErpClient, Repeatable, TimeBasis};
use crate::erp::error::ErpError;
use crate::erp::filter::{EntityRef, Guid};
use crate::erp::wire::{self, activity as a, participant};
use crate::host::Method;

impl ActivityPatch {
    pub(super) fn scalar_body(&self, basis: &TimeBasis) -> Map<String, Value> {
        let mut body = Map::new();
        if let Some(v) = &self.subject {
            body.insert(a::SUBJECT.into(), json!(v));
        }
        if let Some(v) = self.start_time {
            body.insert(a::START_TIME.into(), json!(basis.write(v)));
        }
        if let Some(v) = self.end_time {
            body.insert(a::END_TIME.into(), json!(basis.write(v)));
        }
        if let Some(v) = &self.notes {
            body.insert(a::NOTES.into(), json!(v));
        }
        if let Some(v) = self.priority {
            body.insert(a::PRIORITY.into(), json!(v));
        }
        if let Some(v) = self.private {
            body.insert(a::PRIVATE.into(), json!(v));
        }
        if let Some(v) = self.reminder_time {
            body.insert(
                a::REMINDER_TIME.into(),
                v.map(|t| json!(basis.write(t))).unwrap_or(Value::Null),
            );
        }
        body
    }
}

impl ErpClient {
    /// Creates the activity, or finds the one a previous attempt created (by `ExternalId` and
    /// `ExternalSystem`), so a retried create never duplicates.
    pub async fn create_activity(&self, new: &NewActivity) -> Result<Activity, ErpError> {
        let body = self.create_body(new);
        let url = self.url(ACTIVITIES, &[]);
        let response = self
            .send_ok(Method::Post, url, Some(&body), &[], Repeatable::Yes)
            .await?;
        // What a POST answers is not documented (assumption: the created object, with `Id`);
        // without it the activity is found by its link.
        let id = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| v.get(a::ID).and_then(Value::as_str).and_then(Guid::parse));
        match id {
            // Read back with participants and reminders in the connector's usual shape.
            Some(id) => self.get_activity(&id).await,
            None => self
                .find_by_external_id(&new.link)
                .await?
                .ok_or_else(|| ErpError::Malformed("create answered without the activity".into())),
        }
    }

    /// The findOrCreate body of a new activity.
    pub(super) fn create_body(&self, new: &NewActivity) -> Value {
        let basis = &self.config.time_basis;
        let d = &new.defaults;
        let reference = |set: &'static str, id: &Guid| json!({wire::ODATA_ID: EntityRef::new(set, id.clone()).odata_id()});
        let mut body = Map::new();
        let mut put = |name: &str, value: Value| {
            body.insert(name.to_owned(), value);
        };
        put(wire::ERPNET_ACTION, json!(wire::FIND_OR_CREATE));
        // D erpnet-action.md: the value is an object; ExternalId (+ ExternalSystem) is tried first.
        put(
            wire::ERPNET_FIND_BY,
            json!({
                a::EXTERNAL_ID: new.link.external_id,
                a::EXTERNAL_SYSTEM: new.link.external_system,
            }),
        );
        put(a::EXTERNAL_ID, json!(new.link.external_id));
        put(a::EXTERNAL_SYSTEM, json!(new.link.external_system));
        put(a::SUBJECT, json!(new.subject));
        put(a::START_TIME, json!(basis.write(new.start_time)));
        put(a::END_TIME, json!(basis.write(new.end_time)));
        put(a::NOTES, json!(new.notes));
        put(a::PRIORITY, json!(new.priority));
        put(a::PRIVATE, json!(new.private));
        put(
            a::REMINDER_TIME,
            json!(new.reminder_time.map(|t| basis.write(t))),
        );
        put(a::SYSTEM_TYPE, json!(SystemType::Meeting));
        put(
            a::DOCUMENT_TYPE,
            reference(DOCUMENT_TYPES, &d.document_type),
        );
        put(
            a::ENTERPRISE_COMPANY,
            reference(ENTERPRISE_COMPANIES, &d.enterprise_company),
        );
        put(
            a::ENTERPRISE_COMPANY_LOCATION,
            reference(COMPANY_LOCATIONS, &d.enterprise_company_location),
        );
        put(
            a::PARTICIPANTS,
            Value::Array(
                new.participants
                    .iter()
                    .map(|e| json!({participant::EMAIL: e}))
                    .collect(),
            ),
        );
        if let Some(user) = &d.assigned_to_user {
            put(a::ASSIGNED_TO_USER, reference(USERS, user));
        }
        if let Some(party) = &d.from_party {
            put(a::FROM_PARTY, reference(wire::PARTIES, party));
        }
        Value::Object(body)
    }

    /// Applies `patch` to `current` (as last read) under its `ObjectVersion`. Released and later
    /// activities are refused without a request; a version conflict is [`ErpError::StaleVersion`].
    pub async fn update_activity(
        &self,
        current: &Activity,
        patch: &ActivityPatch,
    ) -> Result<Activity, ErpError> {
        if current.state.is_read_only() {
            return Err(ErpError::ReadOnlyActivity {
                state: current.state.name().into(),
            });
        }
        let mut body = patch.scalar_body(&self.config.time_basis);
        if !body.is_empty() {
            // D optimistic-locking.md: "providing the data + the previously read Object
            // version"; as a body property is an assumption (docs/wire/erpnet.md).
            body.insert(a::OBJECT_VERSION.into(), json!(current.object_version));
            let url = self.url(&format!("{ACTIVITIES}({})", current.id), &[]);
            let response = self
                .send(
                    Method::Patch,
                    url,
                    Some(&Value::Object(body)),
                    &[],
                    Repeatable::No,
                )
                .await?;
            if !response.is_success() {
                return Err(self.classify_write_failure(current, &response).await);
            }
        }
        if let Some(wanted) = &patch.participants {
            self.set_participants(current, wanted).await?;
        }
        self.get_activity(&current.id).await
    }

    /// Links the activity to an Outlook event: PATCHes `ExternalId` and `ExternalSystem` (no
    /// `ObjectVersion`: the link is ours alone, so no lock is asked for, D
    /// optimistic-locking.md). A Released or Closed activity refuses it:
    /// [`ErpError::ReadOnlyActivity`].
    pub async fn set_external_link(&self, id: &Guid, link: &ExternalLink) -> Result<(), ErpError> {
        let body = json!({
            a::EXTERNAL_ID: link.external_id,
            a::EXTERNAL_SYSTEM: link.external_system,
        });
        let url = self.url(&format!("{ACTIVITIES}({id})"), &[]);
        // Setting the same link twice is harmless, so a lost answer may be repeated.
        let response = self
            .send(Method::Patch, url, Some(&body), &[], Repeatable::Yes)
            .await?;
        if response.is_success() {
            return Ok(());
        }
        Err(self.classify_failure_of(id, None, &response).await)
    }

    /// Why a write was refused: ERP.net's error body does not say in a documented way, so the
    /// activity is read again and its version and state tell.
    async fn classify_write_failure(
        &self,
        current: &Activity,
        response: &crate::host::HttpResponse,
    ) -> ErpError {
        self.classify_failure_of(&current.id, Some(current.object_version), response)
            .await
    }

    pub(super) async fn classify_failure_of(
        &self,
        id: &Guid,
        version: Option<i64>,
        response: &crate::host::HttpResponse,
    ) -> ErpError {
        let reported = ErpError::from_response(response);
        if !matches!(response.status, 409 | 412 | 500)
            || matches!(reported, ErpError::VersionMismatch { .. })
        {
            return reported;
        }
        classify_by(reported, self.get_activity(id).await.ok().as_ref(), version)
    }

    async fn set_participants(
        &self,
        current: &Activity,
        wanted: &[String],
    ) -> Result<(), ErpError> {
        let (remove, add) = participant_changes(current, wanted);
        for id in &remove {
            let url = self.url(&format!("{PARTICIPANTS}({id})"), &[]);
            let response = self
                .send(Method::Delete, url, None, &[], Repeatable::No)
                .await?;
            // Already gone is what we wanted (but not an entity set ERP.net does not know).
            let gone = response.status == 404
                && !matches!(
                    ErpError::from_response(&response),
                    ErpError::VersionMismatch { .. }
                );
            if !response.is_success() && !gone {
                return Err(self.classify_write_failure(current, &response).await);
            }
        }
        for email in &add {
            let body = json!({
                participant::ACTIVITY: {wire::ODATA_ID: EntityRef::new(ACTIVITIES, current.id.clone()).odata_id()},
                participant::EMAIL: email,
            });
            let url = self.url(PARTICIPANTS, &[]);
            let response = self
                .send(Method::Post, url, Some(&body), &[], Repeatable::No)
                .await?;
            if !response.is_success() {
                return Err(self.classify_write_failure(current, &response).await);
            }
        }
        Ok(())
    }

    /// Voids the activity (`MakeVoid`), as deleting its Outlook event asks.
    pub async fn void_activity(&self, id: &Guid, reason: &str) -> Result<(), ErpError> {
        let url = self.url(&format!("{ACTIVITIES}({id})/{}", wire::MAKE_VOID), &[]);
        let body = json!({
            wire::MAKE_VOID_REASON: reason,
            wire::MAKE_VOID_VOID_TYPE: wire::VOID_DOCUMENT,
        });
        self.send_ok(Method::Post, url, Some(&body), &[], Repeatable::Yes)
            .await
            .map(drop)
    }

    /// Moves the activity to another document state (`ChangeState`).
    pub async fn change_state(&self, id: &Guid, state: ActivityState) -> Result<(), ErpError> {
        let url = self.url(&format!("{ACTIVITIES}({id})/{}", wire::CHANGE_STATE), &[]);
        let body = json!({wire::CHANGE_STATE_NEW_STATE: state.name()});
        self.send_ok(Method::Post, url, Some(&body), &[], Repeatable::No)
            .await
            .map(drop)
    }
}

/// Why a write ERP.net refused (`reported`) failed, told by the activity as it is `now`: a later
/// state is [`ErpError::ReadOnlyActivity`], another `ObjectVersion` than `version` (the one the
/// write was made against) is [`ErpError::StaleVersion`].
pub(super) fn classify_by(reported: ErpError, now: Option<&Activity>, version: Option<i64>) -> ErpError {
    match now {
        Some(now) if now.state.is_read_only() => ErpError::ReadOnlyActivity {
            state: now.state.name().into(),
        },
        Some(now) if version.is_some_and(|v| v != now.object_version) => ErpError::StaleVersion,
        _ => reported,
    }
}

/// The participants to remove (by id) and the e-mails to add so `current` has `wanted`.
pub(super) fn participant_changes(current: &Activity, wanted: &[String]) -> (Vec<Guid>, Vec<String>) {
    let wanted: BTreeSet<String> = wanted.iter().map(|e| e.trim().to_lowercase()).collect();
    let have: BTreeSet<String> = current
        .participants
        .iter()
        .map(|p| p.email.trim().to_lowercase())
        .collect();
    let remove = current
        .participants
        .iter()
        .filter(|p| !wanted.contains(&p.email.trim().to_lowercase()))
        .filter_map(|p| p.id.clone())
        .collect();
    (remove, wanted.difference(&have).cloned().collect())
}
