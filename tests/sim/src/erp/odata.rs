//! The OData subset ERP.net documents (D domain-api/querying-data/query-options/filter.md):
//! `$filter` with `eq`, `ge`, `le`, `in` and `and`, the functions `equalnull`, `startswith`,
//! `contains` and `endswith` (an `or`, `eq null` or anything else is refused), date-time values
//! truncated to the date as the page says; `$select` and `$expand` with nested `$select`. Each
//! property must be one the connector's wire table names, used with a filter its model page
//! lists.

use chrono::{DateTime, Utc};
use mssync_core::wire::erp::{self as wire, EntitySet, FilterOp};
use serde_json::{Map, Value};

/// A parsed `$filter`: every comparison must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterExpr(pub Vec<Comparison>);

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub property: String,
    pub op: Op,
    pub values: Vec<Lit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ge,
    Le,
    In,
    /// `equalnull(P,v)`: equal, or P is null.
    EqualNull,
    StartsWith,
    Contains,
    EndsWith,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ge => "ge",
            Op::Le => "le",
            Op::In => "in",
            Op::EqualNull => wire::EQUAL_NULL,
            Op::StartsWith => wire::STARTS_WITH,
            Op::Contains => wire::CONTAINS,
            Op::EndsWith => wire::ENDS_WITH,
        }
    }

    /// The model page's filter this operator needs.
    fn needs(self) -> FilterOp {
        match self {
            Op::Eq | Op::EqualNull => FilterOp::Eq,
            Op::In => FilterOp::In,
            Op::Ge => FilterOp::Ge,
            Op::Le => FilterOp::Le,
            Op::StartsWith | Op::Contains | Op::EndsWith => FilterOp::Like,
        }
    }
}

/// Why a query was refused: a 400 for names ERP.net does not know, else ERP.net's 500.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: message.into(),
        }
    }

    pub fn unknown_property(set: &str, property: &str) -> Self {
        Self::bad_request(format!(
            "Could not find a property named '{property}' on entity set '{set}'."
        ))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Instant(DateTime<Utc>),
    Num(f64),
    Bool(bool),
    Null,
    /// An unquoted GUID.
    Guid(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => s.push(c),
                        None => return Err("Unterminated string literal.".into()),
                    }
                }
                tokens.push(Token::Quoted(s));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | ',' | '\'') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

fn literal(token: &Token) -> Result<Lit, String> {
    match token {
        Token::Quoted(s) => Ok(Lit::Str(s.clone())),
        Token::Word(w) => {
            if w == "null" {
                Ok(Lit::Null)
            } else if w == "true" || w == "false" {
                Ok(Lit::Bool(w == "true"))
            } else if let Ok(t) = DateTime::parse_from_rfc3339(w) {
                Ok(Lit::Instant(t.with_timezone(&Utc)))
            } else if is_guid(w) {
                Ok(Lit::Guid(w.to_ascii_lowercase()))
            } else if let Ok(n) = w.parse::<f64>() {
                Ok(Lit::Num(n))
            } else {
                Err(format!("Invalid literal '{w}'."))
            }
        }
        _ => Err("Literal expected.".into()),
    }
}

pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parses a `$filter`; the error text is what ERP.net's 500 body carries as `message`.
pub fn parse_filter(text: &str) -> Result<FilterExpr, String> {
    let tokens = tokenize(text)?;
    let mut comparisons = Vec::new();
    let mut i = 0;
    loop {
        let property = match tokens.get(i) {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("or") => {
                return Err("The 'or' operator is not supported.".into());
            }
            Some(Token::Word(w))
                if w.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_') =>
            {
                w.clone()
            }
            _ => return Err("Property name expected.".into()),
        };
        if matches!(tokens.get(i + 1), Some(Token::Open)) {
            let op = match property.as_str() {
                wire::EQUAL_NULL => Op::EqualNull,
                wire::STARTS_WITH => Op::StartsWith,
                wire::CONTAINS => Op::Contains,
                wire::ENDS_WITH => Op::EndsWith,
                other => return Err(format!("Function '{other}' is not supported.")),
            };
            let (Some(Token::Word(argument)), Some(Token::Comma), Some(value), Some(Token::Close)) = (
                tokens.get(i + 2),
                tokens.get(i + 3),
                tokens.get(i + 4),
                tokens.get(i + 5),
            ) else {
                return Err(format!(
                    "Function '{property}' takes a property and a value."
                ));
            };
            let value = literal(value)?;
            if op != Op::EqualNull && !matches!(value, Lit::Str(_)) {
                return Err(format!("Function '{property}' takes a string."));
            }
            comparisons.push(Comparison {
                property: argument.clone(),
                op,
                values: vec![value],
            });
            i += 6;
            match tokens.get(i) {
                None => break,
                Some(Token::Word(w)) if w == "and" => {
                    i += 1;
                    continue;
                }
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("or") => {
                    return Err("The 'or' operator is not supported.".into());
                }
                _ => return Err("'and' expected.".into()),
            }
        }
        let op = match tokens.get(i + 1) {
            Some(Token::Word(w)) => match w.as_str() {
                "eq" => Op::Eq,
                "ge" => Op::Ge,
                "le" => Op::Le,
                "in" => Op::In,
                "or" => return Err("The 'or' operator is not supported.".into()),
                other => return Err(format!("The '{other}' operator is not supported.")),
            },
            _ => return Err("Operator expected.".into()),
        };
        i += 2;
        let values = if op == Op::In {
            if tokens.get(i) != Some(&Token::Open) {
                return Err("'(' expected after 'in'.".into());
            }
            i += 1;
            let mut values = Vec::new();
            loop {
                values.push(literal(tokens.get(i).ok_or("Literal expected.")?)?);
                i += 1;
                match tokens.get(i) {
                    Some(Token::Comma) => i += 1,
                    Some(Token::Close) => {
                        i += 1;
                        break;
                    }
                    _ => return Err("',' or ')' expected.".into()),
                }
            }
            values
        } else {
            let value = literal(tokens.get(i).ok_or("Literal expected.")?)?;
            if value == Lit::Null {
                // No page documents `eq null`; D filter.md documents `equalnull`.
                return Err(format!(
                    "Comparison with null is not supported; use {}().",
                    wire::EQUAL_NULL
                ));
            }
            i += 1;
            vec![value]
        };
        comparisons.push(Comparison {
            property,
            op,
            values,
        });
        match tokens.get(i) {
            None => break,
            Some(Token::Word(w)) if w == "and" => i += 1,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("or") => {
                return Err("The 'or' operator is not supported.".into());
            }
            _ => return Err("'and' expected.".into()),
        }
    }
    Ok(FilterExpr(comparisons))
}

fn as_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// How a stored value compares with a literal: `None` when they cannot be compared.
fn compare(value: Option<&Value>, lit: &Lit) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    let value = value.unwrap_or(&Value::Null);
    // A reference compares by its `@odata.id` text.
    let value = match value.get("@odata.id") {
        Some(id) => id,
        None => value,
    };
    match (value, lit) {
        (Value::Null, Lit::Null) => Some(Ordering::Equal),
        (_, Lit::Null) | (Value::Null, _) => None,
        (Value::String(s), Lit::Str(l)) => Some(s.to_lowercase().cmp(&l.to_lowercase())),
        (Value::String(s), Lit::Instant(l)) => as_instant(s).map(|t| t.cmp(l)),
        (Value::String(s), Lit::Guid(l)) => Some(s.to_lowercase().cmp(l)),
        (Value::Number(n), Lit::Num(l)) => n.as_f64()?.partial_cmp(l),
        (Value::Bool(b), Lit::Bool(l)) => Some(b.cmp(l)),
        _ => None,
    }
}

/// D filter.md: "A date-time value in the filter is truncated to date only".
fn truncated(lit: &Lit) -> Lit {
    match lit {
        Lit::Instant(t) => Lit::Instant(
            t.date_naive()
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc(),
        ),
        other => other.clone(),
    }
}

fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Object(o) => o
            .get("@odata.id")
            .and_then(Value::as_str)
            .map(str::to_lowercase),
        _ => None,
    }
}

impl FilterExpr {
    /// Refuses properties the entity set does not have and filters their pages do not list.
    pub fn check(&self, set: &EntitySet) -> Result<(), Refusal> {
        for c in &self.0 {
            let property = set
                .property(&c.property)
                .ok_or_else(|| Refusal::unknown_property(set.name, &c.property))?;
            if !property.filters.contains(&c.op.needs()) {
                return Err(Refusal::bad_request(format!(
                    "The property '{}' of '{}' does not support the '{}' filter.",
                    c.property,
                    set.name,
                    c.op.name()
                )));
            }
        }
        Ok(())
    }

