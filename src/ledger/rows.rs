//! The ledger's tables and their row types. Each row serializes to the JSON stored in
//! the audit event that created or changed it, which is how `verify` detects edits.

use super::store::{args, Row, Storage, StoreError, Value};
use crate::stage::StageId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// State of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// In progress.
    Running,
    /// Gate passed.
    Passed,
    /// Gate failed.
    Failed,
    /// Stopped before it finished (breach, interruption, dead process).
    Aborted,
}

impl RunState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Passed => "passed",
            RunState::Failed => "failed",
            RunState::Aborted => "aborted",
        }
    }

    fn parse(s: &str) -> Result<RunState, StoreError> {
        Ok(match s {
            "running" => RunState::Running,
            "passed" => RunState::Passed,
            "failed" => RunState::Failed,
            "aborted" => RunState::Aborted,
            other => return Err(bad_text("state", other)),
        })
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Approve promotion.
    Approve,
    /// Refuse promotion.
    Reject,
}

impl Decision {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

fn bad_text(column: &str, value: &str) -> StoreError {
    StoreError::Decode(format!("bad {column} `{value}`"))
}

fn stage_of(s: &str) -> Result<StageId, StoreError> {
    s.parse().map_err(|_| bad_text("stage", s))
}

/// One stage run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Run id.
    pub id: i64,
    /// System.
    pub system: String,
    /// Release.
    pub release: String,
    /// Stage.
    pub stage: StageId,
    /// Environment.
    pub environment: String,
    /// Who ran it.
    pub run_by: String,
    /// Start time.
    pub started_at: String,
    /// End time.
    pub finished_at: Option<String>,
    /// State.
    pub state: RunState,
    /// Process id of the runner.
    pub pid: i64,
    /// Start time of that process, to tell a reused pid from the runner.
    pub pid_start: Option<String>,
    /// Host of the runner.
    pub host: String,
    /// Digest of the files used.
    pub files_digest: String,
    /// Approvers required by the plan at run time.
    pub approvals_required: u32,
    /// Whether the runner may approve.
    pub allow_self_approval: bool,
    /// Release reported by the environment.
    pub version_seen: Option<String>,
    /// Gate verdict JSON.
    pub verdict: Option<String>,
    /// Measurements JSON.
    pub measurements: Option<String>,
    /// Report folder.
    pub report_dir: Option<String>,
    /// Why it was aborted.
    pub abort_reason: Option<String>,
    /// Digest of the roster (`people.toml`) pinned with the run; decisions on the run are
    /// checked against it.
    pub roster: String,
    /// `SHA256:…` of the key that signed the run.
    pub signer: String,
    /// Roles that may approve or reject the run; empty: anyone in the roster.
    pub approver_roles: Vec<String>,
    /// How many of the approvers must hold each role.
    pub required_roles: BTreeMap<String, u32>,
}

/// One approval or rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRow {
    /// Id.
    pub id: i64,
    /// The run decided on.
    pub run_id: i64,
    /// System.
    pub system: String,
    /// Release.
    pub release: String,
    /// Stage.
    pub stage: StageId,
    /// Who.
    pub actor: String,
    /// Approve or reject.
    pub decision: Decision,
    /// Their note.
    pub note: String,
    /// When.
    pub at: String,
    /// `SHA256:…` of the key that signed the decision.
    pub signer: String,
}

/// One promotion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionRow {
    /// System.
    pub system: String,
    /// Release.
    pub release: String,
    /// Stage promoted.
    pub stage: StageId,
    /// The run it rests on.
    pub run_id: i64,
    /// When.
    pub at: String,
}

const RUN_COLUMNS: &str = "id, system, release, stage, environment, run_by, started_at, finished_at, state, pid, pid_start, host, files_digest, approvals_required, allow_self_approval, version_seen, verdict, measurements, report_dir, abort_reason, roster, signer, approver_roles, required_roles";

fn run_from(r: &Row) -> Result<RunRow, StoreError> {
    Ok(RunRow {
        id: r.int(0)?,
        system: r.text(1)?,
        release: r.text(2)?,
        stage: stage_of(&r.text(3)?)?,
        environment: r.text(4)?,
        run_by: r.text(5)?,
        started_at: r.text(6)?,
        finished_at: r.opt_text(7)?,
        state: RunState::parse(&r.text(8)?)?,
        pid: r.int(9)?,
        pid_start: r.opt_text(10)?,
        host: r.text(11)?,
        files_digest: r.text(12)?,
        approvals_required: u32::try_from(r.int(13)?)
            .map_err(|_| StoreError::Decode("approvals_required out of range".into()))?,
        allow_self_approval: r.flag(14)?,
        version_seen: r.opt_text(15)?,
        verdict: r.opt_text(16)?,
        measurements: r.opt_text(17)?,
        report_dir: r.opt_text(18)?,
        abort_reason: r.opt_text(19)?,
        roster: r.text(20)?,
        signer: r.text(21)?,
        approver_roles: json_column(r, 22)?,
        required_roles: json_column(r, 23)?,
    })
}

