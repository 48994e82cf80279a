//! `stagegate evidence`: write a release's evidence archive, or verify one.

use super::CliError;
use crate::evidence;
use crate::exit_code;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    pub command: Option<EvidenceCommand>,
    /// System.
    #[arg(required = true)]
    pub system: Option<String>,
    /// Release.
    #[arg(long, required = true)]
    pub release: Option<String>,
    /// The archive to write (`.tar.gz`).
    #[arg(short = 'o', long = "out", value_name = "FILE", required = true)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Check an archive: every file against the manifest, the ledger events against
    /// their hash chain, and every stored gate evaluated again from the files as run
    /// and the stored measurements. Exit 1, naming each problem, when anything changed.
    Verify {
        /// The archive. With the global `--ledger PATH` (or `STAGEGATE_LEDGER`), also
        /// check that this ledger still holds every event of the archive, unchanged: a
        /// cut-off tail or a rewritten history is reported.
        file: PathBuf,
    },
}

pub(super) fn run(
    ledger_path: &crate::ledger::LedgerLocation,
    against: Option<&crate::ledger::LedgerLocation>,
    args: EvidenceArgs,
) -> Result<u8, CliError> {
    match (args.command, args.system, args.release, args.output) {
        (Some(EvidenceCommand::Verify { file }), ..) => verify(&file, against),
        (None, Some(system), Some(release), Some(output)) => {
            write(ledger_path, &system, &release, &output)
        }
        _ => Err(CliError::invalid(
            "give a system, --release and -o FILE, or `verify FILE`",
        )),
    }
}

fn write(
    ledger_path: &crate::ledger::LedgerLocation,
    system: &str,
    release: &str,
    output: &Path,
) -> Result<u8, CliError> {
    let ledger = super::open_ledger_to_read(ledger_path)?;
    match evidence::write(&ledger, system, release, &super::ui::get().zone, output) {
        Ok(files) => {
            println!(
                "evidence of {system} {release}: {files} files in {}",
                output.display()
            );
            Ok(exit_code::OK)
        }
        Err(e @ evidence::EvidenceError::UnknownRelease { .. }) => Err(CliError::invalid(e)),
        Err(e) => Err(CliError::Failed(e.to_string())),
    }
}

fn verify(file: &Path, against: Option<&crate::ledger::LedgerLocation>) -> Result<u8, CliError> {
    if !file.is_file() {
        return Err(CliError::invalid(format!(
            "no archive at `{}`",
            file.display()
        )));
    }
    let entries = match evidence::archive::read(file) {
        Ok(e) => e,
        Err(e) => {
            println!(
                "evidence verification FAILED: `{}` cannot be read as a .tar.gz archive: {e}",
                file.display()
            );
            return Ok(exit_code::FAILED);
        }
    };
    let mut outcome = evidence::verify(&entries);
    if let Some(path) = against {
        let live = live_events(path)?;
        let archived: Vec<crate::ledger::AuditEvent> = entries
            .get(evidence::CHAIN)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        outcome
            .problems
            .extend(evidence::against_ledger::compare(&archived, &live));
    }
    if outcome.ok() {
        println!(
            "evidence ok: {} files match the manifest, {} ledger events match the hash chain, {} signatures valid, {} gates ({} criteria) evaluated again give the stored verdicts",
            outcome.files, outcome.events, outcome.signatures, outcome.runs, outcome.criteria
        );
        if let Some(path) = against {
            println!("  the ledger `{path}` still holds every event of the archive, unchanged");
        }
        Ok(exit_code::OK)
    } else {
        println!(
            "evidence verification FAILED: {} problem(s)",
            outcome.problems.len()
        );
        for p in &outcome.problems {
            println!("  - {p}");
        }
        Ok(exit_code::FAILED)
    }
}

fn live_events(
    path: &crate::ledger::LedgerLocation,
) -> Result<Vec<crate::ledger::AuditEvent>, CliError> {
    if !path.exists() {
        return Err(CliError::invalid(format!("no ledger at `{path}`")));
    }
    Ok(super::open_ledger(path)?.events(None, None)?)
}
