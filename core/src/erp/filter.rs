//! `$filter` as ERP.net documents it (D domain-api/querying-data/query-options/filter.md):
//! comparisons with `eq`, `ge`, `le` and `in`, the functions `equalnull` and `startswith`,
//! joined by `and`.
//!
//! ERP.net refuses `or`, so this builder has no way to say it: a query that needs a disjunction
//! is two queries (see `ErpClient::pull_activities`). There is no `eq null` either (no page
//! documents it): `equalnull(Prop,null)` says "is null". Property names are `&'static str`
//! chosen in code (the names of `super::wire`), and every value is rendered as a typed literal,
//! so data can never inject operators.

use chrono::{DateTime, SecondsFormat, Utc};

/// An ERP.net object id: a GUID, written unquoted in keys (`Set(<guid>)`) and filters.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Guid(String);

impl Guid {
    /// Accepts the 8-4-4-4-12 hex form, with or without braces; keeps it lower-case.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim().trim_start_matches('{').trim_end_matches('}');
        let groups: Vec<&str> = t.split('-').collect();
        let lengths = [8, 4, 4, 4, 12];
        let ok = groups.len() == 5
            && groups
                .iter()
                .zip(lengths)
                .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
        ok.then(|| Guid(t.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Guid {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Guid::parse(&value).ok_or_else(|| "not a GUID".to_owned())
    }
}

impl From<Guid> for String {
    fn from(g: Guid) -> Self {
        g.0
    }
}

/// A reference to an object of an entity set, as ERP.net writes it: `Set(<guid>)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityRef {
    pub entity_set: &'static str,
    pub id: Guid,
}

impl EntityRef {
    pub fn new(entity_set: &'static str, id: Guid) -> Self {
        Self { entity_set, id }
    }

    /// `Systems_Documents_DocumentTypes(<guid>)`: the form of `@odata.id` and of reference filters.
    pub fn odata_id(&self) -> String {
        format!("{}({})", self.entity_set, self.id)
    }
}

/// A value on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Guid(Guid),
    Instant(DateTime<Utc>),
    Int(i64),
    Bool(bool),
    /// An enum member by name (`State in ('Released','Closed')`).
    Enum(&'static str),
    /// A reference property compared with an object: `AssignedToUser eq 'Systems_Security_Users(<guid>)'`.
    Ref(EntityRef),
}

impl Literal {
    fn render(&self) -> String {
        let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
        match self {
            Literal::Str(s) => quoted(s),
            Literal::Guid(g) => g.to_string(),
            Literal::Instant(t) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
            Literal::Int(i) => i.to_string(),
            Literal::Bool(b) => b.to_string(),
            Literal::Enum(name) => quoted(name),
            Literal::Ref(r) => quoted(&r.odata_id()),
        }
    }
}

impl From<&str> for Literal {
    fn from(s: &str) -> Self {
        Literal::Str(s.to_owned())
    }
}
impl From<String> for Literal {
    fn from(s: String) -> Self {
        Literal::Str(s)
    }
}
impl From<Guid> for Literal {
    fn from(g: Guid) -> Self {
        Literal::Guid(g)
    }
}
impl From<DateTime<Utc>> for Literal {
    fn from(t: DateTime<Utc>) -> Self {
        Literal::Instant(t)
    }
}
impl From<bool> for Literal {
    fn from(b: bool) -> Self {
        Literal::Bool(b)
    }
}
impl From<i64> for Literal {
    fn from(i: i64) -> Self {
        Literal::Int(i)
    }
}
impl From<EntityRef> for Literal {
    fn from(r: EntityRef) -> Self {
        Literal::Ref(r)
    }
}

/// A conjunction of comparisons. There is deliberately no `or`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    clauses: Vec<String>,
}

impl Filter {
    pub fn new() -> Self {
        Self::default()
    }

