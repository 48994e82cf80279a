//! Takes the audit events (from the database, or from an evidence archive without it),
//! gives the verdict of `ledger verify`: the hash chain from the genesis, every signature
//! against the roster pinned for it, every decision re-judged by [`super::rules`], and
//! (with the database) every table row equal to the last event about it.

use super::audit::{AuditEvent, VerifyProblem, GENESIS};
use super::decide::{check_signature, SignedDecision};
use super::rows::{self, ApprovalRow, Decision, PromotionRow, ReleaseRow, RunRow};
use super::statement::{self, DecisionStatement};
use super::store::Storage;
use super::{rules, LedgerError};
use crate::identity::{self, Roster};
use std::collections::BTreeMap;

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: usize,
    /// Signatures checked (a promotion repeats its approval's and counts once more).
    pub signatures: usize,
    /// Digests of the rosters pinned, in order.
    pub rosters: Vec<String>,
    /// The last event: sequence number and hash.
    pub head: (i64, String),
}

/// What the walk over the events remembers.
#[derive(Default)]
struct Walk {
    rosters: BTreeMap<String, Roster>,
    pinned_order: Vec<String>,
    runs: BTreeMap<i64, RunRow>,
    /// Hash of the event that recorded each run's result.
    results: BTreeMap<i64, String>,
    decisions: BTreeMap<i64, Vec<ApprovalRow>>,
    /// The last payload recorded for each row, keyed by table and row key.
    last_state: BTreeMap<(String, String), (i64, String)>,
}

/// Checks a whole chain of events, first to last, without the database.
pub fn verify_events(events: &[AuditEvent]) -> Result<VerifyReport, VerifyProblem> {
    walk(events).map(|(report, _)| report)
}

fn walk(events: &[AuditEvent]) -> Result<(VerifyReport, Walk), VerifyProblem> {
    let mut w = Walk::default();
    let mut signatures = 0;
    super::chain::check_chain(events).map_err(|b| VerifyProblem {
        event: Some(b.seq()),
        message: b.to_string(),
    })?;
    for (i, e) in events.iter().enumerate() {
        let problem = |message: String| VerifyProblem {
            event: Some(e.seq),
            message,
        };
        let before = if i > 0 { events.get(i - 1) } else { None };
        check_event(&mut w, e, before).map_err(problem)?;
        signatures += 1;
    }
    let head = events
        .last()
        .map_or((0, GENESIS.to_string()), |e| (e.seq, e.hash.clone()));
    let report = VerifyReport {
        events: events.len(),
        signatures,
        rosters: w.pinned_order.clone(),
        head,
    };
    Ok((report, w))
}

fn read<T: serde::de::DeserializeOwned>(e: &AuditEvent) -> Result<T, String> {
    serde_json::from_str(&e.payload).map_err(|err| format!("its payload cannot be read: {err}"))
}

fn check_event(w: &mut Walk, e: &AuditEvent, before: Option<&AuditEvent>) -> Result<(), String> {
    if e.kind == "roster-pinned" {
        let roster = Roster::from_json(&e.payload).map_err(|err| err.to_string())?;
        if roster.digest() != e.roster {
            return Err("the roster it pins does not have the digest it names".into());
        }
        w.pinned_order.push(e.roster.clone());
        w.rosters.insert(e.roster.clone(), roster);
        w.last_state.insert(
            ("roster".into(), e.roster.clone()),
            (e.seq, canonical(&e.payload)),
        );
    }
    let roster = w
        .rosters
        .get(&e.roster)
        .ok_or_else(|| {
            format!(
                "it is checked against roster {}…, which no earlier event pinned",
                short(&e.roster)
            )
        })?
        .clone();
    match e.kind.as_str() {
        "approval" | "rejection" => return check_decision(w, e, &roster),
        "promotion" => return check_promotion(w, e, before, &roster),
        _ => {}
    }
    // Every other event carries a record statement signed by the command's key.
    let record = statement::parse_record(&e.statement)?;
    if record.content != e.content_hash() || record.kind != e.kind || record.person != e.actor {
        return Err(format!(
            "its signed statement does not describe it ({} by {}, was it edited?)",
            e.kind, e.actor
        ));
    }
    check_key(&roster, e)?;
    match e.kind.as_str() {
        "roster-pinned" => {}
        "release-registered" => {
            let r: ReleaseRow = read(e)?;
            w.last_state.insert(
                ("release".into(), format!("{}/{}", r.system, r.release)),
                (e.seq, canonical(&e.payload)),
            );
        }
        "run-started" | "run-finished" | "run-aborted" => {
            let run: RunRow = read(e)?;
            if !record.recorded_by_tool && (run.run_by != e.actor || run.signer != e.signer) {
                return Err(format!(
                    "run #{} names {} as its runner, but {} signed the event",
                    run.id, run.run_by, e.actor
                ));
            }
            if run.roster != e.roster && !record.recorded_by_tool {
                return Err(format!(
                    "run #{} names another roster than its event",
                    run.id
                ));
            }
            if e.kind != "run-started" {
                w.results.insert(run.id, e.hash.clone());
            }
            w.last_state.insert(
                ("run".into(), run.id.to_string()),
                (e.seq, canonical(&e.payload)),
            );
            w.runs.insert(run.id, run);
        }
        other => return Err(format!("unknown event kind `{other}`")),
    }
    Ok(())
}

