//! Runs a security suite against a target with reqwest. Every request goes through
//! [`Scanner::fetch`], which refuses what the run may not send: paths out of the suite's
//! scope, methods other than GET/HEAD/OPTIONS in production-safe mode, and anything past
//! the request budget computed from the catalogue. Evidence is redacted there too.

use super::catalogue::{self, DISCOVERY_REQUESTS, SHARED_REQUESTS};
use super::checks::{self, Context};
use super::outcome::{CheckRun, CheckStatus, Finding, SecurityOutcome};
use super::{probe, scope};
use crate::config::matcher::ObservedResponse;
use crate::config::security_suite::{RuleAction, SecuritySuite};
use crate::vocabulary::Target;
use std::collections::HashMap;
use std::time::Duration;

/// Why a security request gives up: a check that hangs must not hold a stage.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Response bodies kept as evidence are cut to this many characters: enough to show
/// the leak, short enough that a finding never carries a whole dump.
const EVIDENCE_CHARS: usize = 300;

/// How a run may behave.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Send only GET, HEAD and OPTIONS (production, and the passive profile); a second
    /// line behind the plan, which already refuses unsafe checks on production.
    pub production_safe_only: bool,
    /// PEM certificates to trust instead of the system's roots (a private test CA).
    pub trusted_roots_pem: Vec<String>,
    /// The `User-Agent` sent; `None` sends the suite's `user-agent`, or else
    /// [`default_user_agent`], so a server's operators can tell stagegate's requests apart.
    pub user_agent: Option<String>,
}

/// `stagegate/<version> (security scan)`.
pub fn default_user_agent() -> String {
    format!("stagegate/{} (security scan)", env!("CARGO_PKG_VERSION"))
}

/// Why a request was not answered.
#[derive(Debug, Clone)]
pub(crate) enum FetchError {
    /// The path matches an out-of-scope pattern; nothing was sent.
    OutOfScope(String),
    /// The run may not send this (method in production-safe mode, budget spent).
    Refused(String),
    /// Sent, but no answer.
    Transport(String),
    /// The check's precondition is absent (a TLS check on `http://`, a cookie check
    /// with no cookie): nothing to judge, which is not the same as "nothing found".
    NotApplicable(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::OutOfScope(text)
            | FetchError::Refused(text)
            | FetchError::Transport(text)
            | FetchError::NotApplicable(text) => f.write_str(text),
        }
    }
}

/// One request and its answer.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// The method sent.
    pub method: String,
    /// The full URL.
    pub url: String,
    /// What came back.
    pub response: ObservedResponse,
}

/// Sends requests for checks and probes.
pub(crate) struct Scanner {
    client: reqwest::Client,
    target: Target,
    requests: u64,
    budget: u64,
    safe_only: bool,
    out_of_scope: Vec<String>,
    shared: HashMap<&'static str, Result<Exchange, FetchError>>,
}

impl Scanner {
    /// Whether the base URL is HTTPS.
    pub fn is_https(&self) -> bool {
        self.target.base.starts_with("https://")
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.target.base
    }

