//! The store conformance suite: what every [`Store`] must do, whoever implements it (the in-memory
//! store, SQLite in the command line, C callbacks through the ABI, JavaScript in the browser).
//!
//! Each case works under its own key prefix, so one store can run the whole suite; a failing case
//! panics with its name. Call [`check_store`] from a test of the implementation; native stores
//! should also pass [`check_threaded_race`].

use super::store::{Expect, Store, StoreError, WriteBatch};

/// Runs every single-threaded case against `store`. Keys used start with `conformance/`.
pub async fn check_store(store: &dyn Store) {
    missing_key_reads_as_none(store).await;
    put_then_get(store).await;
    every_write_gets_a_new_version(store).await;
    expectations_are_checked(store).await;
    failed_batch_writes_nothing(store).await;
    delete_honours_expectations(store).await;
    same_key_twice_in_a_batch_applies_in_order(store).await;
    empty_batch_is_accepted(store).await;
    binary_values_round_trip(store).await;
    scan_is_ordered_and_isolated_by_prefix(store).await;
    two_writers_racing_exactly_one_wins(store).await;
}

fn key(case: &str, rest: &str) -> String {
    format!("conformance/{case}/{rest}")
}

async fn get(store: &dyn Store, key: &str) -> Option<(Vec<u8>, u64)> {
    store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("get {key:?} failed: {e}"))
        .map(|v| (v.value, v.version))
}

async fn commit_ok(store: &dyn Store, batch: WriteBatch, case: &str) {
    store
        .commit(batch)
        .await
        .unwrap_or_else(|e| panic!("[{case}] commit should succeed: {e}"));
}

fn assert_conflict(result: Result<(), StoreError>, case: &str) {
    match result {
        Err(StoreError::Conflict { .. }) => {}
        other => panic!("[{case}] expected a Conflict, got {other:?}"),
    }
}

async fn missing_key_reads_as_none(store: &dyn Store) {
    assert_eq!(
        get(store, &key("missing", "nothing")).await,
        None,
        "[missing]"
    );
}

async fn put_then_get(store: &dyn Store) {
    let k = key("put", "a");
    commit_ok(
        store,
        WriteBatch::new().put(&k, b"one".to_vec(), Expect::Absent),
        "put",
    )
    .await;
    let (value, _) = get(store, &k).await.expect("[put] value present");
    assert_eq!(value, b"one", "[put] value read back");
}

async fn every_write_gets_a_new_version(store: &dyn Store) {
    let case = "versions";
    let k = key(case, "a");
    commit_ok(
        store,
        WriteBatch::new().put(&k, b"1".to_vec(), Expect::Any),
        case,
    )
    .await;
    let (_, v1) = get(store, &k).await.unwrap();
    // Writing the same bytes again is still a new version.
    commit_ok(
        store,
        WriteBatch::new().put(&k, b"1".to_vec(), Expect::Version(v1)),
        case,
    )
    .await;
    let (_, v2) = get(store, &k).await.unwrap();
    assert_ne!(v1, v2, "[{case}] rewrite must change the version");
    // Delete and re-create: the old version must not come back (no ABA).
    commit_ok(
        store,
        WriteBatch::new().delete(&k, Expect::Version(v2)),
        case,
    )
    .await;
    commit_ok(
        store,
        WriteBatch::new().put(&k, b"1".to_vec(), Expect::Absent),
        case,
    )
    .await;
    let (_, v3) = get(store, &k).await.unwrap();
    assert!(
        v3 != v1 && v3 != v2,
        "[{case}] re-created key reused an old version"
    );
    assert_conflict(
        store
            .commit(WriteBatch::new().put(&k, b"x".to_vec(), Expect::Version(v2)))
            .await,
        case,
    );
}

