//! The ledger's tables and their row types. Each row serializes to the JSON stored in
//! the audit event that created or changed it, which is how `verify` detects edits.

use crate::stage::StageId;
use rusqlite::{params, Connection, Params, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub(super) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS releases (
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (system, release)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT NOT NULL,
    environment TEXT NOT NULL,
    run_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL CHECK (state IN ('running', 'passed', 'failed', 'aborted')),
    pid INTEGER NOT NULL,
    pid_start TEXT,
    host TEXT NOT NULL,
    files_digest TEXT NOT NULL,
    approvals_required INTEGER NOT NULL,
    allow_self_approval INTEGER NOT NULL,
    version_seen TEXT,
    verdict TEXT,
    measurements TEXT,
    report_dir TEXT,
    abort_reason TEXT,
    roster TEXT NOT NULL,
    signer TEXT NOT NULL,
    approver_roles TEXT NOT NULL,
    required_roles TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT NOT NULL,
    actor TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    note TEXT NOT NULL,
    at TEXT NOT NULL,
    signer TEXT NOT NULL,
    UNIQUE (run_id, actor)
);
CREATE TABLE IF NOT EXISTS promotions (
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT NOT NULL,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    PRIMARY KEY (system, release, stage)
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    system TEXT NOT NULL,
    release TEXT NOT NULL,
    stage TEXT,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    roster TEXT NOT NULL,
    signer TEXT NOT NULL,
    statement TEXT NOT NULL,
    signature TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rosters (
    digest TEXT PRIMARY KEY,
    roster TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS rosters_no_update BEFORE UPDATE ON rosters
BEGIN SELECT RAISE(ABORT, 'pinned rosters are final'); END;
CREATE TRIGGER IF NOT EXISTS promotions_no_update BEFORE UPDATE ON promotions
BEGIN SELECT RAISE(ABORT, 'promotions are final'); END;
"#;

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

    fn parse(s: &str) -> rusqlite::Result<RunState> {
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

fn bad_text(column: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {column} `{value}`").into(),
    )
}

fn stage_of(s: &str) -> rusqlite::Result<StageId> {
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

fn run_from(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        system: r.get(1)?,
        release: r.get(2)?,
        stage: stage_of(&r.get::<_, String>(3)?)?,
        environment: r.get(4)?,
        run_by: r.get(5)?,
        started_at: r.get(6)?,
        finished_at: r.get(7)?,
        state: RunState::parse(&r.get::<_, String>(8)?)?,
        pid: r.get(9)?,
        pid_start: r.get(10)?,
        host: r.get(11)?,
        files_digest: r.get(12)?,
        approvals_required: r.get(13)?,
        allow_self_approval: r.get(14)?,
        version_seen: r.get(15)?,
        verdict: r.get(16)?,
        measurements: r.get(17)?,
        report_dir: r.get(18)?,
        abort_reason: r.get(19)?,
        roster: r.get(20)?,
        signer: r.get(21)?,
        approver_roles: json_column(r, 22)?,
        required_roles: json_column(r, 23)?,
    })
}

pub(super) fn runs_where(
    conn: &Connection,
    clause: &str,
    p: impl Params,
) -> rusqlite::Result<Vec<RunRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE {clause}"))?;
    let rows = stmt.query_map(p, run_from)?;
    rows.collect()
}

pub(super) fn run_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<RunRow>> {
    Ok(runs_where(conn, "id = ?1", params![id])?.into_iter().next())
}

pub(super) fn insert_run(conn: &Connection, run: &RunRow) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO runs (system, release, stage, environment, run_by, started_at, finished_at, state, pid, pid_start, host, files_digest, approvals_required, allow_self_approval, version_seen, verdict, measurements, report_dir, abort_reason, roster, signer, approver_roles, required_roles)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        params![
            run.system, run.release, run.stage.as_str(), run.environment, run.run_by, run.started_at, run.finished_at,
            run.state.as_str(), run.pid, run.pid_start, run.host, run.files_digest, run.approvals_required,
            run.allow_self_approval, run.version_seen, run.verdict, run.measurements, run.report_dir, run.abort_reason,
            run.roster, run.signer, json_text(&run.approver_roles), json_text(&run.required_roles)
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn update_run(conn: &Connection, run: &RunRow) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE runs SET finished_at = ?2, state = ?3, version_seen = ?4, verdict = ?5, measurements = ?6, report_dir = ?7, abort_reason = ?8 WHERE id = ?1",
        params![run.id, run.finished_at, run.state.as_str(), run.version_seen, run.verdict, run.measurements, run.report_dir, run.abort_reason],
    )?;
    Ok(())
}

