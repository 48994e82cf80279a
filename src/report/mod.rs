//! Takes a finished stage run (plan, measurements, verdict, findings), gives its
//! reports: `summary.json` (versioned, machine-readable) and the verdict table shown
//! on the terminal.

use crate::gate::{CriterionStatus, GateVerdict};
use crate::ledger::RunState;
use crate::measure::Measurements;
use crate::security::Finding;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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
}

/// Writes `summary.json` into `dir`, creating it.
pub fn write_summary(dir: &Path, summary: &RunSummary) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("summary.json");
    let json = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
    std::fs::write(&path, json + "\n")?;
    Ok(path)
}

/// The verdict as a plain-text table.
pub fn verdict_table(verdict: &GateVerdict) -> String {
    let widths = [
        verdict
            .results
            .iter()
            .map(|r| r.metric.len())
            .max()
            .unwrap_or(6)
            .max(9),
        verdict
            .results
            .iter()
            .map(|r| r.shown.len())
            .max()
            .unwrap_or(5)
            .max(5),
        verdict
            .results
            .iter()
            .map(|r| r.pass.len())
            .max()
            .unwrap_or(4)
            .max(4),
        verdict
            .results
            .iter()
            .map(|r| r.warn.as_deref().unwrap_or("-").len())
            .max()
            .unwrap_or(4)
            .max(4),
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:<6}  reason",
        "criterion",
        "value",
        "pass",
        "warn",
        "result",
        w0 = widths[0],
        w1 = widths[1],
        w2 = widths[2],
        w3 = widths[3]
    );
    for r in &verdict.results {
        let status = match r.status {
            CriterionStatus::Pass => "pass",
            CriterionStatus::Warn => "warn",
            CriterionStatus::Fail => "FAIL",
        };
        let _ = writeln!(
            out,
            "  {:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:<6}  {}",
            r.metric,
            r.shown,
            r.pass,
            r.warn.as_deref().unwrap_or("-"),
            status,
            r.reason,
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
    let _ = write!(
        out,
        "  gate {}: {} criteria, {} failed, {} warned{}",
        verdict.outcome.to_string().to_uppercase(),
        verdict.results.len(),
        verdict
            .results
            .iter()
            .filter(|r| r.status == CriterionStatus::Fail)
            .count(),
        verdict.warnings,
        if verdict.warnings_block && verdict.warnings > 0 {
            " (warnings block this gate)"
        } else {
            ""
        }
    );
    out
}