async fn expectations_are_checked(store: &dyn Store) {
    let case = "expect";
    let k = key(case, "a");
    commit_ok(
        store,
        WriteBatch::new().put(&k, b"v".to_vec(), Expect::Absent),
        case,
    )
    .await;
    assert_conflict(
        store
            .commit(WriteBatch::new().put(&k, b"w".to_vec(), Expect::Absent))
            .await,
        case,
    );
    let (_, version) = get(store, &k).await.unwrap();
    assert_conflict(
        store
            .commit(WriteBatch::new().put(&k, b"w".to_vec(), Expect::Version(version + 1_000_000)))
            .await,
        case,
    );
    assert_conflict(
        store
            .commit(WriteBatch::new().put(
                key(case, "never"),
                b"w".to_vec(),
                Expect::Version(version),
            ))
            .await,
        case,
    );
    assert_eq!(
        get(store, &k).await,
        Some((b"v".to_vec(), version)),
        "[{case}] untouched"
    );
    assert_eq!(
        get(store, &key(case, "never")).await,
        None,
        "[{case}] not created"
    );
    commit_ok(
        store,
        WriteBatch::new().put(&k, b"w".to_vec(), Expect::Version(version)),
        case,
    )
    .await;
    assert_eq!(
        get(store, &k).await.unwrap().0,
        b"w",
        "[{case}] matching version wins"
    );
}

async fn failed_batch_writes_nothing(store: &dyn Store) {
    let case = "atomic";
    let existing = key(case, "existing");
    commit_ok(
        store,
        WriteBatch::new().put(&existing, b"keep".to_vec(), Expect::Absent),
        case,
    )
    .await;
    let (_, version) = get(store, &existing).await.unwrap();
    let doomed = key(case, "doomed");
    // The failing expectation comes last, after writes that would otherwise succeed.
    let batch = WriteBatch::new()
        .put(&doomed, b"new".to_vec(), Expect::Absent)
        .delete(&existing, Expect::Version(version))
        .put(key(case, "other"), b"x".to_vec(), Expect::Any)
        .put(&existing, b"late".to_vec(), Expect::Absent);
    assert_conflict(store.commit(batch).await, case);
    assert_eq!(get(store, &doomed).await, None, "[{case}] first put leaked");
    assert_eq!(
        get(store, &key(case, "other")).await,
        None,
        "[{case}] unconditional put leaked"
    );
    assert_eq!(
        get(store, &existing).await,
        Some((b"keep".to_vec(), version)),
        "[{case}] delete leaked"
    );
}

async fn delete_honours_expectations(store: &dyn Store) {
    let case = "delete";
    let k = key(case, "a");
    // Deleting what is not there is fine without an expectation.
    commit_ok(store, WriteBatch::new().delete(&k, Expect::Any), case).await;
    commit_ok(store, WriteBatch::new().delete(&k, Expect::Absent), case).await;
    commit_ok(
        store,
        WriteBatch::new().put(&k, b"v".to_vec(), Expect::Any),
        case,
    )
    .await;
    let (_, version) = get(store, &k).await.unwrap();
    assert_conflict(
        store
            .commit(WriteBatch::new().delete(&k, Expect::Absent))
            .await,
        case,
    );
    assert_conflict(
        store
            .commit(WriteBatch::new().delete(&k, Expect::Version(version + 1_000_000)))
            .await,
        case,
    );
    assert!(
        get(store, &k).await.is_some(),
        "[{case}] refused delete removed the key"
    );
    commit_ok(
        store,
        WriteBatch::new().delete(&k, Expect::Version(version)),
        case,
    )
    .await;
    assert_eq!(
        get(store, &k).await,
        None,
        "[{case}] delete with matching version"
    );
}

async fn same_key_twice_in_a_batch_applies_in_order(store: &dyn Store) {
    let case = "order";
    let k = key(case, "a");
    let batch = WriteBatch::new()
        .put(&k, b"first".to_vec(), Expect::Absent)
        .put(&k, b"second".to_vec(), Expect::Any);
    commit_ok(store, batch, case).await;
    assert_eq!(
        get(store, &k).await.unwrap().0,
        b"second",
        "[{case}] last write wins"
    );
    let batch = WriteBatch::new()
        .put(&k, b"third".to_vec(), Expect::Any)
        .delete(&k, Expect::Any);
    commit_ok(store, batch, case).await;
    assert_eq!(
        get(store, &k).await,
        None,
        "[{case}] delete after put in one batch"
    );
}

