//! Takes `environments/<name>.toml`, gives an [`Environment`]: where a stage sends
//! traffic (a base URL, or a container it starts itself), which tier it is, how its
//! secrets are found, and the limits it imposes.

use super::diagnostic::{Diagnostics, SourceFile};
use super::provision::{self, ProvisionSpec, RawProvision};
use crate::http_model::Origin;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use toml::Spanned;
use url::Url;

/// The most virtual users any file may ask for: far above what one machine drives
/// (the descriptor limit is checked at plan time), low enough that no count overflows.
pub const MAX_USERS: u32 = 1_000_000;
/// The largest `max-body-bytes`: 256 MiB per response per user is already more memory
/// than a load machine has to spare.
pub const MAX_BODY_BYTES: i64 = 256 << 20;
/// The highest rate any file may ask for, in requests per second.
pub const MAX_RPS: f64 = 1_000_000.0;

/// Tags that a production environment always forbids, whatever its file says: a
/// destructive or intrusive scenario against production is itself an incident.
pub const PRODUCTION_FORBIDDEN_TAGS: [&str; 2] = ["destructive", "intrusive"];

/// The tier of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Where the system under test answers, or how to start it.
    pub reach: Reach,
    /// The environment's Prometheus, for server-side criteria.
    pub prometheus_url: Option<Url>,
    /// A header that carries a secret read from the process environment.
    pub auth: Option<AuthHeader>,
    /// Where the environment says which release it serves.
    pub version_endpoint: Option<VersionEndpoint>,
    /// Safety limits for traffic sent to this environment.
    pub limits: Limits,
    /// Other origins its requests may go to, each with its own credentials or none;
    /// the environment's own credentials never go to them.
    pub other_origins: Vec<OtherOrigin>,
    /// Where `base-url` is written, for errors that concern the address.
    #[serde(skip)]
    pub base_url_span: Option<std::ops::Range<usize>>,
}

/// An origin other than the base URL's that requests of this environment may go to
/// (a single sign-on server, a document store).
#[derive(Debug, Clone, Serialize)]
pub struct OtherOrigin {
    /// Scheme, host and port.
    #[serde(serialize_with = "origin_text")]
    pub origin: Origin,
    /// Its own secret header, if it needs one.
    pub auth: Option<AuthHeader>,
}

fn origin_text<S: serde::Serializer>(origin: &Origin, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&origin.to_string())
}

impl Environment {
    /// The origin of the base URL (none while a provisioned environment is not started).
    pub fn origin(&self) -> Option<Origin> {
        self.reach.base_url().and_then(Origin::of)
    }

    /// Whether requests of this environment may go to `origin`.
    pub fn allows(&self, origin: &Origin) -> bool {
        self.origin().as_ref() == Some(origin)
            || self.other_origins.iter().any(|o| &o.origin == origin)
    }
}

/// How a stage reaches the system under test.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// A standing environment at this URL.
    BaseUrl(Url),
    /// A container started for the stage and removed after it (test tier only).
    Provision(ProvisionSpec),
}

impl Reach {
    /// The base URL, when the environment is a standing one (or once its container
    /// has been started and the plan points at it).
    pub fn base_url(&self) -> Option<&Url> {
        match self {
            Reach::BaseUrl(url) => Some(url),
            Reach::Provision(_) => None,
        }
    }
}

