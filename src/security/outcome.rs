//! The results of a security run: findings, what each check did, requests sent.

use super::catalogue::CheckInfo;
use crate::config::security_suite::RuleAction;
use crate::config::suite::Severity;
use serde::{Deserialize, Serialize};

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
    /// The suite's rule for the check: `fail` findings count in the gate, `warn` ones
    /// are shown only.
    #[serde(default)]
    pub rule: RuleAction,
}

impl Finding {
    /// A finding of a built-in check.
    pub(crate) fn of(info: &CheckInfo, url: &str, evidence: String) -> Finding {
        Finding {
            check: info.id.to_string(),
            name: info.name.to_string(),
            severity: info.severity,
            url: url.to_string(),
            evidence,
            remediation: info.remediation.to_string(),
            rule: RuleAction::Fail,
        }
    }
}

/// Whether a check could be judged.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum CheckStatus {
    /// It ran and judged the target.
    Ran,
    /// It could not run; the reason says why.
    Error(String),
    /// It was not run on purpose: ignored by the suite's rules or out of scope.
    Skipped(String),
    /// Its precondition is absent (TLS on `http://`, no cookie set): nothing to judge.
    NotApplicable(String),
}

/// One check or probe and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRun {
    /// Check id.
    pub check: String,
    /// Ran, error or skipped.
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
    /// The most requests the suite was allowed to send.
    pub request_budget: u64,
}
