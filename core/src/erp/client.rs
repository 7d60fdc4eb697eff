//! The Domain API client: URLs with context parameters, authentication with one re-try on 401,
//! throttling through `send_with_retry`, and `@odata.nextLink` paging.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::auth::ErpAuth;
use super::error::ErpError;
use super::filter::{Filter, Guid, Literal};
use super::wire;
use crate::host::{
    Clock, HttpClient, HttpRequest, HttpResponse, Method, RetryPolicy, send_with_retry,
};
use crate::model::tz::Zone;

/// Largest page ERP.net serves for sync reads.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The most pages of one query MsSync follows: a million objects at the largest page size, far
/// beyond a calendar, so a paging that never ends is stopped.
const MAX_PAGES: usize = 1_000;

/// How the instance stores `StartTime`, `EndTime` and the other document times. Fields ending
/// in `Utc` are UTC whatever this says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TimeBasis {
    /// The values are UTC instants (the default).
    #[default]
    Utc,
    /// The values are wall-clock times in this zone. ERP.net still writes them with a `Z`
    /// (as it does for date-only values), so the suffix is ignored on read and kept on write.
    Zone(Zone),
}

impl TimeBasis {
    /// The instant of a document time as ERP.net wrote it.
    pub fn read(&self, text: &str) -> Result<DateTime<Utc>, ErpError> {
        let bad = || ErpError::Malformed("a date-time".into());
        match self {
            TimeBasis::Utc => DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| parse_wall_clock(text).map(|t| t.and_utc()))
                .map_err(|_| bad()),
            TimeBasis::Zone(zone) => parse_wall_clock(text)
                .map(|local| zone.to_instant(local))
                .map_err(|_| bad()),
        }
    }

    /// How ERP.net expects a document time to be written.
    pub fn write(&self, instant: DateTime<Utc>) -> String {
        match self {
            TimeBasis::Utc => instant.to_rfc3339_opts(SecondsFormat::Secs, true),
            TimeBasis::Zone(zone) => zone
                .to_local(instant)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        }
    }

    /// A filter literal for a document time.
    pub fn literal(&self, instant: DateTime<Utc>) -> Literal {
        match self {
            TimeBasis::Utc => Literal::Instant(instant),
            // Same text as `write`: the instant of the wall-clock time read as UTC.
            TimeBasis::Zone(zone) => Literal::Instant(zone.to_local(instant).and_utc()),
        }
    }
}

/// The wall-clock part of an ERP.net date-time, whatever offset follows it.
fn parse_wall_clock(text: &str) -> Result<NaiveDateTime, chrono::ParseError> {
    let t = text.trim();
    let cut = t
        .char_indices()
        .skip(19)
        .find(|(_, c)| matches!(c, 'Z' | 'z' | '+' | '-'))
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    NaiveDateTime::parse_from_str(&t[..cut], "%Y-%m-%dT%H:%M:%S%.f")
}

/// ERP.net context parameters sent with every request (`CurrentEnterpriseCompanyId`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErpContext {
    pub enterprise_company: Option<Guid>,
    pub enterprise_company_location: Option<Guid>,
}

/// Settings of one ERP.net instance.
#[derive(Debug, Clone)]
pub struct ErpConfig {
    /// The OData service root, e.g. `https://acme.my.erp.net/api/domain/odata/`.
    pub base_url: String,
    pub time_basis: TimeBasis,
    pub context: ErpContext,
    /// Items per page, at most [`MAX_PAGE_SIZE`].
    pub page_size: u32,
    /// How far before the watermark an incremental pull starts again.
    pub overlap: Duration,
    pub retry: RetryPolicy,
    /// How long the host may wait for one answer.
    pub request_timeout: Duration,
}

impl ErpConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        let mut base_url = base_url.into();
        if !base_url.ends_with('/') {
            base_url.push('/');
        }
        Self {
            base_url,
            time_basis: TimeBasis::Utc,
            context: ErpContext::default(),
            page_size: MAX_PAGE_SIZE,
            overlap: Duration::from_secs(5 * 60),
            retry: RetryPolicy::default(),
            // The host default: long enough for a page of 1000 activities.
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// What to read of an entity set.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub filter: Filter,
    pub select: Vec<&'static str>,
    /// `$expand` items, e.g. `Participants($select=Id,Email)`.
    pub expand: Vec<&'static str>,
}

/// The ERP.net Domain API connector.
#[derive(Clone)]
pub struct ErpClient {
    pub(crate) http: Arc<dyn HttpClient>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) auth: ErpAuth,
    pub(crate) config: ErpConfig,
}

/// Whether a request may be repeated after a broken connection: reads and find-or-create may,
/// a PATCH with `ObjectVersion` may not (a lost answer would read as a stale version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeatable {
    Yes,
    No,
}

