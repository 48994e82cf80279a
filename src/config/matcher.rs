//! Takes the `checks` of load steps and the `matchers` of security probes, gives typed
//! [`Matcher`]s and evaluates them against an [`ObservedResponse`] (status, headers,
//! body) with no HTTP of their own.

pub use crate::http_model::ObservedResponse;
use crate::http_model::{JsonPathQuery, JsonPointer, RegexPattern};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One condition on a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Matcher {
    /// The status code is one of `equals` (a number or a list).
    Status {
        /// Accepted codes.
        #[serde(deserialize_with = "one_or_many")]
        #[schemars(with = "OneOrMany")]
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
    /// A JSON pointer (RFC 6901) exists in the body, and its value equals `equals` when
    /// given.
    JsonPointer {
        /// The pointer, such as `/trang_thai`.
        pointer: JsonPointer,
        /// The value it must have (a string, number or boolean).
        #[serde(default)]
        #[schemars(with = "Option<serde_json::Value>")]
        equals: Option<toml::Value>,
    },
    /// A JSONPath query (RFC 9535) selects at least one node in the body, and every node
    /// it selects equals `equals` when given.
    JsonPath {
        /// The query, such as `$.trang_thai` or `$.ho_so[*].trang_thai`.
        path: JsonPathQuery,
        /// The value every selected node must have (a string, number or boolean).
        #[serde(default)]
        #[schemars(with = "Option<serde_json::Value>")]
        equals: Option<toml::Value>,
    },
    /// The body matches a regular expression (checked when the file is read).
    Regex {
        /// The pattern, Rust `regex` syntax.
        pattern: RegexPattern,
    },
    /// Every inner matcher matches.
    All {
        /// The matchers.
        matchers: Vec<Matcher>,
    },
    /// At least one inner matcher matches.
    Any {
        /// The matchers.
        matchers: Vec<Matcher>,
    },
    /// Negates the inner matcher.
    Not {
        /// The matcher that must not match.
        matcher: Box<Matcher>,
    },
}

/// A status code or a list of them, as `equals` is written.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum OneOrMany {
    One(u16),
    Many(Vec<u16>),
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(code) => vec![code],
        OneOrMany::Many(codes) => codes,
    })
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
            Matcher::JsonPointer { pointer, equals } => {
                let parsed = json.get_or_insert_with(|| response.json());
                let Some(value) = parsed.as_ref().and_then(|v| pointer.select(v)) else {
                    return false;
                };
                match equals {
                    None => true,
                    Some(expected) => json_equals_toml(value, expected),
                }
            }
            Matcher::JsonPath { path, equals } => {
                let parsed = json.get_or_insert_with(|| response.json());
                let nodes = parsed
                    .as_ref()
                    .map(|v| path.select_all(v))
                    .unwrap_or_default();
                !nodes.is_empty()
                    && equals
                        .as_ref()
                        .is_none_or(|expected| nodes.iter().all(|v| json_equals_toml(v, expected)))
            }
            Matcher::Regex { pattern } => pattern.0.is_match(&response.body),
            Matcher::All { matchers } => matchers.iter().all(|m| m.matches_with(response, json)),
            Matcher::Any { matchers } => matchers.iter().any(|m| m.matches_with(response, json)),
            Matcher::Not { matcher } => !matcher.matches_with(response, json),
        }
    }
}

