//! The pull queue of events: what happened during engine calls (log lines and reports of runs)
//! and notifications waiting in the store, for the host to show or deliver.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use mssync_core::app::{JobKind, LogEntry, Notification, RunView};
use serde::Serialize;

use super::answer;
use crate::buffer::MssBuffer;
use crate::engine::MssEngine;
use crate::status::MssError;

/// Events kept for the host; past this the oldest are dropped (a host that never polls must
/// not grow the engine without bound).
const MAX_QUEUED: usize = 1000;

/// One event, as JSON with a `kind` tag.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum Event {
    /// A line a run (or a Setup change during it) wrote to the user's log.
    Log {
        user_id: String,
        /// The line's place in the user's log; it only grows.
        seq: u64,
        at: DateTime<Utc>,
        level: String,
        text: String,
        /// As Home shows it: `[2024-02-16 07:35Z INF] ...`.
        line: String,
    },
    /// A run finished (`report`) or failed (`code`, `message`).
    Run {
        user_id: String,
        job: JobKind,
        report: Option<RunView>,
        code: Option<i32>,
        message: Option<String>,
    },
    /// A notification for the user, e.g. "MS Sync experienced an error".
    Notification(Notification),
}

impl Event {
    pub(crate) fn log(user_id: &str, entry: &LogEntry) -> Self {
        Event::Log {
            user_id: user_id.to_owned(),
            seq: entry.seq,
            at: entry.at,
            level: entry.level.to_owned(),
            text: entry.text.clone(),
            line: entry.line.clone(),
        }
    }
}

#[derive(Default)]
pub(crate) struct EventQueue(Mutex<VecDeque<Event>>);

impl EventQueue {
    pub(crate) fn push(&self, events: impl IntoIterator<Item = Event>) {
        let mut queue = self.0.lock().unwrap_or_else(|p| p.into_inner());
        queue.extend(events);
        while queue.len() > MAX_QUEUED {
            queue.pop_front();
        }
    }

    fn take(&self, max: usize) -> Vec<Event> {
        let mut queue = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = max.min(queue.len());
        queue.drain(..n).collect()
    }
}

/// Takes up to `max` events (oldest first) and writes them as a JSON array; an empty array when
/// there are none. Events: `{"kind": "log", "user_id", "seq", "at", "level", "text", "line"}`,
/// `{"kind": "run", "user_id", "job", "report": {...} | null, "code": null | n, "message"}`,
/// `{"kind": "notification", "at", "user_id", "title", "text"}`. Notifications are taken from
/// the store, so each is delivered once across every engine sharing it.
///
/// # Safety
/// `engine` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_events_poll(
    engine: *const MssEngine,
    max: u32,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        let max = max as usize;
        let mut events = e.events.take(max);
        if events.len() < max {
            let notifications = e.run(e.app.take_notifications(max - events.len()))?;
            events.extend(notifications.into_iter().map(Event::Notification));
        }
        Ok(events)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}