impl ErpClient {
    pub fn new(
        http: Arc<dyn HttpClient>,
        clock: Arc<dyn Clock>,
        auth: ErpAuth,
        config: ErpConfig,
    ) -> Result<Self, ErpError> {
        let base = url::Url::parse(&config.base_url)
            .map_err(|_| ErpError::BadConfig("the ERP.net base URL is not a URL".into()))?;
        if !matches!(base.scheme(), "https" | "http") {
            return Err(ErpError::BadConfig(
                "the ERP.net base URL must be http(s)".into(),
            ));
        }
        Ok(Self {
            http,
            clock,
            auth,
            config,
        })
    }

    pub fn config(&self) -> &ErpConfig {
        &self.config
    }

    /// `base_url` + `path`, with the query and the context parameters.
    pub(crate) fn url(&self, path: &str, query: &[(&str, String)]) -> String {
        let mut url = url::Url::parse(&self.config.base_url)
            .and_then(|base| base.join(path))
            .expect("the base URL is checked by ErpClient::new and paths are ours");
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
            if let Some(id) = &self.config.context.enterprise_company {
                pairs.append_pair(wire::CURRENT_ENTERPRISE_COMPANY_ID, id.as_str());
            }
            if let Some(id) = &self.config.context.enterprise_company_location {
                pairs.append_pair(wire::CURRENT_ENTERPRISE_COMPANY_LOCATION_ID, id.as_str());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url.to_string()
    }

    /// Sends a request with authentication: a 401 invalidates the token and tries once more.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        repeatable: Repeatable,
    ) -> Result<HttpResponse, ErpError> {
        let body = body.map(|b| {
            (
                wire::JSON.to_owned(),
                serde_json::to_vec(b).expect("a JSON value always serializes"),
            )
        });
        self.send_with(method, url, body, wire::JSON, headers, repeatable)
            .await
    }

    /// [`ErpClient::send`] with a body of any type (`(content type, bytes)`) and `accept`.
    pub(crate) async fn send_raw(
        &self,
        method: Method,
        url: String,
        body: Option<(String, Vec<u8>)>,
        accept: &str,
        repeatable: Repeatable,
    ) -> Result<HttpResponse, ErpError> {
        self.send_with(method, url, body, accept, &[], repeatable)
            .await
    }

    async fn send_with(
        &self,
        method: Method,
        url: String,
        body: Option<(String, Vec<u8>)>,
        accept: &str,
        headers: &[(&str, &str)],
        repeatable: Repeatable,
    ) -> Result<HttpResponse, ErpError> {
        let mut policy = self.config.retry.clone();
        policy.retry_transport &= repeatable == Repeatable::Yes;
        let build = |token: Option<&str>| {
            let mut request = HttpRequest::new(method, url.clone())
                .header(wire::ACCEPT, accept)
                .header(wire::ODATA_VERSION, wire::ODATA_VERSION_4);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(token) = token {
                request = request.header(wire::AUTHORIZATION, format!("Bearer {token}"));
            }
            if let Some((content_type, bytes)) = &body {
                request = request.header(wire::CONTENT_TYPE, content_type.as_str());
                request.body = bytes.clone();
            }
            request.timeout = self.config.request_timeout;
            request
        };
        let source = match &self.auth {
            ErpAuth::Host => {
                let response =
                    send_with_retry(&*self.http, &*self.clock, &policy, build(None)).await?;
                return match response.status {
                    401 => Err(ErpError::Unauthorized),
                    _ => Ok(response),
                };
            }
            ErpAuth::Bearer(source) => source,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = source.token().await.map_err(token_error)?;
            let response =
                send_with_retry(&*self.http, &*self.clock, &policy, build(Some(&token))).await?;
            if response.status != 401 {
                return Ok(response);
            }
            source.invalidate(&token).await;
            if attempt >= 2 {
                return Err(ErpError::Unauthorized);
            }
        }
    }

