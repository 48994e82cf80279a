//! Takes the ledger's runs, promotions and approvals, gives where each stage of a
//! release stands ([`StageState`], by the one function [`stage_state`]) and the
//! release as reports show it ([`ReleaseContext`]).

use super::{ApprovalRow, Ledger, LedgerError, PromotionRow, RunRow, RunState};
use crate::stage::StageId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where one stage of a release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageState {
    /// No run yet.
    NotRun,
    /// A run is in progress.
    Running,
    /// The latest run failed its gate.
    Failed,
    /// The latest run was stopped.
    Aborted,
    /// The latest run passed; approvals are missing.
    AwaitingApproval,
    /// Approved and promoted.
    Promoted,
}

impl StageState {
    /// A stable identifier (CSS class, JSON, `stagegate status`).
    pub fn as_str(self) -> &'static str {
        match self {
            StageState::NotRun => "not-run",
            StageState::Running => "running",
            StageState::Failed => "failed",
            StageState::Aborted => "aborted",
            StageState::AwaitingApproval => "awaiting-approval",
            StageState::Promoted => "promoted",
        }
    }
}

/// The state of a stage from whether it was promoted and the state of its latest run.
/// A promotion wins: a stage once promoted stays promoted whatever ran after.
pub fn stage_state(promoted: bool, latest_run: Option<RunState>) -> StageState {
    match (promoted, latest_run) {
        (true, _) => StageState::Promoted,
        (false, None) => StageState::NotRun,
        (false, Some(RunState::Running)) => StageState::Running,
        (false, Some(RunState::Passed)) => StageState::AwaitingApproval,
        (false, Some(RunState::Failed)) => StageState::Failed,
        (false, Some(RunState::Aborted)) => StageState::Aborted,
    }
}

/// One stage of a release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStatus {
    /// The stage.
    pub stage: StageId,
    /// Where it stands.
    pub state: StageState,
    /// Its latest run.
    pub run: Option<i64>,
}

/// The four stages of one release, from rows read once (`runs` and `promotions` may
/// hold other releases: they are filtered here).
pub fn stages_of(
    system: &str,
    release: &str,
    runs: &[RunRow],
    promotions: &[PromotionRow],
) -> Vec<StageStatus> {
    StageId::ALL
        .into_iter()
        .map(|stage| {
            let last = runs
                .iter()
                .rev()
                .find(|r| r.system == system && r.release == release && r.stage == stage);
            let promoted = promotions
                .iter()
                .any(|p| p.system == system && p.release == release && p.stage == stage);
            StageStatus {
                stage,
                state: stage_state(promoted, last.map(|r| r.state)),
                run: last.map(|r| r.id),
            }
        })
        .collect()
}

/// A release as the ledger holds it: four stages and every decision.
#[derive(Debug, Clone)]
pub struct ReleaseContext {
    /// System.
    pub system: String,
    /// Release.
    pub release: String,
    /// The four stages in rollout order.
    pub stages: Vec<StageStatus>,
    /// Approvals and rejections, oldest first.
    pub approvals: Vec<ApprovalRow>,
    /// Display name and roles of each person in the ledger's pinned rosters, by id: who
    /// signed each decision.
    pub people: BTreeMap<String, (String, String)>,
}

impl ReleaseContext {
    /// Reads the release from the ledger.
    pub fn from_ledger(
        ledger: &Ledger,
        system: &str,
        release: &str,
    ) -> Result<ReleaseContext, LedgerError> {
        let runs = ledger.runs(Some(system), Some(release))?;
        let promotions = ledger.promotions(Some(system))?;
        Ok(ReleaseContext {
            system: system.to_string(),
            release: release.to_string(),
            stages: stages_of(system, release, &runs, &promotions),
            approvals: ledger.approvals(system, release)?,
            people: ledger
                .pinned_rosters()?
                .iter()
                .flat_map(|r| r.people().iter())
                .map(|p| (p.id.clone(), (p.name.clone(), p.roles_text())))
                .collect(),
        })
    }
}
