//! The SQLite store against the core store contract, across threads, connections and processes.

use std::process::{Command, Stdio};
use std::sync::Arc;

use futures::executor::block_on;
use mssync_cli::{OpenStoreError, SqliteStore};
use mssync_core::host::conformance::{check_store, check_threaded_race};
use mssync_core::host::{Expect, Store, StoreError, WriteBatch};

fn temp_store() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mssync.db");
    (dir, path)
}

#[test]
fn sqlite_store_conforms() {
    let (_dir, path) = temp_store();
    let store = SqliteStore::open(&path).unwrap();
    block_on(check_store(&store));
}

#[test]
fn sqlite_store_survives_threaded_race() {
    let (_dir, path) = temp_store();
    check_threaded_race(Arc::new(SqliteStore::open(&path).unwrap()));
}

/// Compare-and-swap increments of one counter until `times` of them landed.
fn increment(store: &dyn Store, key: &str, times: u64) -> u64 {
    let mut conflicts = 0;
    let mut done = 0;
    while done < times {
        let current = block_on(store.get(key)).unwrap().expect("counter exists");
        let n: u64 = String::from_utf8(current.value).unwrap().parse().unwrap();
        let next = (n + 1).to_string().into_bytes();
        match block_on(store.commit(WriteBatch::new().put(
            key,
            next,
            Expect::Version(current.version),
        ))) {
            Ok(()) => done += 1,
            Err(StoreError::Conflict { .. }) => conflicts += 1,
            Err(e) => panic!("backend error: {e}"),
        }
    }
    conflicts
}

fn read_counter(store: &dyn Store, key: &str) -> u64 {
    let value = block_on(store.get(key)).unwrap().unwrap().value;
    String::from_utf8(value).unwrap().parse().unwrap()
}

#[test]
fn separately_opened_stores_on_one_file_never_lose_an_increment() {
    let (_dir, path) = temp_store();
    let seed = SqliteStore::open(&path).unwrap();
    block_on(seed.commit(WriteBatch::new().put("counter", b"0".to_vec(), Expect::Absent))).unwrap();
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                // Each thread opens the file itself, as an unrelated host would.
                let store = SqliteStore::open(&path).unwrap();
                increment(&store, "counter", 40)
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(read_counter(&seed, "counter"), 120);
}

const CHILD_STORE: &str = "MSSYNC_TEST_CHILD_STORE";
const CHILD_INCREMENTS: u64 = 60;

/// Runs only as a child process of [`two_processes_never_lose_an_increment`], which starts it
/// with `--ignored`; it names its store through the environment.
#[test]
#[ignore = "a child process of two_processes_never_lose_an_increment"]
fn child_process_increments() {
    let path =
        std::env::var(CHILD_STORE).expect("started by two_processes_never_lose_an_increment");
    let store = SqliteStore::open(&path).unwrap();
    increment(&store, "counter", CHILD_INCREMENTS);
}

#[test]
fn two_processes_never_lose_an_increment() {
    let (_dir, path) = temp_store();
    let store = SqliteStore::open(&path).unwrap();
    block_on(store.commit(WriteBatch::new().put("counter", b"0".to_vec(), Expect::Absent)))
        .unwrap();
    let me = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&me)
                .args(["--exact", "child_process_increments", "--ignored"])
                .env(CHILD_STORE, &path)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start child test process")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "child process failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // The child must really have run the increments, not filtered itself out.
        assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
    }
    assert_eq!(read_counter(&store, "counter"), 2 * CHILD_INCREMENTS);
}

