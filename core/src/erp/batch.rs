//! The Domain API's `$batch` (D domain-api/data-manipulation/batch.md): reads and changesets in
//! one `multipart/mixed` request, answered part by part in the same order.
//!
//! A changeset is atomic: when one of its writes fails, the whole changeset is rolled back and
//! answered with the failing request's part only. So the connector puts every write of its own
//! in a changeset of its own (one refused item never takes its neighbours with it), and asks for
//! a write's result with a read placed right after it, outside any changeset.

use serde_json::Value;

use super::client::{ErpClient, Repeatable};
use super::error::ErpError;
use super::wire;
use crate::host::{HttpResponse, Method};

/// One request inside a batch; `path` is relative to the service root (query included).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
}

/// A top-level part of a batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Entry {
    /// A read, answered on its own.
    Read(Request),
    /// Writes that succeed or fail together.
    Changeset(Vec<Request>),
}

/// The answer to one [`Entry`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    Read(HttpResponse),
    /// Every request's answer, or the answer of the one that failed (the others were rolled back).
    Changeset(Result<Vec<HttpResponse>, HttpResponse>),
}

const BATCH_BOUNDARY: &str = "batch_mssync";
const CRLF: &str = "\r\n";

/// The batch body and its `Content-Type`. Boundaries can be fixed: JSON bodies are written on
/// one line, so no line of them starts with `--`.
pub(crate) fn encode(entries: &[Entry]) -> (String, Vec<u8>) {
    let mut out = String::new();
    let mut content_id = 0;
    for (n, entry) in entries.iter().enumerate() {
        out += &format!("--{BATCH_BOUNDARY}{CRLF}");
        match entry {
            Entry::Read(request) => write_request(&mut out, request, None),
            Entry::Changeset(requests) => {
                let boundary = format!("changeset_{n}");
                out += &format!(
                    "{}: {}; boundary={boundary}{CRLF}{CRLF}",
                    wire::CONTENT_TYPE,
                    wire::MULTIPART_MIXED
                );
                for request in requests {
                    content_id += 1;
                    out += &format!("--{boundary}{CRLF}");
                    write_request(&mut out, request, Some(content_id));
                }
                out += &format!("--{boundary}--{CRLF}");
            }
        }
    }
    out += &format!("--{BATCH_BOUNDARY}--{CRLF}");
    (
        format!("{}; boundary={BATCH_BOUNDARY}", wire::MULTIPART_MIXED),
        out.into_bytes(),
    )
}

fn write_request(out: &mut String, request: &Request, content_id: Option<u32>) {
    *out += &format!("{}: {}{CRLF}", wire::CONTENT_TYPE, wire::APPLICATION_HTTP);
    *out += &format!("{}: {}{CRLF}", wire::CONTENT_TRANSFER_ENCODING, wire::BINARY);
    if let Some(id) = content_id {
        *out += &format!("{}: {id}{CRLF}", wire::CONTENT_ID);
    }
    *out += CRLF;
    *out += &format!(
        "{} {} {}{CRLF}",
        request.method.as_str(),
        request.path,
        wire::HTTP_1_1
    );
    match &request.body {
        Some(body) => {
            *out += &format!("{}: {}{CRLF}{CRLF}", wire::CONTENT_TYPE, wire::JSON);
            *out += &body.to_string();
            *out += CRLF;
        }
        // The line break before the next delimiter belongs to it (RFC 2046): one more keeps
        // the empty line that ends the head.
        None => *out += &format!("{}: {}{CRLF}{CRLF}{CRLF}", wire::ACCEPT, wire::JSON),
    }
}

fn malformed(what: &str) -> ErpError {
    ErpError::Malformed(format!("$batch answer: {what}"))
}

/// The boundary of a `multipart/mixed` content type.
fn boundary_of(content_type: &str) -> Option<String> {
    let parsed: mime::Mime = content_type.trim().parse().ok()?;
    if parsed.type_() != mime::MULTIPART || parsed.subtype() != "mixed" {
        return None;
    }
    parsed
        .get_param(mime::BOUNDARY)
        .map(|b| b.as_str().to_owned())
}

/// The parts of a multipart body (each its headers and content), without preamble or epilogue.
/// A delimiter is a line `--boundary` (closing: `--boundary--`); the line break before it is
/// part of it (RFC 2046 §5.1.1). Lines may end in CRLF or LF.
fn split<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<&'a [u8]>, ErpError> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut open: Option<usize> = None;
    let mut pos = 0;
    while pos < body.len() {
        let end = body[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body.len(), |i| pos + i);
        let line = body[pos..end].strip_suffix(b"\r").unwrap_or(&body[pos..end]);
        if let Some(rest) = line.strip_prefix(delimiter.as_bytes()) {
            let rest = rest.trim_ascii_end();
            if rest.is_empty() || rest == b"--" {
                if let Some(start) = open {
                    let mut stop = pos.max(start);
                    if stop > start && body[stop - 1] == b'\n' {
                        stop -= 1;
                        if stop > start && body[stop - 1] == b'\r' {
                            stop -= 1;
                        }
                    }
                    parts.push(&body[start..stop]);
                }
                if rest == b"--" {
                    return Ok(parts);
                }
                open = Some((end + 1).min(body.len()));
            }
        }
        pos = end + 1;
    }
    Err(malformed("no closing delimiter"))
}

