//! `mssync serve`'s site for browsers, over real HTTP against the simulators: sign-in as a
//! server-side redirect, the session cookie and CSRF token, and the panels' API acting only for
//! the signed-in user, whatever a tampered request says.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::Utc;
use mssync_sim::world::{DOMAIN, World};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

const SEALING_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="; // 32 bytes, base64

struct Site {
    dir: tempfile::TempDir,
    world: World,
    base: String,
    serve: Child,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.serve.kill();
        let _ = self.serve.wait();
    }
}

fn command(dir: &Path, world: &World, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mssync"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("MSSYNC_CONFIG")
        .env("MSSYNC_ENTRA_CLIENT_SECRET", &world.client_secret)
        .env("MSSYNC_ERP_CLIENT_SECRET", &world.erp_client_secret)
        .env("MSSYNC_SEALING_KEY", SEALING_KEY)
        .env_remove("MSSYNC_STORE_PASSWORD");
    command
}

async fn run(dir: &Path, world: &World, args: &[&str]) -> String {
    let mut command = command(dir, world, args);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The simulators with two users besides the admin (Alice and User 1), the tenant connected by
/// the operator, and `mssync serve` offering the site on a loopback port.
async fn site() -> Site {
    let world = World::start(Arc::new(Utc::now), 1).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::create_dir_all(dir.path().join("site")).unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("site/index.html"), "<!doctype html><p>page").unwrap();
    std::fs::write(dir.path().join("pkg/mssync.js"), "export {};").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "not to be served").unwrap();
    let config = format!(
        r#"
mode = "application"
store = "mssync.db"
listen = "127.0.0.1:{port}"

[web]
root = "site"
package = "pkg"

[entra]
authority = "{authority}"
tenant_id = "{tenant}"
client_id = "{client}"

[graph]
base_url = "{graph}"

[erp]
domain_api_url = "{erp}"
token_endpoint = "{identity}/connect/token"
auth = "trusted_app"
trusted_app_client_id = "{erp_client}"
"#,
        authority = world.entra.authority(),
        tenant = world.tenant,
        client = world.client_id,
        graph = world.graph.base_url(),
        erp = world.erp.odata_root(),
        identity = world.erp.identity_base(),
        erp_client = world.erp_client_id,
    );
    std::fs::write(dir.path().join("mssync.toml"), config).unwrap();

    // The operator connects the tenant, as the backend's own administrator.
    run(dir.path(), &world, &["service", "set"]).await;
    let consent = run(dir.path(), &world, &["service", "consent-url"]).await;
    let back = no_redirects()
        .get(consent.trim())
        .send()
        .await
        .unwrap()
        .headers()[LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(back.contains("admin_consent=True"), "{back}");
    run(dir.path(), &world, &["service", "give-permissions"]).await;
    run(dir.path(), &world, &["service", "grant-domain", DOMAIN]).await;

    let mut serve = command(dir.path(), &world, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = serve.stderr.take().unwrap();
    let started = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        // Keep draining so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        first
    })
    .await
    .unwrap();
    assert!(started.starts_with("Serving the panels"), "{started}");
    Site {
        dir,
        world,
        base: format!("http://127.0.0.1:{port}"),
        serve,
    }
}

/// A browser's cookie jar and CSRF token after signing in as `email`.
struct Browser {
    cookie: String,
    csrf: String,
}

fn set_cookie_value(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            let value = v[name.len() + 1..].split(';').next().unwrap().to_owned();
            (value, v.to_owned())
        })
}

