//! The two ways a suite names a value inside a JSON body, each under its own key so one
//! can never be mistaken for the other: a [`JsonPointer`] (RFC 6901, `/token`) and a
//! [`JsonPathQuery`] (RFC 9535, `$.token`, parsed by `serde_json_path`). Both are checked
//! when the file is read: a mistyped expression is a file error, never a run whose every
//! request fails.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An RFC 6901 JSON pointer such as `/ho_so/0/ma`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPointer(String);

/// An RFC 9535 JSONPath query such as `$.ho_so[0].ma`.
#[derive(Debug, Clone)]
pub struct JsonPathQuery {
    text: String,
    parsed: serde_json_path::JsonPath,
}

impl JsonPointer {
    /// Checks `text` as an RFC 6901 pointer; the error says what was meant when it is a
    /// JSONPath query.
    pub fn parse(text: &str) -> Result<JsonPointer, String> {
        if text.starts_with('$') {
            return Err(format!(
                "`{text}` is a JSONPath query, not a JSON pointer (hint: `kind = \"json-path\", path = \"{text}\"`{})",
                pointer_for(text)
                    .map(|p| format!(", or the pointer `{p}`"))
                    .unwrap_or_default()
            ));
        }
        if !(text.is_empty() || text.starts_with('/')) {
            return Err(format!(
                "`{text}` is not a JSON pointer: a pointer is empty or starts with `/` (hint: `/{text}`)"
            ));
        }
        // RFC 6901: `~` only as `~0` (a tilde) or `~1` (a slash).
        let bytes = text.as_bytes();
        if let Some(i) = (0..bytes.len())
            .find(|&i| bytes[i] == b'~' && !matches!(bytes.get(i + 1), Some(b'0' | b'1')))
        {
            return Err(format!(
                "`{text}` is not a JSON pointer: `~` at character {} must be `~0` (a tilde) or `~1` (a slash)",
                i + 1
            ));
        }
        Ok(JsonPointer(text.to_string()))
    }

    /// The value it points at.
    pub fn select<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        value.pointer(&self.0)
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl JsonPathQuery {
    /// Parses `text` as an RFC 9535 query; the error says where, and what was meant when
    /// it is a JSON pointer.
    pub fn parse(text: &str) -> Result<JsonPathQuery, String> {
        if text.starts_with('/') {
            return Err(format!(
                "`{text}` is a JSON pointer, not a JSONPath query (hint: `kind = \"json-pointer\", pointer = \"{text}\"`, or the query `{}`)",
                query_for(text)
            ));
        }
        serde_json_path::JsonPath::parse(text)
            .map(|parsed| JsonPathQuery {
                text: text.to_string(),
                parsed,
            })
            .map_err(|e| {
                format!(
                    "`{text}` is not a JSONPath query (RFC 9535): at character {}, {} (hint: a query such as `$.token` or `$.ho_so[0].ma`)",
                    e.position(),
                    e.message().replace('\n', ", ")
                )
            })
    }

    /// Every node it selects, in document order.
    pub fn select_all<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        self.parsed.query(value).all()
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for JsonPathQuery {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// `$.a.b` → `/a/b`, for a query made only of plain member names.
fn pointer_for(query: &str) -> Option<String> {
    let rest = query.strip_prefix("$.")?;
    rest.split('.')
        .all(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        })
        .then(|| format!("/{}", rest.replace('.', "/")))
}

/// `/a/0` → `$['a'][0]`.
fn query_for(pointer: &str) -> String {
    let mut query = String::from("$");
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if token.parse::<u64>().is_ok() {
            query.push_str(&format!("[{token}]"));
        } else {
            query.push_str(&format!(
                "['{}']",
                token.replace('\\', "\\\\").replace('\'', "\\'")
            ));
        }
    }
    query
}

macro_rules! string_form {
    ($ty:ty, $name:literal, $format:literal, $description:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                <$ty>::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "format": $format,
                    "description": $description
                })
            }
        }
    };
}

string_form!(
    JsonPointer,
    "JsonPointer",
    "json-pointer",
    "an RFC 6901 JSON pointer such as `/token` or `/ho_so/0/ma`: empty, or names each after a `/` (`~0` for `~`, `~1` for `/`); a JSONPath query here is refused"
);
string_form!(
    JsonPathQuery,
    "JsonPathQuery",
    "json-path",
    "an RFC 9535 JSONPath query such as `$.token` or `$.ho_so[0].ma`, checked when the file is read; a JSON pointer here is refused"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_in_a_pointer_key_and_a_pointer_in_a_query_key_are_refused_with_the_fix() {
        assert_eq!(
            JsonPointer::parse("$.token").unwrap_err(),
            "`$.token` is a JSONPath query, not a JSON pointer (hint: `kind = \"json-path\", path = \"$.token\"`, or the pointer `/token`)"
        );
        assert_eq!(
            JsonPathQuery::parse("/ho_so/0").unwrap_err(),
            "`/ho_so/0` is a JSON pointer, not a JSONPath query (hint: `kind = \"json-pointer\", pointer = \"/ho_so/0\"`, or the query `$['ho_so'][0]`)"
        );
        assert!(JsonPointer::parse("token")
            .unwrap_err()
            .contains("starts with `/`"));
        assert!(JsonPointer::parse("/a~2b").unwrap_err().contains("`~0`"));
        let bad = JsonPathQuery::parse("$.token[").unwrap_err();
        assert!(
            bad.starts_with("`$.token[` is not a JSONPath query (RFC 9535): "),
            "{bad}"
        );
    }

    #[test]
    fn both_select_from_a_body() {
        let body = serde_json::json!({ "ho_so": [{ "ma": "HS-1" }, { "ma": "HS-2" }], "a/b": 1 });
        let pointer = JsonPointer::parse("/ho_so/1/ma").unwrap();
        assert_eq!(pointer.select(&body), Some(&Value::from("HS-2")));
        assert_eq!(
            JsonPointer::parse("/a~1b").unwrap().select(&body),
            Some(&Value::from(1))
        );
        let query = JsonPathQuery::parse("$.ho_so[*].ma").unwrap();
        assert_eq!(
            query.select_all(&body),
            vec![&Value::from("HS-1"), &Value::from("HS-2")]
        );
        let filtered = JsonPathQuery::parse("$.ho_so[?@.ma == 'HS-2'].ma").unwrap();
        assert_eq!(filtered.select_all(&body), vec![&Value::from("HS-2")]);
    }
}