pub(super) fn runs_where(
    db: &dyn Storage,
    clause: &str,
    p: &[Value],
) -> Result<Vec<RunRow>, StoreError> {
    db.query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE {clause}"), p)?
        .iter()
        .map(run_from)
        .collect()
}

pub(super) fn run_by_id(db: &dyn Storage, id: i64) -> Result<Option<RunRow>, StoreError> {
    Ok(runs_where(db, "id = ?1", args![id])?.into_iter().next())
}

/// The next id of `table`: ids are given by the ledger inside its writing transaction
/// (which holds the writer lock), the same way on every backend, so a copied ledger
/// keeps them.
fn next_id(db: &dyn Storage, table: &str) -> Result<i64, StoreError> {
    db.query(
        &format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"),
        &[],
    )?
    .first()
    .map_or(Ok(1), |r| r.int(0))
}

/// Inserts a run with the next id, giving it.
pub(super) fn insert_run(db: &dyn Storage, run: &RunRow) -> Result<i64, StoreError> {
    let id = next_id(db, "runs")?;
    insert_run_as(db, id, run)?;
    Ok(id)
}

/// Inserts a run with the given id (a copied ledger keeps its ids).
pub(super) fn insert_run_as(db: &dyn Storage, id: i64, run: &RunRow) -> Result<(), StoreError> {
    db.execute(
        &format!("INSERT INTO runs ({RUN_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"),
        args![
            id, &run.system, &run.release, run.stage.as_str(), &run.environment, &run.run_by, &run.started_at, &run.finished_at,
            run.state.as_str(), run.pid, &run.pid_start, &run.host, &run.files_digest, run.approvals_required,
            run.allow_self_approval, &run.version_seen, &run.verdict, &run.measurements, &run.report_dir, &run.abort_reason,
            &run.roster, &run.signer, json_text(&run.approver_roles), json_text(&run.required_roles)
        ],
    )?;
    Ok(())
}

pub(super) fn update_run(db: &dyn Storage, run: &RunRow) -> Result<(), StoreError> {
    db.execute(
        "UPDATE runs SET finished_at = ?2, state = ?3, version_seen = ?4, verdict = ?5, measurements = ?6, report_dir = ?7, abort_reason = ?8 WHERE id = ?1",
        args![run.id, &run.finished_at, run.state.as_str(), &run.version_seen, &run.verdict, &run.measurements, &run.report_dir, &run.abort_reason],
    )?;
    Ok(())
}

fn approval_from(r: &Row) -> Result<ApprovalRow, StoreError> {
    let decision = r.text(6)?;
    Ok(ApprovalRow {
        id: r.int(0)?,
        run_id: r.int(1)?,
        system: r.text(2)?,
        release: r.text(3)?,
        stage: stage_of(&r.text(4)?)?,
        actor: r.text(5)?,
        decision: match decision.as_str() {
            "approve" => Decision::Approve,
            "reject" => Decision::Reject,
            other => return Err(bad_text("decision", other)),
        },
        note: r.text(7)?,
        at: r.text(8)?,
        signer: r.text(9)?,
    })
}

const APPROVAL_COLUMNS: &str =
    "id, run_id, system, release, stage, actor, decision, note, at, signer";

pub(super) fn approvals_where(
    db: &dyn Storage,
    clause: &str,
    p: &[Value],
) -> Result<Vec<ApprovalRow>, StoreError> {
    db.query(
        &format!("SELECT {APPROVAL_COLUMNS} FROM approvals WHERE {clause}"),
        p,
    )?
    .iter()
    .map(approval_from)
    .collect()
}

pub(super) fn approvals_of(db: &dyn Storage, run_id: i64) -> Result<Vec<ApprovalRow>, StoreError> {
    approvals_where(db, "run_id = ?1 ORDER BY id", args![run_id])
}

/// Inserts an approval with the next id, giving it.
pub(super) fn insert_approval(db: &dyn Storage, a: &ApprovalRow) -> Result<i64, StoreError> {
    let id = next_id(db, "approvals")?;
    insert_approval_as(db, id, a)?;
    Ok(id)
}

