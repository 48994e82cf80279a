//! Takes a signed decision statement (approve or reject), gives the recorded decision and,
//! when the approvals are complete, the promotion — or the [`Refusal`] that stops it. The
//! key that signed is looked up in the roster pinned with the run; the rules are
//! [`super::rules`].

use super::audit::{self, Draft, Seal};
use super::rows::{self, ApprovalRow, Decision, PromotionRow, RunRow};
use super::statement::{self, DecisionStatement};
use super::store::{args, Storage, Transaction};
use super::{rules, Ledger, LedgerError, Refusal};
use crate::identity::{self, Person, Roster};
use crate::stage::StageId;

/// What a decision is about, read before signing: the run, the evidence digest and the
/// ledger head a statement must name.
#[derive(Debug, Clone)]
pub struct DecisionTarget {
    /// The run to decide on.
    pub run: RunRow,
    /// Hash of the event that recorded the run's result.
    pub evidence: String,
    /// The ledger's head: sequence number and hash.
    pub head: (i64, String),
}

/// A statement and its armored SSHSIG, as made by `approve`/`reject` or by
/// `ssh-keygen -Y sign` elsewhere.
#[derive(Debug, Clone, Copy)]
pub struct SignedDecision<'a> {
    /// The statement text, exactly as signed.
    pub statement: &'a str,
    /// The signature.
    pub signature: &'a str,
}

/// The outcome of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalOutcome {
    /// The run decided on.
    pub run: i64,
    /// Distinct approvers so far.
    pub approvals: u32,
    /// Required.
    pub required: u32,
    /// Whether this approval promoted the stage.
    pub promoted: bool,
    /// Who decided, as the pinned roster says.
    pub person: String,
    /// Their key.
    pub fingerprint: String,
}

/// A decision to sign with the ledger's actor and record.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRequest<'a> {
    /// System.
    pub system: &'a str,
    /// Release.
    pub release: &'a str,
    /// Stage decided on.
    pub stage: StageId,
    /// The run named (`--run N`); `None`: the latest.
    pub run: Option<i64>,
    /// Approve or reject.
    pub decision: Decision,
    /// Why.
    pub note: &'a str,
    /// Digest of the system's files now; an approval is refused when it differs from the
    /// run's (the run must be redone).
    pub current_digest: Option<&'a str>,
}

/// How many times a decision is re-signed when other writers move the ledger's head
/// between signing and recording: each retry follows a commit by someone else, so eight
/// racing approvers need at most seven; the bound only stops a pathological loop.
const HEAD_RETRIES: usize = 32;

impl DecisionTarget {
    /// The statement `person` signs to make `decision` on this target now.
    pub fn statement(&self, person: &str, decision: Decision, note: &str) -> DecisionStatement {
        DecisionStatement {
            at: super::now(),
            decision,
            evidence: self.evidence.clone(),
            format: statement::DECISION_FORMAT.into(),
            note: note.to_string(),
            person: person.to_string(),
            previous: self.head.1.clone(),
            release: self.run.release.clone(),
            run: self.run.id,
            stage: self.run.stage,
            system: self.run.system.clone(),
        }
    }
}

impl Ledger {
    /// Prepares, signs with the actor's key and records a decision, signing again when
    /// another writer moved the ledger's head in between.
    pub fn decide_as_actor(
        &mut self,
        request: &DecisionRequest<'_>,
    ) -> Result<ApprovalOutcome, LedgerError> {
        for _ in 0..HEAD_RETRIES {
            let target = self.decision_target(
                request.system,
                request.release,
                request.stage,
                request.run,
                request.decision,
            )?;
            let actor = self.actor.as_ref().ok_or(LedgerError::Unsigned)?;
            let text = statement::render(&target.statement(
                &actor.identity.person.id,
                request.decision,
                request.note,
            ));
            let signature = actor
                .identity
                .signer
                .sign(text.as_bytes())
                .map_err(|e| LedgerError::Sign(e.to_string()))?;
            let signed = SignedDecision {
                statement: &text,
                signature: &signature,
            };
            match self.decide(&signed, request.current_digest) {
                Err(LedgerError::Refused(Refusal::HeadMoved { .. })) => continue,
                other => return other,
            }
        }
        Err(LedgerError::Sign(format!(
            "the ledger kept moving: {HEAD_RETRIES} attempts to record the decision were overtaken"
        )))
    }

