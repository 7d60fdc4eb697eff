//! The PostgreSQL store against the core store contract, on a real server (`tests/postgres.sh`):
//! across threads, connections, processes, migrations and failed transactions. Each test has a
//! database of its own. Without `MSSYNC_TEST_POSTGRES_URL` the tests say they skipped, unless
//! `MSSYNC_REQUIRE_POSTGRES=1` (as `tests/run.sh` sets), which makes them fail.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;

use common::postgres::{TestDatabase, test_database};
use futures::executor::block_on;
use mssync_cli::store::{OpenPostgresError, POSTGRES_SCHEMA_VERSION};
use mssync_cli::{PostgresStore, PostgresUrl};
use mssync_core::host::conformance::{check_store, check_threaded_race};
use mssync_core::host::{Expect, Store, StoreError, WriteBatch};

fn open(db: &TestDatabase) -> PostgresStore {
    PostgresStore::connect(&db.url, None).expect("connect to the test database")
}

#[test]
fn postgres_store_conforms() {
    let Some(db) = test_database("conforms") else {
        return;
    };
    block_on(check_store(&open(&db)));
}

#[test]
fn postgres_store_survives_threaded_race() {
    let Some(db) = test_database("threaded") else {
        return;
    };
    check_threaded_race(Arc::new(open(&db)));
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
fn separately_connected_stores_never_lose_an_increment() {
    let Some(db) = test_database("separate") else {
        return;
    };
    let seed = open(&db);
    block_on(seed.commit(WriteBatch::new().put("counter", b"0".to_vec(), Expect::Absent))).unwrap();
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let url = db.url.clone();
            std::thread::spawn(move || {
                // Each thread connects itself, as another node would.
                let store = PostgresStore::connect(&url, None).unwrap();
                increment(&store, "counter", 40)
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(read_counter(&seed, "counter"), 120);
}

/// Racing creates of one absent key from several nodes: exactly one wins each round. A row lock
/// cannot protect a row that does not exist yet; the per-key advisory lock must.
#[test]
fn racing_creates_of_an_absent_key_have_one_winner() {
    let Some(db) = test_database("creates") else {
        return;
    };
    let stores: Vec<Arc<PostgresStore>> = (0..4).map(|_| Arc::new(open(&db))).collect();
    for round in 0..25 {
        let key = format!("lease/u{round}/calendar");
        let barrier = Arc::new(std::sync::Barrier::new(stores.len()));
        let racers: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                let (store, key, barrier) = (store.clone(), key.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    block_on(
                        store.commit(
                            WriteBatch::new()
                                .put(&key, vec![i as u8], Expect::Absent)
                                .put(format!("{key}/log/{i}"), b"x".to_vec(), Expect::Absent),
                        ),
                    )
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let winners: Vec<usize> = (0..results.len()).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for result in &results {
            assert!(
                matches!(result, Ok(()) | Err(StoreError::Conflict { .. })),
                "{result:?}"
            );
        }
        let stored = block_on(stores[0].get(&key)).unwrap().unwrap();
        assert_eq!(stored.value, vec![winners[0] as u8]);
        // The losers' other writes left no trace.
        let logs = block_on(stores[0].scan(&format!("{key}/log/"))).unwrap();
        assert_eq!(logs.len(), 1, "round {round}");
    }
}

const CHILD_DATABASE: &str = "MSSYNC_TEST_CHILD_POSTGRES";
const CHILD_INCREMENTS: u64 = 60;

/// Runs only as a child process of [`two_processes_never_lose_an_increment`], which starts it
/// with `--ignored`; it names its database through the environment.
#[test]
#[ignore = "a child process of two_processes_never_lose_an_increment"]
fn child_process_increments() {
    let url =
        std::env::var(CHILD_DATABASE).expect("started by two_processes_never_lose_an_increment");
    let store = PostgresStore::connect(&PostgresUrl::parse(&url).unwrap(), None).unwrap();
    increment(&store, "counter", CHILD_INCREMENTS);
}

#[test]
fn two_processes_never_lose_an_increment() {
    let Some(db) = test_database("processes") else {
        return;
    };
    let store = open(&db);
    block_on(store.commit(WriteBatch::new().put("counter", b"0".to_vec(), Expect::Absent)))
        .unwrap();
    let me = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&me)
                .args(["--exact", "child_process_increments", "--ignored"])
                .env(CHILD_DATABASE, db.url_with_password())
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
fn reconnecting_keeps_values_and_never_reuses_versions() {
    let Some(db) = test_database("reconnect") else {
        return;
    };
    let (kept_version, deleted_version) = {
        let store = open(&db);
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
    let store = open(&db);
    let a = block_on(store.get("settings/a")).unwrap().unwrap();
    assert_eq!(
        (a.value.as_slice(), a.version),
        (&b"kept"[..], kept_version)
    );
    assert_eq!(block_on(store.get("settings/b")).unwrap(), None);
    block_on(store.commit(WriteBatch::new().put("settings/b", b"new".to_vec(), Expect::Absent)))
        .unwrap();
    let recreated = block_on(store.get("settings/b")).unwrap().unwrap().version;
    assert!(recreated > deleted_version && recreated != kept_version);
    assert!(matches!(
        block_on(store.commit(WriteBatch::new().put(
            "settings/b",
            b"stale".to_vec(),
            Expect::Version(deleted_version)
        ))),
        Err(StoreError::Conflict { .. })
    ));
}

/// A transaction that drew versions and then rolled back (a commit that failed half way, a node
/// killed mid-commit) must not hand those versions out again.
#[test]
fn versions_drawn_by_a_rolled_back_transaction_are_never_handed_out() {
    let Some(db) = test_database("rollback") else {
        return;
    };
    let store = open(&db);
    block_on(store.commit(WriteBatch::new().put("k", b"1".to_vec(), Expect::Absent))).unwrap();
    let before = block_on(store.get("k")).unwrap().unwrap().version;
    // What an interrupted commit leaves behind: its writes rolled back, its versions drawn.
    let drawn = db.sql(
        "BEGIN;
         UPDATE mssync.entries SET value = '\\x32', version = nextval('mssync.versions')
             WHERE key = 'k'::bytea;
         SELECT version FROM mssync.entries WHERE key = 'k'::bytea;
         ROLLBACK;",
    );
    let rolled_back: u64 = drawn[0][0].as_deref().unwrap().parse().unwrap();
    assert!(rolled_back > before);
    let again = block_on(store.get("k")).unwrap().unwrap();
    assert_eq!((again.value.as_slice(), again.version), (&b"1"[..], before));
    block_on(store.commit(WriteBatch::new().put("k", b"3".to_vec(), Expect::Version(before))))
        .unwrap();
    let after = block_on(store.get("k")).unwrap().unwrap().version;
    assert!(
        after > rolled_back,
        "{after} reuses or precedes {rolled_back}"
    );
}

#[test]
fn the_schema_version_is_recorded_and_a_newer_one_refused() {
    let Some(db) = test_database("schema") else {
        return;
    };
    drop(open(&db));
    let recorded = db.sql("SELECT version FROM mssync.schema_version ORDER BY version");
    assert_eq!(
        recorded,
        (1..=POSTGRES_SCHEMA_VERSION)
            .map(|v| vec![Some(v.to_string())])
            .collect::<Vec<_>>()
    );
    // Opening again migrates nothing.
    drop(open(&db));
    assert_eq!(
        db.sql("SELECT count(*) FROM mssync.schema_version"),
        [[Some(POSTGRES_SCHEMA_VERSION.to_string())]]
    );
    // A newer mssync migrated this database: this build must not misread it.
    db.sql(&format!(
        "INSERT INTO mssync.schema_version (version) VALUES ({})",
        POSTGRES_SCHEMA_VERSION + 1
    ));
    let error = PostgresStore::connect(&db.url, None).unwrap_err();
    assert!(
        matches!(error, OpenPostgresError::NewerSchema { found, .. } if found == POSTGRES_SCHEMA_VERSION + 1),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("newer mssync"), "{message}");
    assert_no_password(&db, &message);
}

#[test]
fn nodes_starting_together_create_the_schema_once() {
    let Some(db) = test_database("together") else {
        return;
    };
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let nodes: Vec<_> = (0..4)
        .map(|i| {
            let (url, barrier) = (db.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let store = PostgresStore::connect(&url, None).unwrap();
                block_on(store.commit(WriteBatch::new().put(
                    format!("node/{i}"),
                    b"up".to_vec(),
                    Expect::Absent,
                )))
                .unwrap();
            })
        })
        .collect();
    for node in nodes {
        node.join().unwrap();
    }
    assert_eq!(
        db.sql("SELECT count(*) FROM mssync.schema_version"),
        [[Some(POSTGRES_SCHEMA_VERSION.to_string())]]
    );
    assert_eq!(block_on(open(&db).scan("node/")).unwrap().len(), 4);
}

fn assert_no_password(db: &TestDatabase, text: &str) {
    if let Some(password) = db.password() {
        assert!(!text.contains(&password), "the password leaked: {text}");
    }
}

#[test]
fn the_password_never_shows() {
    let Some(db) = test_database("password") else {
        return;
    };
    let store = open(&db);
    assert_no_password(&db, &format!("{store:?}"));
    assert_no_password(&db, &store.url().to_string());
    // A wrong password: the error names the server, not either password.
    let wrong = db.url_with_password().replacen(
        &format!(":{}@", db.password().unwrap_or_default()),
        ":not-the-password@",
        1,
    );
    let error = PostgresStore::connect(&PostgresUrl::parse(&wrong).unwrap(), None).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    assert_no_password(&db, &message);
    assert_no_password(&db, &format!("{error:?}"));
}

/// The test server offers TLS with a self-signed certificate (as Debian's clusters do): a URL
/// that requires TLS gets it, verifies the certificate and refuses this one, never falling back
/// to plain; a loopback URL that says nothing stays plain and connects (every other test).
#[test]
fn a_url_requiring_tls_verifies_the_certificate() {
    let Some(db) = test_database("tls") else {
        return;
    };
    let url = PostgresUrl::parse(&format!("{}?sslmode=require", db.url_with_password())).unwrap();
    let error = PostgresStore::connect(&url, None).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, OpenPostgresError::Backend { .. }) && message.contains("certificate"),
        "{message}"
    );
    assert_no_password(&db, &message);
}

#[test]
fn like_wildcards_in_a_prefix_are_plain_bytes() {
    let Some(db) = test_database("wildcards") else {
        return;
    };
    let store = open(&db);
    let keys = [
        "a%b/1", "a_b/1", "axb/1", "aXb/1", "a%bc/1", "A%B/1", "a\\b/1",
    ];
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
        [
            "A%B/1", "a%b/1", "a%bc/1", "aXb/1", "a\\b/1", "a_b/1", "axb/1"
        ]
    );
}

#[test]
fn keys_are_counted_by_their_next_segment() {
    let Some(db) = test_database("segments") else {
        return;
    };
    let store = open(&db);
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
    let top: Vec<(String, u64)> = block_on(store.count_by_segment(""))
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        top,
        [
            ("log/".into(), 1),
            ("service".into(), 1),
            ("users/".into(), 3)
        ]
    );
    let users: Vec<(String, u64)> = block_on(store.count_by_segment("users/"))
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(users, [("1/".into(), 1), ("2/".into(), 2)]);
}

/// A server restart or a dropped connection costs a reconnect, not a failed call: pooled
/// connections are checked before reuse.
#[test]
fn connections_the_server_dropped_are_replaced() {
    let Some(db) = test_database("dropped") else {
        return;
    };
    let store = Arc::new(open(&db));
    block_on(store.commit(WriteBatch::new().put("k", b"1".to_vec(), Expect::Absent))).unwrap();
    // Fill the pool with several connections, then have the server end them all.
    check_threaded_race(store.clone());
    let ended = db.sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert_ne!(ended[0][0].as_deref(), Some("0"), "no connection was ended");
    // Terminating is asynchronous: wait until the server has no session of the store left.
    let others = "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while db.sql(others)[0][0].as_deref() != Some("0") {
        assert!(
            std::time::Instant::now() < deadline,
            "the sessions never ended"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let before = block_on(store.get("k")).unwrap().unwrap();
    block_on(store.commit(WriteBatch::new().put(
        "k",
        b"2".to_vec(),
        Expect::Version(before.version),
    )))
    .unwrap();
    let after = block_on(store.get("k")).unwrap().unwrap();
    assert_eq!(after.value, b"2");
    assert!(after.version > before.version);
}