/// Inserts an approval with the given id.
pub(super) fn insert_approval_as(
    db: &dyn Storage,
    id: i64,
    a: &ApprovalRow,
) -> Result<(), StoreError> {
    db.execute(
        &format!("INSERT INTO approvals ({APPROVAL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        args![id, a.run_id, &a.system, &a.release, a.stage.as_str(), &a.actor, a.decision.as_str(), &a.note, &a.at, &a.signer],
    )?;
    Ok(())
}

pub(super) fn promotions_where(
    db: &dyn Storage,
    clause: &str,
    p: &[Value],
) -> Result<Vec<PromotionRow>, StoreError> {
    db.query(
        &format!("SELECT system, release, stage, run_id, at FROM promotions WHERE {clause}"),
        p,
    )?
    .iter()
    .map(|r| {
        Ok(PromotionRow {
            system: r.text(0)?,
            release: r.text(1)?,
            stage: stage_of(&r.text(2)?)?,
            run_id: r.int(3)?,
            at: r.text(4)?,
        })
    })
    .collect()
}

pub(super) fn insert_promotion(db: &dyn Storage, p: &PromotionRow) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO promotions (system, release, stage, run_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![&p.system, &p.release, p.stage.as_str(), p.run_id, &p.at],
    )?;
    Ok(())
}

pub(super) fn is_promoted(
    db: &dyn Storage,
    system: &str,
    release: &str,
    stage: StageId,
) -> Result<bool, StoreError> {
    let n = db
        .query(
            "SELECT COUNT(*) FROM promotions WHERE system = ?1 AND release = ?2 AND stage = ?3",
            args![system, release, stage.as_str()],
        )?
        .first()
        .map_or(Ok(0), |r| r.int(0))?;
    Ok(n > 0)
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
pub(super) struct ReleaseRow {
    pub system: String,
    pub release: String,
    pub created_at: String,
}

fn release_from(r: &Row) -> Result<ReleaseRow, StoreError> {
    Ok(ReleaseRow {
        system: r.text(0)?,
        release: r.text(1)?,
        created_at: r.text(2)?,
    })
}

pub(super) fn releases_all(db: &dyn Storage) -> Result<Vec<ReleaseRow>, StoreError> {
    db.query(
        "SELECT system, release, created_at FROM releases ORDER BY created_at, system, release",
        &[],
    )?
    .iter()
    .map(release_from)
    .collect()
}

/// Registers a release when it is new; whether it was.
pub(super) fn insert_release(db: &dyn Storage, r: &ReleaseRow) -> Result<bool, StoreError> {
    Ok(db.execute(
        "INSERT INTO releases (system, release, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        args![&r.system, &r.release, &r.created_at],
    )? > 0)
}

pub(super) fn release_json(
    db: &dyn Storage,
    system: &str,
    release: &str,
) -> Result<String, super::LedgerError> {
    let row = db
        .query(
            "SELECT system, release, created_at FROM releases WHERE system = ?1 AND release = ?2",
            args![system, release],
        )?
        .first()
        .map(release_from)
        .transpose()?
        .ok_or_else(|| {
            super::LedgerError::Corrupt(format!("release {system} {release} vanished"))
        })?;
    to_json(&row)
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<String, super::LedgerError> {
    serde_json::to_string(value).map_err(|e| super::LedgerError::Corrupt(e.to_string()))
}

pub(super) fn run_json(run: &RunRow) -> Result<String, super::LedgerError> {
    to_json(run)
}

pub(super) fn approval_json(a: &ApprovalRow) -> Result<String, super::LedgerError> {
    to_json(a)
}

pub(super) fn promotion_json(p: &PromotionRow) -> Result<String, super::LedgerError> {
    to_json(p)
}

fn json_column<T: serde::de::DeserializeOwned>(r: &Row, i: usize) -> Result<T, StoreError> {
    let text = r.text(i)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Decode(format!("column {i}: {e}")))
}

fn json_text<T: Serialize>(value: &T) -> String {
    // Vectors and maps of strings always serialise.
    serde_json::to_string(value).unwrap_or_default()
}

pub(super) fn pin_roster(db: &dyn Storage, digest: &str, json: &str) -> Result<bool, StoreError> {
    Ok(db.execute(
        "INSERT INTO rosters (digest, roster) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        args![digest, json],
    )? > 0)
}

pub(super) fn rosters_all(db: &dyn Storage) -> Result<Vec<(String, String)>, StoreError> {
    db.query("SELECT digest, roster FROM rosters ORDER BY digest", &[])?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?)))
        .collect()
}
