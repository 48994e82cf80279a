//! The rollout rules on decisions, as pure functions over rows and the pinned roster: no
//! SQL here, so every storage backend and `ledger verify` apply the same rules. Who may
//! decide (role), who may not (the run's signer, unless allowed; anyone twice), what a
//! rejection blocks, and when approvals promote the stage.

use super::rows::{ApprovalRow, Decision, RunRow, RunState};
use super::Refusal;
use crate::identity::{Person, Role};

/// Whether a run can be decided on at all: it must be the latest run of its stage and,
/// for an approval, have passed. `latest` is the latest run's id.
pub fn check_run_decidable(run: &RunRow, latest: i64, decision: Decision) -> Result<(), Refusal> {
    if decision == Decision::Approve && run.state != RunState::Passed {
        return Err(Refusal::NotPassed {
            stage: run.stage,
            release: run.release.clone(),
            run: run.id,
            state: run.state,
        });
    }
    if run.id != latest {
        return Err(Refusal::NotLatestRun {
            run: run.id,
            stage: run.stage,
            release: run.release.clone(),
            latest,
        });
    }
    Ok(())
}

/// Whether `person` may make `decision` on `run`, given the decisions already recorded on
/// it (oldest first). Identity is the key's owner in the run's pinned roster, never a
/// typed name.
pub fn check_decider(
    run: &RunRow,
    earlier: &[ApprovalRow],
    person: &Person,
    decision: Decision,
) -> Result<(), Refusal> {
    if !run.approver_roles.is_empty()
        && !run
            .approver_roles
            .iter()
            .any(|r| person.has_role(&Role(r.clone())))
    {
        return Err(Refusal::WrongRole {
            person: person.id.clone(),
            held: person.roles_text(),
            stage: run.stage,
            allowed: run
                .approver_roles
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(" or "),
        });
    }
    if decision == Decision::Approve {
        if person.id == run.run_by && !run.allow_self_approval {
            return Err(Refusal::SelfApproval {
                actor: person.id.clone(),
                stage: run.stage,
                run: run.id,
            });
        }
        if let Some(rejection) = earlier.iter().find(|d| d.decision == Decision::Reject) {
            return Err(Refusal::Rejected {
                run: run.id,
                by: rejection.actor.clone(),
            });
        }
    }
    if earlier.iter().any(|d| d.actor == person.id) {
        return Err(Refusal::DuplicateApprover {
            actor: person.id.clone(),
            run: run.id,
        });
    }
    Ok(())
}

/// Whether the approvals of `run` (with each approver's roles) promote its stage: enough
/// distinct people, and enough of them holding each required role.
pub fn promotion_due(run: &RunRow, approvers: &[&Person]) -> bool {
    let mut ids: Vec<&str> = approvers.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    if (ids.len() as u32) < run.approvals_required {
        return false;
    }
    run.required_roles.iter().all(|(role, needed)| {
        let role = Role(role.clone());
        approvers.iter().filter(|p| p.has_role(&role)).count() as u32 >= *needed
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::StageId;
    use std::collections::{BTreeMap, BTreeSet};

    fn person(id: &str, roles: &[&str]) -> Person {
        Person {
            id: id.into(),
            name: id.into(),
            roles: roles
                .iter()
                .map(|r| Role((*r).into()))
                .collect::<BTreeSet<_>>(),
            keys: Vec::new(),
        }
    }

    fn run() -> RunRow {
        RunRow {
            id: 1,
            system: "s".into(),
            release: "1".into(),
            stage: StageId::RealProduction,
            environment: "p".into(),
            run_by: "qa.an".into(),
            started_at: String::new(),
            finished_at: None,
            state: RunState::Passed,
            pid: 0,
            pid_start: None,
            host: String::new(),
            files_digest: String::new(),
            approvals_required: 2,
            allow_self_approval: false,
            version_seen: None,
            verdict: None,
            measurements: None,
            report_dir: None,
            abort_reason: None,
            roster: String::new(),
            signer: String::new(),
            approver_roles: vec!["release-manager".into(), "ops".into()],
            required_roles: BTreeMap::from([("release-manager".into(), 1)]),
        }
    }

    #[test]
    fn roles_self_approval_and_required_roles_are_judged_by_the_roster() {
        let run = run();
        let qa = person("qa.an", &["qa", "ops"]);
        let rm = person("rm.binh", &["release-manager"]);
        let ops = person("ops.cuong", &["ops"]);
        let only_qa = person("qa.dung", &["qa"]);
        assert!(matches!(
            check_decider(&run, &[], &only_qa, Decision::Approve),
            Err(Refusal::WrongRole { .. })
        ));
        assert!(matches!(
            check_decider(&run, &[], &qa, Decision::Approve),
            Err(Refusal::SelfApproval { .. })
        ));
        assert!(check_decider(&run, &[], &rm, Decision::Approve).is_ok());
        assert!(!promotion_due(&run, &[&ops, &ops]), "one person twice");
        assert!(!promotion_due(&run, &[&ops, &qa]), "no release manager");
        assert!(promotion_due(&run, &[&ops, &rm]));
    }
}
