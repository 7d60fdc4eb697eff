//! `POST $batch` as D domain-api/data-manipulation/batch.md describes it, and no more: a
//! `multipart/mixed` body of top-level reads (`application/http` parts holding a `GET`) and
//! changesets (nested `multipart/mixed` parts holding writes, each with a `Content-ID`); every
//! part carries `Content-Transfer-Encoding: binary`. A changeset is atomic: when one write
//! fails, the changeset's earlier writes are rolled back and its answer holds the failing part
//! only, its body in OData's `{"error": {...}}` envelope. Later requests of a changeset may name
//! an object an earlier one created as `$<Content-ID>`. Anything else (a write outside a
//! changeset, a read inside one, a nested changeset, a part without its headers, more than
//! `BATCH_MAX_PARTS` parts, the limit MsSync assumes) is refused as a whole.

use serde_json::{Value, json};
use wiremock::Request;
use wiremock::http::{HeaderMap, HeaderName, HeaderValue, Method};

use mssync_core::wire::erp as wire;

use super::State;
use super::handler::{Reply, erp_error};

/// What the next `$batch` meets (a queue of its own: other requests do not consume it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchFault {
    /// The changeset at this position (counted among changesets, modulo their number) fails
    /// with a 500 at its last write and is rolled back; the others are carried out.
    FailItem { changeset: usize },
    /// The batch is carried out, then answered with this status: the writes happened, the
    /// answer is lost.
    LostAnswer { status: u16 },
}

/// One request of a part, as parsed.
struct PartRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A top-level part.
enum Part {
    Read(PartRequest),
    Changeset(Vec<(String, PartRequest)>),
}

fn refuse(message: &str) -> Reply {
    erp_error(400, message, "ODataException")
}

fn boundary_of(content_type: &str) -> Option<String> {
    let parsed: mime::Mime = content_type.trim().parse().ok()?;
    (parsed.type_() == mime::MULTIPART && parsed.subtype() == "mixed")
        .then(|| parsed.get_param(mime::BOUNDARY).map(|b| b.to_string()))
        .flatten()
}

/// The parts between `--boundary` lines up to `--boundary--` (RFC 2046 §5.1.1).
fn split<'a>(body: &'a [u8], boundary: &str) -> Option<Vec<&'a [u8]>> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut open = None;
    let mut pos = 0;
    while pos < body.len() {
        let end = body[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| pos + i);
        let line = body[pos..end]
            .strip_suffix(b"\r")
            .unwrap_or(&body[pos..end]);
        if let Some(rest) = line.strip_prefix(delimiter.as_bytes()) {
            let rest = rest.trim_ascii_end();
            if rest.is_empty() || rest == b"--" {
                if let Some(start) = open {
                    let mut stop: usize = pos;
                    for byte in [b'\n', b'\r'] {
                        if stop > start && body[stop - 1] == byte {
                            stop -= 1;
                        }
                    }
                    parts.push(&body[start..stop]);
                }
                if rest == b"--" {
                    return Some(parts);
                }
                open = Some((end + 1).min(body.len()));
            }
        }
        pos = end + 1;
    }
    None
}

type Headers = Vec<(String, String)>;

fn headers_and_content(part: &[u8]) -> Option<(Headers, &[u8])> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    match httparse::parse_headers(part, &mut headers).ok()? {
        httparse::Status::Complete((offset, parsed)) => Some((
            parsed
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).trim().to_owned(),
                    )
                })
                .collect(),
            &part[offset..],
        )),
        httparse::Status::Partial => None,
    }
}

fn header<'h>(headers: &'h Headers, name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An `application/http` part with `Content-Transfer-Encoding: binary` and its request.
fn request_of(headers: &Headers, content: &[u8]) -> Result<PartRequest, Reply> {
    if header(headers, wire::CONTENT_TYPE) != Some(wire::APPLICATION_HTTP)
        || header(headers, wire::CONTENT_TRANSFER_ENCODING) != Some(wire::BINARY)
    {
        return Err(refuse(
            "A batch part must be application/http with Content-Transfer-Encoding: binary.",
        ));
    }
    // A bodiless request may end right after its head (D batch.md's GETs do): the line break
    // that would end the head is the next delimiter's.
    let has_end =
        content.windows(2).any(|w| w == b"\n\n") || content.windows(4).any(|w| w == b"\r\n\r\n");
    let content = match has_end {
        true => content.to_vec(),
        false => [content, b"\r\n\r\n"].concat(),
    };
    let content = content.as_slice();
    let mut parsed_headers = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Request::new(&mut parsed_headers);
    let offset = match parsed.parse(content) {
        Ok(httparse::Status::Complete(offset)) => offset,
        _ => return Err(refuse("A batch part holds no HTTP request.")),
    };
    let (Some(method), Some(path)) = (parsed.method, parsed.path) else {
        return Err(refuse("A batch part holds no HTTP request."));
    };
    if parsed.version != Some(1) || path.starts_with('/') || path.contains("://") {
        return Err(refuse(
            "A batch request is HTTP/1.1 with a URL relative to the service root.",
        ));
    }
    Ok(PartRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).trim().to_owned(),
                )
            })
            .collect(),
        body: content[offset..].trim_ascii_end().to_vec(),
    })
}