    /// The run a decision on `stage` would concern (the latest run, or `run` when named,
    /// which must then be the latest), refused early when no decision is possible.
    pub fn decision_target(
        &self,
        system: &str,
        release: &str,
        stage: StageId,
        run: Option<i64>,
        decision: Decision,
    ) -> Result<DecisionTarget, LedgerError> {
        target(&*self.store, system, release, stage, run, decision)
    }

    /// Records a signed approval or rejection, and promotes the stage when enough
    /// distinct people with the required roles approved. `current_digest` is the digest
    /// of the system's files now: an approval of a run made with other files is refused.
    pub fn decide(
        &mut self,
        signed: &SignedDecision<'_>,
        current_digest: Option<&str>,
    ) -> Result<ApprovalOutcome, LedgerError> {
        let s = statement::parse_decision(signed.statement).map_err(Refusal::StatementMismatch)?;
        let tx = Transaction::write(&*self.store)?;
        let (seq, head) = audit::head(&*tx)?;
        if head != s.previous {
            return Err(Refusal::HeadMoved {
                expected: short(&s.previous),
                seq,
                now: short(&head),
            }
            .into());
        }
        let t = target(
            &*tx,
            &s.system,
            &s.release,
            s.stage,
            Some(s.run),
            s.decision,
        )?;
        if t.evidence != s.evidence {
            return Err(Refusal::EvidenceMismatch {
                run: t.run.id,
                named: short(&s.evidence),
                actual: short(&t.evidence),
            }
            .into());
        }
        let run = t.run;
        if s.decision == Decision::Approve {
            if let Some(now) = current_digest.filter(|d| *d != run.files_digest) {
                return Err(Refusal::FilesChanged {
                    system: run.system.clone(),
                    run: run.id,
                    then: short(&run.files_digest),
                    now: short(now),
                }
                .into());
            }
        }
        let roster = pinned_roster(&*tx, &run.roster)?.ok_or_else(|| {
            LedgerError::Corrupt(format!("roster of run #{} is not pinned", run.id))
        })?;
        let (person, fingerprint) = check_signature(&roster, &s, signed, run.id)?;
        let earlier = rows::approvals_of(&*tx, run.id)?;
        rules::check_decider(&run, &earlier, person, s.decision)?;
        let mut row = ApprovalRow {
            id: 0,
            run_id: run.id,
            system: run.system.clone(),
            release: run.release.clone(),
            stage: run.stage,
            actor: person.id.clone(),
            decision: s.decision,
            note: s.note.clone(),
            at: s.at.clone(),
            signer: fingerprint.clone(),
        };
        row.id = rows::insert_approval(&*tx, &row)?;
        let kind = match s.decision {
            Decision::Approve => "approval",
            Decision::Reject => "rejection",
        };
        let draft = |kind, payload| Draft {
            kind,
            system: &run.system,
            release: &run.release,
            stage: Some(run.stage),
            actor: &person.id,
            payload,
            roster: &run.roster,
        };
        let payload = rows::approval_json(&row)?;
        audit::append(
            &*tx,
            &draft(kind, &payload),
            Seal::Signed {
                at: Some(&s.at),
                statement: signed.statement,
                signature: signed.signature,
                fingerprint: &fingerprint,
            },
        )?;
        let approvers: Vec<&Person> = earlier
            .iter()
            .chain(std::iter::once(&row))
            .filter(|d| d.decision == Decision::Approve)
            .filter_map(|d| roster.person(&d.actor))
            .collect();
        let mut promoted = false;
        if s.decision == Decision::Approve && rules::promotion_due(&run, &approvers) {
            let promotion = PromotionRow {
                system: run.system.clone(),
                release: run.release.clone(),
                stage: run.stage,
                run_id: run.id,
                at: super::now(),
            };
            // The primary key (system, release, stage) is the last line of defence against
            // a double promotion; the immediate transaction makes it unreachable in practice.
            rows::insert_promotion(&*tx, &promotion)?;
            let payload = rows::promotion_json(&promotion)?;
            // A promotion is not a new act: it carries the signature of the approval that
            // completed it.
            audit::append(
                &*tx,
                &draft("promotion", &payload),
                Seal::Signed {
                    at: Some(&promotion.at),
                    statement: signed.statement,
                    signature: signed.signature,
                    fingerprint: &fingerprint,
                },
            )?;
            promoted = true;
        }
        tx.commit()?;
        Ok(ApprovalOutcome {
            run: run.id,
            approvals: approvers.len() as u32,
            required: run.approvals_required,
            promoted,
            person: person.id.clone(),
            fingerprint,
        })
    }
}

