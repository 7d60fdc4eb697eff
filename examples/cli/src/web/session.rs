//! Browser sessions of `mssync serve`: who signed in, held by the server, named by a random
//! cookie the page's script cannot read (`HttpOnly`), sent only by same-site requests
//! (`SameSite=Strict`), over TLS unless the site is on this machine (`Secure`). Every write also
//! carries the session's CSRF token in a header, which a cross-site form cannot set.
//!
//! Sessions live in this process's memory: a restart signs everyone out, and several `serve`
//! nodes behind one address need sticky routing (or a shared session table, not done here).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The session cookie.
pub const SESSION_COOKIE: &str = "mssync_session";
/// The cookie binding a sign-in under way to the browser that began it.
pub const SIGN_IN_COOKIE: &str = "mssync_signin";
/// The header every API call carries the CSRF token in.
pub const CSRF_HEADER: &str = "x-mssync-csrf";
/// How long a session lasts after sign-in, whatever its use.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a sign-in may take between the redirect out and the one back.
pub const SIGN_IN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Who a session belongs to: set once, from the sign-in the server completed itself.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub csrf_token: String,
    expires: Instant,
}

/// The sessions of this process, keyed by the hash of their cookie (the table never holds a
/// cookie value that would let a reader of memory dumps act as the user).
#[derive(Default)]
pub struct Sessions {
    by_hash: Mutex<HashMap<String, SignedIn>>,
}

impl Sessions {
    /// A new session for a user the server signed in; returns the cookie value.
    pub fn open(&self, user_id: String, name: String, email: String, is_admin: bool) -> String {
        let cookie = random_token();
        let session = SignedIn {
            user_id,
            name,
            email,
            is_admin,
            csrf_token: random_token(),
            expires: Instant::now() + SESSION_LIFETIME,
        };
        let mut table = self.by_hash.lock().expect("the session table");
        table.retain(|_, s| s.expires > Instant::now());
        table.insert(hash(&cookie), session);
        cookie
    }

    /// The live session a cookie value names.
    pub fn find(&self, cookie: &str) -> Option<SignedIn> {
        let table = self.by_hash.lock().expect("the session table");
        table
            .get(&hash(cookie))
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    pub fn close(&self, cookie: &str) {
        self.by_hash
            .lock()
            .expect("the session table")
            .remove(&hash(cookie));
    }
}

/// 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the system's random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a token, hex: what the server keeps and what binds a sign-in.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two tokens in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly` always, `Secure` unless the site is on this machine.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: Duration,
    secure: bool,
) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite={same_site}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_cookie_only_and_closes() {
        let sessions = Sessions::default();
        let cookie = sessions.open("u1".into(), "Una".into(), "u@x".into(), false);
        let found = sessions.find(&cookie).expect("the session");
        assert_eq!(found.user_id, "u1");
        assert_ne!(found.csrf_token, cookie);
        assert!(sessions.find(&random_token()).is_none());
        assert!(sessions.find("").is_none());
        sessions.close(&cookie);
        assert!(sessions.find(&cookie).is_none());
    }

    #[test]
    fn cookies_are_read_by_exact_name_and_written_with_their_attributes() {
        let header = "a=1; mssync_session=abc; mssync_session_x=def; empty=";
        assert_eq!(cookie(header, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(header, "empty"), None);
        assert_eq!(cookie(header, "missing"), None);
        let written = set_cookie("n", "v", "/", "Strict", SESSION_LIFETIME, true);
        assert_eq!(
            written,
            "n=v; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_cookie("n", "v", "/", "Lax", SIGN_IN_LIFETIME, false).contains("Secure"));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert_eq!(random_token().len(), 43);
    }
}
