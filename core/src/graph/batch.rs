//! JSON `$batch`: up to 20 writes in one request, each answered on its own; items Graph throttles
//! are sent again after their `Retry-After`.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use super::client::{GraphClient, Prefer, error_from, parse_json, stamp_activity};
use super::error::GraphError;
use super::event::GraphEvent;
use super::wire::{self, batch as field, header, path};
use crate::host::{Backoff, Method, parse_retry_after};

/// Graph takes at most 20 requests per `$batch`; callers split longer lists.
pub const BATCH_LIMIT: usize = wire::batch::MAX_REQUESTS;

/// One request inside a `$batch`, addressed relative to the mailbox (e.g. `/events/{id}`).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem {
    /// Unique within the batch; the result carries it back.
    pub id: String,
    pub method: Method,
    /// Below the mailbox: `/events`, `/events/{id}`.
    pub path: String,
    pub body: Option<Value>,
    /// Items that must succeed first (Graph answers 424 otherwise).
    pub depends_on: Vec<String>,
}

impl BatchItem {
    /// An idempotent create for an ERP.net activity (see [`GraphClient::create_event`]).
    pub fn create(id: impl Into<String>, activity_id: &str, mut body: Value) -> Self {
        stamp_activity(&mut body, activity_id);
        Self::new(id, Method::Post, format!("/{}", path::EVENTS), Some(body))
    }

    pub fn update(id: impl Into<String>, event_id: &str, patch: Value) -> Self {
        Self::new(id, Method::Patch, event_path(event_id), Some(patch))
    }

    pub fn delete(id: impl Into<String>, event_id: &str) -> Self {
        Self::new(id, Method::Delete, event_path(event_id), None)
    }

    pub fn get(id: impl Into<String>, event_id: &str) -> Self {
        Self::new(id, Method::Get, event_path(event_id), None)
    }

    fn new(id: impl Into<String>, method: Method, path: String, body: Option<Value>) -> Self {
        Self {
            id: id.into(),
            method,
            path,
            body,
            depends_on: Vec::new(),
        }
    }

    pub fn after(mut self, id: impl Into<String>) -> Self {
        self.depends_on.push(id.into());
        self
    }
}

fn event_path(event_id: &str) -> String {
    format!(
        "/{}/{}",
        path::EVENTS,
        super::client::encode_segment(event_id)
    )
}

/// How one item of a batch ended.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItemResult {
    pub id: String,
    /// The item's own HTTP status (424 when an item it depended on failed).
    pub status: u16,
    /// The event written or read; `Ok(None)` for a delete.
    pub result: Result<Option<GraphEvent>, GraphError>,
}

#[derive(serde::Deserialize)]
pub(crate) struct BatchResponse {
    pub(crate) responses: Vec<SubResponse>,
}

#[derive(serde::Deserialize)]
pub(crate) struct SubResponse {
    id: String,
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
}

impl SubResponse {
    /// The item's own `Retry-After` (seconds, decimal seconds or an HTTP date).
    pub(crate) fn retry_after(&self, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(header::RETRY_AFTER))
            .and_then(|(_, v)| parse_retry_after(v, now))
    }
}

