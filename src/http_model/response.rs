//! Gives [`ObservedResponse`]: what checks, matchers and extractions may look at in an
//! answer (status, headers, as much of the body as was read), with no HTTP of its own.

/// What a matcher or an extraction may look at.
#[derive(Debug, Clone, Default)]
pub struct ObservedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8), cut at the reading limit when `truncated`.
    pub body: String,
    /// The body was longer than the reading limit; `body` holds its start only.
    pub truncated: bool,
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
