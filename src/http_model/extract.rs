//! Takes an [`Extraction`] and an [`ObservedResponse`], gives the value it names: the
//! one extractor of load steps, probes and probe setup steps.

use super::json_select::{JsonPathQuery, JsonPointer};
use super::response::ObservedResponse;
use serde::{Deserialize, Serialize};

/// Takes a value from a response into a variable.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Extraction {
    /// The value at a JSON pointer (RFC 6901) in the body.
    JsonPointer {
        /// The pointer, such as `/token`.
        pointer: JsonPointer,
        /// Variable name.
        into: String,
    },
    /// The first value (in document order) a JSONPath query (RFC 9535) selects.
    JsonPath {
        /// The query, such as `$.token`.
        path: JsonPathQuery,
        /// Variable name.
        into: String,
    },
    /// A response header.
    Header {
        /// Header name.
        name: String,
        /// Variable name.
        into: String,
    },
    /// A regular expression over the body: the first capture group, or the whole match.
    Regex {
        /// The pattern, compiled once when the file is read.
        pattern: RegexPattern,
        /// Variable name.
        into: String,
    },
}

impl Extraction {
    /// The variable this extraction sets.
    pub fn variable(&self) -> &str {
        match self {
            Extraction::JsonPointer { into, .. }
            | Extraction::JsonPath { into, .. }
            | Extraction::Header { into, .. }
            | Extraction::Regex { into, .. } => into,
        }
    }

    /// The texts it uses as written (the variable's name, the header's name, the pointer
    /// or query): `validate` refuses a `{{…}}` in any of them.
    pub fn literal_texts(&self) -> Vec<&str> {
        match self {
            Extraction::JsonPointer { pointer, into } => vec![pointer.as_str(), into],
            Extraction::JsonPath { path, into } => vec![path.as_str(), into],
            Extraction::Header { name, into } => vec![name, into],
            Extraction::Regex { into, .. } => vec![into],
        }
    }

    /// Whether it reads the body (else only the headers).
    pub fn reads_body(&self) -> bool {
        !matches!(self, Extraction::Header { .. })
    }
}

/// A regular expression compiled when the suite is read, so a bad pattern is a file
/// error and the hot path never compiles one.
#[derive(Debug, Clone)]
pub struct RegexPattern(pub regex::Regex);

impl PartialEq for RegexPattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl<'de> Deserialize<'de> for RegexPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        // The size limit keeps a hostile pattern from taking the memory of the run:
        // regex's default is 10 MiB of compiled program; 1 MiB is plenty for a check.
        regex::RegexBuilder::new(&text)
            .size_limit(1 << 20)
            .build()
            .map(RegexPattern)
            .map_err(|e| serde::de::Error::custom(format!("bad regular expression: {e}")))
    }
}

/// In a JSON Schema: a string holding a regular expression (Rust `regex` syntax).
impl schemars::JsonSchema for RegexPattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RegexPattern".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "regex" })
    }
}

impl Serialize for RegexPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

/// The value `extraction` takes from `response`, if the response has it. `json` caches
/// the body's JSON parse across the extractions and matchers of one response.
pub fn extract(
    extraction: &Extraction,
    response: &ObservedResponse,
    json: &mut Option<Option<serde_json::Value>>,
) -> Option<String> {
    match extraction {
        Extraction::JsonPointer { pointer, .. } => {
            let parsed = json.get_or_insert_with(|| response.json());
            pointer.select(parsed.as_ref()?).map(as_text)
        }
        Extraction::JsonPath { path, .. } => {
            let parsed = json.get_or_insert_with(|| response.json());
            path.select_all(parsed.as_ref()?)
                .first()
                .map(|v| as_text(v))
        }
        Extraction::Header { name, .. } => response.header(name).map(str::to_string),
        Extraction::Regex { pattern, .. } => pattern
            .0
            .captures(&response.body)
            .and_then(|c| c.get(1).or_else(|| c.get(0)))
            .map(|m| m.as_str().to_string()),
    }
}

/// A JSON value as a variable holds it: a string without its quotes, anything else as
/// JSON text.
fn as_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> ObservedResponse {
        ObservedResponse {
            status: 200,
            headers: vec![("location".into(), "/ho-so/7".into())],
            body: r#"{"ma":"HS-1","so":7}"#.into(),
            truncated: false,
        }
    }

    #[test]
    fn one_extractor_reads_json_headers_and_regexes() {
        let r = response();
        let mut json = None;
        let by_pointer = |path: &str| Extraction::JsonPointer {
            pointer: JsonPointer::parse(path).unwrap(),
            into: "x".into(),
        };
        let by_query = |path: &str| Extraction::JsonPath {
            path: JsonPathQuery::parse(path).unwrap(),
            into: "x".into(),
        };
        assert_eq!(
            extract(&by_query("$.ma"), &r, &mut json).as_deref(),
            Some("HS-1")
        );
        assert_eq!(extract(&by_query("$.khong"), &r, &mut json), None);
        assert_eq!(
            extract(&by_pointer("/ma"), &r, &mut json).as_deref(),
            Some("HS-1")
        );
        assert_eq!(
            extract(&by_pointer("/so"), &r, &mut json).as_deref(),
            Some("7")
        );
        assert_eq!(extract(&by_pointer("/khong"), &r, &mut json), None);
        let header = Extraction::Header {
            name: "Location".into(),
            into: "x".into(),
        };
        assert_eq!(extract(&header, &r, &mut json).as_deref(), Some("/ho-so/7"));
        let regex = Extraction::Regex {
            pattern: RegexPattern(regex::Regex::new(r#""ma":"([^"]+)""#).unwrap()),
            into: "x".into(),
        };
        assert_eq!(extract(&regex, &r, &mut json).as_deref(), Some("HS-1"));
    }
}
