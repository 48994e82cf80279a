//! Takes a finished stage run (plan, measurements, verdict, findings), gives its
//! reports: `summary.json` (versioned, machine-readable), `junit.xml` (for CI
//! servers), a self-contained `report.html`, the release's go-live dossier, and the
//! verdict table shown on the terminal.

pub mod cli_words;
pub mod command_words;
pub mod context;
pub mod event_log;
pub mod html;
pub mod i18n;
pub mod junit;
pub mod local_time;
pub mod outputs;
pub mod sarif_file;
pub mod verdict_table;

pub use verdict_table::verdict_table;

use crate::gate::GateVerdict;
use crate::ledger::RunState;
use crate::measure::Measurements;
use crate::security::{CheckRun, CheckStatus, Finding};
use serde::{Deserialize, Serialize};

/// The format identifier of `summary.json`; bumped on any incompatible change.
pub const SUMMARY_FORMAT: &str = "stagegate.run-summary/v1";

/// The machine-readable summary of one stage run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    /// Always [`SUMMARY_FORMAT`].
    pub format: String,
    /// System.
    pub system: String,
    /// Release.
    pub release: String,
    /// Stage id.
    pub stage: String,
    /// 1..=4.
    pub stage_number: usize,
    /// Environment name.
    pub environment: String,
    /// `test` or `production`.
    pub tier: String,
    /// Ledger run id.
    pub run_id: i64,
    /// Who ran it.
    pub run_by: String,
    /// Start.
    pub started_at: String,
    /// End.
    pub finished_at: Option<String>,
    /// Passed, failed or aborted.
    pub state: RunState,
    /// Release reported by the environment.
    pub version_seen: Option<String>,
    /// Digest of the files used.
    pub files_digest: String,
    /// Suites run.
    pub suites: Vec<String>,
    /// Gate verdict.
    pub verdict: GateVerdict,
    /// Measurements.
    pub measurements: Measurements,
    /// Security findings.
    pub findings: Vec<Finding>,
    /// Why it was aborted.
    pub abort_reason: Option<String>,
    /// Each security check or probe and whether it could run (added in v1; absent in
    /// older summaries, read as empty).
    #[serde(default)]
    pub security_checks: Vec<SecurityCheckResult>,
    /// The earlier release regression criteria were compared with, when there was one
    /// (added in v1; absent means none).
    #[serde(default)]
    pub baseline: Option<BaselineRecord>,
    /// Suites allowed to write to production in this run, with their written reasons
    /// (added in v1; absent means none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub production_writes: Vec<crate::plan::ProductionWrite>,
}

/// One security check or probe of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityCheckResult {
    /// Check id (`probe.<name>` for probes).
    pub check: String,
    /// Whether it ran.
    pub ran: bool,
    /// Why it could not run.
    pub error: Option<String>,
    /// Why it was not run on purpose (ignored by the suite's rules, out of scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Why its precondition was absent (TLS on `http://`, no cookie set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
    /// Findings it produced.
    pub findings: usize,
}

impl From<&CheckRun> for SecurityCheckResult {
    fn from(run: &CheckRun) -> Self {
        let (ran, error, skipped, not_applicable) = match &run.status {
            CheckStatus::Ran => (true, None, None, None),
            CheckStatus::Error(reason) => (false, Some(reason.clone()), None, None),
            CheckStatus::Skipped(reason) => (false, None, Some(reason.clone()), None),
            CheckStatus::NotApplicable(reason) => (false, None, None, Some(reason.clone())),
        };
        SecurityCheckResult {
            check: run.check.clone(),
            ran,
            error,
            skipped,
            not_applicable,
            findings: run.findings,
        }
    }
}

/// The baseline of a run: the last release that passed the same stage, and what it
/// measured, so the verdict can be evaluated again later from the summary alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineRecord {
    /// That release.
    pub release: String,
    /// Its run.
    pub run_id: i64,
    /// Its measurements.
    pub measurements: Measurements,
}

/// The file names of a run's reports, in its report folder.
pub const SUMMARY_FILE: &str = "summary.json";
/// JUnit XML.
pub const JUNIT_FILE: &str = "junit.xml";
/// HTML.
pub const HTML_FILE: &str = "report.html";
/// The folder holding a copy of the files as run (the runner keeps them).
pub use crate::run::FILES_DIR;
