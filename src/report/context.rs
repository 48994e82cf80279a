//! Takes the ledger, gives what a report shows about a whole release: the state of
//! each of the four stages ([`ReleaseContext`], computed by the ledger) and, for the
//! go-live dossier, the summary of every run ([`ReleaseDossier`]).

use super::{RunSummary, SUMMARY_FILE, SUMMARY_FORMAT};
use crate::gate::GateVerdict;
use crate::ledger::{Ledger, LedgerError, RunRow};
pub use crate::ledger::{ReleaseContext, StageStatus};
use crate::measure::Measurements;
use crate::stage::StageId;
use std::path::Path;

/// The go-live dossier of a release: its context and the summary of every run.
#[derive(Debug, Clone)]
pub struct ReleaseDossier {
    /// Stages and approvals.
    pub context: ReleaseContext,
    /// Every run of the release, oldest first.
    pub runs: Vec<RunSummary>,
}

impl ReleaseDossier {
    /// Reads the release from the ledger, and each run's `summary.json` from its report
    /// folder; a run whose summary is gone is rebuilt from the ledger (its findings are
    /// then unknown and shown as such by the count of checks).
    pub fn from_ledger(
        ledger: &Ledger,
        system: &str,
        release: &str,
    ) -> Result<ReleaseDossier, LedgerError> {
        let context = ReleaseContext::from_ledger(ledger, system, release)?;
        let runs = ledger
            .runs(Some(system), Some(release))?
            .iter()
            .map(summary_of)
            .collect();
        Ok(ReleaseDossier { context, runs })
    }

    /// The latest run of a stage.
    pub fn latest(&self, stage: StageId) -> Option<&RunSummary> {
        self.runs.iter().rev().find(|r| r.stage == stage.as_str())
    }
}

/// The summary of a run: its `summary.json` when it is there and belongs to it,
/// otherwise what the ledger recorded.
pub fn summary_of(row: &RunRow) -> RunSummary {
    if let Some(dir) = &row.report_dir {
        let stored = std::fs::read(Path::new(dir).join(SUMMARY_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice::<RunSummary>(&b).ok());
        if let Some(summary) = stored.filter(|s| s.run_id == row.id) {
            return summary;
        }
    }
    let verdict = row
        .verdict
        .as_deref()
        .and_then(|v| serde_json::from_str::<GateVerdict>(v).ok())
        .unwrap_or_else(GateVerdict::not_evaluated);
    RunSummary {
        format: SUMMARY_FORMAT.into(),
        system: row.system.clone(),
        release: row.release.clone(),
        stage: row.stage.as_str().into(),
        stage_number: row.stage.number(),
        environment: row.environment.clone(),
        tier: String::new(),
        run_id: row.id,
        run_by: row.run_by.clone(),
        started_at: row.started_at.clone(),
        finished_at: row.finished_at.clone(),
        state: row.state,
        version_seen: row.version_seen.clone(),
        files_digest: row.files_digest.clone(),
        suites: vec![],
        verdict,
        measurements: row
            .measurements
            .as_deref()
            .and_then(|m| serde_json::from_str::<Measurements>(m).ok())
            .unwrap_or_default(),
        findings: vec![],
        abort_reason: row.abort_reason.clone(),
        security_checks: vec![],
        baseline: None,
        production_writes: vec![],
    }
}
