//! The (user, job) lease: lets any number of host nodes run jobs on one store with no double sync.
//!
//! A lease is a store record taken by compare-and-swap and valid until it expires, so a node that
//! died frees its jobs after the time-to-live. Every commit of a run carries the lease with its
//! expected version ([`Lease::fence`]): a node that lost its lease while stalled cannot commit
//! stale mappings or checkpoints over the newer holder's work.
//!
//! A host that knows its process ([`LocalProcess`]) records the machine and process id in the
//! lease, so that a runner on the same machine can take over at once from a holder whose process
//! has exited (killed, crashed) instead of waiting out the time-to-live. Holders on other machines,
//! or that recorded no process, are only ever waited out: this machine cannot see their processes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::host::{Clock, Expect, Store, StoreError, Write, WriteBatch, WriteOp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LeaseRecord {
    holder: String,
    expires_at: DateTime<Utc>,
    /// The holder's machine and process, when its host told them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
}

/// The process a runner lives in, as its host knows it (native hosts only).
#[derive(Clone)]
pub struct LocalProcess {
    /// Names this machine (e.g. its host name); holders are compared by it.
    pub node: String,
    pub pid: u32,
    /// Whether a process with this id runs on this machine now. Answer `true` when unsure:
    /// the lease is then waited out, which is always safe.
    pub is_running: Arc<dyn Fn(u32) -> bool + Send + Sync>,
}

impl std::fmt::Debug for LocalProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalProcess({}, {})", self.node, self.pid)
    }
}

/// The takeover rule: a live lease is free anyway when its holder ran on this machine in a
/// process that no longer exists. A stale holder that somehow still ran could not commit:
/// its fence no longer matches.
fn holder_is_gone(record: &LeaseRecord, me: Option<&LocalProcess>) -> bool {
    process_is_gone(record.node.as_deref(), record.pid, me)
}

/// The same rule for any record that names the machine and process of its holder (a lease, a
/// due job's claim): that process ran on this machine and no longer exists.
pub(crate) fn process_is_gone(
    node: Option<&str>,
    pid: Option<u32>,
    me: Option<&LocalProcess>,
) -> bool {
    match (me, node, pid) {
        (Some(me), Some(node), Some(pid)) => {
            node == me.node && pid != me.pid && !(me.is_running)(pid)
        }
        _ => false,
    }
}

/// A lease this engine holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub key: String,
    pub holder: String,
    pub expires_at: DateTime<Utc>,
    /// The holder this lease was taken from before it expired, its process being gone.
    pub took_over_from: Option<String>,
    process: Option<(String, u32)>,
    version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    #[error("lease held by another runner until {until}")]
    Held { until: DateTime<Utc> },
    /// Someone else took the lease (it had expired) or it vanished.
    #[error("lease lost")]
    Lost,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The store key of the lease for `(user, job)`.
pub fn lease_key(user: &str, job: &str) -> String {
    format!("lease/{user}/{job}")
}

fn record_bytes(holder: &str, process: Option<(&str, u32)>, expires_at: DateTime<Utc>) -> Vec<u8> {
    serde_json::to_vec(&LeaseRecord {
        holder: holder.to_owned(),
        expires_at,
        node: process.map(|(node, _)| node.to_owned()),
        pid: process.map(|(_, pid)| pid),
    })
    .expect("a lease record serializes")
}

async fn current_version(store: &dyn Store, key: &str) -> Result<Option<u64>, StoreError> {
    Ok(store.get(key).await?.map(|v| v.version))
}

/// Takes the lease if it is free, expired, or held by a gone process of this machine
/// (`process`, see [`LocalProcess`]). A holder taking its own live lease again renews it.
pub async fn acquire(
    store: &dyn Store,
    clock: &dyn Clock,
    key: &str,
    holder: &str,
    process: Option<&LocalProcess>,
    ttl: Duration,
) -> Result<Lease, LeaseError> {
    let now = clock.now();
    let mut took_over_from = None;
    let expect = match store.get(key).await? {
        None => Expect::Absent,
        Some(existing) => {
            // An unreadable record is treated as expired: it cannot prove anyone holds it.
            if let Ok(record) = serde_json::from_slice::<LeaseRecord>(&existing.value)
                && record.expires_at > now
                && record.holder != holder
            {
                if !holder_is_gone(&record, process) {
                    return Err(LeaseError::Held {
                        until: record.expires_at,
                    });
                }
                took_over_from = Some(record.holder);
            }
            Expect::Version(existing.version)
        }
    };
    let process = process.map(|p| (p.node.clone(), p.pid));
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or_default();
    let record = record_bytes(
        holder,
        process.as_ref().map(|(n, p)| (n.as_str(), *p)),
        expires_at,
    );
    let batch = WriteBatch::new().put(key, record, expect);
    match store.commit(batch).await {
        Ok(()) => {}
        Err(StoreError::Conflict { .. }) => {
            // Another runner won the race between our read and our write.
            let until = match store.get(key).await? {
                Some(v) => serde_json::from_slice::<LeaseRecord>(&v.value)
                    .map(|r| r.expires_at)
                    .unwrap_or(expires_at),
                None => expires_at,
            };
            return Err(LeaseError::Held { until });
        }
        Err(e) => return Err(e.into()),
    }
    let version = current_version(store, key).await?.ok_or(LeaseError::Lost)?;
    Ok(Lease {
        key: key.to_owned(),
        holder: holder.to_owned(),
        expires_at,
        took_over_from,
        process,
        version,
    })
}