fn approval_from(r: &Row<'_>) -> rusqlite::Result<ApprovalRow> {
    let decision: String = r.get(6)?;
    Ok(ApprovalRow {
        id: r.get(0)?,
        run_id: r.get(1)?,
        system: r.get(2)?,
        release: r.get(3)?,
        stage: stage_of(&r.get::<_, String>(4)?)?,
        actor: r.get(5)?,
        decision: match decision.as_str() {
            "approve" => Decision::Approve,
            "reject" => Decision::Reject,
            other => return Err(bad_text("decision", other)),
        },
        note: r.get(7)?,
        at: r.get(8)?,
        signer: r.get(9)?,
    })
}

pub(super) fn approvals_where(
    conn: &Connection,
    clause: &str,
    p: impl Params,
) -> rusqlite::Result<Vec<ApprovalRow>> {
    let mut stmt = conn.prepare(&format!("SELECT id, run_id, system, release, stage, actor, decision, note, at, signer FROM approvals WHERE {clause}"))?;
    let rows = stmt.query_map(p, approval_from)?;
    rows.collect()
}

pub(super) fn approvals_of(conn: &Connection, run_id: i64) -> rusqlite::Result<Vec<ApprovalRow>> {
    approvals_where(conn, "run_id = ?1 ORDER BY id", params![run_id])
}

pub(super) fn insert_approval(conn: &Connection, a: &ApprovalRow) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO approvals (run_id, system, release, stage, actor, decision, note, at, signer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![a.run_id, a.system, a.release, a.stage.as_str(), a.actor, a.decision.as_str(), a.note, a.at, a.signer],
    )?;
    Ok(conn.last_insert_rowid())
}

pub(super) fn promotions_where(
    conn: &Connection,
    clause: &str,
    p: impl Params,
) -> rusqlite::Result<Vec<PromotionRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT system, release, stage, run_id, at FROM promotions WHERE {clause}"
    ))?;
    let rows = stmt.query_map(p, |r| {
        Ok(PromotionRow {
            system: r.get(0)?,
            release: r.get(1)?,
            stage: stage_of(&r.get::<_, String>(2)?)?,
            run_id: r.get(3)?,
            at: r.get(4)?,
        })
    })?;
    rows.collect()
}

pub(super) fn insert_promotion(conn: &Connection, p: &PromotionRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO promotions (system, release, stage, run_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![p.system, p.release, p.stage.as_str(), p.run_id, p.at],
    )?;
    Ok(())
}

pub(super) fn is_promoted(
    conn: &Connection,
    system: &str,
    release: &str,
    stage: StageId,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM promotions WHERE system = ?1 AND release = ?2 AND stage = ?3)",
        params![system, release, stage.as_str()],
        |r| r.get(0),
    )
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
pub(super) struct ReleaseRow {
    pub system: String,
    pub release: String,
    pub created_at: String,
}

pub(super) fn releases_all(conn: &Connection) -> rusqlite::Result<Vec<ReleaseRow>> {
    let mut stmt = conn.prepare("SELECT system, release, created_at FROM releases")?;
    let rows = stmt.query_map([], |r| {
        Ok(ReleaseRow {
            system: r.get(0)?,
            release: r.get(1)?,
            created_at: r.get(2)?,
        })
    })?;
    rows.collect()
}

pub(super) fn release_json(
    conn: &Connection,
    system: &str,
    release: &str,
) -> Result<String, super::LedgerError> {
    let row = conn.query_row(
        "SELECT system, release, created_at FROM releases WHERE system = ?1 AND release = ?2",
        params![system, release],
        |r| {
            Ok(ReleaseRow {
                system: r.get(0)?,
                release: r.get(1)?,
                created_at: r.get(2)?,
            })
        },
    )?;
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

fn json_column<T: serde::de::DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

fn json_text<T: Serialize>(value: &T) -> String {
    // Vectors and maps of strings always serialise.
    serde_json::to_string(value).unwrap_or_default()
}

pub(super) fn pin_roster(conn: &Connection, digest: &str, json: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO rosters (digest, roster) VALUES (?1, ?2)",
        params![digest, json],
    )? > 0)
}

pub(super) fn rosters_all(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare("SELECT digest, roster FROM rosters ORDER BY digest")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The columns a ledger of this version has that older ones lack: an older file is
/// refused with a hint rather than failing on its first query.
pub(super) fn is_current_schema(conn: &Connection) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('audit')")?;
    let names: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names.is_empty() || names.iter().any(|n| n == "signature"))
}
