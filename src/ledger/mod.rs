//! Takes runs, verdicts and decisions, gives an auditable record in SQLite: releases,
//! runs, approvals, promotions and an append-only audit log in which each event
//! carries the hash of the one before. The rollout rules are enforced here, inside
//! transactions, not by the command line: stage order, approval only of a passed
//! stage, distinct approvers, no self-approval, one promotion per stage per release.

mod audit;
mod liveness;
pub mod release_state;
mod rows;

use crate::stage::StageId;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

pub use audit::{AuditEvent, VerifyProblem, GENESIS};
pub use release_state::{stage_state, ReleaseContext, StageState, StageStatus};
pub use rows::{ApprovalRow, Decision, PromotionRow, RunRow, RunState};

/// How long a writer waits for another process's transaction: approvals racing from
/// several processes queue instead of failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A rollout rule refused the action (exit code 3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The previous stage is not promoted for this release.
    #[error("stage `{stage}` of release {release} cannot run: the previous stage `{previous}` {state} (hint: run and approve `{previous}` first)")]
    PreviousStageNotPromoted {
        /// Requested stage.
        stage: StageId,
        /// Release.
        release: String,
        /// The stage that must be promoted first.
        previous: StageId,
        /// What it is now.
        state: String,
    },
    /// The stage was already promoted.
    #[error("stage `{stage}` of release {release} is already promoted")]
    AlreadyPromoted {
        /// Stage.
        stage: StageId,
        /// Release.
        release: String,
    },
    /// Another run of the same stage is in progress.
    #[error("run #{run} of stage `{stage}` is still in progress (started by {by})")]
    AlreadyRunning {
        /// Run id.
        run: i64,
        /// Stage.
        stage: StageId,
        /// Who started it.
        by: String,
    },
    /// Nothing to approve.
    #[error("stage `{stage}` of release {release} has not run yet: there is nothing to approve")]
    NotRun {
        /// Stage.
        stage: StageId,
        /// Release.
        release: String,
    },
    /// The latest run did not pass.
    #[error(
        "stage `{stage}` of release {release} cannot be approved: its latest run #{run} {state}"
    )]
    NotPassed {
        /// Stage.
        stage: StageId,
        /// Release.
        release: String,
        /// Run id.
        run: i64,
        /// Its state.
        state: RunState,
    },
    /// The person who ran the stage tried to approve it.
    #[error("{actor} ran stage `{stage}` (run #{run}) and cannot approve it (the plan does not allow self-approval)")]
    SelfApproval {
        /// Who.
        actor: String,
        /// Stage.
        stage: StageId,
        /// Run id.
        run: i64,
    },
    /// The same person approved twice.
    #[error("{actor} already approved run #{run}; approvals must come from distinct people")]
    DuplicateApprover {
        /// Who.
        actor: String,
        /// Run id.
        run: i64,
    },
    /// A release manager rejected the run.
    #[error("run #{run} was rejected by {by}; run the stage again before approving")]
    Rejected {
        /// Run id.
        run: i64,
        /// Who rejected it.
        by: String,
    },
    /// The files changed since the run.
    #[error("the files of `{system}` changed since run #{run} (digest {then} → {now}); run the stage again before approving")]
    FilesChanged {
        /// System.
        system: String,
        /// Run id.
        run: i64,
        /// Digest at run time (short).
        then: String,
        /// Digest now (short).
        now: String,
    },
}

/// What can go wrong with the ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database failed.
    #[error("ledger database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored document could not be read back.
    #[error("ledger holds an unreadable record: {0}")]
    Corrupt(String),
    /// The folder for the ledger could not be created.
    #[error("cannot create the ledger folder `{path}`: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A rollout rule refused the action.
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// An open ledger.
pub struct Ledger {
    conn: Connection,
}

/// What starting a run records.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    /// System.
    pub system: &'a str,
    /// Release.
    pub release: &'a str,
    /// Stage.
    pub stage: StageId,
    /// Environment name.
    pub environment: &'a str,
    /// Who runs it.
    pub run_by: &'a str,
    /// Digest of the files the plan came from.
    pub files_digest: &'a str,
    /// Distinct approvers the plan requires.
    pub approvals_required: u32,
    /// Whether the runner may approve.
    pub allow_self_approval: bool,
}