impl Site {
    /// Signs `email` in as a browser does: the start page, Entra ID, the redirect back.
    async fn sign_in(&self, email: &str) -> Browser {
        let client = no_redirects();
        let start = client
            .get(format!("{}/signin/start?login_hint={email}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::SEE_OTHER);
        let (binding, attributes) = set_cookie_value(&start, "mssync_signin").unwrap();
        assert!(attributes.contains("HttpOnly"), "{attributes}");
        assert!(!attributes.contains("Secure"), "loopback: {attributes}");
        let authorize = start.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(authorize.contains("code_challenge="), "PKCE: {authorize}");
        let entra = client.get(&authorize).send().await.unwrap();
        let back = entra.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(
            back.starts_with(&format!("{}/signin?", self.base)),
            "{back}"
        );
        let done = client
            .get(&back)
            .header(COOKIE, format!("mssync_signin={binding}"))
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER, "{email}");
        let (cookie, attributes) = set_cookie_value(&done, "mssync_session").unwrap();
        assert!(
            attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"),
            "{attributes}"
        );
        let session = client
            .get(format!("{}/api/session", self.base))
            .header(COOKIE, format!("mssync_session={cookie}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let session: Value = serde_json::from_str(&session).unwrap();
        assert_eq!(session["email"], email);
        assert!(
            session.get("user_id").is_none(),
            "the page is never told an id"
        );
        Browser {
            cookie,
            csrf: session["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    /// `POST /api/{path}` with the cookie and token given (either may be absent).
    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        csrf: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut request = no_redirects()
            .post(format!("{}/api/{path}", self.base))
            .body(body.to_string());
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, format!("mssync_session={cookie}"));
        }
        if let Some(csrf) = csrf {
            request = request.header("x-mssync-csrf", csrf);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn api(&self, browser: &Browser, operation: &str, body: Value) -> (StatusCode, Value) {
        self.post(
            &format!("panels/{operation}"),
            Some(&browser.cookie),
            Some(&browser.csrf),
            body,
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_session_reads_and_changes_only_their_own_panels_whatever_the_request_says() {
    let site = site().await;
    let alice = site.world.users[0].clone();
    let other = site.world.users[1].clone();
    let a = site.sign_in(&alice.email).await;
    let b = site.sign_in(&other.email).await;

    // Each sees their own Home.
    let (status, home) = site.api(&a, "home", json!({})).await;
    assert_eq!(
        (status, home["name"].clone()),
        (StatusCode::OK, json!(alice.name))
    );
    let (_, home) = site.api(&b, "home", json!({})).await;
    assert_eq!(home["name"], json!(other.name));

    // A sets up; B's forged bodies naming A are refused and change nothing.
    let (status, _) = site
        .api(
            &a,
            "set_company",
            json!({"company_id": site.world.company, "location_id": site.world.other_location}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for forged in [
        json!({"job": "calendar", "enabled": true, "user_id": alice.oid}),
        json!({"job": "calendar", "enabled": true, "userId": alice.oid}),
        json!({"job": "calendar", "enabled": true, "actor": {"kind": "host"}}),
    ] {
        let (status, error) = site.api(&b, "set_job_enabled", forged).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert_eq!(error["code_name"], "invalid_json", "{error}");
    }
    let (status, error) = site.api(&b, "home", json!({"user_id": alice.oid})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");

    // B's own switch changes B only.
    let (status, setup) = site
        .api(
            &b,
            "set_job_enabled",
            json!({"job": "calendar", "enabled": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let (_, setup_a) = site.api(&a, "setup", json!({})).await;
    assert_eq!(setup_a["jobs"][0]["enabled"], false, "{setup_a}");
    assert_eq!(setup_a["location_id"], json!(site.world.other_location));
    let (_, setup_b) = site.api(&b, "setup", json!({})).await;
    assert_eq!(setup_b["jobs"][0]["enabled"], true, "{setup_b}");
    assert_ne!(setup_b["location_id"], json!(site.world.other_location));

    // Without the cookie, without the token, with a wrong token or another session's token.
    let on = json!({"job": "calendar", "enabled": true});
    let (status, _) = site
        .post("panels/set_job_enabled", None, Some(&a.csrf), on.clone())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = site
        .post("panels/set_job_enabled", Some(&a.cookie), None, on.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = site
        .post(
            "panels/set_job_enabled",
            Some(&a.cookie),
            Some("x"),
            on.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = site
        .post(
            "panels/set_job_enabled",
            Some(&b.cookie),
            Some(&a.csrf),
            on.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = site
        .post("panels/set_job_enabled", Some("forged"), Some(&a.csrf), on)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, setup_a) = site.api(&a, "setup", json!({})).await;
    assert_eq!(setup_a["jobs"][0]["enabled"], false, "{setup_a}");

    // Operations outside the panels do not exist here; Service is for administrators only.
    let (status, _) = site.api(&b, "service", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, error) = site
        .post("service", Some(&b.cookie), Some(&b.csrf), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{error}");
    let admin = site.sign_in(&site.world.admin.email).await;
    let (status, service) = site
        .post("service", Some(&admin.cookie), Some(&admin.csrf), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{service}");
    assert_eq!(service["tenant_id"], json!(site.world.tenant));

    // Signing out ends the session.
    let (status, _) = site
        .post("signout", Some(&b.cookie), Some(&b.csrf), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = site.api(&b, "home", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_completes_only_in_the_browser_that_began_it_and_files_stay_in_their_folders() {
    let site = site().await;
    let client = no_redirects();
    let alice = site.world.users[0].clone();
    // An attacker begins a sign-in and sends the redirect back to a victim's browser, which
    // has no (or its own) binding cookie: no session is opened.
    let start = client
        .get(format!(
            "{}/signin/start?login_hint={}",
            site.base, alice.email
        ))
        .send()
        .await
        .unwrap();
    let authorize = start.headers()[LOCATION].to_str().unwrap().to_owned();
    let back = client.get(&authorize).send().await.unwrap().headers()[LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    for cookie in [None, Some("mssync_signin=someone-elses")] {
        let mut request = client.get(&back);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        assert!(set_cookie_value(&response, "mssync_session").is_none());
        assert!(response.status().is_client_error(), "{}", response.status());
        assert!(response.text().await.unwrap().contains("Sign-in failed"));
    }

    // Files: the page and the package, nothing beside them.
    let page = client.get(format!("{}/", site.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    let module = client
        .get(format!("{}/pkg/mssync.js", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        module.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/pkg/../../secret.txt",
        "/.hidden",
    ] {
        let response = client
            .get(format!("{}{path}", site.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let _ = site.dir.path();
}
