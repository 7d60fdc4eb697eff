//! The page's files: the site's folder at `/`, the browser package at `/pkg/`. Only plain names
//! inside those folders are served (no `..`, no hidden files), with a strict content policy:
//! scripts and WebAssembly of this origin only, requests to this origin only.

use std::path::{Path, PathBuf};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// What every page of the site may load and call: only its own origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     form-action 'self'; base-uri 'none'";

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file `url_path` names under `root`, when it is a plain name inside it.
fn file_under(root: &Path, url_path: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    let relative = url_path.trim_start_matches('/');
    let relative = if relative.is_empty() {
        "index.html"
    } else {
        relative
    };
    for segment in relative.split('/') {
        let plain = !segment.is_empty()
            && !segment.starts_with('.')
            && !segment.contains('\\')
            && !segment.contains('\0');
        if !plain {
            return None;
        }
        path.push(segment);
    }
    Some(path)
}

/// Serves `url_path` from the site (`/pkg/...` from the package).
pub async fn serve(site_root: &Path, package: &Path, url_path: &str) -> Response {
    let file = match url_path.strip_prefix("/pkg/") {
        Some(rest) => file_under(package, rest),
        None => file_under(site_root, url_path),
    };
    let Some(file) = file else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let read = file.clone();
    match tokio::task::spawn_blocking(move || std::fs::read(read)).await {
        Ok(Ok(body)) => {
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&file)),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            response
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_inside_the_folder_are_served() {
        let root = Path::new("/site");
        assert_eq!(
            file_under(root, "/"),
            Some(PathBuf::from("/site/index.html"))
        );
        assert_eq!(
            file_under(root, "/a/main.js"),
            Some(PathBuf::from("/site/a/main.js"))
        );
        for refused in [
            "/../etc/passwd",
            "/a/../../x",
            "/.git/config",
            "/a//b",
            "/a\\..\\b",
        ] {
            assert_eq!(file_under(root, refused), None, "{refused}");
        }
    }
}
