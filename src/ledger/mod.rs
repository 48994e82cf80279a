//! Takes runs, verdicts and signed decisions, gives an auditable record in SQLite:
//! releases, runs, approvals, promotions, the rosters they were judged by, and an
//! append-only audit log in which each event carries the hash of the one before and the
//! SSHSIG signature of the person whose command wrote it. The rollout rules
//! ([`rules`]) are enforced here, inside transactions, not by the command line.

mod audit;
pub mod chain;
mod copy;
mod decide;
mod liveness;
mod refusal;
pub mod release_state;
mod rows;
pub mod rules;
pub mod statement;
pub mod store;
mod verify;

use crate::config::rollout::ApprovalPolicy;
use crate::identity::{Roster, SigningIdentity};
use crate::stage::StageId;
use store::{args, migrations, Storage, Transaction};

pub use audit::{AuditEvent, VerifyProblem, GENESIS};
pub use copy::{CopyError, CopyReport};
pub use decide::{ApprovalOutcome, DecisionRequest, DecisionTarget, SignedDecision};
pub use refusal::{LedgerError, Refusal};
pub use release_state::{stage_state, ReleaseContext, StageState, StageStatus};
pub use rows::{ApprovalRow, Decision, PromotionRow, RunRow, RunState};
pub use store::{Backend, LedgerLocation, LocationError};
pub use verify::{verify_events, VerifyReport};

/// The person whose command writes to the ledger: their key and the roster (from
/// `people.toml`) that says it is theirs.
pub struct LedgerActor {
    /// Who, and a signer for their key.
    pub identity: SigningIdentity,
    /// The roster the identity was found in; pinned in the ledger before it is used.
    pub roster: Roster,
}

