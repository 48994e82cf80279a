//! `stagegate approve` / `stagegate reject`: a person's signed decision on a stage run.
//! The decision is signed with their key (ssh-agent or `--key`), or prepared with
//! `--print-payload` and brought back signed by `ssh-keygen -Y sign` with `--signature`.

use super::output_args::OutputArgs;
use super::signer_args::{self, SignerArgs};
use super::CliError;
use crate::config::notify_spec::NotifyEvent;
use crate::exit_code;
use crate::ledger::statement;
use crate::ledger::{ApprovalOutcome, Decision, DecisionRequest, Ledger, SignedDecision};
use crate::notify::{Notification, Notifier};
use crate::stage::StageId;
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};

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
    /// The run decided on; refused unless it is the stage's latest run [default: the
    /// latest run].
    #[arg(long, value_name = "N")]
    pub run: Option<i64>,
    /// Why (signed and recorded in the ledger).
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub signer: SignerArgs,
    /// Print the exact payload to sign and stop (sign it elsewhere with
    /// `ssh-keygen -Y sign -n stagegate`, then pass `--signature`).
    #[arg(long, conflicts_with = "signature")]
    pub print_payload: bool,
    /// A signature made elsewhere (`ssh-keygen -Y sign -f KEY -n stagegate FILE` writes
    /// `FILE.sig`) over the payload `--print-payload` printed.
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// The signed payload file [default: the `--signature` path without `.sig`].
    #[arg(long, value_name = "FILE", requires = "signature")]
    pub payload: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// The shape identifier of `approve`/`reject --output json`.
pub const DECISION_SCHEMA: &str = "stagegate.decision/v1";

/// A recorded decision, as `--output json` prints it. A refusal is an error on standard
/// error with exit 3, as in text.
#[derive(Debug, Serialize)]
struct DecisionJson<'a> {
    /// Always [`DECISION_SCHEMA`].
    schema: &'static str,
    /// `approve` or `reject`.
    decision: Decision,
    system: &'a str,
    release: &'a str,
    stage: StageId,
    /// The run decided on.
    run: i64,
    /// Distinct approvers of the run so far (this one included).
    approvals: u32,
    /// Approvers the plan requires.
    required: u32,
    /// Whether this approval promoted the stage.
    promoted: bool,
    /// Who decided (id in the pinned roster) and their key's fingerprint.
    person: &'a str,
    fingerprint: &'a str,
}

pub(super) fn run(
    root: &Path,
    ledger_path: &crate::ledger::LedgerLocation,
    args: DecisionArgs,
    decision: Decision,
) -> Result<u8, CliError> {
    args.out.check()?;
    if decision == Decision::Reject && args.note.trim().is_empty() {
        return Err(CliError::invalid(
            "a rejection needs a reason (hint: --note 'why')",
        ));
    }
    let project = super::project(root)?;
    // The files as they are now: an approval of a run made with other files is refused.
    let Some(digest) = project.system(&args.system).map(|s| s.files_digest.clone()) else {
        return Err(CliError::invalid(format!(
            "no system `{}` under `{}`",
            args.system,
            root.join("scenarios").display()
        )));
    };
    // Promotions are told to the rollout's `[[notify]]` targets.
    let notifier = Notifier::new(
        project
            .system(&args.system)
            .map(|s| s.rollout.notify.clone())
            .unwrap_or_default(),
    );
    let roster = signer_args::roster(&project)?;
    let mut ledger = super::open_ledger_for_writing(ledger_path)?;
    if let Some(signature) = &args.signature {
        return with_signature(
            &mut ledger,
            &args,
            decision,
            signature,
            &digest,
            &roster,
            &notifier,
        );
    }
    if args.print_payload {
        return print_payload(&ledger, &args, decision, &roster);
    }
    let identity = signer_args::resolve(&args.signer, &roster)?;
    ledger.sign_as(crate::ledger::LedgerActor { identity, roster })?;
    let outcome = ledger.decide_as_actor(&DecisionRequest {
        system: &args.system,
        release: &args.release,
        stage: args.stage,
        run: args.run,
        decision,
        note: &args.note,
        current_digest: Some(&digest),
    });
    report(&ledger, &args, decision, outcome, &notifier)
}

/// How long a command waits, after its own output, for notifications still being sent:
/// enough for every retry of a slow target ([`crate::notify::delivery::ATTEMPTS`]).
pub(super) const NOTIFY_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Tells the rollout's targets that `run` promoted its stage, waiting boundedly.
fn tell_promoted(notifier: &Notifier, args: &DecisionArgs, run: i64) {
    notifier.send(&Notification::new(
        NotifyEvent::Promoted,
        &args.system,
        &args.release,
        args.stage,
        run,
        "",
    ));
    notifier.finish(NOTIFY_WAIT);
}