/// How a finished run ended.
#[derive(Debug, Clone)]
pub struct RunResult<'a> {
    /// Passed, failed or aborted.
    pub state: RunState,
    /// The release the environment reported.
    pub version_seen: Option<&'a str>,
    /// The gate verdict, as JSON.
    pub verdict_json: &'a str,
    /// The measurements, as JSON.
    pub measurements_json: &'a str,
    /// Where the reports are.
    pub report_dir: &'a str,
    /// Why it was aborted, when it was.
    pub abort_reason: Option<&'a str>,
}

/// An approval or rejection to record.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRequest<'a> {
    /// System.
    pub system: &'a str,
    /// Release.
    pub release: &'a str,
    /// Stage decided on.
    pub stage: StageId,
    /// Who decides.
    pub actor: &'a str,
    /// Approve or reject.
    pub decision: Decision,
    /// Their note.
    pub note: &'a str,
    /// Digest of the system's files now; an approval is refused when it differs from
    /// the run's (the run must be redone).
    pub current_digest: Option<&'a str>,
}

/// The outcome of an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalOutcome {
    /// The run approved.
    pub run: i64,
    /// Distinct approvers so far.
    pub approvals: u32,
    /// Required.
    pub required: u32,
    /// Whether this approval promoted the stage.
    pub promoted: bool,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path`, and marks runs whose process
    /// died as aborted.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| LedgerError::Folder {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets readers (status, dashboards) run while a stage writes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(rows::SCHEMA)?;
        let mut ledger = Ledger { conn };
        ledger.abort_dead_runs()?;
        Ok(ledger)
    }

    fn abort_dead_runs(&mut self) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let running: Vec<RunRow> = rows::runs_where(&tx, "state = 'running'", [])?;
        for mut run in running {
            if liveness::is_alive(run.pid, run.pid_start.as_deref(), &run.host) {
                continue;
            }
            run.state = RunState::Aborted;
            run.finished_at = Some(now());
            run.abort_reason =
                Some("the process running this stage died before it finished".into());
            rows::update_run(&tx, &run)?;
            audit::append(
                &tx,
                "run-aborted",
                &run.system,
                &run.release,
                Some(run.stage),
                "stagegate",
                &rows::run_json(&run)?,
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Starts a run, if the rollout rules allow it.
    pub fn begin_run(&mut self, new: &NewRun<'_>) -> Result<RunRow, LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        check_may_begin(&tx, new.system, new.release, new.stage)?;
        let created = tx.execute(
            "INSERT OR IGNORE INTO releases (system, release, created_at) VALUES (?1, ?2, ?3)",
            params![new.system, new.release, now()],
        )?;
        if created > 0 {
            let release = rows::release_json(&tx, new.system, new.release)?;
            audit::append(
                &tx,
                "release-registered",
                new.system,
                new.release,
                None,
                new.run_by,
                &release,
            )?;
        }
        let (pid, pid_start, host) = liveness::current();
        let mut run = RunRow {
            id: 0,
            system: new.system.to_string(),
            release: new.release.to_string(),
            stage: new.stage,
            environment: new.environment.to_string(),
            run_by: new.run_by.to_string(),
            started_at: now(),
            finished_at: None,
            state: RunState::Running,
            pid,
            pid_start,
            host,
            files_digest: new.files_digest.to_string(),
            approvals_required: new.approvals_required,
            allow_self_approval: new.allow_self_approval,
            version_seen: None,
            verdict: None,
            measurements: None,
            report_dir: None,
            abort_reason: None,
        };
        run.id = rows::insert_run(&tx, &run)?;
        audit::append(
            &tx,
            "run-started",
            &run.system,
            &run.release,
            Some(run.stage),
            &run.run_by,
            &rows::run_json(&run)?,
        )?;
        tx.commit()?;
        Ok(run)
    }

    /// Whether the rollout rules would let this stage start now (read-only): asked before
    /// anything is started for the run, such as a container. `begin_run` asks again inside
    /// its transaction, which is what makes the rule hold under races.
    pub fn may_begin(
        &self,
        system: &str,
        release: &str,
        stage: StageId,
    ) -> Result<(), LedgerError> {
        check_may_begin(&self.conn, system, release, stage)
    }

    /// Records how a run ended.
    pub fn finish_run(
        &mut self,
        run_id: i64,
        result: &RunResult<'_>,
    ) -> Result<RunRow, LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut run = rows::run_by_id(&tx, run_id)?
            .ok_or_else(|| LedgerError::Corrupt(format!("run #{run_id} vanished")))?;
        run.state = result.state;
        run.finished_at = Some(now());
        run.version_seen = result.version_seen.map(str::to_string);
        run.verdict = Some(result.verdict_json.to_string());
        run.measurements = Some(result.measurements_json.to_string());
        run.report_dir = Some(result.report_dir.to_string());
        run.abort_reason = result.abort_reason.map(str::to_string);
        rows::update_run(&tx, &run)?;
        let kind = match run.state {
            RunState::Aborted => "run-aborted",
            _ => "run-finished",
        };
        audit::append(
            &tx,
            kind,
            &run.system,
            &run.release,
            Some(run.stage),
            &run.run_by,
            &rows::run_json(&run)?,
        )?;
        tx.commit()?;
        Ok(run)
    }

    /// Records an approval or rejection of the latest run of a stage, and promotes the
    /// stage when enough distinct people approved.
    pub fn decide(
        &mut self,
        request: &DecisionRequest<'_>,
    ) -> Result<ApprovalOutcome, LedgerError> {
        let DecisionRequest {
            system,
            release,
            stage,
            actor,
            decision,
            note,
            current_digest,
        } = *request;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if rows::is_promoted(&tx, system, release, stage)? {
            return Err(Refusal::AlreadyPromoted {
                stage,
                release: release.to_string(),
            }
            .into());
        }
        let runs = rows::runs_where(
            &tx,
            "system = ?1 AND release = ?2 AND stage = ?3 ORDER BY id DESC LIMIT 1",
            params![system, release, stage.as_str()],
        )?;
        let run = runs.into_iter().next().ok_or_else(|| Refusal::NotRun {
            stage,
            release: release.to_string(),
        })?;
        if decision == Decision::Approve {
            if run.state != RunState::Passed {
                return Err(Refusal::NotPassed {
                    stage,
                    release: release.to_string(),
                    run: run.id,
                    state: run.state,
                }
                .into());
            }
            if let Some(now) = current_digest.filter(|d| *d != run.files_digest) {
                return Err(Refusal::FilesChanged {
                    system: system.to_string(),
                    run: run.id,
                    then: run.files_digest.chars().take(12).collect(),
                    now: now.chars().take(12).collect(),
                }
                .into());
            }
            if actor == run.run_by && !run.allow_self_approval {
                return Err(Refusal::SelfApproval {
                    actor: actor.to_string(),
                    stage,
                    run: run.id,
                }
                .into());
            }
        }
        let decisions = rows::approvals_of(&tx, run.id)?;
        if let Some(rejection) = decisions.iter().find(|d| d.decision == Decision::Reject) {
            if decision == Decision::Approve {
                return Err(Refusal::Rejected {
                    run: run.id,
                    by: rejection.actor.clone(),
                }
                .into());
            }
        }
        if decisions.iter().any(|d| d.actor == actor) {
            return Err(Refusal::DuplicateApprover {
                actor: actor.to_string(),
                run: run.id,
            }
            .into());
        }
        let mut row = ApprovalRow {
            id: 0,
            run_id: run.id,
            system: system.to_string(),
            release: release.to_string(),
            stage,
            actor: actor.to_string(),
            decision,
            note: note.to_string(),
            at: now(),
        };
        row.id = rows::insert_approval(&tx, &row)?;
        let kind = match decision {
            Decision::Approve => "approval",
            Decision::Reject => "rejection",
        };
        audit::append(
            &tx,
            kind,
            system,
            release,
            Some(stage),
            actor,
            &rows::approval_json(&row)?,
        )?;
        let approvals = decisions
            .iter()
            .filter(|d| d.decision == Decision::Approve)
            .count() as u32
            + u32::from(decision == Decision::Approve);
        let mut promoted = false;
        if decision == Decision::Approve && approvals >= run.approvals_required {
            let promotion = PromotionRow {
                system: system.to_string(),
                release: release.to_string(),
                stage,
                run_id: run.id,
                at: now(),
            };
            // The primary key (system, release, stage) is the last line of defence against
            // a double promotion; the immediate transaction makes it unreachable in practice.
            rows::insert_promotion(&tx, &promotion)?;
            audit::append(
                &tx,
                "promotion",
                system,
                release,
                Some(stage),
                actor,
                &rows::promotion_json(&promotion)?,
            )?;
            promoted = true;
        }
        tx.commit()?;
        Ok(ApprovalOutcome {
            run: run.id,
            approvals,
            required: run.approvals_required,
            promoted,
        })
    }

    /// Whether a stage is promoted for a release.
    pub fn is_promoted(
        &self,
        system: &str,
        release: &str,
        stage: StageId,
    ) -> Result<bool, LedgerError> {
        Ok(rows::is_promoted(&self.conn, system, release, stage)?)
    }

    /// The most recent passed run of `stage` for a release other than `release`: the
    /// baseline for regression criteria.
    pub fn baseline(
        &self,
        system: &str,
        stage: StageId,
        release: &str,
    ) -> Result<Option<RunRow>, LedgerError> {
        Ok(rows::runs_where(
            &self.conn,
            "system = ?1 AND stage = ?2 AND release != ?3 AND state = 'passed' ORDER BY id DESC LIMIT 1",
            params![system, stage.as_str(), release],
        )?
        .into_iter()
        .next())
    }

    /// Every run, optionally of one system and release, oldest first.
    pub fn runs(
        &self,
        system: Option<&str>,
        release: Option<&str>,
    ) -> Result<Vec<RunRow>, LedgerError> {
        Ok(rows::runs_where(
            &self.conn,
            "(?1 IS NULL OR system = ?1) AND (?2 IS NULL OR release = ?2) ORDER BY id",
            params![system, release],
        )?)
    }

    /// Every approval and rejection of a system's release, oldest first.
    pub fn approvals(&self, system: &str, release: &str) -> Result<Vec<ApprovalRow>, LedgerError> {
        Ok(rows::approvals_where(
            &self.conn,
            "system = ?1 AND release = ?2 ORDER BY id",
            params![system, release],
        )?)
    }

    /// Every promotion, optionally of one system.
    pub fn promotions(&self, system: Option<&str>) -> Result<Vec<PromotionRow>, LedgerError> {
        Ok(rows::promotions_where(
            &self.conn,
            "(?1 IS NULL OR system = ?1) ORDER BY at",
            params![system],
        )?)
    }

    /// Every (system, release) known, in order of registration.
    pub fn releases(&self, system: Option<&str>) -> Result<Vec<(String, String)>, LedgerError> {
        let mut stmt = self.conn.prepare("SELECT system, release FROM releases WHERE (?1 IS NULL OR system = ?1) ORDER BY created_at, rowid")?;
        let rows = stmt.query_map(params![system], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The audit events of a release (or all, with `None`), oldest first.
    pub fn events(
        &self,
        system: Option<&str>,
        release: Option<&str>,
    ) -> Result<Vec<audit::AuditEvent>, LedgerError> {
        Ok(audit::events(&self.conn, system, release)?)
    }

    /// Checks the hash chain and that every table row matches the last event about it.
    pub fn verify(&self) -> Result<Result<usize, VerifyProblem>, LedgerError> {
        audit::verify(&self.conn)
    }

    /// Raw access for tests that tamper with the file on purpose.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// The rollout rules for starting a run: the previous stage promoted, this one not yet,
/// and no other run of it in progress.
fn check_may_begin(
    conn: &Connection,
    system: &str,
    release: &str,
    stage: StageId,
) -> Result<(), LedgerError> {
    if let Some(previous) = stage.previous() {
        if !rows::is_promoted(conn, system, release, previous)? {
            let state = describe_stage(conn, system, release, previous)?;
            return Err(Refusal::PreviousStageNotPromoted {
                stage,
                release: release.to_string(),
                previous,
                state,
            }
            .into());
        }
    }
    if rows::is_promoted(conn, system, release, stage)? {
        return Err(Refusal::AlreadyPromoted {
            stage,
            release: release.to_string(),
        }
        .into());
    }
    let running: Vec<RunRow> = rows::runs_where(
        conn,
        "system = ?1 AND release = ?2 AND stage = ?3 AND state = 'running'",
        params![system, release, stage.as_str()],
    )?;
    if let Some(run) = running.first() {
        return Err(Refusal::AlreadyRunning {
            run: run.id,
            stage,
            by: run.run_by.clone(),
        }
        .into());
    }
    Ok(())
}

fn describe_stage(
    conn: &Connection,
    system: &str,
    release: &str,
    stage: StageId,
) -> Result<String, LedgerError> {
    let last: Option<String> = conn
        .query_row(
            "SELECT state FROM runs WHERE system = ?1 AND release = ?2 AND stage = ?3 ORDER BY id DESC LIMIT 1",
            params![system, release, stage.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match last.as_deref() {
        None => "has not run".to_string(),
        Some("passed") => "passed but is not approved yet".to_string(),
        Some(state) => format!("{state} and is not promoted"),
    })
}

/// The current time as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
