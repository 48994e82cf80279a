//! Takes an [`Extraction`] and an [`ObservedResponse`], gives the value it names: the
//! one extractor of load steps, probes and probe setup steps.

use super::response::ObservedResponse;
use serde::{Deserialize, Serialize};

/// Takes a value from a response into a variable.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Extraction {
    /// A JSON pointer in the body.
    JsonPath {
        /// RFC 6901 pointer.
        path: String,
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
            Extraction::JsonPath { into, .. }
            | Extraction::Header { into, .. }
            | Extraction::Regex { into, .. } => into,
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
        Extraction::JsonPath { path, .. } => {
            let parsed = json.get_or_insert_with(|| response.json());
            parsed.as_ref()?.pointer(path).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        }
        Extraction::Header { name, .. } => response.header(name).map(str::to_string),
        Extraction::Regex { pattern, .. } => pattern
            .0
            .captures(&response.body)
            .and_then(|c| c.get(1).or_else(|| c.get(0)))
            .map(|m| m.as_str().to_string()),
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
        let by_pointer = |path: &str| Extraction::JsonPath {
            path: path.into(),
            into: "x".into(),
        };
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
