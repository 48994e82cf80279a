//! Takes `environments/<name>.toml`, gives an [`Environment`]: where a stage sends
//! traffic, which tier it is, how its secrets are found, and the limits it imposes.

use super::diagnostic::{Diagnostics, SourceFile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use toml::Spanned;
use url::Url;

/// Tags that a production environment always forbids, whatever its file says: a
/// destructive or intrusive scenario against production is itself an incident.
pub const PRODUCTION_FORBIDDEN_TAGS: [&str; 2] = ["destructive", "intrusive"];

/// The tier of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// A test environment: anything allowed by its limits.
    Test,
    /// Production: capped rate, production-safe scenarios only.
    Production,
}

impl Tier {
    /// The identifier used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Test => "test",
            Tier::Production => "production",
        }
    }
}

/// One validated environment.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    /// Its name: the file name without `.toml`.
    pub name: String,
    /// Test or production.
    pub tier: Tier,
    /// Where the system under test answers.
    pub base_url: Url,
    /// The environment's Prometheus, for server-side criteria.
    pub prometheus_url: Option<Url>,
    /// A header that carries a secret read from the process environment.
    pub auth: Option<AuthHeader>,
    /// Where the environment says which release it serves.
    pub version_endpoint: Option<VersionEndpoint>,
    /// Safety limits for traffic sent to this environment.
    pub limits: Limits,
}

/// A secret sent as a header. Only the variable's *name* is ever stored.
#[derive(Debug, Clone, Serialize)]
pub struct AuthHeader {
    /// Header name, e.g. `X-Api-Key`.
    pub header: String,
    /// Name of the process environment variable that holds the secret.
    pub token_env: String,
}

/// Where the deployed release is reported.
#[derive(Debug, Clone, Serialize)]
pub struct VersionEndpoint {
    /// Path below the base URL.
    pub path: String,
    /// JSON pointer (RFC 6901) of the version string in the response.
    pub json_pointer: String,
}

/// Safety limits of an environment.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    /// Most requests per second any stage may send.
    pub max_rps: Option<f64>,
    /// Most concurrent virtual users any stage may run.
    pub max_users: Option<u32>,
    /// Suite and check tags that may not run here.
    pub forbidden_tags: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEnvironment {
    version: Spanned<u32>,
    tier: Tier,
    base_url: Spanned<String>,
    prometheus_url: Option<Spanned<String>>,
    auth: Option<RawAuth>,
    version_endpoint: Option<RawVersionEndpoint>,
    #[serde(default)]
    limits: RawLimits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAuth {
    header: String,
    token_env: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawVersionEndpoint {
    path: Spanned<String>,
    json_pointer: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLimits {
    max_rps: Option<Spanned<f64>>,
    max_users: Option<Spanned<u32>>,
    #[serde(default)]
    forbidden_tags: Vec<String>,
}

/// Parses and validates one environment file; mistakes go to `diagnostics`.
pub fn parse(file: &SourceFile, name: &str, diagnostics: &mut Diagnostics) -> Option<Environment> {
    let raw: RawEnvironment = match toml::from_str(&file.text) {
        Ok(raw) => raw,
        Err(e) => {
            diagnostics.push(super::diagnostic::from_toml_error(file, &e));
            return None;
        }
    };
    let before = diagnostics.0.len();
    super::check_version(file, &raw.version, diagnostics);
    let base_url = parse_url(file, &raw.base_url, diagnostics);
    let prometheus_url = raw
        .prometheus_url
        .as_ref()
        .and_then(|u| parse_url(file, u, diagnostics));
    if let Some(auth) = &raw.auth {
        check_env_name(file, &auth.token_env, diagnostics);
    }
    if let Some(v) = &raw.version_endpoint {
        if !v.path.get_ref().starts_with('/') {
            diagnostics.push(file.diagnostic(
                v.path.span(),
                "the version path must start with `/`",
                Some("a path such as `/api/version`".into()),
            ));
        }
        if !(v.json_pointer.get_ref().is_empty() || v.json_pointer.get_ref().starts_with('/')) {
            diagnostics.push(file.diagnostic(
                v.json_pointer.span(),
                "not a JSON pointer",
                Some("a JSON pointer such as `/version`".into()),
            ));
        }
    }
    if let Some(rps) = &raw.limits.max_rps {
        if !(rps.get_ref().is_finite() && *rps.get_ref() > 0.0) {
            diagnostics.push(file.diagnostic(
                rps.span(),
                "`max-rps` must be positive",
                Some("a number above 0".into()),
            ));
        }
    }
    if let Some(users) = &raw.limits.max_users {
        if *users.get_ref() == 0 {
            diagnostics.push(file.diagnostic(
                users.span(),
                "`max-users` must be positive",
                Some("a whole number above 0".into()),
            ));
        }
    }
    if diagnostics.0.len() > before {
        return None;
    }
    let mut forbidden_tags: BTreeSet<String> = raw.limits.forbidden_tags.into_iter().collect();
    if raw.tier == Tier::Production {
        forbidden_tags.extend(PRODUCTION_FORBIDDEN_TAGS.iter().map(|t| t.to_string()));
    }
    Some(Environment {
        name: name.to_string(),
        tier: raw.tier,
        base_url: base_url?,
        prometheus_url,
        auth: raw.auth.map(|a| AuthHeader {
            header: a.header,
            token_env: a.token_env.into_inner(),
        }),
        version_endpoint: raw.version_endpoint.map(|v| VersionEndpoint {
            path: v.path.into_inner(),
            json_pointer: v.json_pointer.into_inner(),
        }),
        limits: Limits {
            max_rps: raw.limits.max_rps.map(|r| r.into_inner()),
            max_users: raw.limits.max_users.map(|u| u.into_inner()),
            forbidden_tags,
        },
    })
}

fn parse_url(
    file: &SourceFile,
    text: &Spanned<String>,
    diagnostics: &mut Diagnostics,
) -> Option<Url> {
    match Url::parse(text.get_ref()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(_) | Err(_) => {
            diagnostics.push(file.diagnostic(
                text.span(),
                format!("`{}` is not an http(s) URL", text.get_ref()),
                Some("a URL such as `http://127.0.0.1:8080`".into()),
            ));
            None
        }
    }
}

fn check_env_name(file: &SourceFile, name: &Spanned<String>, diagnostics: &mut Diagnostics) {
    let valid = !name.get_ref().is_empty()
        && name
            .get_ref()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        // A secret pasted here instead of a variable name would end up in the ledger.
        diagnostics.push(file.diagnostic(
            name.span(),
            "`token-env` names an environment variable; it never holds the secret itself",
            Some("an upper-case variable name such as `PORTAL_TOKEN`".into()),
        ));
    }
}