fn parse(request: &Request) -> Result<Vec<Part>, Reply> {
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = boundary_of(content_type)
        .ok_or_else(|| refuse("A batch request must be multipart/mixed with a boundary."))?;
    let parts = split(&request.body, &boundary)
        .ok_or_else(|| refuse("The batch body does not close its boundary."))?;
    if parts.len() > wire::BATCH_MAX_PARTS {
        return Err(refuse("Too many parts in one batch."));
    }
    let mut out = Vec::new();
    for part in parts {
        let (headers, content) =
            headers_and_content(part).ok_or_else(|| refuse("A batch part without headers."))?;
        let inner = header(&headers, wire::CONTENT_TYPE).and_then(boundary_of);
        let Some(inner) = inner else {
            let read = request_of(&headers, content)?;
            if read.method != "GET" {
                return Err(refuse("Writes go in a changeset."));
            }
            out.push(Part::Read(read));
            continue;
        };
        let mut writes = Vec::new();
        for write in split(content, &inner)
            .ok_or_else(|| refuse("A changeset does not close its boundary."))?
        {
            let (headers, content) = headers_and_content(write)
                .ok_or_else(|| refuse("A changeset part without headers."))?;
            let id = header(&headers, wire::CONTENT_ID)
                .ok_or_else(|| refuse("A changeset request without Content-ID."))?
                .to_owned();
            let write = request_of(&headers, content)?;
            if write.method == "GET" {
                return Err(refuse("A changeset holds writes only."));
            }
            if writes.iter().any(|(other, _)| *other == id) {
                return Err(refuse("A Content-ID is used twice."));
            }
            writes.push((id, write));
        }
        if writes.is_empty() {
            return Err(refuse("An empty changeset."));
        }
        out.push(Part::Changeset(writes));
    }
    Ok(out)
}

/// What the request log keeps of a batch: its requests, with JSON bodies.
pub(crate) fn summary(request: &Request) -> Option<Value> {
    let show = |r: &PartRequest| {
        json!({
            "method": r.method,
            "url": r.path,
            "body": serde_json::from_slice::<Value>(&r.body).ok(),
        })
    };
    let parts = parse(request).ok()?;
    Some(Value::Array(
        parts
            .iter()
            .map(|part| match part {
                Part::Read(r) => show(r),
                Part::Changeset(writes) => {
                    json!({"changeset": writes.iter().map(|(_, w)| show(w)).collect::<Vec<_>>()})
                }
            })
            .collect(),
    ))
}

/// The wiremock request a part stands for: the batch's own credentials and context, the part's
/// method, URL, headers and body.
fn inner_request(outer: &Request, part: &PartRequest, path: &str) -> Option<Request> {
    let url = outer
        .url
        .join(&format!("{}{path}", super::ODATA_PATH))
        .ok()?;
    let mut headers = HeaderMap::new();
    for (name, value) in &outer.headers {
        if matches!(name.as_str(), "authorization" | "x-api-key") {
            headers.insert(name.clone(), value.clone());
        }
    }
    for (name, value) in &part.headers {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_str(value).ok()?,
        );
    }
    Some(Request {
        url,
        method: Method::from_bytes(part.method.as_bytes()).ok()?,
        headers,
        body: part.body.clone(),
    })
}