async fn empty_batch_is_accepted(store: &dyn Store) {
    commit_ok(store, WriteBatch::new(), "empty").await;
}

async fn binary_values_round_trip(store: &dyn Store) {
    let case = "binary";
    let value: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let k = key(case, "blob \u{e9}\u{1F600}");
    commit_ok(
        store,
        WriteBatch::new().put(&k, value.clone(), Expect::Absent),
        case,
    )
    .await;
    assert_eq!(
        get(store, &k).await.unwrap().0,
        value,
        "[{case}] bytes changed"
    );
    commit_ok(
        store,
        WriteBatch::new().put(&k, Vec::new(), Expect::Any),
        case,
    )
    .await;
    assert_eq!(
        get(store, &k).await.unwrap().0,
        Vec::<u8>::new(),
        "[{case}] empty value"
    );
}

async fn scan_is_ordered_and_isolated_by_prefix(store: &dyn Store) {
    let case = "scan";
    let base = key(case, "");
    // Neighbours that share leading bytes with the prefix but are outside it.
    let outside = [
        format!("conformance/{case}"),
        format!("conformance/{case}0"),
        format!("conformance/{case}-"),
        "conformance/scam/x".to_owned(),
    ];
    // U+FFFD sorts before U+1F600 by bytes, after it by UTF-16 code units (JavaScript's order).
    let inside_unsorted = [
        "b",
        "a/2",
        "a",
        "a/10",
        "\u{e9}",
        "Z",
        "a/1",
        "b\u{0}",
        "\u{1F600}",
        "\u{FFFD}",
    ];
    let mut batch = WriteBatch::new();
    for k in &outside {
        batch = batch.put(k, b"out".to_vec(), Expect::Any);
    }
    for (i, rest) in inside_unsorted.iter().enumerate() {
        batch = batch.put(format!("{base}{rest}"), vec![i as u8], Expect::Any);
    }
    commit_ok(store, batch, case).await;

    let scanned = store.scan(&base).await.expect("scan");
    let keys: Vec<&str> = scanned.iter().map(|(k, _)| &k[base.len()..]).collect();
    let mut expected: Vec<&str> = inside_unsorted.to_vec();
    expected.sort(); // Rust orders str by bytes, which is the contract.
    assert_eq!(
        keys, expected,
        "[{case}] scan must return exactly the prefix, in byte order"
    );
    for (k, v) in &scanned {
        let rest = &k[base.len()..];
        let index = inside_unsorted.iter().position(|r| *r == rest).unwrap();
        assert_eq!(v.value, vec![index as u8], "[{case}] value of {rest:?}");
        assert_eq!(
            get(store, k).await.unwrap().1,
            v.version,
            "[{case}] version of {rest:?}"
        );
    }

    let narrower = store.scan(&format!("{base}a/")).await.expect("scan");
    let keys: Vec<&str> = narrower.iter().map(|(k, _)| &k[base.len()..]).collect();
    assert_eq!(keys, ["a/1", "a/10", "a/2"], "[{case}] nested prefix");
    assert!(
        store
            .scan(&key(case, "nothing-here/"))
            .await
            .expect("scan")
            .is_empty(),
        "[{case}] empty result"
    );
}