/// The signer of a record statement: the event's actor, with a key of theirs that is
/// not revoked, and a signature that checks.
fn check_key(roster: &Roster, e: &AuditEvent) -> Result<(), String> {
    let owner = roster.owner_of(&e.signer).ok_or_else(|| {
        format!(
            "it is signed by key {}, which is not in its roster",
            e.signer
        )
    })?;
    if owner.person.id != e.actor {
        return Err(format!(
            "it names {} but key {} belongs to {}",
            e.actor, e.signer, owner.person.id
        ));
    }
    if owner.key.revoked {
        return Err(format!("it is signed by the revoked key {}", e.signer));
    }
    identity::signing::verify(&owner.key.key, e.statement.as_bytes(), &e.signature)
        .map_err(|err| format!("its signature by {} does not check: {err}", e.actor))
}

fn decision_of(e: &AuditEvent) -> Result<DecisionStatement, String> {
    statement::parse_decision(&e.statement)
}

fn check_decision(w: &mut Walk, e: &AuditEvent, roster: &Roster) -> Result<(), String> {
    let s = decision_of(e)?;
    let row: ApprovalRow = read(e)?;
    let signed = SignedDecision {
        statement: &e.statement,
        signature: &e.signature,
    };
    let (person, fingerprint) =
        check_signature(roster, &s, &signed, s.run).map_err(|r| r.to_string())?;
    let expected_kind = match s.decision {
        Decision::Approve => "approval",
        Decision::Reject => "rejection",
    };
    let binds = s.previous == e.prev_hash
        && s.at == e.at
        && e.kind == expected_kind
        && e.actor == person.id
        && e.signer == fingerprint
        && row.actor == person.id
        && row.signer == fingerprint
        && row.run_id == s.run
        && row.decision == s.decision
        && row.note == s.note
        && row.at == s.at
        && row.system == s.system
        && row.release == s.release
        && row.stage == s.stage;
    if !binds {
        return Err(format!(
            "the decision it records is not the one {} signed (was it edited?)",
            person.id
        ));
    }
    let run = w.runs.get(&s.run).ok_or_else(|| {
        format!(
            "it decides on run #{}, which no earlier event recorded",
            s.run
        )
    })?;
    if run.roster != e.roster {
        return Err(format!(
            "it is checked against another roster than run #{}",
            run.id
        ));
    }
    if w.results.get(&run.id) != Some(&s.evidence) {
        return Err(format!(
            "the evidence it names is not run #{}'s recorded result",
            run.id
        ));
    }
    let latest = w
        .runs
        .values()
        .filter(|r| r.system == run.system && r.release == run.release && r.stage == run.stage)
        .map(|r| r.id)
        .max()
        .unwrap_or(run.id);
    let earlier = w.decisions.get(&run.id).cloned().unwrap_or_default();
    rules::check_run_decidable(run, latest, s.decision)
        .and_then(|()| rules::check_decider(run, &earlier, person, s.decision))
        .map_err(|refusal| format!("the rules refuse it: {refusal}"))?;
    w.decisions.entry(run.id).or_default().push(row.clone());
    w.last_state.insert(
        ("approval".into(), row.id.to_string()),
        (e.seq, canonical(&e.payload)),
    );
    Ok(())
}