/// An answer as a part: `HTTP/1.1 <status>`, its headers and body; a failure's body in OData's
/// `error` envelope, as D batch.md shows it.
fn answer_part(out: &mut String, reply: &Reply, content_id: Option<&str>) {
    out.push_str(&format!(
        "{}: {}\r\n{}: {}\r\n",
        wire::CONTENT_TYPE,
        wire::APPLICATION_HTTP,
        wire::CONTENT_TRANSFER_ENCODING,
        wire::BINARY
    ));
    if let Some(id) = content_id {
        out.push_str(&format!("{}: {id}\r\n", wire::CONTENT_ID));
    }
    out.push_str(&format!(
        "\r\nHTTP/1.1 {} {}\r\n",
        reply.status,
        reason(reply.status)
    ));
    let mut body = reply.body.clone();
    if !reply.is_success()
        && let Ok(error) = serde_json::from_slice::<Value>(&body)
    {
        body = serde_json::to_vec(&json!({ wire::ERROR_ENVELOPE: error })).expect("JSON");
    }
    if !body.is_empty() {
        out.push_str("Content-Type: application/json\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&String::from_utf8_lossy(&body));
    out.push_str("\r\n");
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Error",
    }
}

/// Carries out a `$batch`; `dispatch` answers one request as the API would on its own.
pub(crate) fn batch(
    state: &mut State,
    request: &Request,
    mut dispatch: impl FnMut(&mut State, &Request, &str) -> Reply,
) -> Reply {
    if request.method.as_str() != "POST" {
        return erp_error(
            500,
            "The operation is not supported.",
            "NotSupportedException",
        );
    }
    let parts = match parse(request) {
        Ok(parts) => parts,
        Err(reply) => return reply,
    };
    let fault = state.batch_faults.pop_front();
    let changesets = parts
        .iter()
        .filter(|p| matches!(p, Part::Changeset(_)))
        .count();
    let failing = match fault {
        Some(BatchFault::FailItem { changeset }) if changesets > 0 => Some(changeset % changesets),
        _ => None,
    };
    let boundary = "batchresponse_sim";
    let mut out = String::new();
    let mut changeset_no = 0;
    for (n, part) in parts.iter().enumerate() {
        out.push_str(&format!("--{boundary}\r\n"));
        match part {
            Part::Read(read) => {
                let reply = match inner_request(request, read, &read.path) {
                    Some(inner) => dispatch(state, &inner, &rest_of(&inner)),
                    None => refuse("An unreadable batch request."),
                };
                answer_part(&mut out, &reply, None);
            }
            Part::Changeset(writes) => {
                let inner_boundary = format!("changesetresponse_{n}");
                out.push_str(&format!(
                    "{}: {}; boundary={inner_boundary}\r\n\r\n",
                    wire::CONTENT_TYPE,
                    wire::MULTIPART_MIXED
                ));
                let fail_this = failing == Some(changeset_no);
                changeset_no += 1;
                // Rolled back as a whole: the sets as they were before the changeset.
                let before = (writes.len() > 1).then(|| state.sets.clone());
                let mut created: Vec<(String, String)> = Vec::new();
                let mut answers = Vec::new();
                let mut failed = None;
                for (n, (id, write)) in writes.iter().enumerate() {
                    // The injected failure hits the changeset's last write, after the others
                    // were made: they are rolled back.
                    let reply = if fail_this && n + 1 == writes.len() {
                        erp_error(500, "Injected fault inside the batch.", "SimulatedFault")
                    } else {
                        let path = resolve(&write.path, &created);
                        match inner_request(request, write, &path) {
                            Some(inner) => dispatch(state, &inner, &rest_of(&inner)),
                            None => refuse("An unreadable batch request."),
                        }
                    };
                    if !reply.is_success() {
                        failed = Some((id.clone(), reply));
                        break;
                    }
                    if let Some(object) = serde_json::from_slice::<Value>(&reply.body)
                        .ok()
                        .and_then(|v| v.get("Id").and_then(Value::as_str).map(str::to_owned))
                    {
                        let set = write.path.split(['(', '?', '/']).next().unwrap_or("");
                        created.push((format!("${id}"), format!("{set}({object})")));
                    }
                    answers.push((id.clone(), reply));
                }
                if let Some((id, reply)) = failed {
                    if let Some(before) = before {
                        state.sets = before;
                    }
                    out.push_str(&format!("--{inner_boundary}\r\n"));
                    answer_part(&mut out, &reply, Some(&id));
                } else {
                    for (id, reply) in &answers {
                        out.push_str(&format!("--{inner_boundary}\r\n"));
                        answer_part(&mut out, reply, Some(id));
                    }
                }
                out.push_str(&format!("--{inner_boundary}--\r\n"));
            }
        }
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    if let Some(BatchFault::LostAnswer { status }) = fault {
        return erp_error(status, "Injected fault after the batch.", "SimulatedFault");
    }
    Reply::new(200).set_body_raw(
        out.into_bytes(),
        &format!("{}; boundary={boundary}", wire::MULTIPART_MIXED),
    )
}

/// The part of a request's path below the service root, as the handler dispatches on it.
fn rest_of(request: &Request) -> String {
    request
        .url
        .path()
        .strip_prefix(super::ODATA_PATH)
        .unwrap_or("")
        .to_owned()
}

/// `$1/...` -> the path of what request 1 created.
fn resolve(path: &str, created: &[(String, String)]) -> String {
    for (reference, target) in created {
        if let Some(rest) = path.strip_prefix(reference.as_str())
            && (rest.is_empty() || rest.starts_with(['/', '?']))
        {
            return format!("{target}{rest}");
        }
    }
    path.to_owned()
}