    /// Sends and requires a success.
    pub(crate) async fn send_ok(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        repeatable: Repeatable,
    ) -> Result<HttpResponse, ErpError> {
        let response = self.send(method, url, body, headers, repeatable).await?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(ErpError::from_response(&response))
        }
    }

    /// A link ERP.net gave us is followed only within the configured service root (same
    /// scheme, host and port, under its path), so a bearer token, or the host's own credentials
    /// in host-authenticated mode, never go anywhere else.
    fn check_link(&self, link: &url::Url) -> Result<(), ErpError> {
        let base = url::Url::parse(&self.config.base_url)
            .map_err(|_| ErpError::BadConfig("the Domain API URL is not a URL".into()))?;
        if link.origin() != base.origin() || !link.path().starts_with(base.path()) {
            return Err(ErpError::UntrustedLink("a link to another address"));
        }
        Ok(())
    }

    /// Every object the query matches, page by page (`$top` then `@odata.nextLink`).
    pub async fn get_all(&self, entity_set: &str, query: &Query) -> Result<Vec<Value>, ErpError> {
        let mut params = Vec::new();
        if !query.filter.is_empty() {
            params.push((wire::FILTER, query.filter.render()));
        }
        if !query.select.is_empty() {
            params.push((wire::SELECT, query.select.join(",")));
        }
        if !query.expand.is_empty() {
            params.push((wire::EXPAND, query.expand.join(",")));
        }
        params.push((
            wire::TOP,
            self.config.page_size.clamp(1, MAX_PAGE_SIZE).to_string(),
        ));
        let mut next = Some(self.url(entity_set, &params));
        let mut items = Vec::new();
        let mut followed = std::collections::HashSet::new();
        while let Some(url) = next.take() {
            if followed.len() >= MAX_PAGES {
                return Err(ErpError::UntrustedLink("more pages than MsSync reads"));
            }
            let response = self
                .send_ok(Method::Get, url.clone(), None, &[], Repeatable::Yes)
                .await?;
            let mut page: Value = serde_json::from_slice(&response.body)
                .map_err(|_| ErpError::Malformed("a page of results".into()))?;
            match page.get_mut(wire::VALUE).map(Value::take) {
                Some(Value::Array(values)) => items.extend(values),
                _ => return Err(ErpError::Malformed("a page without a value array".into())),
            }
            if let Some(link) = page.get(wire::ODATA_NEXT_LINK).and_then(Value::as_str) {
                // The link may be relative to the service root; wherever it points, it is
                // followed (with our credentials) only within the service.
                let resolved = url::Url::parse(&url)
                    .and_then(|current| current.join(link))
                    .map_err(|_| ErpError::Malformed("@odata.nextLink".into()))?;
                self.check_link(&resolved)?;
                let resolved = resolved.to_string();
                if !followed.insert(resolved.clone()) {
                    return Err(ErpError::UntrustedLink("a page linking back to itself"));
                }
                next = Some(resolved);
            }
        }
        Ok(items)
    }

    /// One object by key.
    pub async fn get_one(
        &self,
        entity_set: &str,
        id: &Guid,
        query: &Query,
    ) -> Result<Value, ErpError> {
        let mut params = Vec::new();
        if !query.select.is_empty() {
            params.push((wire::SELECT, query.select.join(",")));
        }
        if !query.expand.is_empty() {
            params.push((wire::EXPAND, query.expand.join(",")));
        }
        let url = self.url(&format!("{entity_set}({id})"), &params);
        let response = self
            .send_ok(Method::Get, url, None, &[], Repeatable::Yes)
            .await?;
        serde_json::from_slice(&response.body).map_err(|_| ErpError::Malformed("an object".into()))
    }
}

/// A token ERP.net's requests could not get, as the connector reports it.
fn token_error(error: crate::identity::TokenError) -> ErpError {
    use crate::identity::{IdentityError, TokenError};
    match error {
        TokenError::Erp(e) => e,
        TokenError::Identity(IdentityError::Throttled { until }) => {
            ErpError::Throttled { status: 429, until }
        }
        TokenError::Identity(IdentityError::Transport(e)) => ErpError::Transport(e),
        TokenError::Identity(_) => ErpError::Unauthorized,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn utc_basis_reads_offsets_and_bare_times() {
        let b = TimeBasis::Utc;
        let t = Utc.with_ymd_and_hms(2026, 3, 30, 6, 0, 0).unwrap();
        assert_eq!(b.read("2026-03-30T06:00:00Z").unwrap(), t);
        assert_eq!(b.read("2026-03-30T09:00:00+03:00").unwrap(), t);
        assert_eq!(b.read("2026-03-30T06:00:00").unwrap(), t);
        assert_eq!(b.write(t), "2026-03-30T06:00:00Z");
        assert!(b.read("soon").is_err());
    }

    #[test]
    fn zone_basis_keeps_the_wall_clock() {
        let b = TimeBasis::Zone(Zone::parse("Europe/Sofia").unwrap());
        let t = Utc.with_ymd_and_hms(2026, 3, 30, 6, 0, 0).unwrap();
        assert_eq!(b.read("2026-03-30T09:00:00Z").unwrap(), t);
        assert_eq!(b.read("2026-03-30T09:00:00.000").unwrap(), t);
        assert_eq!(b.write(t), "2026-03-30T09:00:00Z");
        assert_eq!(
            b.literal(t),
            Literal::Instant(Utc.with_ymd_and_hms(2026, 3, 30, 9, 0, 0).unwrap())
        );
    }
}