    pub fn matches(&self, object: &Map<String, Value>) -> bool {
        use std::cmp::Ordering::*;
        self.0.iter().all(|c| {
            let value = object.get(&c.property);
            let like = |test: &dyn Fn(&str, &str) -> bool| match (&c.values[0], text_of(value)) {
                (Lit::Str(needle), Some(hay)) => test(&hay, &needle.to_lowercase()),
                _ => false,
            };
            match c.op {
                Op::Eq => compare(value, &c.values[0]) == Some(Equal),
                Op::Ge => matches!(
                    compare(value, &truncated(&c.values[0])),
                    Some(Greater | Equal)
                ),
                Op::Le => matches!(compare(value, &truncated(&c.values[0])), Some(Less | Equal)),
                Op::In => c.values.iter().any(|v| compare(value, v) == Some(Equal)),
                Op::EqualNull => {
                    value.is_none_or(Value::is_null) || compare(value, &c.values[0]) == Some(Equal)
                }
                Op::StartsWith => like(&|h, n| h.starts_with(n)),
                Op::Contains => like(&|h, n| h.contains(n)),
                Op::EndsWith => like(&|h, n| h.ends_with(n)),
            }
        })
    }
}

/// One `$expand` item: a navigation property and the `$select` inside its parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expand {
    pub property: String,
    pub select: Vec<String>,
}

/// Splits on commas outside parentheses.
fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current).trim().to_owned());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

pub fn parse_select(text: &str) -> Vec<String> {
    split_top_level(text)
}

pub fn parse_expand(text: &str) -> Result<Vec<Expand>, String> {
    split_top_level(text)
        .into_iter()
        .map(|item| match item.split_once('(') {
            None => Ok(Expand {
                property: item,
                select: Vec::new(),
            }),
            Some((property, rest)) => {
                let inner = rest
                    .strip_suffix(')')
                    .ok_or_else(|| format!("Unbalanced $expand item '{property}'."))?;
                let mut select = Vec::new();
                for option in inner.split(';') {
                    match option.split_once('=') {
                        Some(("$select", fields)) => select = parse_select(fields),
                        _ => return Err(format!("Unsupported $expand option '{option}'.")),
                    }
                }
                Ok(Expand {
                    property: property.trim().to_owned(),
                    select,
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn or_is_refused_anywhere() {
        for text in [
            "Subject eq 'a' or Subject eq 'b'",
            "or eq 1",
            "Subject eq 'a' and Id eq 1 OR Void eq true",
        ] {
            assert!(parse_filter(text).is_err(), "{text}");
        }
        // Inside a string it is data.
        let f = parse_filter("Subject eq 'this or that'").unwrap();
        assert_eq!(f.0[0].values, vec![Lit::Str("this or that".into())]);
    }

    #[test]
    fn parses_what_the_connector_sends() {
        let f = parse_filter(
            "AggregateLastUpdateTimeUtc ge 2026-03-01T08:55:00Z and equalnull(AssignedToUser,null) and \
             State in ('Released','Closed') and Id eq 00000000-0000-4000-8000-000000000001 and \
             startswith(CreationUser,'alice')",
        )
        .unwrap();
        assert_eq!(f.0.len(), 5);
        assert_eq!(f.0[1].op, Op::EqualNull);
        assert_eq!(f.0[2].op, Op::In);
        assert_eq!(f.0[4].op, Op::StartsWith);
        let activities = wire::entity_set(wire::ACTIVITIES).unwrap();
        assert_eq!(f.check(activities), Ok(()));
        assert!(parse_filter("Subject ne 'a'").is_err());
        assert!(
            parse_filter("AssignedToUser eq null").is_err(),
            "undocumented"
        );
        assert!(parse_filter("substringof('a',Subject)").is_err());
        let eq_on_like_only = parse_filter("CreationUser eq 'alice'").unwrap();
        assert_eq!(eq_on_like_only.check(activities).unwrap_err().status, 400);
        let unknown = parse_filter("Name eq 'x'").unwrap();
        assert!(
            unknown
                .check(activities)
                .unwrap_err()
                .message
                .contains("'Name'")
        );
        let e = parse_expand("Participants($select=Id,Email),Reminders").unwrap();
        assert_eq!(e[0].select, vec!["Id", "Email"]);
        assert_eq!(e[1].property, "Reminders");
    }
}