/// Checks that the key that made `signed` belongs, unrevoked, to the statement's person in
/// `roster`, and that the signature is good. Gives the person and the key's fingerprint.
pub(super) fn check_signature<'r>(
    roster: &'r Roster,
    s: &DecisionStatement,
    signed: &SignedDecision<'_>,
    run: i64,
) -> Result<(&'r Person, String), Refusal> {
    let key =
        identity::signing::signing_key(signed.signature).map_err(|e| Refusal::BadSignature {
            person: s.person.clone(),
            reason: e.to_string(),
        })?;
    let fingerprint = identity::fingerprint(&key);
    let owner = roster
        .owner_of(&fingerprint)
        .ok_or_else(|| Refusal::UnknownKey {
            fingerprint: fingerprint.clone(),
            run,
        })?;
    if owner.key.revoked {
        return Err(Refusal::RevokedKey {
            fingerprint,
            person: owner.person.id.clone(),
        });
    }
    if roster.person(&s.person).map(|p| &p.id) != Some(&owner.person.id) {
        return Err(Refusal::NotTheKeyOwner {
            claimed: s.person.clone(),
            fingerprint,
            owner: owner.person.id.clone(),
        });
    }
    identity::signing::verify(
        &owner.key.key,
        signed.statement.as_bytes(),
        signed.signature,
    )
    .map_err(|e| Refusal::BadSignature {
        person: owner.person.id.clone(),
        reason: e.to_string(),
    })?;
    Ok((owner.person, fingerprint))
}

fn target(
    db: &dyn Storage,
    system: &str,
    release: &str,
    stage: StageId,
    run: Option<i64>,
    decision: Decision,
) -> Result<DecisionTarget, LedgerError> {
    if rows::is_promoted(db, system, release, stage)? {
        return Err(Refusal::AlreadyPromoted {
            stage,
            release: release.to_string(),
        }
        .into());
    }
    let latest = rows::runs_where(
        db,
        "system = ?1 AND release = ?2 AND stage = ?3 ORDER BY id DESC LIMIT 1",
        args![system, release, stage.as_str()],
    )?
    .into_iter()
    .next()
    .ok_or_else(|| Refusal::NotRun {
        stage,
        release: release.to_string(),
    })?;
    let chosen = match run {
        None => latest.clone(),
        Some(id) if id == latest.id => latest.clone(),
        Some(id) => rows::run_by_id(db, id)?
            .filter(|r| r.system == system && r.release == release && r.stage == stage)
            .ok_or_else(|| {
                Refusal::StatementMismatch(format!(
                    "run #{id} is not a run of stage `{stage}` of {system} {release}"
                ))
            })?,
    };
    rules::check_run_decidable(&chosen, latest.id, decision)?;
    // A run still in progress has no result to decide on; `check_run_decidable` refuses
    // approvals of it, and a rejection of it is refused here.
    let evidence = audit::result_event_hash(db, chosen.id)?.ok_or(Refusal::NotPassed {
        stage,
        release: release.to_string(),
        run: chosen.id,
        state: chosen.state,
    })?;
    Ok(DecisionTarget {
        run: chosen,
        evidence,
        head: audit::head(db)?,
    })
}

pub(super) fn pinned_roster(db: &dyn Storage, digest: &str) -> Result<Option<Roster>, LedgerError> {
    let json: Option<String> = db
        .query(
            "SELECT roster FROM rosters WHERE digest = ?1",
            args![digest],
        )?
        .first()
        .map(|r| r.text(0))
        .transpose()?;
    json.map(|j| Roster::from_json(&j).map_err(|e| LedgerError::Corrupt(e.to_string())))
        .transpose()
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}
