//! `stagegate status`: where every release stands, stage by stage.

use super::OutputFormat;
use crate::exit_code;
use crate::ledger::release_state::stages_of;
use crate::ledger::{Ledger, LedgerError, StageStatus};
use crate::report::command_words::CommandWords;
use crate::stage::StageId;
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this system.
    pub system: Option<String>,
    #[command(flatten)]
    pub out: super::output_args::OutputArgs,
}

/// The shape identifier of `status --output json`; bumped on any incompatible change.
pub const STATUS_SCHEMA: &str = "stagegate.status/v1";

/// `status --output json`: every release the ledger knows, in ledger order.
#[derive(Debug, Serialize)]
pub struct StatusJson<'a> {
    /// Always [`STATUS_SCHEMA`].
    pub schema: &'static str,
    /// One entry per release, each with its four stages in rollout order.
    pub releases: &'a [ReleaseState],
}

/// The state of one release.
#[derive(Debug, Serialize)]
pub struct ReleaseState {
    pub system: String,
    pub release: String,
    /// Always the four stages, in rollout order (`not-run` for a stage never run).
    pub stages: Vec<StageStatus>,
}

/// Computes every release's state from the ledger.
pub fn release_states(
    ledger: &Ledger,
    system: Option<&str>,
) -> Result<Vec<ReleaseState>, LedgerError> {
    let promotions = ledger.promotions(system)?;
    let runs = ledger.runs(system, None)?;
    let mut out = Vec::new();
    for (sys, release) in ledger.releases(system)? {
        let stages = stages_of(&sys, &release, &runs, &promotions);
        out.push(ReleaseState {
            system: sys,
            release,
            stages,
        });
    }
    Ok(out)
}

pub(super) fn run(
    ledger_path: &crate::ledger::LedgerLocation,
    args: StatusArgs,
) -> Result<u8, super::CliError> {
    args.out.check()?;
    let ledger = super::open_ledger(ledger_path)?;
    let states = release_states(&ledger, args.system.as_deref())?;
    match args.out.output {
        OutputFormat::Json => args
            .out
            .emit(&StatusJson {
                schema: STATUS_SCHEMA,
                releases: &states,
            })
            .map(|()| exit_code::OK),
        OutputFormat::Text => {
            print!(
                "{}",
                pipeline_table(&states, super::ui::words().cli.commands)
            );
            Ok(exit_code::OK)
        }
    }
}

/// The pipeline as a table in `words`' language: one row per release, one column per
/// stage (headed by its number and id, which are the same in every language).
pub fn pipeline_table(states: &[ReleaseState], words: &CommandWords) -> String {
    if states.is_empty() {
        return format!("{}\n", words.no_releases);
    }
    let [system, release] = words.status_columns;
    let mut out = format!("{system:<12} {release:<9}");
    for stage in StageId::ALL {
        out.push_str(&format!(" {:<19}", format!("{}:{}", stage.number(), stage)));
    }
    out.push('\n');
    for r in states {
        out.push_str(&format!("{:<12} {:<9}", r.system, r.release));
        for s in &r.stages {
            out.push_str(&format!(" {:<19}", (words.stage_state)(s.state)));
        }
        out.push('\n');
    }
    out
}