/// A part's headers (name, value) and its content.
/// A part's or a request's headers, (name, value) in order.
type Headers = Vec<(String, String)>;

fn headers_and_content(part: &[u8]) -> Result<(Headers, &[u8]), ErpError> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    match httparse::parse_headers(part, &mut headers) {
        Ok(httparse::Status::Complete((offset, parsed))) => Ok((
            parsed
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).trim().to_owned(),
                    )
                })
                .collect(),
            &part[offset..],
        )),
        _ => Err(malformed("a part's headers")),
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An `application/http` part: the response it carries. A failed part's body comes in OData's
/// `{"error": {...}}` envelope; it is unwrapped, so [`ErpError::from_response`] reads it as any
/// other ERP.net error body.
fn response_of(content: &[u8]) -> Result<HttpResponse, ErpError> {
    // A bodiless answer may end right after its head: the line break that would end it is the
    // next delimiter's (D batch.md writes its GETs that way).
    let has_end = content.windows(2).any(|w| w == b"\n\n")
        || content.windows(4).any(|w| w == b"\r\n\r\n");
    let content = match has_end {
        true => content.to_vec(),
        false => [content, b"\r\n\r\n"].concat(),
    };
    let content = content.as_slice();
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut headers);
    let offset = match parsed.parse(content) {
        Ok(httparse::Status::Complete(offset)) => offset,
        _ => return Err(malformed("a part's status line")),
    };
    let status = parsed.code.ok_or_else(|| malformed("a part's status"))?;
    let mut body = content[offset..].to_vec();
    if let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(&body)
        && let Some(Value::Object(inner)) = map.remove(wire::ERROR_ENVELOPE)
        && map.is_empty()
    {
        body = serde_json::to_vec(&inner).expect("a JSON object serializes");
    }
    Ok(HttpResponse {
        status,
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).trim().to_owned(),
                )
            })
            .collect(),
        body,
    })
}

/// The answers to `entries`, from the batch response's `Content-Type` and body.
pub(crate) fn decode(
    content_type: &str,
    body: &[u8],
    entries: &[Entry],
) -> Result<Vec<Answer>, ErpError> {
    let boundary = boundary_of(content_type).ok_or_else(|| malformed("not multipart/mixed"))?;
    let parts = split(body, &boundary)?;
    if parts.len() != entries.len() {
        return Err(malformed("not one answer per request"));
    }
    parts
        .into_iter()
        .zip(entries)
        .map(|(part, entry)| {
            let (headers, content) = headers_and_content(part)?;
            let kind = header(&headers, wire::CONTENT_TYPE).unwrap_or("");
            match (entry, boundary_of(kind)) {
                (Entry::Read(_), None) => response_of(content).map(Answer::Read),
                (Entry::Changeset(requests), Some(inner)) => {
                    let answers = split(content, &inner)?
                        .into_iter()
                        .map(|p| headers_and_content(p).and_then(|(_, c)| response_of(c)))
                        .collect::<Result<Vec<_>, _>>()?;
                    if let Some(failed) = answers.iter().find(|a| !a.is_success()) {
                        return Ok(Answer::Changeset(Err(failed.clone())));
                    }
                    if answers.len() != requests.len() {
                        return Err(malformed("a changeset without all its answers"));
                    }
                    Ok(Answer::Changeset(Ok(answers)))
                }
                // A changeset refused as a whole may be answered with a single response.
                (Entry::Changeset(_), None) => {
                    let answer = response_of(content)?;
                    if answer.is_success() {
                        return Err(malformed("a changeset answered by one success"));
                    }
                    Ok(Answer::Changeset(Err(answer)))
                }
                (Entry::Read(_), Some(_)) => Err(malformed("a read answered as a changeset")),
            }
        })
        .collect()
}

/// How many top-level parts the entries take (what [`wire::BATCH_MAX_PARTS`] limits).
pub(crate) fn chunks<T>(items: Vec<(T, Vec<Entry>)>) -> Vec<Vec<(T, Vec<Entry>)>> {
    let mut out: Vec<Vec<(T, Vec<Entry>)>> = Vec::new();
    let mut used = 0;
    for item in items {
        let size = item.1.len();
        if out.is_empty() || used + size > wire::BATCH_MAX_PARTS {
            out.push(Vec::new());
            used = 0;
        }
        used += size;
        out.last_mut().expect("just pushed").push(item);
    }
    out
}

impl ErpClient {
    /// A request path relative to the service root, as a batch part names it.
    pub(crate) fn relative(&self, path: &str, query: &[(&str, String)]) -> String {
        let url = self.url(path, query);
        url.strip_prefix(&self.config.base_url)
            .map(str::to_owned)
            .unwrap_or(url)
    }