fn check_promotion(
    w: &mut Walk,
    e: &AuditEvent,
    before: Option<&AuditEvent>,
    roster: &Roster,
) -> Result<(), String> {
    let promotion: PromotionRow = read(e)?;
    let approval = before
        .filter(|b| {
            b.kind == "approval"
                && b.statement == e.statement
                && b.signature == e.signature
                && b.signer == e.signer
                && b.actor == e.actor
        })
        .ok_or("a promotion must follow the approval that completed it and carry its signature")?;
    let s = decision_of(approval)?;
    let run = w
        .runs
        .get(&promotion.run_id)
        .filter(|_| promotion.run_id == s.run)
        .ok_or("the promotion rests on another run than its approval")?;
    let approvers: Vec<&identity::Person> = w
        .decisions
        .get(&run.id)
        .map(|d| {
            d.iter()
                .filter(|a| a.decision == Decision::Approve)
                .filter_map(|a| roster.person(&a.actor))
                .collect()
        })
        .unwrap_or_default();
    if !rules::promotion_due(run, &approvers) {
        return Err(format!(
            "run #{} did not have the approvals its plan requires",
            run.id
        ));
    }
    let key = format!(
        "{}/{}/{}",
        promotion.system, promotion.release, promotion.stage
    );
    if w.last_state
        .contains_key(&("promotion".into(), key.clone()))
    {
        return Err(format!("stage {key} was already promoted"));
    }
    w.last_state
        .insert(("promotion".into(), key), (e.seq, canonical(&e.payload)));
    Ok(())
}

/// Checks the chain and the tables; `Ok(Ok(report))` means everything verified.
pub(super) fn verify(db: &dyn Storage) -> Result<Result<VerifyReport, VerifyProblem>, LedgerError> {
    let all = super::audit::events(db, None, None)?;
    let (report, w) = match walk(&all) {
        Ok(done) => done,
        Err(problem) => return Ok(Err(problem)),
    };
    // Every row must equal the last event about it, and every recorded row must exist.
    let mut current: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in rows::releases_all(db)? {
        current.insert(
            ("release".into(), format!("{}/{}", r.system, r.release)),
            canonical(&rows::to_json(&r)?),
        );
    }
    for r in rows::runs_where(db, "1 = 1", &[])? {
        current.insert(
            ("run".into(), r.id.to_string()),
            canonical(&rows::to_json(&r)?),
        );
    }
    for a in rows::approvals_where(db, "1 = 1", &[])? {
        current.insert(
            ("approval".into(), a.id.to_string()),
            canonical(&rows::to_json(&a)?),
        );
    }
    for p in rows::promotions_where(db, "1 = 1", &[])? {
        current.insert(
            (
                "promotion".into(),
                format!("{}/{}/{}", p.system, p.release, p.stage),
            ),
            canonical(&rows::to_json(&p)?),
        );
    }
    for (digest, json) in rows::rosters_all(db)? {
        current.insert(("roster".into(), digest), canonical(&json));
    }
    for ((table, key), (seq, recorded)) in &w.last_state {
        match current.get(&(table.clone(), key.clone())) {
            None => {
                return Ok(Err(VerifyProblem {
                    event: Some(*seq),
                    message: format!("{table} {key} recorded here is missing from the ledger"),
                }))
            }
            Some(now) if now != recorded => {
                let field = differing_field(recorded, now).unwrap_or_else(|| "a field".into());
                return Ok(Err(VerifyProblem {
                    event: Some(*seq),
                    message: format!(
                        "{table} {key} was changed after this event recorded it (field `{field}`)"
                    ),
                }));
            }
            Some(_) => {}
        }
    }
    for (table, key) in current.keys() {
        if !w.last_state.contains_key(&(table.clone(), key.clone())) {
            return Ok(Err(VerifyProblem {
                event: None,
                message: format!("{table} {key} is in the ledger but no audit event recorded it"),
            }));
        }
    }
    Ok(Ok(report))
}

fn canonical(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| json.to_string())
}

fn differing_field(a: &str, b: &str) -> Option<String> {
    let a: serde_json::Value = serde_json::from_str(a).ok()?;
    let b: serde_json::Value = serde_json::from_str(b).ok()?;
    let (a, b) = (a.as_object()?, b.as_object()?);
    a.iter()
        .find(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}