impl GraphClient {
    /// Sends up to [`BATCH_LIMIT`] items as one `$batch` and returns one result per item, in the
    /// order given. Items answered 429/503/504 are sent again (alone) after their wait; a wait
    /// longer than the policy sleeps through leaves them `Throttled`.
    pub async fn batch(&self, items: Vec<BatchItem>) -> Result<Vec<BatchItemResult>, GraphError> {
        if items.len() > BATCH_LIMIT {
            return Err(GraphError::InvalidRequest(format!(
                "a $batch takes at most {BATCH_LIMIT} requests"
            )));
        }
        let mut ids = HashSet::new();
        if let Some(dup) = items.iter().find(|i| !ids.insert(i.id.as_str())) {
            return Err(GraphError::InvalidRequest(format!(
                "batch item id {:?} is not unique",
                dup.id
            )));
        }
        let policy = &self.config().retry;
        let mut backoff = Backoff::new(policy.base_delay, policy.max_delay, items.len() as u64);
        let mut done: BTreeMap<String, BatchItemResult> = BTreeMap::new();
        let mut pending = items.clone();
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let responses = self.send_batch(&pending).await?;
            let mut retry: Vec<String> = Vec::new();
            let mut wait = Duration::ZERO;
            let mut throttled = BTreeMap::new();
            for response in responses {
                if !pending.iter().any(|i| i.id == response.id) {
                    continue; // an id we did not send: ignore rather than trust
                }
                if wire::error::RETRYABLE.contains(&response.status) {
                    let step = response
                        .retry_after(self.clock().now())
                        .unwrap_or_else(|| backoff.delay(attempt - 1));
                    wait = wait.max(step);
                    retry.push(response.id.clone());
                    throttled.insert(response.id.clone(), response.status);
                    continue;
                }
                done.insert(response.id.clone(), item_result(response));
            }
            // An item refused only because something it depends on was throttled goes again too.
            for item in &pending {
                let blocked = done
                    .get(&item.id)
                    .is_some_and(|r| r.status == field::FAILED_DEPENDENCY)
                    && item.depends_on.iter().any(|d| retry.contains(d));
                if blocked {
                    done.remove(&item.id);
                    retry.push(item.id.clone());
                }
            }
            for item in &pending {
                if !done.contains_key(&item.id) && !retry.contains(&item.id) {
                    done.insert(
                        item.id.clone(),
                        BatchItemResult {
                            id: item.id.clone(),
                            status: 0,
                            result: Err(GraphError::Malformed(
                                "the $batch answer left out an item".into(),
                            )),
                        },
                    );
                }
            }
            if retry.is_empty() {
                break;
            }
            let now = self.clock().now();
            if attempt >= policy.max_attempts || wait > policy.max_wait {
                let until = crate::host::later_by(now, wait);
                for id in retry {
                    let status = throttled
                        .get(&id)
                        .copied()
                        .unwrap_or(field::FAILED_DEPENDENCY);
                    done.insert(
                        id.clone(),
                        BatchItemResult {
                            id,
                            status,
                            result: Err(GraphError::Throttled { status, until }),
                        },
                    );
                }
                break;
            }
            self.clock().sleep(wait).await;
            pending = pending
                .into_iter()
                .filter(|i| retry.contains(&i.id))
                .map(|mut i| {
                    // Dependencies that already succeeded are not in this batch any more.
                    i.depends_on.retain(|d| retry.contains(d));
                    i
                })
                .collect();
        }
        Ok(items
            .iter()
            .map(|i| done.remove(&i.id).expect("every item has an outcome"))
            .collect())
    }

    async fn send_batch(&self, items: &[BatchItem]) -> Result<Vec<SubResponse>, GraphError> {
        let prefix = self.config().mailbox.batch_prefix();
        let requests: Vec<Value> = items
            .iter()
            .map(|item| {
                let prefer = if item.method == Method::Delete {
                    Prefer::IdsOnly
                } else {
                    Prefer::Events
                };
                let mut headers = serde_json::Map::new();
                headers.insert(
                    header::PREFER.into(),
                    Value::String(self.prefer_values(prefer).join(", ")),
                );
                let mut request = json!({
                    field::ID: item.id,
                    field::METHOD: item.method.as_str(),
                    field::URL: format!("{prefix}{}", item.path),
                });
                if let Some(body) = &item.body {
                    headers.insert(header::CONTENT_TYPE.into(), header::JSON.into());
                    request[field::BODY] = body.clone();
                }
                request[field::HEADERS] = Value::Object(headers);
                if !item.depends_on.is_empty() {
                    request[field::DEPENDS_ON] = json!(item.depends_on);
                }
                request
            })
            .collect();
        let url = {
            let base = self.config().base_url.trim_end_matches('/');
            format!("{base}/{}", path::BATCH)
        };
        let body = json!({ field::REQUESTS: requests });
        let request = self.request(Method::Post, url, Some(&body), Prefer::IdsOnly);
        let response = self
            .execute_holding(request, concurrent_items(items))
            .await?;
        let parsed: BatchResponse = parse_json(&response.body)?;
        Ok(parsed.responses)
    }
}

/// How many of a batch's items Outlook may run at once, so the batch holds that many of the
/// mailbox's slots: one for a chain (each item after the first depends on another one, so they
/// run one by one), otherwise every item up to the mailbox's four (G-thr-ol: an unordered batch
/// sends up to four requests to the mailbox at a time).
fn concurrent_items(items: &[BatchItem]) -> usize {
    let independent = items.iter().filter(|i| i.depends_on.is_empty()).count();
    if independent <= 1 {
        1
    } else {
        items.len().min(super::MAX_IN_FLIGHT_PER_MAILBOX)
    }
}