#[test]
fn reopening_keeps_values_and_never_reuses_versions() {
    let (_dir, path) = temp_store();
    let (kept_version, deleted_version) = {
        let store = SqliteStore::open(&path).unwrap();
        block_on(
            store.commit(
                WriteBatch::new()
                    .put("settings/a", b"kept".to_vec(), Expect::Absent)
                    .put("settings/b", b"gone".to_vec(), Expect::Absent),
            ),
        )
        .unwrap();
        let b = block_on(store.get("settings/b")).unwrap().unwrap().version;
        block_on(store.commit(WriteBatch::new().delete("settings/b", Expect::Version(b)))).unwrap();
        (
            block_on(store.get("settings/a")).unwrap().unwrap().version,
            b,
        )
    };
    let store = SqliteStore::open_existing(&path).unwrap();
    let a = block_on(store.get("settings/a")).unwrap().unwrap();
    assert_eq!(
        (a.value.as_slice(), a.version),
        (&b"kept"[..], kept_version)
    );
    assert_eq!(block_on(store.get("settings/b")).unwrap(), None);
    // A stale writer holding the old version is still refused after the reopen.
    block_on(store.commit(WriteBatch::new().put("settings/b", b"new".to_vec(), Expect::Absent)))
        .unwrap();
    let recreated = block_on(store.get("settings/b")).unwrap().unwrap().version;
    assert!(recreated != deleted_version && recreated != kept_version);
    assert!(matches!(
        block_on(store.commit(WriteBatch::new().put(
            "settings/b",
            b"stale".to_vec(),
            Expect::Version(deleted_version)
        ))),
        Err(StoreError::Conflict { .. })
    ));
}

#[test]
fn like_wildcards_in_a_prefix_are_plain_characters() {
    let (_dir, path) = temp_store();
    let store = SqliteStore::open(&path).unwrap();
    let keys = ["a%b/1", "a_b/1", "axb/1", "aXb/1", "a%bc/1", "A%B/1"];
    let mut batch = WriteBatch::new();
    for k in keys {
        batch = batch.put(k, k.as_bytes().to_vec(), Expect::Any);
    }
    block_on(store.commit(batch)).unwrap();
    let scanned = |prefix: &str| -> Vec<String> {
        block_on(store.scan(prefix))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    assert_eq!(scanned("a%b/"), ["a%b/1"]);
    assert_eq!(scanned("a_b/"), ["a_b/1"]);
    assert_eq!(scanned("a%"), ["a%b/1", "a%bc/1"]);
    assert_eq!(
        scanned(""),
        ["A%B/1", "a%b/1", "a%bc/1", "aXb/1", "a_b/1", "axb/1"]
    );
}

#[test]
fn opening_a_missing_file_as_existing_is_refused() {
    let (_dir, path) = temp_store();
    assert!(matches!(
        SqliteStore::open_existing(&path),
        Err(OpenStoreError::Missing(_))
    ));
    assert!(!path.exists(), "refusing must not create the file");
}

#[test]
fn a_file_that_is_not_a_store_is_refused() {
    let (_dir, path) = temp_store();
    std::fs::write(&path, b"not a database, just some text that is long enough").unwrap();
    let error = SqliteStore::open_existing(&path).unwrap_err();
    assert!(matches!(error, OpenStoreError::Sqlite { .. }), "{error:?}");
}

#[test]
fn keys_are_counted_by_their_next_segment() {
    let (_dir, path) = temp_store();
    let store = SqliteStore::open(&path).unwrap();
    let mut batch = WriteBatch::new();
    for k in [
        "users/1/setup",
        "users/2/setup",
        "service",
        "log/1",
        "users/2/token",
    ] {
        batch = batch.put(k, b"x".to_vec(), Expect::Any);
    }
    block_on(store.commit(batch)).unwrap();
    let top: Vec<(String, u64)> = store.count_by_segment("").unwrap().into_iter().collect();
    assert_eq!(
        top,
        [
            ("log/".into(), 1),
            ("service".into(), 1),
            ("users/".into(), 3)
        ]
    );
    let users: Vec<(String, u64)> = store
        .count_by_segment("users/")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(users, [("1/".into(), 1), ("2/".into(), 2)]);
}

#[cfg(unix)]
#[test]
fn a_new_store_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_store();
    let store = SqliteStore::open(&path).unwrap();
    block_on(store.commit(WriteBatch::new().put("k", b"v".to_vec(), Expect::Any))).unwrap();
    for file in [path.clone(), path.with_extension("db-wal")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}
