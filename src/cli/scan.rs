//! `stagegate scan <URL>`: an ad-hoc security scan with the built-in checks, no project
//! needed. The passive profile sends only GET, HEAD and OPTIONS, at most the bound the
//! catalogue states; the full profile adds the checks that send other methods. Checks
//! that need test accounts run only from a suite.

use super::progress::TerminalProgress;
use super::CliError;
use crate::config::security_suite::SecuritySuite;
use crate::config::suite::Severity;
use crate::exit_code;
use crate::run::{RunConsumer, RunEvent, SuiteKind, SuiteOutcome};
use crate::security::catalogue::Profile;
use crate::security::{self, CheckRun, CheckStatus, Finding, ScanOptions};
use crate::vocabulary::Target;
use clap::{Args, ValueEnum};
use serde::Serialize;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Base URL to scan (http:// or https://).
    pub url: String,
    /// Which checks: `passive` (production-safe: GET/HEAD/OPTIONS only, bounded) or
    /// `full` (adds TRACE and malformed input; never on production).
    #[arg(long, value_enum, default_value_t = ProfileArg::Passive)]
    pub profile: ProfileArg,
    /// Output format: `text`, `json`, or `sarif` (SARIF 2.1.0, for GitHub code scanning
    /// and GitLab).
    #[arg(long, value_enum, default_value_t)]
    pub output: ScanOutput,
    /// Write the JSON or SARIF result into FILE instead of standard output (e.g.
    /// `--output sarif -o findings.sarif` for code scanning).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// Trust only this CA certificate (PEM; repeatable) instead of the system's roots,
    /// for test environments with a private CA.
    #[arg(long, value_name = "PEM")]
    pub trust_root: Vec<std::path::PathBuf>,
    /// The User-Agent sent with every request (default: `stagegate/<version> (security
    /// scan)`, so the target's operators can tell the scan's traffic apart).
    #[arg(long, value_name = "TEXT")]
    pub user_agent: Option<String>,
    /// A path pattern never to request (`*` matches any text; repeatable), as a suite's
    /// `out-of-scope`: e.g. `--out-of-scope '/metrics'` for an endpoint meant for a scraper.
    #[arg(long, value_name = "PATTERN")]
    pub out_of_scope: Vec<String>,
    /// The URL is a production environment of the project in `--root`: scan it anyway,
    /// with the passive profile only.
    #[arg(long)]
    pub production: bool,
}

/// The shape identifier of `scan --output json`; bumped on any incompatible change.
pub const SCAN_SCHEMA: &str = "stagegate.scan/v1";

/// `scan --output json`: what was sent and what was found.
#[derive(Debug, Serialize)]
struct ScanJson<'a> {
    /// Always [`SCAN_SCHEMA`].
    schema: &'static str,
    /// The base URL scanned, as given.
    target: &'a str,
    /// `passive` or `full`.
    profile: &'static str,
    requests: u64,
    /// The most requests the profile may send.
    request_bound: u64,
    findings: &'a [Finding],
    /// Each check: whether it ran (or why not) and how many findings it made.
    checks: &'a [CheckRun],
}

/// How `scan` prints its outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ScanOutput {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON on standard output.
    Json,
    /// A SARIF 2.1.0 log on standard output.
    Sarif,
}

/// Scan profile on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// Production-safe checks only.
    Passive,
    /// Every check that needs no test accounts.
    Full,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Passive => Profile::Passive,
            ProfileArg::Full => Profile::Full,
        }
    }
}