/// An open ledger.
pub struct Ledger {
    store: Box<dyn Storage>,
    actor: Option<LedgerActor>,
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
    /// Who runs it: must be the signing actor's id.
    pub run_by: &'a str,
    /// Digest of the files the plan came from.
    pub files_digest: &'a str,
    /// Who must approve, as the plan says (pinned with the run).
    pub approval: &'a ApprovalPolicy,
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

impl Ledger {
    /// Opens (creating if needed) the ledger at `location`, applying the schema
    /// migrations it lacks. Reading needs no key; writing needs [`Ledger::sign_as`] first.
    pub fn open(location: &LedgerLocation) -> Result<Ledger, LedgerError> {
        if let Some(parent) = location
            .as_path()
            .and_then(|p| p.parent())
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|source| LedgerError::Folder {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let store = store::open(location)?;
        match migrations::apply(&*store)? {
            migrations::SchemaState::Current => {}
            migrations::SchemaState::Unsigned => return Err(LedgerError::OldSchema),
            migrations::SchemaState::Newer(found) => {
                return Err(LedgerError::NewerSchema {
                    found,
                    supported: migrations::CURRENT,
                })
            }
        }
        Ok(Ledger { store, actor: None })
    }

    /// Which backend holds this ledger.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// The schema version of this ledger.
    pub fn schema_version(&self) -> Result<i64, LedgerError> {
        Ok(migrations::version(&*self.store)?)
    }

    /// Signs everything this ledger writes from now on as `actor`, and records runs whose
    /// process died as aborted (events the tool records itself, signed by `actor`).
    pub fn sign_as(&mut self, actor: LedgerActor) -> Result<(), LedgerError> {
        self.actor = Some(actor);
        self.abort_dead_runs()
    }

    /// The person signing, when there is one.
    pub fn actor(&self) -> Option<&LedgerActor> {
        self.actor.as_ref()
    }

    fn abort_dead_runs(&mut self) -> Result<(), LedgerError> {
        let actor = self.actor.as_ref().ok_or(LedgerError::Unsigned)?;
        let tx = Transaction::write(&*self.store)?;
        let running: Vec<RunRow> = rows::runs_where(&*tx, "state = 'running'", &[])?;
        for mut run in running {
            if liveness::is_alive(run.pid, run.pid_start.as_deref(), &run.host) {
                continue;
            }
            pin_roster(&*tx, actor)?;
            run.state = RunState::Aborted;
            run.finished_at = Some(now());
            run.abort_reason = Some(DIED.into());
            rows::update_run(&*tx, &run)?;
            record(
                &*tx,
                actor,
                "run-aborted",
                &run,
                &rows::run_json(&run)?,
                true,
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Starts a run signed by the actor, if the rollout rules allow it.
    pub fn begin_run(&mut self, new: &NewRun<'_>) -> Result<RunRow, LedgerError> {
        let actor = self.actor.as_ref().ok_or(LedgerError::Unsigned)?;
        let tx = Transaction::write(&*self.store)?;
        check_may_begin(&*tx, new.system, new.release, new.stage)?;
        if new.run_by != actor.identity.person.id {
            return Err(LedgerError::Corrupt(format!(
                "the run names {} as its runner but is signed by {}",
                new.run_by, actor.identity.person.id
            )));
        }
        pin_roster(&*tx, actor)?;
        let created = rows::insert_release(
            &*tx,
            &rows::ReleaseRow {
                system: new.system.to_string(),
                release: new.release.to_string(),
                created_at: now(),
            },
        )?;
        let (pid, pid_start, host) = liveness::current();
        let mut run = RunRow {
            id: 0,
            system: new.system.to_string(),
            release: new.release.to_string(),
            stage: new.stage,
            environment: new.environment.to_string(),
            run_by: actor.identity.person.id.clone(),
            started_at: now(),
            finished_at: None,
            state: RunState::Running,
            pid,
            pid_start,
            host,
            files_digest: new.files_digest.to_string(),
            approvals_required: new.approval.approvers,
            allow_self_approval: new.approval.allow_self_approval,
            version_seen: None,
            verdict: None,
            measurements: None,
            report_dir: None,
            abort_reason: None,
            roster: actor.roster.digest().to_string(),
            signer: actor.identity.fingerprint.clone(),
            approver_roles: new.approval.roles.clone(),
            required_roles: new.approval.require.clone(),
        };
        if created {
            let release = rows::release_json(&*tx, new.system, new.release)?;
            record(&*tx, actor, "release-registered", &run, &release, false)?;
        }
        run.id = rows::insert_run(&*tx, &run)?;
        record(
            &*tx,
            actor,
            "run-started",
            &run,
            &rows::run_json(&run)?,
            false,
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
        check_may_begin(&*self.store, system, release, stage)
    }

    /// Records how a run ended, signed by the actor.
    pub fn finish_run(
        &mut self,
        run_id: i64,
        result: &RunResult<'_>,
    ) -> Result<RunRow, LedgerError> {
        let actor = self.actor.as_ref().ok_or(LedgerError::Unsigned)?;
        let tx = Transaction::write(&*self.store)?;
        let mut run = rows::run_by_id(&*tx, run_id)?
            .ok_or_else(|| LedgerError::Corrupt(format!("run #{run_id} vanished")))?;
        run.state = result.state;
        run.finished_at = Some(now());
        run.version_seen = result.version_seen.map(str::to_string);
        run.verdict = Some(result.verdict_json.to_string());
        run.measurements = Some(result.measurements_json.to_string());
        run.report_dir = Some(result.report_dir.to_string());
        run.abort_reason = result.abort_reason.map(str::to_string);
        rows::update_run(&*tx, &run)?;
        let kind = match run.state {
            RunState::Aborted => "run-aborted",
            _ => "run-finished",
        };
        record(&*tx, actor, kind, &run, &rows::run_json(&run)?, false)?;
        tx.commit()?;
        Ok(run)
    }

    /// The last event: its sequence number and hash (`0` and [`GENESIS`] when empty).
    pub fn head(&self) -> Result<(i64, String), LedgerError> {
        Ok(audit::head(&*self.store)?)
    }

    /// One event by its sequence number.
    pub fn event(&self, seq: i64) -> Result<Option<AuditEvent>, LedgerError> {
        Ok(audit::event(&*self.store, seq)?)
    }

    /// A roster pinned in this ledger, by digest.
    pub fn pinned_roster(&self, digest: &str) -> Result<Option<Roster>, LedgerError> {
        decide::pinned_roster(&*self.store, digest)
    }

    /// Every roster pinned in this ledger.
    pub fn pinned_rosters(&self) -> Result<Vec<Roster>, LedgerError> {
        rows::rosters_all(&*self.store)?
            .into_iter()
            .map(|(_, json)| {
                Roster::from_json(&json).map_err(|e| LedgerError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Whether a stage is promoted for a release.
    pub fn is_promoted(
        &self,
        system: &str,
        release: &str,
        stage: StageId,
    ) -> Result<bool, LedgerError> {
        Ok(rows::is_promoted(&*self.store, system, release, stage)?)
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
            &*self.store,
            "system = ?1 AND stage = ?2 AND release != ?3 AND state = 'passed' ORDER BY id DESC LIMIT 1",
            args![system, stage.as_str(), release],
        )?
        .into_iter()
        .next())
    }

    /// Every run, optionally of one system and release, oldest first. A run whose
    /// process died shows as aborted even before a signed command records it so.
    pub fn runs(
        &self,
        system: Option<&str>,
        release: Option<&str>,
    ) -> Result<Vec<RunRow>, LedgerError> {
        let mut runs = rows::runs_where(
            &*self.store,
            "(CAST(?1 AS TEXT) IS NULL OR system = ?1) AND (CAST(?2 AS TEXT) IS NULL OR release = ?2) ORDER BY id",
            args![system, release],
        )?;
        for run in runs.iter_mut().filter(|r| r.state == RunState::Running) {
            if !liveness::is_alive(run.pid, run.pid_start.as_deref(), &run.host) {
                run.state = RunState::Aborted;
                run.abort_reason = Some(DIED.into());
            }
        }
        Ok(runs)
    }

    /// Every approval and rejection of a system's release, oldest first.
    pub fn approvals(&self, system: &str, release: &str) -> Result<Vec<ApprovalRow>, LedgerError> {
        Ok(rows::approvals_where(
            &*self.store,
            "system = ?1 AND release = ?2 ORDER BY id",
            args![system, release],
        )?)
    }

    /// Every promotion, optionally of one system.
    pub fn promotions(&self, system: Option<&str>) -> Result<Vec<PromotionRow>, LedgerError> {
        Ok(rows::promotions_where(
            &*self.store,
            "(CAST(?1 AS TEXT) IS NULL OR system = ?1) ORDER BY at",
            args![system],
        )?)
    }

    /// Every (system, release) known, in order of registration.
    pub fn releases(&self, system: Option<&str>) -> Result<Vec<(String, String)>, LedgerError> {
        Ok(rows::releases_all(&*self.store)?
            .into_iter()
            .filter(|r| system.is_none_or(|s| s == r.system))
            .map(|r| (r.system, r.release))
            .collect())
    }

    /// The audit events of a release (or all, with `None`), oldest first.
    pub fn events(
        &self,
        system: Option<&str>,
        release: Option<&str>,
    ) -> Result<Vec<audit::AuditEvent>, LedgerError> {
        Ok(audit::events(&*self.store, system, release)?)
    }

    /// Checks the hash chain, every signature against the roster pinned for it, the
    /// rules on every decision, and that every table row matches the last event about it.
    pub fn verify(&self) -> Result<Result<VerifyReport, VerifyProblem>, LedgerError> {
        verify::verify(&*self.store)
    }

    /// Raw access to the storage, for `ledger copy` and for tests that tamper with a
    /// ledger on purpose.
    #[doc(hidden)]
    pub fn storage(&self) -> &dyn Storage {
        &*self.store
    }
}

/// Why a run found dead is aborted.
const DIED: &str = "the process running this stage died before it finished";

/// Pins the actor's roster, recording a `roster-pinned` event the first time.
fn pin_roster(db: &dyn Storage, actor: &LedgerActor) -> Result<(), LedgerError> {
    let json = actor.roster.to_json();
    if rows::pin_roster(db, actor.roster.digest(), &json)? {
        audit::append(
            db,
            &audit::Draft {
                kind: "roster-pinned",
                system: "",
                release: "",
                stage: None,
                actor: &actor.identity.person.id,
                payload: &json,
                roster: actor.roster.digest(),
            },
            audit::Seal::Record {
                signer: actor.identity.signer.as_ref(),
                fingerprint: &actor.identity.fingerprint,
                recorded_by_tool: false,
            },
        )?;
    }
    Ok(())
}

/// Appends an event about `run` signed by the actor's key.
fn record(
    db: &dyn Storage,
    actor: &LedgerActor,
    kind: &str,
    run: &RunRow,
    payload: &str,
    recorded_by_tool: bool,
) -> Result<AuditEvent, LedgerError> {
    audit::append(
        db,
        &audit::Draft {
            kind,
            system: &run.system,
            release: &run.release,
            stage: (kind != "release-registered").then_some(run.stage),
            actor: &actor.identity.person.id,
            payload,
            roster: actor.roster.digest(),
        },
        audit::Seal::Record {
            signer: actor.identity.signer.as_ref(),
            fingerprint: &actor.identity.fingerprint,
            recorded_by_tool,
        },
    )
}

/// The rollout rules for starting a run: the previous stage promoted, this one not yet,
/// and no other run of it in progress.
fn check_may_begin(
    db: &dyn Storage,
    system: &str,
    release: &str,
    stage: StageId,
) -> Result<(), LedgerError> {
    if let Some(previous) = stage.previous() {
        if !rows::is_promoted(db, system, release, previous)? {
            let state = describe_stage(db, system, release, previous)?;
            return Err(Refusal::PreviousStageNotPromoted {
                stage,
                release: release.to_string(),
                previous,
                state,
            }
            .into());
        }
    }
    if rows::is_promoted(db, system, release, stage)? {
        return Err(Refusal::AlreadyPromoted {
            stage,
            release: release.to_string(),
        }
        .into());
    }
    let running: Vec<RunRow> = rows::runs_where(
        db,
        "system = ?1 AND release = ?2 AND stage = ?3 AND state = 'running'",
        args![system, release, stage.as_str()],
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
    db: &dyn Storage,
    system: &str,
    release: &str,
    stage: StageId,
) -> Result<String, LedgerError> {
    let last: Option<String> = db
        .query(
            "SELECT state FROM runs WHERE system = ?1 AND release = ?2 AND stage = ?3 ORDER BY id DESC LIMIT 1",
            args![system, release, stage.as_str()],
        )?
        .first()
        .map(|r| r.text(0))
        .transpose()?;
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