    /// Replaces every known secret in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        self.target.redact(text)
    }

    /// Scrubs this value from all evidence from now on (tokens learned during the run).
    pub fn add_secret(&mut self, secret: &str) {
        self.target.add_secret(secret);
    }

    /// Whether a path may be requested.
    pub fn in_scope(&self, path: &str) -> bool {
        scope::excluded_by(&self.out_of_scope, path).is_none()
    }

    /// Sends one request. `path` is below the base URL, or a full `http(s)://` URL.
    /// A path is resolved by the origin fence (one that would leave the origin is not
    /// sent); the environment's credentials go only to its own origin, a listed origin
    /// gets its own, and any other full URL (a built-in check's plain-HTTP twin) none.
    pub async fn fetch(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Option<&str>,
    ) -> Result<Exchange, FetchError> {
        let lower = path.to_ascii_lowercase();
        let resolved = if lower.starts_with("http://") || lower.starts_with("https://") {
            url::Url::parse(path)
                .map_err(|e| FetchError::Refused(format!("`{path}` is not a URL: {e}")))
        } else {
            self.target
                .resolve_url(path)
                .map_err(|e| FetchError::Refused(format!("not sent: {e}")))
        }?;
        let url = resolved.as_str().to_string();
        let scoped_path = url::Url::parse(&url).map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        });
        if let Some(pattern) =
            scope::excluded_by(&self.out_of_scope, scoped_path.as_deref().unwrap_or(path))
        {
            return Err(FetchError::OutOfScope(format!(
                "`{path}` out of scope (pattern `{pattern}`)"
            )));
        }
        if self.safe_only && !matches!(method, "GET" | "HEAD" | "OPTIONS") {
            return Err(FetchError::Refused(format!(
                "{method} not sent in production-safe mode"
            )));
        }
        if self.requests >= self.budget {
            return Err(FetchError::Refused(format!(
                "request budget of {} spent",
                self.budget
            )));
        }
        let method_value = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| FetchError::Refused(e.to_string()))?;
        let mut request = self
            .client
            .request(method_value, &url)
            .timeout(REQUEST_TIMEOUT);
        for (name, value) in self.target.credentials_for(&resolved).iter().chain(headers) {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        self.requests += 1;
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let text = crate::http_model::certificate::describe_with_names(&e, &resolved).await;
                return Err(FetchError::Transport(self.target.redact(&text)));
            }
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let (body, truncated) = read_bounded(response, self.target.body_limit())
            .await
            .map_err(|e| FetchError::Transport(describe_error(&e)))?;
        Ok(Exchange {
            method: method.to_string(),
            url,
            response: ObservedResponse {
                status,
                headers,
                body,
                truncated,
            },
        })
    }

    /// A GET shared by several checks (the landing page, the missing-page baseline),
    /// sent at most once per run.
    pub async fn shared(
        &mut self,
        key: &'static str,
        path: &str,
        headers: &[(String, String)],
    ) -> Result<Exchange, FetchError> {
        if let Some(done) = self.shared.get(key) {
            return done.clone();
        }
        let result = self.fetch("GET", path, headers, None).await;
        self.shared.insert(key, result.clone());
        result
    }

    /// Evidence for a finding: request line, status, a note and the start of the body,
    /// with every known secret replaced by `***` — redacted before it is cut, so a
    /// secret across the cut cannot leave a fragment behind.
    pub fn evidence(&self, exchange: &Exchange, note: &str) -> String {
        let redacted = self.target.redact(&exchange.response.body);
        let excerpt: String = redacted.chars().take(EVIDENCE_CHARS).collect();
        let text = format!(
            "{} {} → {} {note}\n{excerpt}",
            exchange.method,
            self.target.redact(&exchange.url),
            exchange.response.status
        );
        self.target.redact(text.trim_end())
    }

    /// Evidence for a finding about headers: request line, status, a note and the
    /// response headers (the body says nothing about them), secrets replaced by `***`.
    pub fn header_evidence(&self, exchange: &Exchange, note: &str) -> String {
        let mut text = format!(
            "{} {} → {} {note}",
            exchange.method, exchange.url, exchange.response.status
        );
        for (name, value) in &exchange.response.headers {
            text.push_str(&format!("\n{name}: {value}"));
        }
        self.target.redact(&text)
    }
}

fn describe_error(e: &reqwest::Error) -> String {
    crate::http_model::failure::describe(e)
}

/// Reads at most `limit` bytes of a body, chunk by chunk, dropping the rest as it
/// arrives (memory stays flat); gives the text kept and whether the body was cut.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<(String, bool), reqwest::Error> {
    let mut kept: Vec<u8> = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(kept.len());
        if chunk.len() > room {
            truncated = true;
            // Enough is known: the rest of a huge body is not worth waiting for.
            kept.extend_from_slice(&chunk[..room]);
            break;
        }
        kept.extend_from_slice(&chunk);
    }
    Ok((String::from_utf8_lossy(&kept).into_owned(), truncated))
}

/// Runs every check and probe of `suite` against `target`, with default options.
pub async fn run_suite(suite: &SecuritySuite, target: &Target) -> SecurityOutcome {
    run_suite_with(suite, target, ScanOptions::default()).await
}

