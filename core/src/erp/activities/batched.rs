//! Writes and reads of many activities through `$batch` (D data-manipulation/batch.md).
//!
//! Every write is a changeset of its own, so one refused write fails alone (a changeset is
//! atomic: a bad item would roll back its neighbours). What a write did is read in the same
//! batch, by a read placed right after its changeset: no read-back costs a request of its own,
//! and a refused update is classified by that read too. A create is a findOrCreate by
//! `ExternalId`/`ExternalSystem`, and a link write sets the same value again: both may be sent
//! again after a lost answer. An update carries `ObjectVersion`, so a batch holding one is not.

use serde_json::{Value, json};

use super::write::{classify_by, participant_changes};
use super::*;
use crate::erp::batch::{self, Answer, Entry, Request};
use crate::erp::client::{ErpClient, Repeatable};
use crate::erp::error::ErpError;
use crate::erp::filter::{EntityRef, Filter, Guid};
use crate::erp::wire::{self, activity as a, participant};
use crate::host::{HttpResponse, Method};

/// One write of [`ErpClient::write_activities`].
#[derive(Debug, Clone, PartialEq)]
pub enum ActivityWrite {
    /// Find-or-create by the link; answered with the activity as it now is.
    Create(NewActivity),
    /// `patch` against `current` as last read (under its `ObjectVersion`); answered with the
    /// activity as it now is.
    Update {
        current: Box<Activity>,
        patch: ActivityPatch,
    },
    /// Set the activity's `ExternalId`/`ExternalSystem`; answered with `None`.
    Link { id: Guid, link: ExternalLink },
}

impl ErpClient {
    /// A read of one activity as a batch part, in the connector's usual shape.
    fn read_part(&self, id: &Guid) -> Entry {
        let query = read::activity_query(Filter::new());
        let params = [
            (wire::SELECT, query.select.join(",")),
            (wire::EXPAND, query.expand.join(",")),
        ];
        Entry::Read(Request {
            method: Method::Get,
            path: self.relative(&format!("{ACTIVITIES}({id})"), &params),
            body: None,
        })
    }

    /// The read of the activity a link names, as a batch part.
    fn find_part(&self, link: &ExternalLink) -> Entry {
        let query = read::activity_query(
            Filter::new()
                .eq(a::EXTERNAL_ID, link.external_id.as_str())
                .eq(a::EXTERNAL_SYSTEM, link.external_system.as_str()),
        );
        let params = [
            (wire::FILTER, query.filter.render()),
            (wire::SELECT, query.select.join(",")),
            (wire::EXPAND, query.expand.join(",")),
        ];
        Entry::Read(Request {
            method: Method::Get,
            path: self.relative(ACTIVITIES, &params),
            body: None,
        })
    }

    fn write_parts(&self, write: &ActivityWrite) -> Vec<Entry> {
        let write_request = |method, path: String, body| Request {
            method,
            path,
            body,
        };
        match write {
            ActivityWrite::Create(new) => vec![
                Entry::Changeset(vec![write_request(
                    Method::Post,
                    self.relative(ACTIVITIES, &[]),
                    Some(self.create_body(new)),
                )]),
                self.find_part(&new.link),
            ],
            ActivityWrite::Update { current, patch } => {
                let mut requests = Vec::new();
                let mut body = patch.scalar_body(&self.config.time_basis);
                if !body.is_empty() {
                    // As `update_activity`: the version read goes with the data (D
                    // optimistic-locking.md; as a body property is an assumption).
                    body.insert(a::OBJECT_VERSION.into(), json!(current.object_version));
                    requests.push(write_request(
                        Method::Patch,
                        self.relative(&format!("{ACTIVITIES}({})", current.id), &[]),
                        Some(Value::Object(body)),
                    ));
                }
                if let Some(wanted) = &patch.participants {
                    let (remove, add) = participant_changes(current, wanted);
                    for id in remove {
                        requests.push(write_request(
                            Method::Delete,
                            self.relative(&format!("{PARTICIPANTS}({id})"), &[]),
                            None,
                        ));
                    }
                    for email in add {
                        let activity = EntityRef::new(ACTIVITIES, current.id.clone()).odata_id();
                        requests.push(write_request(
                            Method::Post,
                            self.relative(PARTICIPANTS, &[]),
                            Some(json!({
                                participant::ACTIVITY: {wire::ODATA_ID: activity},
                                participant::EMAIL: email,
                            })),
                        ));
                    }
                }
                let mut parts = Vec::new();
                if !requests.is_empty() {
                    parts.push(Entry::Changeset(requests));
                }
                parts.push(self.read_part(&current.id));
                parts
            }
            ActivityWrite::Link { id, link } => vec![Entry::Changeset(vec![write_request(
                Method::Patch,
                self.relative(&format!("{ACTIVITIES}({id})"), &[]),
                Some(json!({
                    a::EXTERNAL_ID: link.external_id,
                    a::EXTERNAL_SYSTEM: link.external_system,
                })),
            )])],
        }
    }

