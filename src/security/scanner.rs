//! Runs a security suite against a target with reqwest: built-in checks from the
//! catalogue and declarative probes. Exposed-file checks first learn how the target
//! answers a page that cannot exist, so a catch-all route is not taken for a leak.

use super::catalogue::{self, CheckInfo};
use crate::config::matcher::ObservedResponse;
use crate::config::suite::{HttpMethod, Probe, SecuritySuite, Severity};
use crate::plan::Target;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Why a security request gives up: a check that hangs must not hold a stage.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Response bodies kept as evidence are cut to this many characters.
const EVIDENCE_CHARS: usize = 300;

/// One problem found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// The check id (`probe.<name>` for probes).
    pub check: String,
    /// Human name.
    pub name: String,
    /// Severity.
    pub severity: Severity,
    /// The URL that showed it.
    pub url: String,
    /// The request line and an excerpt of the response, secrets redacted.
    pub evidence: String,
    /// What to do about it.
    pub remediation: String,
}

/// Whether a check could be judged.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum CheckStatus {
    /// It ran and judged the target.
    Ran,
    /// It could not run; the reason says why.
    Error(String),
}

/// One check or probe and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRun {
    /// Check id.
    pub check: String,
    /// Ran or error.
    pub status: CheckStatus,
    /// Findings it produced.
    pub findings: usize,
}

/// Everything a security suite produced.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SecurityOutcome {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Each check or probe.
    pub checks: Vec<CheckRun>,
    /// Requests sent.
    pub requests: u64,
}

struct Scanner<'a> {
    client: reqwest::Client,
    target: &'a Target,
    requests: u64,
}

impl Scanner<'_> {
    async fn fetch(
        &mut self,
        method: HttpMethod,
        path: &str,
        headers: &[(String, String)],
        body: Option<&str>,
    ) -> Result<(String, ObservedResponse), String> {
        let url = self.target.url(path);
        let method_value =
            reqwest::Method::from_bytes(method.as_str().as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .request(method_value, &url)
            .timeout(REQUEST_TIMEOUT);
        for (name, value) in self.target.headers.iter().chain(headers) {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        self.requests += 1;
        let response = request.send().await.map_err(|e| describe_error(&e))?;
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
        let body = response.text().await.map_err(|e| describe_error(&e))?;
        Ok((
            url,
            ObservedResponse {
                status,
                headers,
                body,
            },
        ))
    }

    fn evidence(
        &self,
        method: HttpMethod,
        url: &str,
        response: &ObservedResponse,
        note: &str,
    ) -> String {
        let excerpt: String = response.body.chars().take(EVIDENCE_CHARS).collect();
        let text = format!("{method} {url} → {} {note}\n{excerpt}", response.status);
        self.target.redact(&text)
    }
}

fn describe_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text = format!("{text}: {s}");
            source = s.source();
        }
        text
    }
}

/// Runs every check and probe of `suite` against `target`.
pub async fn run_suite(suite: &SecuritySuite, target: &Target) -> SecurityOutcome {
    let client = match reqwest::Client::builder()
        // Redirects are part of what is judged (plain HTTP without redirect, open redirects).
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return SecurityOutcome {
                checks: suite
                    .checks
                    .iter()
                    .map(|id| CheckRun {
                        check: id.clone(),
                        status: CheckStatus::Error(e.to_string()),
                        findings: 0,
                    })
                    .collect(),
                ..SecurityOutcome::default()
            }
        }
    };
    let mut scanner = Scanner {
        client,
        target,
        requests: 0,
    };
    let mut outcome = SecurityOutcome::default();
    // The landing page is shared by the header checks: one request, not one per check.
    let mut landing: Option<Result<(String, ObservedResponse), String>> = None;
    for id in &suite.checks {
        let Some(info) = catalogue::lookup(id) else {
            outcome.checks.push(CheckRun {
                check: id.clone(),
                status: CheckStatus::Error("unknown check".into()),
                findings: 0,
            });
            continue;
        };
        let result = run_check(&mut scanner, info, &mut landing).await;
        record(&mut outcome, id, result);
    }
    for probe in &suite.probes {
        let result = run_probe(&mut scanner, probe).await;
        record(&mut outcome, &format!("probe.{}", probe.name), result);
    }
    outcome.requests = scanner.requests;
    outcome
}

fn record(outcome: &mut SecurityOutcome, id: &str, result: Result<Vec<Finding>, String>) {
    match result {
        Ok(findings) => {
            outcome.checks.push(CheckRun {
                check: id.to_string(),
                status: CheckStatus::Ran,
                findings: findings.len(),
            });
            outcome.findings.extend(findings);
        }
        Err(reason) => outcome.checks.push(CheckRun {
            check: id.to_string(),
            status: CheckStatus::Error(reason),
            findings: 0,
        }),
    }
}

