//! `stagegate ledger verify`: check the audit chain and every table against it.

use crate::exit_code;
use clap::Subcommand;
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute the hash chain and compare every stored row with the event that
    /// recorded it. Exit 1, naming the first bad event, when anything was edited.
    Verify,
}

pub(super) fn run(ledger_path: &Path, cmd: LedgerCommand) -> u8 {
    match cmd {
        LedgerCommand::Verify => {
            if !ledger_path.exists() {
                eprintln!("error: no ledger at `{}`", ledger_path.display());
                return exit_code::INVALID_INPUT;
            }
            let ledger = match super::open_ledger(ledger_path) {
                Ok(l) => l,
                Err(code) => return code,
            };
            match ledger.verify() {
                Ok(Ok(n)) => {
                    println!(
                        "ledger ok: {n} events, hash chain intact, every record matches its event"
                    );
                    exit_code::OK
                }
                Ok(Err(problem)) => {
                    println!("ledger verification FAILED: {problem}");
                    exit_code::FAILED
                }
                Err(e) => super::ledger_failure(&e),
            }
        }
    }
}
