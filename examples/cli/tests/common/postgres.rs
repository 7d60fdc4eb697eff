//! A database of a test's own on the tests' PostgreSQL server (`tests/postgres.sh`), dropped when
//! the test ends, so tests run in parallel without seeing each other's keys.

use mssync_cli::PostgresUrl;

/// The server's URL (a superuser that may create databases), set by `tests/postgres.sh`.
pub const URL_VAR: &str = "MSSYNC_TEST_POSTGRES_URL";
/// `1` when the server is required: a missing URL then fails the test instead of skipping it.
pub const REQUIRE_VAR: &str = "MSSYNC_REQUIRE_POSTGRES";

pub struct TestDatabase {
    admin: String,
    name: String,
    /// The test database's URL (with the server's password).
    pub url: PostgresUrl,
}

/// A new empty database for `test`, or `None` (after saying so) when no server is configured and
/// none is required.
pub fn test_database(test: &str) -> Option<TestDatabase> {
    let admin = match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            assert!(
                std::env::var(REQUIRE_VAR).as_deref() != Ok("1"),
                "{REQUIRE_VAR}=1 but {URL_VAR} is not set: the PostgreSQL tests must run \
                 (start a server with tests/postgres.sh)"
            );
            eprintln!(
                "skipped: {URL_VAR} is not set (`tests/postgres.sh run cargo test -p mssync-cli \
                 --test postgres_store` runs it against a server of its own)"
            );
            return None;
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name: String = format!("t_{test}_{}_{nanos}", std::process::id())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    admin_sql(&admin, &format!("CREATE DATABASE \"{name}\""));
    let url = PostgresUrl::parse(&admin)
        .expect("the test server's URL")
        .with_database(&name);
    Some(TestDatabase { admin, name, url })
}

impl TestDatabase {
    /// The test database's URL as text, password included (for a child process).
    pub fn url_with_password(&self) -> String {
        let mut url = url::Url::parse(&self.admin).unwrap();
        url.set_path(&format!("/{}", self.name));
        url.to_string()
    }

    /// The server's password, if its URL has one.
    pub fn password(&self) -> Option<String> {
        url::Url::parse(&self.admin)
            .unwrap()
            .password()
            .map(str::to_owned)
    }

    /// Runs statements in the test database itself (to look under the store); the rows of the
    /// last one, as text.
    pub fn sql(&self, statements: &str) -> Vec<Vec<Option<String>>> {
        query(&self.url_with_password(), statements)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // FORCE: a store a failed test leaked may still hold connections. Best effort, on a
        // thread of its own: a failure here must not turn a failed test into an abort.
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        std::thread::scope(|scope| {
            let _ = scope
                .spawn(|| query_on_this_thread(&self.admin, &statement))
                .join();
        });
    }
}

fn admin_sql(url: &str, statement: &str) {
    query(url, statement);
}

/// On a thread of its own, so async tests (already inside a runtime) may call it too.
fn query(url: &str, statement: &str) -> Vec<Vec<Option<String>>> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| query_on_this_thread(url, statement))
            .join()
            .unwrap_or_else(|_| panic!("{statement} failed"))
    })
}

fn query_on_this_thread(url: &str, statement: &str) -> Vec<Vec<Option<String>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test server");
        let driver = tokio::spawn(connection);
        let rows = client
            .simple_query(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        drop(client);
        let _ = driver.await;
        let mut last = Vec::new();
        for message in rows {
            match message {
                tokio_postgres::SimpleQueryMessage::RowDescription(_) => last.clear(),
                tokio_postgres::SimpleQueryMessage::Row(row) => last.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect(),
                ),
                _ => {}
            }
        }
        last
    })
}