fn finding(info: &CheckInfo, url: &str, evidence: String) -> Finding {
    Finding {
        check: info.id.to_string(),
        name: info.name.to_string(),
        severity: info.severity,
        url: url.to_string(),
        evidence,
        remediation: info.remediation.to_string(),
    }
}

async fn run_check(
    scanner: &mut Scanner<'_>,
    info: &CheckInfo,
    landing: &mut Option<Result<(String, ObservedResponse), String>>,
) -> Result<Vec<Finding>, String> {
    match info.id {
        "header.x-content-type-options"
        | "header.clickjacking"
        | "header.csp"
        | "disclosure.server-version" => {
            if landing.is_none() {
                *landing = Some(scanner.fetch(HttpMethod::Get, "/", &[], None).await);
            }
            let (url, response) = match landing {
                Some(Ok(pair)) => pair.clone(),
                Some(Err(e)) => return Err(e.clone()),
                None => return Err("landing page not fetched".into()),
            };
            let problem = header_problem(info.id, &response);
            Ok(problem
                .map(|note| {
                    finding(
                        info,
                        &url,
                        scanner.evidence(HttpMethod::Get, &url, &response, &note),
                    )
                })
                .into_iter()
                .collect())
        }
        "exposure.git" => {
            exposed_file(scanner, info, "/.git/config", |body| {
                body.contains("[core]") && body.contains("repositoryformatversion")
            })
            .await
        }
        "exposure.env" => {
            exposed_file(scanner, info, "/.env", |body| {
                body.lines()
                    .filter(|l| {
                        let l = l.trim();
                        l.split_once('=').is_some_and(|(k, _)| {
                            !k.is_empty()
                                && k.chars().all(|c| {
                                    c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()
                                })
                        })
                    })
                    .count()
                    >= 2
            })
            .await
        }
        other => Err(format!(
            "check `{other}` has no implementation in this build"
        )),
    }
}

fn header_problem(id: &str, response: &ObservedResponse) -> Option<String> {
    match id {
        "header.x-content-type-options" => match response.header("x-content-type-options") {
            Some(v) if v.trim().eq_ignore_ascii_case("nosniff") => None,
            Some(v) => Some(format!("(X-Content-Type-Options: {v})")),
            None => Some("(no X-Content-Type-Options header)".into()),
        },
        "header.clickjacking" => {
            let csp = response
                .header("content-security-policy")
                .unwrap_or_default();
            let xfo = response
                .header("x-frame-options")
                .unwrap_or_default()
                .to_ascii_uppercase();
            if csp.contains("frame-ancestors") || xfo == "DENY" || xfo == "SAMEORIGIN" {
                None
            } else {
                Some("(neither frame-ancestors nor X-Frame-Options)".into())
            }
        }
        "header.csp" => match response.header("content-security-policy") {
            Some(v) if !v.trim().is_empty() => None,
            _ => Some("(no Content-Security-Policy header)".into()),
        },
        "disclosure.server-version" => ["server", "x-powered-by"].into_iter().find_map(|name| {
            response
                .header(name)
                .filter(|v| v.chars().any(|c| c.is_ascii_digit()))
                .map(|v| format!("({name}: {v})"))
        }),
        _ => None,
    }
}

async fn exposed_file(
    scanner: &mut Scanner<'_>,
    info: &CheckInfo,
    path: &str,
    looks_real: impl Fn(&str) -> bool,
) -> Result<Vec<Finding>, String> {
    // Learn the target's answer to a page that cannot exist: a catch-all route that
    // answers 200 with the same body everywhere is not an exposed file.
    let random = format!("/stagegate-no-such-page-{:016x}", rand::random::<u64>());
    let (_, missing) = scanner.fetch(HttpMethod::Get, &random, &[], None).await?;
    let (url, response) = scanner.fetch(HttpMethod::Get, path, &[], None).await?;
    let exposed =
        response.status == 200 && response.body != missing.body && looks_real(&response.body);
    Ok(if exposed {
        vec![finding(
            info,
            &url,
            scanner.evidence(HttpMethod::Get, &url, &response, ""),
        )]
    } else {
        Vec::new()
    })
}

async fn run_probe(scanner: &mut Scanner<'_>, probe: &Probe) -> Result<Vec<Finding>, String> {
    let (url, response) = scanner
        .fetch(
            probe.method,
            &probe.path,
            &probe.headers,
            probe.body.as_deref(),
        )
        .await?;
    let mut json = None;
    let hit = probe
        .matchers
        .iter()
        .all(|m| m.matches_with(&response, &mut json));
    Ok(if hit {
        let note = probe
            .matchers
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" and ");
        vec![Finding {
            check: format!("probe.{}", probe.name),
            name: probe.name.clone(),
            severity: probe.severity,
            url: url.clone(),
            evidence: scanner.evidence(
                probe.method,
                &url,
                &response,
                &format!("(matched: {note})"),
            ),
            remediation: probe.remediation.clone(),
        }]
    } else {
        Vec::new()
    })
}