impl Matcher {
    /// Every text it compares as written (expected values, names, pointers and queries),
    /// inner matchers included: `validate` refuses a `{{…}}` in any of them.
    pub fn literal_texts(&self) -> Vec<&str> {
        fn equals_text(equals: &Option<toml::Value>) -> Option<&str> {
            match equals {
                Some(toml::Value::String(s)) => Some(s.as_str()),
                _ => None,
            }
        }
        match self {
            Matcher::Status { .. } | Matcher::Regex { .. } => Vec::new(),
            Matcher::BodyContains { text } => vec![text.as_str()],
            Matcher::Header { name, contains } => std::iter::once(name.as_str())
                .chain(contains.as_deref())
                .collect(),
            Matcher::JsonPointer { pointer, equals } => std::iter::once(pointer.as_str())
                .chain(equals_text(equals))
                .collect(),
            Matcher::JsonPath { path, equals } => std::iter::once(path.as_str())
                .chain(equals_text(equals))
                .collect(),
            Matcher::All { matchers } | Matcher::Any { matchers } => {
                matchers.iter().flat_map(Matcher::literal_texts).collect()
            }
            Matcher::Not { matcher } => matcher.literal_texts(),
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
            Matcher::JsonPointer {
                pointer,
                equals: None,
            } => write!(f, "json `{}` exists", pointer.as_str()),
            Matcher::JsonPointer {
                pointer,
                equals: Some(v),
            } => write!(f, "json `{}` == {v}", pointer.as_str()),
            Matcher::JsonPath { path, equals: None } => {
                write!(f, "json `{}` selects a value", path.as_str())
            }
            Matcher::JsonPath {
                path,
                equals: Some(v),
            } => write!(f, "json `{}` == {v}", path.as_str()),
            Matcher::Regex { pattern } => write!(f, "body matches /{}/", pattern.0.as_str()),
            Matcher::All { matchers } => write!(f, "all of ({})", join(matchers, " and ")),
            Matcher::Any { matchers } => write!(f, "any of ({})", join(matchers, " or ")),
            Matcher::Not { matcher } => write!(f, "not ({matcher})"),
        }
    }
}

fn join(matchers: &[Matcher], separator: &str) -> String {
    matchers
        .iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(separator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> ObservedResponse {
        ObservedResponse {
            status: 201,
            headers: vec![("content-type".into(), "application/json".into())],
            body: r#"{"ma_ho_so":"HS-7","trang_thai":"da-tiep-nhan","so":3}"#.into(),
            truncated: false,
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
        assert!(Matcher::JsonPointer {
            pointer: JsonPointer::parse("/so").unwrap(),
            equals: Some(toml::Value::Integer(3))
        }
        .matches(&r));
        assert!(!Matcher::JsonPointer {
            pointer: JsonPointer::parse("/missing").unwrap(),
            equals: None
        }
        .matches(&r));
        let query = |q: &str, equals: Option<toml::Value>| Matcher::JsonPath {
            path: JsonPathQuery::parse(q).unwrap(),
            equals,
        };
        assert!(query("$.trang_thai", Some("da-tiep-nhan".into())).matches(&r));
        assert!(!query("$.trang_thai", Some("khac".into())).matches(&r));
        assert!(!query("$.khong", None).matches(&r));
        let not = Matcher::Not {
            matcher: Box::new(Matcher::BodyContains {
                text: "HS-7".into(),
            }),
        };
        assert!(!not.matches(&r));
    }

    #[test]
    fn regex_any_and_all_combine() {
        let r = response();
        let matchers: Vec<Matcher> = toml::from_str::<toml::Table>(
            "m = [{ kind = \"any\", matchers = [{ kind = \"regex\", pattern = \"HS-[0-9]+\" }, { kind = \"status\", equals = 500 }] },\n\
             { kind = \"all\", matchers = [{ kind = \"status\", equals = 201 }, { kind = \"not\", matcher = { kind = \"regex\", pattern = \"^<html\" } }] }]",
        )
        .ok()
        .and_then(|t| t.get("m").cloned())
        .and_then(|v| v.try_into().ok())
        .unwrap_or_default();
        assert_eq!(matchers.len(), 2);
        assert!(matchers.iter().all(|m| m.matches(&r)));
        let miss = Matcher::Regex {
            pattern: RegexPattern(regex::Regex::new("HS-[a-z]").unwrap()),
        };
        assert!(!miss.matches(&r));
        let bad = toml::from_str::<toml::Table>("m = { kind = \"regex\", pattern = \"(\" }")
            .ok()
            .and_then(|t| t.get("m").cloned())
            .map(|v| v.try_into::<Matcher>());
        assert!(matches!(bad, Some(Err(e)) if e.to_string().contains("bad regular expression")));
    }
}