pub(super) async fn run(root: &std::path::Path, args: ScanArgs) -> Result<u8, CliError> {
    if args.out.is_some() && args.output == ScanOutput::Text {
        return Err(CliError::invalid(
            "`-o/--out FILE` writes the JSON or SARIF result (hint: add `--output json` or `--output sarif`)",
        ));
    }
    let base = match url::Url::parse(&args.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
        Ok(u) => {
            return Err(CliError::invalid(format!("`{u}` is not an http:// or https:// URL with a host (hint: stagegate scan http://127.0.0.1:18080)")))
        }
        Err(e) => {
            return Err(CliError::invalid(format!(
                "`{}` is not a URL: {e} (hint: stagegate scan http://127.0.0.1:18080)",
                args.url
            )))
        }
    };
    if let Some(env) = super::production_guard::production_environment(root, &base) {
        if !args.production {
            return Err(super::production_guard::refusal(
                "scan", &args.url, &env, root,
            ));
        }
        if args.profile != ProfileArg::Passive {
            return Err(CliError::invalid(format!("production environment `{}` takes the passive profile only; nothing was sent (hint: `--profile passive`)", env.name)));
        }
    }
    let profile = Profile::from(args.profile);
    let mut suite = SecuritySuite::from_checks(profile.checks().iter().map(|c| c.id));
    suite.out_of_scope = args.out_of_scope.clone();
    let target = Target::without_secrets(base.as_str());
    let mut trusted_roots_pem = Vec::new();
    for path in &args.trust_root {
        let pem = std::fs::read_to_string(path).map_err(|e| {
            CliError::invalid(format!(
                "cannot read `{}`: {e} (hint: a PEM certificate file)",
                path.display()
            ))
        })?;
        trusted_roots_pem.push(pem);
    }
    let options = ScanOptions {
        production_safe_only: profile == Profile::Passive,
        trusted_roots_pem,
        user_agent: args.user_agent.clone(),
    };
    // The same terminal reporter as `run`, fed the two events of a security suite: a
    // spinner on a terminal, a plain line every few seconds in a CI log, nothing with
    // `--quiet`; all on standard error, so the JSON or SARIF on standard output is whole.
    let progress = TerminalProgress::new();
    let name = format!("scan-{}", profile.as_str());
    progress
        .event(RunEvent::SuiteStarted {
            suite: &name,
            kind: SuiteKind::Security,
        })
        .map_err(|e| CliError::Internal(e.to_string()))?;
    let outcome = security::run_suite_with(&suite, &target, options).await;
    progress
        .event(RunEvent::SuiteFinished {
            suite: &name,
            outcome: &SuiteOutcome::Security {
                checks: outcome.checks.len(),
                findings: outcome.findings.len(),
                could_not_run: outcome
                    .checks
                    .iter()
                    .filter(|c| matches!(c.status, CheckStatus::Error(_)))
                    .count(),
                requests: outcome.requests,
            },
        })
        .map_err(|e| CliError::Internal(e.to_string()))?;
    let errored: Vec<String> = outcome
        .checks
        .iter()
        .filter_map(|c| match &c.status {
            CheckStatus::Error(reason) => Some(format!("{}: {reason}", c.check)),
            _ => None,
        })
        .collect();
    let failing = outcome
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .count();
    match args.output {
        ScanOutput::Sarif => {
            super::output_args::emit_json(
                &security::sarif::to_sarif(&outcome, &target.base),
                args.out.as_deref(),
            )?;
        }
        ScanOutput::Json => {
            super::output_args::emit_json(
                &ScanJson {
                    schema: SCAN_SCHEMA,
                    target: &target.base,
                    profile: profile.as_str(),
                    requests: outcome.requests,
                    request_bound: outcome.request_budget,
                    findings: &outcome.findings,
                    checks: &outcome.checks,
                },
                args.out.as_deref(),
            )?;
        }
        ScanOutput::Text => {
            for f in &outcome.findings {
                println!(
                    "[{}] {} — {}\n  {}\n  {}\n  fix: {}",
                    f.severity,
                    f.check,
                    f.name,
                    f.url,
                    f.evidence.replace('\n', "\n  "),
                    f.remediation
                );
            }
            println!(
                "{} checks, {} findings ({} above info), {} requests (bound {})",
                outcome.checks.len(),
                outcome.findings.len(),
                failing,
                outcome.requests,
                outcome.request_budget
            );
        }
    }
    // A check that could not run has not shown the target clean.
    if !errored.is_empty() {
        return Err(CliError::Failed(
            errored
                .iter()
                .map(|e| format!("check could not run: {e}"))
                .collect::<Vec<_>>()
                .join("\nerror: "),
        ));
    }
    Ok(if failing > 0 {
        exit_code::FAILED
    } else {
        exit_code::OK
    })
}
