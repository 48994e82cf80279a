//! The severity of a security finding: what the catalogue, suites, the gate's
//! `security-*` criteria and every report share.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Severity of a security finding, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing, no risk by itself.
    Info,
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk: blocks go-live in the sample plan.
    High,
    /// Critical: an incident waiting to happen.
    Critical,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The identifier used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
