//! A [`World`] in a process of its own, driven over loopback HTTP. `mssync bench` runs its
//! simulators this way so that the CPU time and memory it prints for its own process are the
//! engine's alone.
//!
//! The child process calls [`serve`]: it starts the world on a clock the parent sets, prints one
//! JSON line ([`Manifest`]) on stdout and serves until stdin closes. The parent holds a
//! [`SimsProcess`], whose methods are the few controls a benchmark needs (seed, clock, latency,
//! request counts). Test-only: nothing here is part of a simulated service.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::erp::ActivitySeed;
use crate::world::{Fixture, World};

/// What the child prints once it serves: the world's fixture and where its controls are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub fixture: Fixture,
    pub control_url: String,
}

/// Requests the simulators received since the last [`SimsProcess::clear_requests`].
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct RequestCounts {
    /// HTTP requests to Graph (a `$batch` is one).
    pub graph: usize,
    /// Graph requests counting each `$batch` item as one: what Outlook executes.
    pub graph_items: usize,
    pub erp: usize,
}

/// Seeds `items` ERP.net activities assigned to a user and `items` Outlook events in the same
/// user's calendar, interleaved from `from` on (90 minutes apart, so none collide).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalendarSeed {
    pub oid: String,
    pub erp_user_id: String,
    pub items: usize,
    /// Only activities, no events.
    pub activities_only: bool,
    pub from: DateTime<Utc>,
}

struct Controls {
    world: Arc<World>,
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl Controls {
    fn seed(&self, seed: &CalendarSeed) {
        for i in 0..seed.items {
            let at = seed.from + ChronoDuration::minutes(90 * i as i64);
            let mut a = ActivitySeed::new(format!("Activity {i}"), at);
            a.assigned_to = Some(seed.erp_user_id.clone());
            self.world.erp.seed_activity(a);
            if seed.activities_only {
                continue;
            }
            let wall = |minutes| {
                (at + ChronoDuration::minutes(minutes))
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string()
            };
            self.world.graph.seed_event(
                &seed.oid,
                json!({
                    "subject": format!("Event {i}"),
                    "start": {"dateTime": wall(45), "timeZone": "UTC"},
                    "end": {"dateTime": wall(75), "timeZone": "UTC"},
                    "body": {"contentType": "html", "content": format!("<p>Notes {i}</p>")},
                }),
            );
        }
    }

    fn counts(&self) -> RequestCounts {
        let graph = self.world.graph.requests();
        let graph_items = graph
            .iter()
            .map(|r| {
                if r.path.ends_with("/$batch") {
                    r.body
                        .as_ref()
                        .and_then(|b| b["requests"].as_array())
                        .map_or(1, Vec::len)
                } else {
                    1
                }
            })
            .sum();
        RequestCounts {
            graph: graph.len(),
            graph_items,
            erp: self.world.erp.requests().len(),
        }
    }
}

impl Respond for Controls {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let bad =
            |e: &dyn std::fmt::Display| ResponseTemplate::new(400).set_body_string(e.to_string());
        match (request.method.as_str(), request.url.path()) {
            ("POST", "/clock") => {
                match serde_json::from_value::<DateTime<Utc>>(body["now"].clone()) {
                    Ok(now) => {
                        *self.now.lock().unwrap() = now;
                        self.world.erp.set_now(now);
                        ResponseTemplate::new(204)
                    }
                    Err(e) => bad(&e),
                }
            }
            ("POST", "/seed") => match serde_json::from_value::<CalendarSeed>(body) {
                Ok(seed) => {
                    self.seed(&seed);
                    ResponseTemplate::new(204)
                }
                Err(e) => bad(&e),
            },
            ("POST", "/graph/delay") => {
                let millis = body["millis"].as_u64().unwrap_or(0);
                self.world.graph.set_delay(Duration::from_millis(millis));
                ResponseTemplate::new(204)
            }
            ("POST", "/requests/clear") => {
                self.world.graph.clear_requests();
                self.world.erp.clear_requests();
                ResponseTemplate::new(204)
            }
            ("GET", "/requests") => ResponseTemplate::new(200).set_body_json(self.counts()),
            ("GET", "/items") => {
                let oid = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "oid")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let mut items = self.world.graph.events(&oid);
                items.extend(self.world.erp.activities());
                ResponseTemplate::new(200).set_body_json(items)
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

/// The child's side: starts a world with `extra_users` besides the admin and Alice on a clock at
/// `start`, prints its [`Manifest`] and serves until stdin closes (the parent ended or died).
pub async fn serve(extra_users: usize, start: DateTime<Utc>) {
    let now = Arc::new(Mutex::new(start));
    let clock = now.clone();
    let world = Arc::new(
        World::start(
            Arc::new(move || *clock.lock().expect("the clock lock")),
            extra_users,
        )
        .await,
    );
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(Controls {
            world: world.clone(),
            now,
        })
        .mount(&server)
        .await;
    let manifest = Manifest {
        fixture: world.fixture(),
        control_url: server.uri(),
    };
    println!(
        "{}",
        serde_json::to_string(&manifest).expect("a manifest serializes")
    );
    tokio::task::spawn_blocking(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    })
    .await
    .expect("the stdin reader ends");
}

/// The parent's side: a running child that serves a world (see [`serve`]). Dropping it closes
/// the child's stdin and waits for it to end.
pub struct SimsProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    pub manifest: Manifest,
    http: reqwest::Client,
}

impl SimsProcess {
    /// Starts `command` (which must call [`serve`]) and reads its manifest.
    pub fn spawn(mut command: Command) -> std::io::Result<Self> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout was piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let manifest = serde_json::from_str(&line).map_err(|e| {
            std::io::Error::other(format!(
                "the simulators printed no manifest ({e}): {line:?}"
            ))
        })?;
        Ok(Self {
            child,
            stdin,
            manifest,
            http: reqwest::Client::new(),
        })
    }

    pub fn fixture(&self) -> &Fixture {
        &self.manifest.fixture
    }

    /// The child's process id, for reading its CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn post(&self, path: &str, body: Value) -> Result<(), String> {
        let url = format!("{}{path}", self.manifest.control_url);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("{path}: {}", response.status()))
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, String> {
        let url = format!("{}{path}", self.manifest.control_url);
        let body = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("{path}: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("{path}: {e}"))?;
        serde_json::from_slice(&body).map_err(|e| format!("{path}: {e}"))
    }

    /// Moves the simulators' clock (Entra ID's token times, ERP.net's stamps, Graph's window).
    pub async fn set_now(&self, now: DateTime<Utc>) -> Result<(), String> {
        self.post("/clock", json!({ "now": now })).await
    }

    pub async fn seed(&self, seed: &CalendarSeed) -> Result<(), String> {
        self.post("/seed", json!(seed)).await
    }

    /// Every Graph answer waits this long (see [`crate::graph::GraphSim::set_delay`]).
    pub async fn set_graph_delay(&self, delay: Duration) -> Result<(), String> {
        self.post(
            "/graph/delay",
            json!({ "millis": delay.as_millis() as u64 }),
        )
        .await
    }

    pub async fn clear_requests(&self) -> Result<(), String> {
        self.post("/requests/clear", Value::Null).await
    }

    pub async fn requests(&self) -> Result<RequestCounts, String> {
        self.get("/requests").await
    }

    /// A user's Outlook events and every ERP.net activity, as the services store them.
    pub async fn items(&self, oid: &str) -> Result<Vec<Value>, String> {
        self.get(&format!("/items?oid={oid}")).await
    }
}

impl Drop for SimsProcess {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
