//! Where traffic goes: a base URL, the headers sent with every request to its origin,
//! the origin fence that keeps each credential on its own origin, and the secret values
//! to scrub from anything written. The plan resolves one from an environment
//! ([`crate::plan`]); load, security and the runner only read it.

use crate::http_model::origin::Fence;
use crate::http_model::{Origin, OriginError};

/// Where traffic goes, with the secret headers resolved from the process environment,
/// and the origin fence that keeps each credential on its own origin.
#[derive(Clone)]
pub struct Target {
    /// Base URL without a trailing slash.
    pub base: String,
    /// Headers sent with every request to the base URL's origin (the environment's
    /// auth header) — and to no other origin.
    pub headers: Vec<(String, String)>,
    /// The other origins the environment lists, with their own headers (or none).
    other_origins: Vec<(Origin, Vec<(String, String)>)>,
    /// Where requests may go; an error when the base URL itself is not http(s).
    fence: Result<Fence, OriginError>,
    /// Secret values to scrub from anything written.
    secrets: Vec<String>,
    /// The most body bytes of one response kept for checks, matchers and evidence.
    body_limit: usize,
    /// The environment's name when it is a production tier: the load engine then sends
    /// only safe methods unless the suite is a declared production write, whatever
    /// the plan says. `None` on a test tier (and for ad-hoc runs not told
    /// `--production`).
    production: Option<String>,
}

/// The most body bytes of one response kept for checks and evidence unless the
/// environment says otherwise (`limits.max-body-bytes`): a page of JSON is a few KiB;
/// a 50 MB download is read to its end but never held.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

impl Target {
    /// A target from resolved parts (the plan resolves them from an environment).
    pub fn from_parts(
        base: &str,
        headers: Vec<(String, String)>,
        other_origins: Vec<(Origin, Vec<(String, String)>)>,
        secrets: Vec<String>,
        body_limit: usize,
    ) -> Target {
        let base = base.trim_end_matches('/').to_string();
        let fence = Fence::new(
            &base,
            other_origins.iter().map(|(o, _)| o.clone()).collect(),
        );
        Target {
            base,
            headers,
            other_origins,
            fence,
            secrets,
            body_limit,
            production: None,
        }
    }

    /// A target with no secrets, for ad-hoc runs against a URL.
    pub fn without_secrets(base: &str) -> Target {
        Target {
            base: base.trim_end_matches('/').to_string(),
            headers: Vec::new(),
            other_origins: Vec::new(),
            fence: Fence::new(base, Vec::new()),
            secrets: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            production: None,
        }
    }

    /// The same target, known to be production environment `environment`.
    pub fn in_production(mut self, environment: &str) -> Target {
        self.production = Some(environment.to_string());
        self
    }

    /// The production environment's name, when the target is one.
    pub fn production(&self) -> Option<&str> {
        self.production.as_deref()
    }

    /// The most body bytes of one response kept for checks and evidence.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// The same target keeping at most `bytes` of each response body.
    pub fn with_body_limit(mut self, bytes: usize) -> Target {
        self.body_limit = bytes.max(1);
        self
    }

    /// The URL a rendered path (or full URL) goes to, refused when it would leave the
    /// environment's origin and the origins it lists.
    pub fn resolve_url(&self, rendered: &str) -> Result<url::Url, OriginError> {
        self.fence.as_ref().map_err(Clone::clone)?.resolve(rendered)
    }

    /// Whether a URL is on the environment's own origin.
    pub fn is_home(&self, url: &url::Url) -> bool {
        self.fence
            .as_ref()
            .is_ok_and(|f| Origin::of(url).as_ref() == Some(f.home()))
    }

    /// The headers that go with a request to `url`: the environment's own on its
    /// origin, a listed origin's own there, and none anywhere else.
    pub fn credentials_for(&self, url: &url::Url) -> &[(String, String)] {
        if self.is_home(url) {
            return &self.headers;
        }
        let origin = Origin::of(url);
        self.other_origins
            .iter()
            .find(|(o, _)| Some(o) == origin.as_ref())
            .map_or(&[], |(_, h)| h.as_slice())
    }

    /// Adds a header sent with every request whose value is a secret.
    pub fn with_secret_header(mut self, name: &str, value: &str) -> Target {
        self.headers.push((name.to_string(), value.to_string()));
        self.add_secret(value);
        self
    }

    /// Adds a value to scrub from anything written (a token learned during a run).
    pub fn add_secret(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
        }
    }

    /// A full URL for a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Replaces every secret in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_string(), |t, s| t.replace(s.as_str(), "***"))
    }
}
