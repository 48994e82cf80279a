//! Where traffic goes: a base URL and the headers sent with every request, with the
//! secret values to scrub from anything written. The plan resolves one from an
//! environment ([`crate::plan`]); load, security and the runner only read it.

use std::fmt;

/// Where traffic goes, with the secret header resolved from the process environment.
#[derive(Clone)]
pub struct Target {
    /// Base URL without a trailing slash.
    pub base: String,
    /// Headers sent with every request (the environment's auth header).
    pub headers: Vec<(String, String)>,
    /// Secret values to scrub from anything written.
    secrets: Vec<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets, even in debug output.
        f.debug_struct("Target")
            .field("base", &self.base)
            .field("headers", &self.headers.len())
            .finish()
    }
}

impl Target {
    /// A target with no secrets, for ad-hoc runs against a URL.
    pub fn without_secrets(base: &str) -> Target {
        Target {
            base: base.trim_end_matches('/').to_string(),
            headers: Vec::new(),
            secrets: Vec::new(),
        }
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