async fn two_writers_racing_exactly_one_wins(store: &dyn Store) {
    let case = "race";
    let k = key(case, "counter");
    commit_ok(
        store,
        WriteBatch::new().put(&k, b"0".to_vec(), Expect::Absent),
        case,
    )
    .await;
    // Both writers read the same state, then both try to commit on top of it.
    let (_, seen_by_a) = get(store, &k).await.unwrap();
    let (_, seen_by_b) = get(store, &k).await.unwrap();
    let a = store
        .commit(WriteBatch::new().put(&k, b"a".to_vec(), Expect::Version(seen_by_a)))
        .await;
    let b = store
        .commit(WriteBatch::new().put(&k, b"b".to_vec(), Expect::Version(seen_by_b)))
        .await;
    assert!(a.is_ok(), "[{case}] first writer must win: {a:?}");
    assert_conflict(b, case);
    assert_eq!(
        get(store, &k).await.unwrap().0,
        b"a",
        "[{case}] loser left no trace"
    );

    // Racing creates of a key that does not exist yet.
    let lock = key(case, "lease");
    let a = store
        .commit(WriteBatch::new().put(&lock, b"a".to_vec(), Expect::Absent))
        .await;
    let b = store
        .commit(WriteBatch::new().put(&lock, b"b".to_vec(), Expect::Absent))
        .await;
    assert!(a.is_ok(), "[{case}] first create must win: {a:?}");
    assert_conflict(b, case);
}

/// Several OS threads increment one counter with compare-and-swap retries. Every increment must
/// land exactly once: the final count equals the number of successful commits, and each attempt
/// either won or saw a conflict. For stores shared across threads (native targets only).
#[cfg(not(target_arch = "wasm32"))]
pub fn check_threaded_race(store: std::sync::Arc<dyn Store>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    const THREADS: usize = 4;
    const INCREMENTS: u64 = 50;
    let k = "conformance/threads/counter".to_owned();
    futures::executor::block_on(store.commit(WriteBatch::new().put(
        &k,
        b"0".to_vec(),
        Expect::Any,
    )))
    .expect("seed counter");
    let conflicts = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let store = store.clone();
            let k = k.clone();
            let conflicts = conflicts.clone();
            std::thread::spawn(move || {
                futures::executor::block_on(async {
                    let mut done = 0;
                    while done < INCREMENTS {
                        let current = store.get(&k).await.expect("get").expect("counter exists");
                        let n: u64 = String::from_utf8(current.value).unwrap().parse().unwrap();
                        let next = (n + 1).to_string().into_bytes();
                        match store
                            .commit(WriteBatch::new().put(
                                &k,
                                next,
                                Expect::Version(current.version),
                            ))
                            .await
                        {
                            Ok(()) => done += 1,
                            Err(StoreError::Conflict { .. }) => {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("[threads] backend error: {e}"),
                        }
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer thread panicked");
    }
    let last = futures::executor::block_on(store.get(&k)).unwrap().unwrap();
    let n: u64 = String::from_utf8(last.value).unwrap().parse().unwrap();
    assert_eq!(
        n,
        THREADS as u64 * INCREMENTS,
        "[threads] lost or doubled increments ({} conflicts seen)",
        conflicts.load(Ordering::Relaxed)
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::host::MemoryStore;

    #[test]
    fn memory_store_conforms() {
        futures::executor::block_on(check_store(&MemoryStore::new()));
    }

    #[test]
    fn memory_store_survives_threaded_race() {
        check_threaded_race(Arc::new(MemoryStore::new()));
    }

    /// The suite must be able to fail: a store that ignores expectations is caught.
    #[test]
    fn suite_catches_a_store_without_versions() {
        struct Careless(MemoryStore);
        #[async_trait::async_trait(?Send)]
        impl Store for Careless {
            async fn get(&self, key: &str) -> Result<Option<crate::host::Versioned>, StoreError> {
                self.0.get(key).await
            }
            async fn scan(
                &self,
                prefix: &str,
            ) -> Result<Vec<(String, crate::host::Versioned)>, StoreError> {
                self.0.scan(prefix).await
            }
            async fn commit(&self, mut batch: WriteBatch) -> Result<(), StoreError> {
                for w in &mut batch.writes {
                    w.expect = Expect::Any;
                }
                self.0.commit(batch).await
            }
        }
        let result = std::panic::catch_unwind(|| {
            futures::executor::block_on(check_store(&Careless(MemoryStore::new())))
        });
        assert!(
            result.is_err(),
            "a store ignoring versions must fail the suite"
        );
    }
}