impl Lease {
    /// A write that renews this lease until `expires_at` and fails the whole batch it is part of
    /// if the lease is no longer ours. Put it in every commit of the run; after that commit
    /// succeeds, call [`Lease::refresh_version`].
    pub fn fence(&self, expires_at: DateTime<Utc>) -> Write {
        Write {
            key: self.key.clone(),
            op: WriteOp::Put(record_bytes(
                &self.holder,
                self.process.as_ref().map(|(n, p)| (n.as_str(), *p)),
                expires_at,
            )),
            expect: Expect::Version(self.version),
        }
    }

    /// Re-reads the version after a fenced commit; fails if the record is not ours.
    pub async fn refresh_version(
        &mut self,
        store: &dyn Store,
        expires_at: DateTime<Utc>,
    ) -> Result<(), LeaseError> {
        let current = store.get(&self.key).await?.ok_or(LeaseError::Lost)?;
        let record: LeaseRecord =
            serde_json::from_slice(&current.value).map_err(|_| LeaseError::Lost)?;
        if record.holder != self.holder {
            return Err(LeaseError::Lost);
        }
        self.version = current.version;
        self.expires_at = expires_at;
        Ok(())
    }

    /// Extends the lease on its own.
    pub async fn renew(
        &mut self,
        store: &dyn Store,
        clock: &dyn Clock,
        ttl: Duration,
    ) -> Result<(), LeaseError> {
        let expires_at = clock.now() + chrono::Duration::from_std(ttl).unwrap_or_default();
        let mut batch = WriteBatch::new();
        batch.push(self.fence(expires_at));
        match store.commit(batch).await {
            Ok(()) => self.refresh_version(store, expires_at).await,
            Err(StoreError::Conflict { .. }) => Err(LeaseError::Lost),
            Err(e) => Err(e.into()),
        }
    }

