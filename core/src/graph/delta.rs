//! `calendarView/delta` over a window: pages followed to the delta link, replays folded, expiry
//! reported as "resync required".

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::client::{GraphClient, Prefer, parse_json};
use super::error::GraphError;
use super::event::GraphEvent;
use super::wire::{path, query};
use crate::host::Method;

/// A time range `[start, end)`; delta tokens belong to one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub(super) fn query_values(&self) -> (String, String) {
        let f = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        (f(&self.start), f(&self.end))
    }
}

/// What changed since the delta link given (or everything in the window, for none).
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaChanges {
    /// New or changed singles, occurrences and exceptions, one per id (the last seen wins).
    /// Occurrences may be sparse ([`GraphEvent::is_sparse`]).
    pub changed: Vec<GraphEvent>,
    /// Ids reported `@removed`: deleted, or moved out of the window (check before deleting).
    pub removed: Vec<String>,
    /// Store this and pass it to the next call.
    pub delta_link: String,
    /// Pages read, empty ones included.
    pub pages: u32,
}

#[derive(serde::Deserialize)]
pub(crate) struct DeltaPage {
    #[serde(default)]
    value: Vec<Value>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

/// A guard against a server that links pages in a circle.
const MAX_PAGES: u32 = 10_000;

impl GraphClient {
    /// Reads `calendarView/delta` for `window`, from `delta_link` if one was stored, to the next
    /// delta link. An expired token or page link gives [`GraphError::ResyncRequired`]: forget the
    /// link and call again with `None`.
    pub async fn delta(
        &self,
        window: &Window,
        delta_link: Option<&str>,
    ) -> Result<DeltaChanges, GraphError> {
        let url = match delta_link {
            Some(link) => {
                self.check_link(link)?;
                link.to_owned()
            }
            None => {
                let (start, end) = window.query_values();
                self.url(
                    &[path::CALENDAR_VIEW, path::DELTA],
                    &[
                        (query::START_DATE_TIME, &start),
                        (query::END_DATE_TIME, &end),
                    ],
                )
            }
        };
        let round = self.delta_round(url, Prefer::Delta).await?;
        let mut fold = Fold::default();
        for entry in round.entries {
            fold.push(
                serde_json::from_value(entry)
                    .map_err(|e| GraphError::Malformed(format!("unreadable delta entry ({e})")))?,
            );
        }
        let (changed, removed) = fold.finish();
        Ok(DeltaChanges {
            changed,
            removed,
            delta_link: round.delta_link,
            pages: round.pages,
        })
    }

    /// Reads one delta round from `url` (a first request or a stored delta link) to its delta
    /// link: every page's entries in order, each link checked before it is followed.
    pub(super) async fn delta_round(
        &self,
        mut url: String,
        prefer: Prefer,
    ) -> Result<DeltaRound, GraphError> {
        let mut entries = Vec::new();
        let mut followed = std::collections::HashSet::new();
        for pages in 1..=MAX_PAGES {
            let response = self
                .execute(self.request(Method::Get, url, None, prefer))
                .await?;
            let page: DeltaPage = parse_json(&response.body)?;
            entries.extend(page.value);
            match (page.next_link, page.delta_link) {
                (Some(next), _) => {
                    self.check_link(&next)?;
                    if !followed.insert(next.clone()) {
                        return Err(GraphError::UntrustedLink("a page linking back to itself"));
                    }
                    url = next;
                }
                (None, Some(delta_link)) => {
                    self.check_link(&delta_link)?;
                    return Ok(DeltaRound {
                        entries,
                        delta_link,
                        pages,
                    });
                }
                (None, None) => {
                    return Err(GraphError::Malformed(
                        "a delta page with neither next nor delta link".into(),
                    ));
                }
            }
        }
        Err(GraphError::UntrustedLink(
            "more delta pages than MsSync reads",
        ))
    }
}

/// One delta round as it came: entries of every page, in order, and the link for the next.
pub(super) struct DeltaRound {
    pub entries: Vec<Value>,
    pub delta_link: String,
    pub pages: u32,
}

/// Delta entries by id, the last one winning, in the order ids were first seen.
#[derive(Default)]
struct Fold {
    order: Vec<String>,
    latest: HashMap<String, GraphEvent>,
}

impl Fold {
    fn push(&mut self, event: GraphEvent) {
        if !self.latest.contains_key(&event.id) {
            self.order.push(event.id.clone());
        }
        self.latest.insert(event.id.clone(), event);
    }

    fn finish(mut self) -> (Vec<GraphEvent>, Vec<String>) {
        let mut changed = Vec::new();
        let mut removed = Vec::new();
        for id in self.order {
            let event = self.latest.remove(&id).expect("every id in order is kept");
            if event.removed.is_some() {
                removed.push(id);
            } else {
                changed.push(event);
            }
        }
        (changed, removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: &str) -> GraphEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn replays_fold_to_the_last_entry_per_id() {
        let mut fold = Fold::default();
        fold.push(entry(r#"{"id":"a","subject":"one"}"#));
        fold.push(entry(r#"{"id":"b","subject":"two"}"#));
        fold.push(entry(r#"{"id":"a","subject":"one, edited"}"#));
        fold.push(entry(r#"{"id":"b","@removed":{"reason":"deleted"}}"#));
        fold.push(entry(r#"{"id":"c","@removed":{"reason":"deleted"}}"#));
        fold.push(entry(r#"{"id":"c","subject":"back"}"#));
        let (changed, removed) = fold.finish();
        let subjects: Vec<_> = changed
            .iter()
            .map(|e| (e.id.as_str(), e.subject.as_deref().unwrap()))
            .collect();
        assert_eq!(subjects, [("a", "one, edited"), ("c", "back")]);
        assert_eq!(removed, ["b"]);
    }
}