    fn check(property: &'static str) {
        debug_assert!(
            property
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'/'),
            "property names come from code"
        );
    }

    fn push(mut self, property: &'static str, op: &str, value: Literal) -> Self {
        Self::check(property);
        self.clauses
            .push(format!("{property} {op} {}", value.render()));
        self
    }

    /// `equalnull(property,null)`: the property is null. D filter.md documents
    /// `equalnull(any-type,any-type)` ("equal to the second argument or the first argument is
    /// null"); with `null` as the second argument only null matches.
    // Named after the condition it adds (a builder), not a query of the filter.
    #[allow(clippy::wrong_self_convention)]
    pub fn is_null(mut self, property: &'static str) -> Self {
        Self::check(property);
        self.clauses
            .push(format!("{}({property},null)", super::wire::EQUAL_NULL));
        self
    }

    /// `startswith(property,'prefix')` (D filter.md "Supported standard functions"): how an
    /// attribute documented as `Filter(like)` only is narrowed. The caller matches exactly on
    /// what comes back.
    pub fn starts_with(mut self, property: &'static str, prefix: &str) -> Self {
        Self::check(property);
        self.clauses.push(format!(
            "{}({property},{})",
            super::wire::STARTS_WITH,
            Literal::Str(prefix.to_owned()).render()
        ));
        self
    }

    pub fn eq(self, property: &'static str, value: impl Into<Literal>) -> Self {
        self.push(property, "eq", value.into())
    }

    pub fn ge(self, property: &'static str, value: impl Into<Literal>) -> Self {
        self.push(property, "ge", value.into())
    }

    pub fn le(self, property: &'static str, value: impl Into<Literal>) -> Self {
        self.push(property, "le", value.into())
    }

    /// `property in (v1, v2, ...)`; an empty list matches nothing, so it is refused by the caller
    /// being given `None`.
    #[allow(clippy::wrong_self_convention)]
    pub fn is_in<I, V>(self, property: &'static str, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Literal>,
    {
        let rendered: Vec<String> = values.into_iter().map(|v| v.into().render()).collect();
        let mut filter = self;
        filter
            .clauses
            .push(format!("{property} in ({})", rendered.join(",")));
        filter
    }

    /// Every clause of `self` and of `other`.
    pub fn and(mut self, other: Filter) -> Self {
        self.clauses.extend(other.clauses);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// The text of `$filter`, before URL encoding.
    pub fn render(&self) -> String {
        self.clauses.join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn guid(n: u32) -> Guid {
        Guid::parse(&format!("00000000-0000-4000-8000-{n:012}")).unwrap()
    }

    #[test]
    fn renders_the_subject_erp_net_accepts() {
        let f = Filter::new()
            .ge(
                "AggregateLastUpdateTimeUtc",
                Utc.with_ymd_and_hms(2026, 3, 1, 8, 55, 0).unwrap(),
            )
            .eq(
                "AssignedToUser",
                EntityRef::new("Systems_Security_Users", guid(7)),
            )
            .is_null("AssignedToUser")
            .starts_with("CreationUser", "o'neil")
            .is_in(
                "State",
                [Literal::Enum("Released"), Literal::Enum("Closed")],
            )
            .eq("Id", guid(1))
            .eq("Void", false);
        assert_eq!(
            f.render(),
            "AggregateLastUpdateTimeUtc ge 2026-03-01T08:55:00Z and \
             AssignedToUser eq 'Systems_Security_Users(00000000-0000-4000-8000-000000000007)' and \
             equalnull(AssignedToUser,null) and startswith(CreationUser,'o''neil') and \
             State in ('Released','Closed') and \
             Id eq 00000000-0000-4000-8000-000000000001 and Void eq false"
        );
    }

    #[test]
    fn values_cannot_inject_operators() {
        let f = Filter::new().eq("Email", "x' or Email eq 'y");
        assert_eq!(f.render(), "Email eq 'x'' or Email eq ''y'");
    }

    #[test]
    fn guids_are_checked() {
        assert!(Guid::parse("{6F9619FF-8B86-D011-B42D-00C04FC964FF}").is_some());
        assert_eq!(
            Guid::parse("6F9619FF-8B86-D011-B42D-00C04FC964FF")
                .unwrap()
                .as_str(),
            "6f9619ff-8b86-d011-b42d-00c04fc964ff"
        );
        assert!(Guid::parse("6F9619FF-8B86-D011-B42D").is_none());
        assert!(Guid::parse("zz9619ff-8b86-d011-b42d-00c04fc964ff").is_none());
    }
}