    /// Commits `batch` with `lines` of `user`'s log under this lease's fence, renewing it until
    /// `until`: a lost lease refuses the whole batch. The only way a job's run writes to the
    /// store. Returns the log entries committed.
    pub async fn commit(
        &mut self,
        store: &dyn Store,
        mut batch: WriteBatch,
        user: &str,
        lines: &[super::journal::LogLine],
        until: DateTime<Utc>,
    ) -> Result<Vec<super::journal::Entry>, LeaseError> {
        let entries = super::journal::append(store, &mut batch, user, lines).await?;
        batch.push(self.fence(until));
        match store.commit(batch).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => return Err(LeaseError::Lost),
            Err(e) => return Err(e.into()),
        }
        self.refresh_version(store, until).await?;
        Ok(entries)
    }

    /// Gives the lease up. Releasing a lease someone else took over leaves theirs alone.
    pub async fn release(self, store: &dyn Store) -> Result<(), LeaseError> {
        match store
            .commit(WriteBatch::new().delete(&self.key, Expect::Version(self.version)))
            .await
        {
            Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::host::{ManualClock, MemoryStore};

    const TTL: Duration = Duration::from_secs(600);

    fn setup() -> (MemoryStore, ManualClock) {
        (
            MemoryStore::new(),
            ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
        )
    }

    #[test]
    fn second_runner_is_refused_until_release_or_expiry() {
        futures::executor::block_on(async {
            let (store, clock) = setup();
            let key = lease_key("u1", "calendar");
            let a = acquire(&store, &clock, &key, "node-a", None, TTL)
                .await
                .unwrap();
            let refused = acquire(&store, &clock, &key, "node-b", None, TTL).await;
            assert_eq!(
                refused,
                Err(LeaseError::Held {
                    until: a.expires_at
                })
            );
            a.release(&store).await.unwrap();
            let b = acquire(&store, &clock, &key, "node-b", None, TTL)
                .await
                .unwrap();
            // node-b dies without releasing; after the TTL node-a may take over.
            clock.advance(TTL + Duration::from_secs(1));
            let a2 = acquire(&store, &clock, &key, "node-a", None, TTL)
                .await
                .unwrap();
            assert_eq!(a2.holder, "node-a");
            // The stalled node-b can neither commit fenced work nor release node-a's lease.
            let mut batch = WriteBatch::new().put("checkpoint", b"stale".to_vec(), Expect::Any);
            batch.push(b.fence(clock.now() + chrono::Duration::minutes(10)));
            assert!(matches!(
                store.commit(batch).await,
                Err(StoreError::Conflict { .. })
            ));
            assert_eq!(store.get("checkpoint").await.unwrap(), None);
            b.release(&store).await.unwrap();
            assert!(
                acquire(&store, &clock, &key, "node-b", None, TTL)
                    .await
                    .is_err()
            );
        });
    }

    #[test]
    fn fenced_commit_renews_the_lease() {
        futures::executor::block_on(async {
            let (store, clock) = setup();
            let key = lease_key("u1", "calendar");
            let mut lease = acquire(&store, &clock, &key, "node-a", None, TTL)
                .await
                .unwrap();
            let until = clock.now() + chrono::Duration::minutes(20);
            let mut batch = WriteBatch::new().put("checkpoint", b"1".to_vec(), Expect::Any);
            batch.push(lease.fence(until));
            store.commit(batch).await.unwrap();
            lease.refresh_version(&store, until).await.unwrap();
            // Still ours for the next fenced commit and renewal.
            lease.renew(&store, &clock, TTL).await.unwrap();
            clock.advance(Duration::from_secs(5 * 60));
            assert!(
                acquire(&store, &clock, &key, "node-b", None, TTL)
                    .await
                    .is_err()
            );
        });
    }

    /// A machine's process table: which pids run.
    fn machine(node: &str, running: &Arc<std::sync::Mutex<Vec<u32>>>, pid: u32) -> LocalProcess {
        let running = running.clone();
        LocalProcess {
            node: node.into(),
            pid,
            is_running: Arc::new(move |p| running.lock().unwrap().contains(&p)),
        }
    }

    #[test]
    fn a_gone_process_of_this_machine_is_taken_over_and_no_other() {
        futures::executor::block_on(async {
            let (store, clock) = setup();
            let key = lease_key("u1", "calendar");
            let host1 = Arc::new(std::sync::Mutex::new(vec![100, 200]));
            let host2 = Arc::new(std::sync::Mutex::new(vec![300]));
            let (p100, p200) = (machine("host1", &host1, 100), machine("host1", &host1, 200));
            let p300 = machine("host2", &host2, 300);

            // A live holder on this machine still blocks.
            let first = acquire(&store, &clock, &key, "cli-100", Some(&p100), TTL)
                .await
                .unwrap();
            assert_eq!(first.took_over_from, None);
            let held = acquire(&store, &clock, &key, "cli-200", Some(&p200), TTL).await;
            assert!(matches!(held, Err(LeaseError::Held { .. })), "{held:?}");

            // Its process is gone: taken over at once, well before the TTL.
            host1.lock().unwrap().retain(|p| *p != 100);
            let second = acquire(&store, &clock, &key, "cli-200", Some(&p200), TTL)
                .await
                .unwrap();
            assert_eq!(second.took_over_from.as_deref(), Some("cli-100"));
            // Had it lived on somehow, its fenced commits would fail.
            let mut batch = WriteBatch::new().put("checkpoint", b"stale".to_vec(), Expect::Any);
            batch.push(first.fence(clock.now()));
            assert!(matches!(
                store.commit(batch).await,
                Err(StoreError::Conflict { .. })
            ));

            // Another machine cannot see host1's processes: it waits, live holder or dead.
            let other = acquire(&store, &clock, &key, "cli-300", Some(&p300), TTL).await;
            assert!(matches!(other, Err(LeaseError::Held { .. })), "{other:?}");
            host1.lock().unwrap().clear();
            let other = acquire(&store, &clock, &key, "cli-300", Some(&p300), TTL).await;
            assert!(matches!(other, Err(LeaseError::Held { .. })), "{other:?}");
            second.release(&store).await.unwrap();

            // Nor is a holder that recorded no process ever taken over early.
            acquire(&store, &clock, &key, "node-a", None, TTL)
                .await
                .unwrap();
            let held = acquire(&store, &clock, &key, "cli-200", Some(&p200), TTL).await;
            assert!(matches!(held, Err(LeaseError::Held { .. })), "{held:?}");
        });
    }

    #[test]
    fn threads_racing_for_one_lease_get_it_once() {
        use std::sync::Arc;
        let store: Arc<MemoryStore> = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        let winners: Vec<bool> = (0..8)
            .map(|i| {
                let (store, clock) = (store.clone(), clock.clone());
                std::thread::spawn(move || {
                    futures::executor::block_on(acquire(
                        store.as_ref(),
                        clock.as_ref(),
                        "lease/u/calendar",
                        &format!("node-{i}"),
                        None,
                        TTL,
                    ))
                    .is_ok()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(winners.iter().filter(|w| **w).count(), 1, "{winners:?}");
    }
}
