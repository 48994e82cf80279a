//! The catalogue of built-in security checks: stable ids, severity, whether they are
//! safe to send to production, remediation and reference. Pure data; the scanner
//! implements each id.

use crate::config::suite::Severity;
use serde::Serialize;

/// One built-in check.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CheckInfo {
    /// Stable id used in suite files and reports.
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// Severity of its finding.
    pub severity: Severity,
    /// Sends only GET/HEAD/OPTIONS requests that change nothing.
    pub production_safe: bool,
    /// What to do about a finding.
    pub remediation: &'static str,
    /// OWASP API Security Top 10 2023 item or passive-scan rule it follows.
    pub reference: &'static str,
}

/// Every built-in check.
pub const CATALOGUE: &[CheckInfo] = &[
    CheckInfo {
        id: "header.x-content-type-options",
        name: "X-Content-Type-Options missing",
        severity: Severity::Low,
        production_safe: true,
        remediation: "Send `X-Content-Type-Options: nosniff` on every response.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10021",
    },
    CheckInfo {
        id: "header.clickjacking",
        name: "Clickjacking protection missing",
        severity: Severity::Medium,
        production_safe: true,
        remediation: "Send `Content-Security-Policy: frame-ancestors 'none'` (or `X-Frame-Options: DENY`).",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10020",
    },
    CheckInfo {
        id: "header.csp",
        name: "Content-Security-Policy missing",
        severity: Severity::Medium,
        production_safe: true,
        remediation: "Send a Content-Security-Policy that restricts script sources, e.g. `default-src 'self'`.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10038",
    },
    CheckInfo {
        id: "disclosure.server-version",
        name: "Server version disclosed",
        severity: Severity::Low,
        production_safe: true,
        remediation: "Remove version numbers from `Server` and `X-Powered-By` headers.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP passive rule 10036",
    },
    CheckInfo {
        id: "exposure.git",
        name: "Git repository exposed",
        severity: Severity::High,
        production_safe: true,
        remediation: "Do not deploy the `.git` folder; deny `/.git/` at the web server.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40034 (.env/.git information leak)",
    },
    CheckInfo {
        id: "exposure.env",
        name: "Environment file exposed",
        severity: Severity::Critical,
        production_safe: true,
        remediation: "Never serve `.env` files; keep secrets out of the web root.",
        reference: "OWASP API8:2023 Security Misconfiguration; ZAP rule 40034 (.env/.git information leak)",
    },
];

/// Finds a check by id.
pub fn lookup(id: &str) -> Option<&'static CheckInfo> {
    CATALOGUE.iter().find(|c| c.id == id)
}