pub(crate) fn item_result(response: SubResponse) -> BatchItemResult {
    let result = if (200..300).contains(&response.status) {
        match response.body {
            Some(body) if !body.is_null() => serde_json::from_value(body)
                .map(Some)
                .map_err(|e| GraphError::Malformed(format!("unreadable batch item ({e})"))),
            _ => Ok(None),
        }
    } else {
        let body = response
            .body
            .map(|b| serde_json::to_vec(&b).unwrap_or_default())
            .unwrap_or_default();
        Err(error_from(response.status, &body))
    };
    BatchItemResult {
        id: response.id,
        status: response.status,
        result,
    }
}

impl GraphClient {
    /// Reads up to [`BATCH_LIMIT`] resources below the mailbox (`/mailFolders/inbox`, ...) in one
    /// `$batch`: each answer's status and body, in the order given. An item Graph throttled or
    /// could not serve fails the whole read, for the caller's run to be retried.
    pub(super) async fn read_batch(
        &self,
        paths: &[String],
        prefer: Prefer,
    ) -> Result<Vec<(u16, Option<Value>)>, GraphError> {
        if paths.len() > BATCH_LIMIT {
            return Err(GraphError::InvalidRequest(format!(
                "a $batch takes at most {BATCH_LIMIT} requests"
            )));
        }
        let prefix = self.config().mailbox.batch_prefix();
        let prefer = self.prefer_values(prefer).join(", ");
        let requests: Vec<Value> = paths
            .iter()
            .enumerate()
            .map(|(n, path)| {
                json!({
                    field::ID: (n + 1).to_string(),
                    field::METHOD: Method::Get.as_str(),
                    field::URL: format!("{prefix}{path}"),
                    field::HEADERS: { header::PREFER: prefer },
                })
            })
            .collect();
        let url = format!(
            "{}/{}",
            self.config().base_url.trim_end_matches('/'),
            path::BATCH
        );
        let body = json!({ field::REQUESTS: requests });
        let request = self.request(Method::Post, url, Some(&body), Prefer::IdsOnly);
        let permits = paths.len().clamp(1, super::MAX_IN_FLIGHT_PER_MAILBOX);
        let response = self.execute_holding(request, permits).await?;
        let parsed: BatchResponse = parse_json(&response.body)?;
        let mut answers: Vec<Option<(u16, Option<Value>)>> = vec![None; paths.len()];
        for r in parsed.responses {
            if wire::error::RETRYABLE.contains(&r.status) {
                let wait = r.retry_after(self.clock().now()).unwrap_or_default();
                return Err(GraphError::Throttled {
                    status: r.status,
                    until: crate::host::later_by(self.clock().now(), wait),
                });
            }
            // Ids we did not send are ignored rather than trusted.
            let slot = r.id.parse::<usize>().ok().and_then(|n| answers.get_mut(n.wrapping_sub(1)));
            if let Some(slot) = slot {
                *slot = Some((r.status, r.body));
            }
        }
        answers
            .into_iter()
            .map(|a| a.ok_or_else(|| GraphError::Malformed("the $batch answer left out an item".into())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<BatchItem> {
        (0..n)
            .map(|i| BatchItem::delete(i.to_string(), "e"))
            .collect()
    }

    #[test]
    fn an_unordered_batch_holds_as_many_slots_as_it_may_run_at_once() {
        assert_eq!(concurrent_items(&items(1)), 1);
        assert_eq!(concurrent_items(&items(2)), 2);
        assert_eq!(concurrent_items(&items(20)), 4);
        let chain: Vec<BatchItem> = items(5)
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                if i == 0 {
                    item
                } else {
                    item.after((i - 1).to_string())
                }
            })
            .collect();
        assert_eq!(
            concurrent_items(&chain),
            1,
            "a dependsOn chain runs one by one"
        );
        let mut two_chains = items(4);
        two_chains[1] = two_chains[1].clone().after("0");
        two_chains[3] = two_chains[3].clone().after("2");
        assert_eq!(concurrent_items(&two_chains), 4);
    }
}