fn print_payload(
    ledger: &Ledger,
    args: &DecisionArgs,
    decision: Decision,
    roster: &crate::identity::Roster,
) -> Result<u8, CliError> {
    // Who signs: `--as`, or the owner of the key that would sign here.
    let person = match &args.signer.actor {
        Some(id) => match roster.person(id) {
            Some(p) => p.id.clone(),
            None => {
                return Err(CliError::Refused(format!(
                    "`--as {id}`: nobody with that id in people.toml"
                )))
            }
        },
        None => match signer_args::resolve(&args.signer, roster) {
            Ok(identity) => identity.person.id,
            Err(e) => {
                return Err(e.with_line(
                    "  (hint: `--print-payload --as ID` names the person who will sign)",
                ))
            }
        },
    };
    let target =
        ledger.decision_target(&args.system, &args.release, args.stage, args.run, decision)?;
    print!(
        "{}",
        statement::render(&target.statement(&person, decision, &args.note))
    );
    Ok(exit_code::OK)
}

fn with_signature(
    ledger: &mut Ledger,
    args: &DecisionArgs,
    decision: Decision,
    signature: &Path,
    digest: &str,
    roster: &crate::identity::Roster,
    notifier: &Notifier,
) -> Result<u8, CliError> {
    let payload_path = args
        .payload
        .clone()
        .unwrap_or_else(|| signature.with_extension(""));
    let read = |p: &Path| {
        std::fs::read_to_string(p)
            .map_err(|e| CliError::invalid(format!("cannot read `{}`: {e}", p.display())))
    };
    let text = read(&payload_path)?;
    let sig = read(signature)?;
    // The payload must be the decision asked for on the command line.
    if let Ok(s) = statement::parse_decision(&text) {
        let mismatch = [
            (s.system != args.system, "system"),
            (s.release != args.release, "release"),
            (s.stage != args.stage, "stage"),
            (s.decision != decision, "decision"),
            (args.run.is_some_and(|r| r != s.run), "run"),
            (
                args.signer
                    .actor
                    .as_deref()
                    .is_some_and(|a| roster.person(a).map(|p| &p.id) != Some(&s.person)),
                "person",
            ),
        ]
        .into_iter()
        .find_map(|(differs, what)| differs.then_some(what));
        if let Some(what) = mismatch {
            return Err(CliError::Refused(format!(
                "the signed payload names another {what} than this command"
            )));
        }
    }
    let outcome = ledger.decide(
        &SignedDecision {
            statement: &text,
            signature: &sig,
        },
        Some(digest),
    );
    report(ledger, args, decision, outcome, notifier)
}

fn report(
    ledger: &Ledger,
    args: &DecisionArgs,
    decision: Decision,
    outcome: Result<ApprovalOutcome, crate::ledger::LedgerError>,
    notifier: &Notifier,
) -> Result<u8, CliError> {
    let outcome = outcome?;
    if args.out.json() {
        args.out.emit(&DecisionJson {
            schema: DECISION_SCHEMA,
            decision,
            system: &args.system,
            release: &args.release,
            stage: args.stage,
            run: outcome.run,
            approvals: outcome.approvals,
            required: outcome.required,
            promoted: outcome.promoted,
            person: &outcome.person,
            fingerprint: &outcome.fingerprint,
        })?;
        if decision == Decision::Approve && outcome.promoted {
            tell_promoted(notifier, args, outcome.run);
        }
        return Ok(exit_code::OK);
    }
    let w = super::ui::words().cli;
    let stage = args.stage.as_str();
    let line = match decision {
        Decision::Reject => (w.commands.rejected)(outcome.run, &args.system, &args.release, stage),
        Decision::Approve if outcome.promoted => (w.commands.promoted)(
            outcome.run,
            outcome.approvals,
            outcome.required,
            stage,
            &args.system,
            &args.release,
        ),
        Decision::Approve => {
            (w.commands.approved_waiting)(outcome.run, outcome.approvals, outcome.required)
        }
    };
    println!("{line}");
    let who = ledger
        .actor()
        .map(|a| a.roster.clone())
        .or_else(|| {
            ledger
                .pinned_rosters()
                .ok()
                .and_then(|r| r.into_iter().last())
        })
        .and_then(|r| r.person(&outcome.person).cloned());
    let signer = match who {
        Some(person) => signer_args::describe(&person, &outcome.fingerprint),
        // A person missing from every roster is shown by id, with no name or roles.
        None => (w.commands.signer)(&outcome.person, None, &outcome.fingerprint),
    };
    println!("  {} {signer}", w.signed_by);
    if decision == Decision::Approve && outcome.promoted {
        tell_promoted(notifier, args, outcome.run);
    }
    Ok(exit_code::OK)
}
