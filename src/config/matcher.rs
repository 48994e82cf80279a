//! Takes the `checks` of load steps and the `matchers` of security probes, gives typed
//! [`Matcher`]s and evaluates them against an [`ObservedResponse`] (status, headers,
//! body) with no HTTP of their own.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One condition on a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Matcher {
    /// The status code is one of `equals` (a number or a list).
    Status {
        /// Accepted codes.
        #[serde(deserialize_with = "one_or_many")]
        equals: Vec<u16>,
    },
    /// The body contains `text` (byte-exact, UTF-8).
    BodyContains {
        /// The text to find.
        text: String,
    },
    /// A header is present, and contains `contains` when given.
    Header {
        /// Header name, case-insensitive.
        name: String,
        /// Text the value must contain.
        #[serde(default)]
        contains: Option<String>,
    },
    /// A JSON pointer exists in the body, and equals `equals` when given.
    JsonPath {
        /// RFC 6901 pointer such as `/trang_thai`.
        path: String,
        /// The value it must have (a string, number or boolean).
        #[serde(default)]
        equals: Option<toml::Value>,
    },
    /// Negates the inner matcher.
    Not {
        /// The matcher that must not match.
        matcher: Box<Matcher>,
    },
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(u16),
        Many(Vec<u16>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(code) => vec![code],
        OneOrMany::Many(codes) => codes,
    })
}

/// What a matcher may look at.
#[derive(Debug, Clone, Default)]
pub struct ObservedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

impl ObservedResponse {
    /// The first value of a header, case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, case-insensitive.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

impl Matcher {
    /// Whether the response satisfies this matcher.
    pub fn matches(&self, response: &ObservedResponse) -> bool {
        self.matches_with(response, &mut None)
    }

    /// Like [`Matcher::matches`], reusing a JSON parse across matchers of one response.
    pub fn matches_with(
        &self,
        response: &ObservedResponse,
        json: &mut Option<Option<serde_json::Value>>,
    ) -> bool {
        match self {
            Matcher::Status { equals } => equals.contains(&response.status),
            Matcher::BodyContains { text } => response.body.contains(text.as_str()),
            Matcher::Header { name, contains } => response
                .headers_named(name)
                .any(|v| contains.as_ref().is_none_or(|c| v.contains(c.as_str()))),
            Matcher::JsonPath { path, equals } => {
                let parsed = json.get_or_insert_with(|| response.json());
                let Some(value) = parsed.as_ref().and_then(|v| v.pointer(path)) else {
                    return false;
                };
                match equals {
                    None => true,
                    Some(expected) => json_equals_toml(value, expected),
                }
            }
            Matcher::Not { matcher } => !matcher.matches_with(response, json),
        }
    }
}

fn json_equals_toml(value: &serde_json::Value, expected: &toml::Value) -> bool {
    match (value, expected) {
        (serde_json::Value::String(a), toml::Value::String(b)) => a == b,
        (serde_json::Value::Bool(a), toml::Value::Boolean(b)) => a == b,
        (serde_json::Value::Number(a), toml::Value::Integer(b)) => a.as_i64() == Some(*b),
        (serde_json::Value::Number(a), toml::Value::Float(b)) => {
            a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
        }
        _ => false,
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Status { equals } => {
                let codes: Vec<String> = equals.iter().map(|c| c.to_string()).collect();
                write!(f, "status in [{}]", codes.join(", "))
            }
            Matcher::BodyContains { text } => write!(f, "body contains {text:?}"),
            Matcher::Header {
                name,
                contains: None,
            } => write!(f, "header `{name}` present"),
            Matcher::Header {
                name,
                contains: Some(c),
            } => write!(f, "header `{name}` contains {c:?}"),
            Matcher::JsonPath { path, equals: None } => write!(f, "json `{path}` exists"),
            Matcher::JsonPath {
                path,
                equals: Some(v),
            } => write!(f, "json `{path}` == {v}"),
            Matcher::Not { matcher } => write!(f, "not ({matcher})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> ObservedResponse {
        ObservedResponse {
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: r#"{"ma_ho_so":"HS-7","trang_thai":"da-tiep-nhan","so":3}"#.into(),
        }
    }

    #[test]
    fn matchers_look_at_status_headers_and_json() {
        let r = response();
        assert!(Matcher::Status {
            equals: vec![200, 201]
        }
        .matches(&r));
        assert!(!Matcher::Status { equals: vec![200] }.matches(&r));
        assert!(Matcher::Header {
            name: "Content-Type".into(),
            contains: Some("json".into())
        }
        .matches(&r));
        assert!(Matcher::JsonPath {
            path: "/so".into(),
            equals: Some(toml::Value::Integer(3))
        }
        .matches(&r));
        assert!(!Matcher::JsonPath {
            path: "/missing".into(),
            equals: None
        }
        .matches(&r));
        let not = Matcher::Not {
            matcher: Box::new(Matcher::BodyContains {
                text: "HS-7".into(),
            }),
        };
        assert!(!not.matches(&r));
    }
}
