//! `stagegate evidence`: write a release's evidence archive, or verify one.

use super::output_args::OutputArgs;
use super::CliError;
use crate::evidence;
use crate::exit_code;
use clap::{Args, Subcommand};
use serde::Serialize;
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
        #[command(flatten)]
        out: OutputArgs,
    },
}

/// The shape identifier of `evidence verify --output json`.
pub const EVIDENCE_VERIFY_SCHEMA: &str = "stagegate.evidence-verify/v1";

/// `evidence verify --output json`.
#[derive(Debug, Serialize)]
struct VerifyJson<'a> {
    /// Always [`EVIDENCE_VERIFY_SCHEMA`].
    schema: &'static str,
    /// No problem found (exit 0).
    ok: bool,
    /// The archive checked.
    archive: &'a Path,
    /// Files checked against the manifest.
    files: usize,
    /// Ledger events checked against the hash chain.
    events: usize,
    /// Signatures checked.
    signatures: usize,
    /// Runs whose gate was evaluated again.
    runs: usize,
    /// Criteria evaluated again.
    criteria: usize,
    /// The ledger the archive's events were compared with (`--ledger`), if any.
    ledger: Option<String>,
    /// Every problem, in words naming the file, event, run or criterion.
    problems: &'a [String],
}

pub(super) fn run(
    ledger_path: &crate::ledger::LedgerLocation,
    against: Option<&crate::ledger::LedgerLocation>,
    args: EvidenceArgs,
) -> Result<u8, CliError> {
    match (args.command, args.system, args.release, args.output) {
        (Some(EvidenceCommand::Verify { file, out }), ..) => {
            out.check()?;
            verify(&file, against, &out)
        }
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

fn verify(
    file: &Path,
    against: Option<&crate::ledger::LedgerLocation>,
    out: &OutputArgs,
) -> Result<u8, CliError> {
    if !file.is_file() {
        return Err(CliError::invalid(format!(
            "no archive at `{}`",
            file.display()
        )));
    }
    let entries = match evidence::archive::read(file) {
        Ok(e) => e,
        Err(e) => {
            let problem = format!(
                "`{}` cannot be read as a .tar.gz archive: {e}",
                file.display()
            );
            if out.json() {
                out.emit(&VerifyJson {
                    schema: EVIDENCE_VERIFY_SCHEMA,
                    ok: false,
                    archive: file,
                    files: 0,
                    events: 0,
                    signatures: 0,
                    runs: 0,
                    criteria: 0,
                    ledger: against.map(|l| l.to_string()),
                    problems: &[problem],
                })?;
            } else {
                println!("evidence verification FAILED: {problem}");
            }
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
    if out.json() {
        out.emit(&VerifyJson {
            schema: EVIDENCE_VERIFY_SCHEMA,
            ok: outcome.ok(),
            archive: file,
            files: outcome.files,
            events: outcome.events,
            signatures: outcome.signatures,
            runs: outcome.runs,
            criteria: outcome.criteria,
            ledger: against.map(|l| l.to_string()),
            problems: &outcome.problems,
        })?;
        return Ok(if outcome.ok() {
            exit_code::OK
        } else {
            exit_code::FAILED
        });
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
