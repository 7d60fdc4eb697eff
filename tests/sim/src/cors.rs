//! CORS on every simulator, as the real services answer browsers: a preflight (`OPTIONS`) is
//! allowed for any origin, method and requested headers, and every answer lets the page read it,
//! including the headers MsSync acts on (`Retry-After`, `Location`).

use wiremock::{Request, Respond, ResponseTemplate};

/// Wraps a simulator's responder with CORS.
pub struct Cors<R>(pub R);

const EXPOSED: &str = "Retry-After, Location, Content-Type, request-id, client-request-id";

impl<R: Respond> Respond for Cors<R> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.method.as_str() == "OPTIONS" {
            let asked = request
                .headers
                .get("access-control-request-headers")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("*")
                .to_owned();
            return ResponseTemplate::new(204)
                .insert_header("Access-Control-Allow-Origin", "*")
                .insert_header(
                    "Access-Control-Allow-Methods",
                    "GET, POST, PUT, PATCH, DELETE, OPTIONS",
                )
                .insert_header("Access-Control-Allow-Headers", asked.as_str())
                .insert_header("Access-Control-Max-Age", "600");
        }
        self.0
            .respond(request)
            .insert_header("Access-Control-Allow-Origin", "*")
            .insert_header("Access-Control-Expose-Headers", EXPOSED)
    }
}