impl fmt::Display for Reach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reach::BaseUrl(url) => write!(f, "{url}"),
            Reach::Provision(spec) => write!(
                f,
                "a container of image `{}` (port {}), started for the stage",
                spec.image, spec.port
            ),
        }
    }
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
    /// The most body bytes of one response kept for checks and evidence (the rest is
    /// read and dropped, and the cut is recorded); `None` for the default, 1 MiB.
    pub max_body_bytes: Option<u64>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEnvironment {
    #[schemars(with = "u32")]
    version: Spanned<u32>,
    #[schemars(with = "Tier")]
    tier: Spanned<Tier>,
    #[schemars(with = "Option<String>")]
    base_url: Option<Spanned<String>>,
    #[schemars(with = "Option<RawProvision>")]
    provision: Option<Spanned<RawProvision>>,
    #[schemars(with = "Option<String>")]
    prometheus_url: Option<Spanned<String>>,
    auth: Option<RawAuth>,
    version_endpoint: Option<RawVersionEndpoint>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    other_origins: Vec<RawOtherOrigin>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawOtherOrigin {
    #[schemars(with = "String")]
    url: Spanned<String>,
    auth: Option<RawAuth>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAuth {
    header: String,
    #[schemars(with = "String")]
    token_env: Spanned<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawVersionEndpoint {
    #[schemars(with = "String")]
    path: Spanned<String>,
    #[schemars(with = "String")]
    json_pointer: Spanned<String>,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLimits {
    #[schemars(with = "Option<f64>")]
    max_rps: Option<Spanned<f64>>,
    #[schemars(with = "Option<i64>")]
    max_users: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    max_body_bytes: Option<Spanned<i64>>,
    #[serde(default)]
    forbidden_tags: Vec<String>,
}

/// The JSON Schema of an environment file, from the types it is parsed with (see
/// [`crate::config::schema`]).
pub fn json_schema() -> schemars::Schema {
    schemars::schema_for!(RawEnvironment)
}
/// Parses and validates one environment file; mistakes go to `diagnostics`.
pub fn parse(file: &SourceFile, name: &str, diagnostics: &mut Diagnostics) -> Option<Environment> {
    let raw: RawEnvironment = file.parse_toml(diagnostics)?;
    let before = diagnostics.0.len();
    super::check_version(file, &raw.version, diagnostics);
    let tier = *raw.tier.get_ref();
    let base_url_span = raw.base_url.as_ref().map(|u| u.span());
    let reach = match (raw.base_url, raw.provision) {
        (Some(url), None) => parse_url(file, &url, diagnostics).map(Reach::BaseUrl),
        (None, Some(block)) => {
            let span = block.span();
            let spec = provision::parse(file, block.into_inner(), diagnostics);
            if tier == Tier::Production {
                // A production environment is the real system: starting a stand-in
                // container would test something other than what goes live.
                diagnostics.push(file.diagnostic(
                    span,
                    "a production environment cannot be provisioned in a container",
                    Some("`base-url` of the real production system, or `tier = \"test\"`".into()),
                ));
                None
            } else {
                spec.map(Reach::Provision)
            }
        }
        (Some(url), Some(_)) => {
            diagnostics.push(file.diagnostic(
                url.span(),
                "an environment has either `base-url` or a `[provision]` block, not both",
                Some("`base-url` for a standing environment, or `[provision]` to start one in a container".into()),
            ));
            None
        }
        (None, None) => {
            diagnostics.push(file.whole_file(
                "missing `base-url` or `[provision]`: the environment does not say where the system is",
                Some("`base-url = \"http://127.0.0.1:8080\"`, or a `[provision]` block with `image`, `port` and `ready`".into()),
            ));
            None
        }
    };
    let prometheus_url = raw
        .prometheus_url
        .as_ref()
        .and_then(|u| parse_url(file, u, diagnostics));
    if let Some(auth) = &raw.auth {
        check_env_name(file, &auth.token_env, diagnostics);
    }
    if let Some(v) = &raw.version_endpoint {
        // Below the base URL only: the version is read with the environment's
        // credentials, which must not go to `//another-host`.
        let below_base = matches!(
            crate::http_model::origin::classify(v.path.get_ref()),
            Ok(crate::http_model::origin::PathForm::BelowBase)
        );
        if !below_base || v.path.get_ref().contains("{{") {
            diagnostics.push(file.diagnostic(
                v.path.span(),
                "the version path must be a path below the base URL, starting with one `/`",
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
    if let Some(rps) = raw
        .limits
        .max_rps
        .as_ref()
        .filter(|r| *r.get_ref() > MAX_RPS)
    {
        diagnostics.push(file.diagnostic(
            rps.span(),
            "`max-rps` is out of range",
            Some(format!("a number above 0 and at most {MAX_RPS}")),
        ));
    }
    if let Some(users) = &raw.limits.max_users {
        if *users.get_ref() < 1 {
            diagnostics.push(file.diagnostic(
                users.span(),
                "`max-users` must be positive",
                Some("a whole number above 0".into()),
            ));
        } else if *users.get_ref() > i64::from(MAX_USERS) {
            diagnostics.push(file.diagnostic(
                users.span(),
                format!("`max-users` of {} is out of range", users.get_ref()),
                Some(format!("a whole number from 1 to {MAX_USERS}")),
            ));
        }
    }
    if let Some(bytes) = &raw.limits.max_body_bytes {
        if !(1..=MAX_BODY_BYTES).contains(bytes.get_ref()) {
            diagnostics.push(file.diagnostic(
                bytes.span(),
                format!("`max-body-bytes` of {} is out of range", bytes.get_ref()),
                Some(format!("a whole number from 1 to {MAX_BODY_BYTES}")),
            ));
        }
    }
    let base_origin = reach
        .as_ref()
        .and_then(|r| r.base_url())
        .and_then(Origin::of);
    let mut other_origins = Vec::new();
    for other in &raw.other_origins {
        if let Some(auth) = &other.auth {
            check_env_name(file, &auth.token_env, diagnostics);
        }
        match Origin::parse(other.url.get_ref()) {
            Ok(origin) if Some(&origin) == base_origin.as_ref() => {
                diagnostics.push(file.diagnostic(
                    other.url.span(),
                    "this is the environment's own origin",
                    Some("an origin other than `base-url`'s".into()),
                ))
            }
            Ok(origin) => other_origins.push(OtherOrigin {
                origin,
                auth: other.auth.as_ref().map(|a| AuthHeader {
                    header: a.header.clone(),
                    token_env: a.token_env.get_ref().clone(),
                }),
            }),
            Err(e) => diagnostics.push(file.diagnostic(
                other.url.span(),
                format!("`{}` is not an origin: {e}", other.url.get_ref()),
                Some("`https://host[:port]`, without a path".into()),
            )),
        }
    }
    if diagnostics.0.len() > before {
        return None;
    }
    let mut forbidden_tags: BTreeSet<String> = raw.limits.forbidden_tags.into_iter().collect();
    if tier == Tier::Production {
        forbidden_tags.extend(PRODUCTION_FORBIDDEN_TAGS.iter().map(|t| t.to_string()));
    }
    Some(Environment {
        name: name.to_string(),
        tier,
        reach: reach?,
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
            max_users: raw
                .limits
                .max_users
                .and_then(|u| u32::try_from(u.into_inner()).ok()),
            forbidden_tags,
            max_body_bytes: raw
                .limits
                .max_body_bytes
                .and_then(|b| u64::try_from(b.into_inner()).ok()),
        },
        other_origins,
        base_url_span,
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
        && name.get_ref().len() <= 128
        && name
            .get_ref()
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        // A secret pasted here instead of a variable name would end up in the ledger,
        // and an error that quoted it would print it: the line is shown with the value
        // masked.
        let mut diagnostic = file.diagnostic(
            name.span(),
            "`token-env` names an environment variable; it never holds the secret itself",
            Some("an upper-case variable name such as `PORTAL_TOKEN`".into()),
        );
        if !name.get_ref().is_empty() {
            diagnostic.line_text = diagnostic.line_text.replace(name.get_ref().as_str(), "***");
            diagnostic.width = 3;
        }
        diagnostics.push(diagnostic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::provision::Readiness;

    fn check(text: &str) -> (Option<Environment>, Vec<(usize, usize, String)>) {
        let file = SourceFile {
            path: "environments/x.toml".into(),
            text: text.into(),
        };
        let mut diagnostics = Diagnostics::default();
        let env = parse(&file, "x", &mut diagnostics);
        (
            env,
            diagnostics
                .0
                .into_iter()
                .map(|d| (d.line, d.column, d.message))
                .collect(),
        )
    }

    const PROVISION: &str = "[provision]\nimage = \"stagegate-sample:dev\"\nport = 8080\nready = { http = \"/health\" }\n[provision.env]\nA_B = \"1\"\n";

    #[test]
    fn a_provision_block_replaces_the_base_url() {
        let (env, problems) = check(&format!("version = 1\ntier = \"test\"\n{PROVISION}"));
        assert_eq!(problems, vec![]);
        let Some(Environment {
            reach: Reach::Provision(spec),
            ..
        }) = env
        else {
            panic!("not a provisioned environment")
        };
        assert_eq!(spec.image.to_string(), "stagegate-sample:dev");
        assert_eq!(spec.port, 8080);
        assert_eq!(spec.ready, Readiness::Http("/health".into()));
        assert_eq!(spec.env.get("A_B").map(String::as_str), Some("1"));
        assert_eq!(
            spec.start_timeout,
            crate::config::provision::DEFAULT_START_TIMEOUT
        );
    }

    #[test]
    fn base_url_and_provision_together_point_at_the_base_url() {
        let (env, problems) = check(&format!(
            "version = 1\ntier = \"test\"\nbase-url = \"http://127.0.0.1:1\"\n{PROVISION}"
        ));
        assert!(env.is_none());
        assert_eq!(
            problems,
            vec![(
                3,
                12,
                "an environment has either `base-url` or a `[provision]` block, not both"
                    .to_string()
            )]
        );
    }

    #[test]
    fn neither_base_url_nor_provision_is_reported_on_the_file() {
        let (_, problems) = check("version = 1\ntier = \"test\"\n");
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].0, problems[0].1), (1, 1));
        assert!(
            problems[0]
                .2
                .starts_with("missing `base-url` or `[provision]`"),
            "{problems:?}"
        );
    }

    #[test]
    fn production_cannot_provision_and_the_error_points_at_the_block() {
        let (env, problems) = check(&format!("version = 1\ntier = \"production\"\n{PROVISION}"));
        assert!(env.is_none());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].2,
            "a production environment cannot be provisioned in a container"
        );
        assert_eq!(problems[0].0, 3, "{problems:?}");
    }

    #[test]
    fn every_provision_mistake_is_reported_at_its_value() {
        let text = "version = 1\ntier = \"test\"\n[provision]\nimage = \"a b\"\nport = 70000\nready = { http = \"/x\", log = \"y\" }\nstart-timeout = \"soon\"\n[provision.env]\n\"1X\" = \"v\"\n";
        let (env, problems) = check(text);
        assert!(env.is_none());
        let at: Vec<(usize, usize)> = problems.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(
            at,
            vec![(4, 9), (5, 8), (9, 1), (6, 9), (7, 17)],
            "{problems:?}"
        );
    }
}
