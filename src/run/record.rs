//! Every ledger call of the runner, in one place: begin a run, find its baseline,
//! finish it with its verdict, read the release back for the reports.

use super::event::{AbortReason, BaselineRun};
use crate::gate::{Baseline, GateVerdict};
use crate::ledger::{Ledger, LedgerError, NewRun, ReleaseContext, RunResult, RunRow, RunState};
use crate::measure::Measurements;
use crate::plan::Plan;
use std::path::Path;

/// Starts the run of `plan` by `actor` (the ledger checks the rollout rules).
pub(super) fn begin(ledger: &mut Ledger, plan: &Plan, actor: &str) -> Result<RunRow, LedgerError> {
    ledger.begin_run(&NewRun {
        system: &plan.system,
        release: &plan.release,
        stage: plan.stage,
        environment: &plan.environment.name,
        run_by: actor,
        files_digest: &plan.files_digest,
        approval: &plan.approval,
    })
}

/// The last release that passed the stage, with what it measured.
pub(super) fn baseline(ledger: &Ledger, plan: &Plan) -> Result<Option<BaselineRun>, LedgerError> {
    let Some(row) = ledger.baseline(&plan.system, plan.stage, &plan.release)? else {
        return Ok(None);
    };
    Ok(row
        .measurements
        .as_deref()
        .and_then(|m| serde_json::from_str::<Measurements>(m).ok())
        .map(|measurements| BaselineRun {
            run_id: row.id,
            baseline: Baseline {
                release: row.release.clone(),
                measurements,
            },
        }))
}

/// How a run ended, as the ledger records it.
pub(super) struct Ending<'a> {
    pub state: RunState,
    pub version_seen: Option<&'a str>,
    pub verdict: &'a GateVerdict,
    pub measurements: &'a Measurements,
    pub report_dir: &'a Path,
    pub stopped: Option<&'a AbortReason>,
}

/// Records the end of `run`.
pub(super) fn finish(
    ledger: &mut Ledger,
    run: &RunRow,
    end: &Ending<'_>,
) -> Result<RunRow, LedgerError> {
    let verdict_json =
        serde_json::to_string(end.verdict).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    let measurements_json =
        serde_json::to_string(end.measurements).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    let abort_reason = end.stopped.map(|r| r.to_string());
    ledger.finish_run(
        run.id,
        &RunResult {
            state: end.state,
            version_seen: end.version_seen,
            verdict_json: &verdict_json,
            measurements_json: &measurements_json,
            report_dir: &end.report_dir.display().to_string(),
            abort_reason: abort_reason.as_deref(),
        },
    )
}

/// The release as it stands after the run.
pub(super) fn release(ledger: &Ledger, plan: &Plan) -> Result<ReleaseContext, LedgerError> {
    ReleaseContext::from_ledger(ledger, &plan.system, &plan.release)
}