    fn activity_of(&self, answer: &HttpResponse) -> Result<Activity, ErpError> {
        if !answer.is_success() {
            return Err(ErpError::from_response(answer));
        }
        let value: Value = serde_json::from_slice(&answer.body)
            .map_err(|_| ErpError::Malformed("an activity".into()))?;
        // A read by key answers the object; a filtered read, a page of them.
        let object = match value.get(wire::VALUE) {
            Some(Value::Array(found)) => found
                .first()
                .ok_or_else(|| ErpError::Malformed("create answered without the activity".into()))?,
            _ => &value,
        };
        read::read_activity(object, &self.config.time_basis)
    }

    /// What one write did, from the answers to its parts.
    async fn outcome_of(
        &self,
        write: &ActivityWrite,
        answers: &[Answer],
    ) -> Result<Option<Activity>, ErpError> {
        let bad = || ErpError::Malformed("a $batch answer out of order".into());
        match (write, answers) {
            (ActivityWrite::Create(_), [Answer::Changeset(written), Answer::Read(read)]) => {
                match written {
                    Ok(_) => self.activity_of(read).map(Some),
                    Err(refused) => Err(ErpError::from_response(refused)),
                }
            }
            (ActivityWrite::Update { current, .. }, [Answer::Changeset(written), Answer::Read(read)]) => {
                match written {
                    Ok(_) => self.activity_of(read).map(Some),
                    Err(refused) => {
                        let reported = ErpError::from_response(refused);
                        if matches!(reported, ErpError::VersionMismatch { .. }) {
                            return Err(reported);
                        }
                        let now = self.activity_of(read).ok();
                        // A participant already gone means the activity changed under us.
                        let reported = match reported {
                            ErpError::NotFound if now.is_some() => ErpError::StaleVersion,
                            other => other,
                        };
                        Err(classify_by(reported, now.as_ref(), Some(current.object_version)))
                    }
                }
            }
            // Nothing to write: the read is the answer.
            (ActivityWrite::Update { .. }, [Answer::Read(read)]) => self.activity_of(read).map(Some),
            (ActivityWrite::Link { id, .. }, [Answer::Changeset(written)]) => match written {
                Ok(_) => Ok(None),
                Err(refused) => Err(self.classify_failure_of(id, None, refused).await),
            },
            _ => Err(bad()),
        }
    }

    /// Sends `writes` in as few `$batch` requests as [`wire::BATCH_MAX_PARTS`] allows and
    /// returns one result per write, in order. A batch that fails as a whole (throttled, a
    /// broken connection, a lost answer) fails each of its writes with that error; each write
    /// is safe to retry in a later run.
    pub async fn write_activities(
        &self,
        writes: Vec<ActivityWrite>,
    ) -> Vec<Result<Option<Activity>, ErpError>> {
        let mut results: Vec<Option<Result<Option<Activity>, ErpError>>> =
            (0..writes.len()).map(|_| None).collect();
        let mut planned = Vec::new();
        for (index, write) in writes.iter().enumerate() {
            if let ActivityWrite::Update { current, .. } = write
                && current.state.is_read_only()
            {
                results[index] = Some(Err(ErpError::ReadOnlyActivity {
                    state: current.state.name().into(),
                }));
                continue;
            }
            planned.push((index, self.write_parts(write)));
        }
        for chunk in batch::chunks(planned) {
            let repeatable = if chunk
                .iter()
                .any(|(i, _)| matches!(writes[*i], ActivityWrite::Update { .. }))
            {
                Repeatable::No
            } else {
                Repeatable::Yes
            };
            let entries: Vec<Entry> = chunk.iter().flat_map(|(_, e)| e.iter().cloned()).collect();
            match self.batch(&entries, repeatable).await {
                Ok(answers) => {
                    let mut at = 0;
                    for (index, parts) in &chunk {
                        let mine = &answers[at..at + parts.len()];
                        at += parts.len();
                        results[*index] = Some(self.outcome_of(&writes[*index], mine).await);
                    }
                }
                Err(e) => {
                    for (index, _) in &chunk {
                        results[*index] = Some(Err(e.clone()));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every write has a result"))
            .collect()
    }

    /// The activities with these ids, read in `$batch` requests; one result per id, in order.
    pub async fn get_activities(&self, ids: &[Guid]) -> Vec<Result<Activity, ErpError>> {
        let planned: Vec<(usize, Vec<Entry>)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (i, vec![self.read_part(id)]))
            .collect();
        let mut results: Vec<Option<Result<Activity, ErpError>>> =
            (0..ids.len()).map(|_| None).collect();
        for chunk in batch::chunks(planned) {
            let entries: Vec<Entry> = chunk.iter().flat_map(|(_, e)| e.iter().cloned()).collect();
            match self.batch(&entries, Repeatable::Yes).await {
                Ok(answers) => {
                    for ((index, _), answer) in chunk.iter().zip(&answers) {
                        results[*index] = Some(match answer {
                            Answer::Read(read) => self.activity_of(read),
                            Answer::Changeset(_) => {
                                Err(ErpError::Malformed("a $batch answer out of order".into()))
                            }
                        });
                    }
                }
                Err(e) => {
                    for (index, _) in &chunk {
                        results[*index] = Some(Err(e.clone()));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every id has a result"))
            .collect()
    }
}