    /// Sends `entries` as one `$batch` and returns one answer per entry. `repeatable` says
    /// whether the whole batch may be sent again after a broken connection.
    pub(crate) async fn batch(
        &self,
        entries: &[Entry],
        repeatable: Repeatable,
    ) -> Result<Vec<Answer>, ErpError> {
        let (content_type, body) = encode(entries);
        let url = self.url(wire::BATCH, &[]);
        let response = self
            .send_raw(
                Method::Post,
                url,
                Some((content_type, body)),
                wire::MULTIPART_MIXED,
                repeatable,
            )
            .await?;
        if !response.is_success() {
            return Err(ErpError::from_response(&response));
        }
        let content_type = response
            .header(wire::CONTENT_TYPE)
            .ok_or_else(|| malformed("no Content-Type"))?;
        decode(content_type, &response.body, entries)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(path: &str) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
            body: None,
        }
    }

    #[test]
    fn a_batch_is_written_as_the_documented_example_is() {
        let entries = vec![
            Entry::Changeset(vec![Request {
                method: Method::Post,
                path: "General_Activities_Activities".into(),
                body: Some(json!({"Subject": "a"})),
            }]),
            Entry::Read(read("General_Activities_Activities(1)")),
        ];
        let (kind, body) = encode(&entries);
        assert_eq!(kind, "multipart/mixed; boundary=batch_mssync");
        insta::assert_snapshot!(String::from_utf8(body).unwrap().replace("\r\n", "\n"), @r#"
        --batch_mssync
        Content-Type: multipart/mixed; boundary=changeset_0

        --changeset_0
        Content-Type: application/http
        Content-Transfer-Encoding: binary
        Content-ID: 1

        POST General_Activities_Activities HTTP/1.1
        Content-Type: application/json

        {"Subject":"a"}
        --changeset_0--
        --batch_mssync
        Content-Type: application/http
        Content-Transfer-Encoding: binary

        GET General_Activities_Activities(1) HTTP/1.1
        Accept: application/json


        --batch_mssync--
        "#);
    }

    /// The response of D batch.md, cut to two reads and the failed changeset (LF line ends, as
    /// the page shows it).
    #[test]
    fn the_documented_answer_reads_as_two_reads_and_a_failed_changeset() {
        let body = "--batchresponse_cd29\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nHTTP/1.1 200 OK\nContent-Type: application/json\nOData-Version: 4.0\n\n{\"value\":[]}\n--batchresponse_cd29\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nHTTP/1.1 200 OK\nContent-Type: application/json\n\n{\"value\":[1]}\n--batchresponse_cd29\nContent-Type: multipart/mixed; boundary=changesetresponse_9830\n\n--changesetresponse_9830\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 1\n\nHTTP/1.1 500 Internal Server Error\nContent-Type: application/json\n\n{\"error\":{\"message\":\"An error\",\"code\":2029,\"type\":\"Aloe.EnterpriseOne.Server.ServerAPI.Exceptions.EnterpriseOneServerException\",\"info\":\"...skipped\",\"messageFormat\":null,\"parameters\":null}}\n--changesetresponse_9830--\n--batchresponse_cd29--\n";
        let entries = vec![
            Entry::Read(read("a")),
            Entry::Read(read("b")),
            Entry::Changeset(vec![read("c"), read("d"), read("e")]),
        ];
        let answers = decode(
            "multipart/mixed; boundary=batchresponse_cd29",
            body.as_bytes(),
            &entries,
        )
        .unwrap();
        let Answer::Read(second) = &answers[1] else {
            panic!("a read")
        };
        assert_eq!((second.status, second.body.as_slice()), (200, &b"{\"value\":[1]}"[..]));
        let Answer::Changeset(Err(failed)) = &answers[2] else {
            panic!("a failed changeset")
        };
        assert_eq!(failed.status, 500);
        assert_eq!(
            ErpError::from_response(failed),
            ErpError::Remote {
                status: 500,
                code: Some("2029".into()),
                kind: Some(
                    "Aloe.EnterpriseOne.Server.ServerAPI.Exceptions.EnterpriseOneServerException"
                        .into()
                ),
            }
        );
    }

    #[test]
    fn a_missing_answer_or_closing_delimiter_is_malformed() {
        let entries = vec![Entry::Read(read("a")), Entry::Read(read("b"))];
        let one = "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n--b--\r\n";
        assert!(decode("multipart/mixed; boundary=b", one.as_bytes(), &entries).is_err());
        let open = "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n";
        assert!(decode("multipart/mixed; boundary=b", open.as_bytes(), &entries).is_err());
        assert!(decode("application/json", b"{}", &entries).is_err());
    }

    #[test]
    fn chunks_keep_an_items_parts_together() {
        let items: Vec<(usize, Vec<Entry>)> = (0..120)
            .map(|i| (i, vec![Entry::Read(read("a")), Entry::Read(read("b"))]))
            .collect();
        let chunks = chunks(items);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [50, 50, 20]
        );
    }
}
