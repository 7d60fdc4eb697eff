//! The per-user log Home shows: `[2024-02-16 07:35Z INF] Pulled 2 activities for 154ms.`
//!
//! Lines are written by MsSync itself (counts, states, ids it created), never copied from remote
//! payloads, so they carry no tokens, secrets, bodies or subjects. The log is bounded per user:
//! appending past [`MAX_LINES`] drops the oldest lines in the same commit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::host::{Expect, Store, StoreError, WriteBatch};

/// Lines kept per user.
pub const MAX_LINES: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogLevel {
    #[serde(rename = "INF")]
    Info,
    #[serde(rename = "WRN")]
    Warning,
    #[serde(rename = "ERR")]
    Error,
}

impl LogLevel {
    pub fn tag(self) -> &'static str {
        match self {
            LogLevel::Info => "INF",
            LogLevel::Warning => "WRN",
            LogLevel::Error => "ERR",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: DateTime<Utc>,
    pub level: LogLevel,
    pub text: String,
}

impl LogLine {
    pub fn new(at: DateTime<Utc>, level: LogLevel, text: impl Into<String>) -> Self {
        Self {
            at,
            level,
            text: text.into(),
        }
    }
}

impl std::fmt::Display for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{} {}] {}",
            self.at.format("%Y-%m-%d %H:%MZ"),
            self.level.tag(),
            self.text
        )
    }
}

fn prefix(user: &str) -> String {
    format!("log/{user}/")
}

/// A line with its place in the user's log: sequence numbers only grow, so a caller knows
/// exactly which lines are its own, whatever else is written beside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub line: LogLine,
}

/// Adds `lines` to the user's log in `batch`, and drops the oldest lines beyond [`MAX_LINES`].
/// Returns the entries as they will be once `batch` is committed.
pub async fn append(
    store: &dyn Store,
    batch: &mut WriteBatch,
    user: &str,
    lines: &[LogLine],
) -> Result<Vec<Entry>, StoreError> {
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let existing = store.scan(&prefix(user)).await?;
    // Keys are a sequence, not times: host clocks may step back, the log order must not.
    let next = existing
        .last()
        .and_then(|(k, _)| k[prefix(user).len()..].parse::<u64>().ok())
        .map_or(0, |last| last + 1);
    for (i, line) in lines.iter().enumerate() {
        let key = format!("{}{:020}", prefix(user), next + i as u64);
        let value = serde_json::to_vec(line).expect("a log line serializes");
        // Expect absent: two writers appending at once make one of the commits retry.
        *batch = std::mem::take(batch).put(key, value, Expect::Absent);
    }
    let total = existing.len() + lines.len();
    if total > MAX_LINES {
        for (key, old) in existing.iter().take(total - MAX_LINES) {
            *batch = std::mem::take(batch).delete(key, Expect::Version(old.version));
        }
    }
    Ok(lines
        .iter()
        .enumerate()
        .map(|(i, line)| Entry {
            seq: next + i as u64,
            line: line.clone(),
        })
        .collect())
}

/// The newest `limit` lines, oldest first. Unreadable entries are skipped.
pub async fn latest(
    store: &dyn Store,
    user: &str,
    limit: usize,
) -> Result<Vec<LogLine>, StoreError> {
    let all = store.scan(&prefix(user)).await?;
    let skip = all.len().saturating_sub(limit);
    Ok(all
        .into_iter()
        .skip(skip)
        .filter_map(|(_, v)| serde_json::from_slice(&v.value).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::host::MemoryStore;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 2, 16, 7, minute, 12).unwrap()
    }

    #[test]
    fn lines_read_like_the_original_home_page() {
        let line = LogLine::new(at(35), LogLevel::Info, "Pulled 2 activities for 154ms.");
        assert_eq!(
            line.to_string(),
            "[2024-02-16 07:35Z INF] Pulled 2 activities for 154ms."
        );
        let line = LogLine::new(at(36), LogLevel::Error, "x");
        assert_eq!(line.to_string(), "[2024-02-16 07:36Z ERR] x");
    }

    #[test]
    fn log_is_ordered_bounded_and_per_user() {
        futures::executor::block_on(async {
            let store = MemoryStore::new();
            for round in 0..(MAX_LINES as u32 / 2 + 10) {
                let mut batch = WriteBatch::new();
                let lines = [
                    LogLine::new(at(round % 60), LogLevel::Info, format!("{round} a")),
                    LogLine::new(at(round % 60), LogLevel::Warning, format!("{round} b")),
                ];
                append(&store, &mut batch, "u1", &lines).await.unwrap();
                store.commit(batch).await.unwrap();
            }
            let mut batch = WriteBatch::new();
            append(
                &store,
                &mut batch,
                "u2",
                &[LogLine::new(at(0), LogLevel::Info, "other")],
            )
            .await
            .unwrap();
            store.commit(batch).await.unwrap();

            let lines = latest(&store, "u1", 1000).await.unwrap();
            assert_eq!(lines.len(), MAX_LINES);
            let last_round = MAX_LINES / 2 + 9;
            assert_eq!(lines.last().unwrap().text, format!("{last_round} b"));
            assert_eq!(lines[lines.len() - 2].text, format!("{last_round} a"));
            let first_kept = last_round + 1 - MAX_LINES / 2;
            assert_eq!(lines[0].text, format!("{first_kept} a"));
            assert_eq!(latest(&store, "u2", 10).await.unwrap().len(), 1);
            assert_eq!(latest(&store, "u1", 3).await.unwrap().len(), 3);
        });
    }
}