/// Runs every check and probe of `suite` against `target`.
pub async fn run_suite_with(
    suite: &SecuritySuite,
    target: &Target,
    options: ScanOptions,
) -> SecurityOutcome {
    let budget = request_budget(suite);
    let mut outcome = SecurityOutcome {
        request_budget: budget,
        ..SecurityOutcome::default()
    };
    let mut builder = reqwest::Client::builder()
        // Redirects are part of what is judged (plain HTTP without redirect, open
        // redirects whose target must never be fetched); discovery follows the
        // same-origin ones itself, counting each hop.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(
            options
                .user_agent
                .clone()
                .or_else(|| suite.user_agent.clone())
                .unwrap_or_else(default_user_agent),
        );
    if !options.trusted_roots_pem.is_empty() {
        let roots: Result<Vec<_>, _> = options
            .trusted_roots_pem
            .iter()
            .map(|pem| reqwest::Certificate::from_pem(pem.as_bytes()))
            .collect();
        builder = match roots {
            Ok(roots) => builder.tls_certs_only(roots),
            Err(e) => {
                return errored(
                    suite,
                    outcome,
                    &format!("bad trusted root certificate: {e}"),
                )
            }
        };
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => return errored(suite, outcome, &e.to_string()),
    };
    let scanner = Scanner {
        client,
        target: target.clone(),
        requests: 0,
        budget,
        safe_only: options.production_safe_only,
        out_of_scope: suite.out_of_scope.clone(),
        shared: HashMap::new(),
    };
    let mut context = Context::new(scanner, suite.accounts.as_deref());
    // A target that does not answer makes every check "could not run", not "ran,
    // nothing found" (a certificate refused is an answer: the TLS check judges it).
    if !suite.checks.is_empty() || !suite.probes.is_empty() {
        if let Err(FetchError::Transport(reason)) =
            context.scanner.shared("landing", "/", &[]).await
        {
            if checks::certificate_problem(&reason).is_none() {
                let requests = context.scanner.requests;
                let mut outcome = errored(suite, outcome, &format!("target unreachable: {reason}"));
                outcome.requests = requests;
                return outcome;
            }
        }
    }
    for id in &suite.checks {
        let rule = suite.rule_of(*id);
        if rule == RuleAction::Ignore {
            outcome.checks.push(CheckRun {
                check: id.to_string(),
                status: CheckStatus::Skipped("ignored by the suite's rules".into()),
                findings: 0,
            });
            continue;
        }
        let result = checks::run(&mut context, catalogue::info(*id)).await;
        record(&mut outcome, id.as_str(), rule, result);
    }
    for p in &suite.probes {
        let id = p.id();
        let rule = suite.rule(&id);
        if rule == RuleAction::Ignore {
            outcome.checks.push(CheckRun {
                check: id,
                status: CheckStatus::Skipped("ignored by the suite's rules".into()),
                findings: 0,
            });
            continue;
        }
        let result = probe::run(&mut context, p).await;
        record(&mut outcome, &id, rule, result);
    }
    outcome.requests = context.scanner.requests;
    outcome
}

/// Every check and probe of the suite marked as not run, for the reason given.
fn errored(suite: &SecuritySuite, mut outcome: SecurityOutcome, reason: &str) -> SecurityOutcome {
    outcome.checks = suite
        .checks
        .iter()
        .map(|id| id.to_string())
        .chain(suite.probes.iter().map(|p| p.id()))
        .map(|check| CheckRun {
            check,
            status: CheckStatus::Error(reason.to_string()),
            findings: 0,
        })
        .collect();
    outcome
}

/// The most requests a suite may send: the shared requests, each check's own, the
/// account session and each probe (twice when it compares two accounts).
fn request_budget(suite: &SecuritySuite) -> u64 {
    let active = |id: &str| suite.rule(id) != RuleAction::Ignore;
    let checks: Vec<_> = suite
        .checks
        .iter()
        .filter(|id| active(id.as_str()))
        .map(|id| catalogue::info(*id))
        .collect();
    let own: u64 = checks.iter().map(|c| u64::from(c.max_requests)).sum();
    let discovery = if checks.iter().any(|c| c.uses_discovery()) {
        u64::from(DISCOVERY_REQUESTS)
    } else {
        0
    };
    let probes: Vec<_> = suite.probes.iter().filter(|p| active(&p.id())).collect();
    let probe_requests: u64 = probes.iter().map(|p| p.requests()).sum();
    let needs_session =
        checks.iter().any(|c| c.needs_accounts()) || probes.iter().any(|p| p.needs_session());
    let session = if needs_session {
        u64::from(checks::SESSION_REQUESTS)
    } else {
        0
    };
    u64::from(SHARED_REQUESTS) + discovery + own + probe_requests + session
}

fn record(
    outcome: &mut SecurityOutcome,
    id: &str,
    rule: RuleAction,
    result: Result<Vec<Finding>, FetchError>,
) {
    match result {
        Ok(mut findings) => {
            for f in &mut findings {
                f.rule = rule;
            }
            outcome.checks.push(CheckRun {
                check: id.to_string(),
                status: CheckStatus::Ran,
                findings: findings.len(),
            });
            outcome.findings.extend(findings);
        }
        Err(FetchError::OutOfScope(reason)) => outcome.checks.push(CheckRun {
            check: id.to_string(),
            status: CheckStatus::Skipped(reason),
            findings: 0,
        }),
        Err(FetchError::NotApplicable(reason)) => outcome.checks.push(CheckRun {
            check: id.to_string(),
            status: CheckStatus::NotApplicable(reason),
            findings: 0,
        }),
        Err(e) => outcome.checks.push(CheckRun {
            check: id.to_string(),
            status: CheckStatus::Error(e.to_string()),
            findings: 0,
        }),
    }
}
