//! `stagegate approve` / `stagegate reject`: a release manager's decision on a stage.

use crate::exit_code;
use crate::ledger::{Decision, DecisionRequest};
use crate::stage::StageId;
use clap::Args;
use std::path::Path;

#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// System.
    pub system: String,
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Stage decided on.
    #[arg(long)]
    pub stage: StageId,
    /// Who decides (recorded in the ledger).
    #[arg(long = "as", value_name = "NAME", env = "STAGEGATE_USER")]
    pub actor: String,
    /// Why (recorded in the ledger).
    #[arg(long, default_value = "")]
    pub note: String,
}

pub(super) fn run(root: &Path, ledger_path: &Path, args: DecisionArgs, decision: Decision) -> u8 {
    if decision == Decision::Reject && args.note.trim().is_empty() {
        eprintln!("error: a rejection needs a reason (hint: --note 'why')");
        return exit_code::INVALID_INPUT;
    }
    // The files as they are now: an approval of a run made with other files is refused.
    let digest = match crate::config::load(root) {
        Ok(project) => project.system(&args.system).map(|s| s.files_digest.clone()),
        Err(_) => None,
    };
    let mut ledger = match super::open_ledger(ledger_path) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match ledger.decide(&DecisionRequest {
        system: &args.system,
        release: &args.release,
        stage: args.stage,
        actor: &args.actor,
        decision,
        note: &args.note,
        current_digest: digest.as_deref(),
    }) {
        Ok(outcome) => {
            match decision {
                Decision::Reject => println!(
                    "rejected run #{} of {} {} stage `{}`",
                    outcome.run, args.system, args.release, args.stage
                ),
                Decision::Approve if outcome.promoted => println!(
                    "approved run #{} ({}/{}): stage `{}` of {} {} is PROMOTED",
                    outcome.run,
                    outcome.approvals,
                    outcome.required,
                    args.stage,
                    args.system,
                    args.release
                ),
                Decision::Approve => println!(
                    "approved run #{} ({}/{} approvals): waiting for {} more distinct approver(s)",
                    outcome.run,
                    outcome.approvals,
                    outcome.required,
                    outcome.required.saturating_sub(outcome.approvals)
                ),
            }
            exit_code::OK
        }
        Err(e) => super::ledger_failure(&e),
    }
}
