//! `stagegate history`: every event of one release, from the audit log.

use super::OutputFormat;
use crate::exit_code;
use clap::Args;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// System.
    pub system: String,
    /// Release.
    #[arg(long)]
    pub release: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

pub(super) fn run(
    ledger_path: &crate::ledger::LedgerLocation,
    args: HistoryArgs,
) -> Result<u8, super::CliError> {
    let ledger = super::open_ledger(ledger_path)?;
    let events = ledger.events(Some(&args.system), Some(&args.release))?;
    if args.output == OutputFormat::Json {
        return super::print_json(&events);
    }
    if events.is_empty() {
        println!("no history for {} {}", args.system, args.release);
        return Ok(exit_code::OK);
    }
    for e in &events {
        let detail = serde_json::from_str::<serde_json::Value>(&e.payload).ok();
        let extra = match e.kind.as_str() {
            "run-finished" | "run-aborted" => detail
                .as_ref()
                .map(|d| format!("run #{} {}", d["id"], d["state"].as_str().unwrap_or("?")))
                .unwrap_or_default(),
            "run-started" => detail
                .as_ref()
                .map(|d| {
                    format!(
                        "run #{} on {}",
                        d["id"],
                        d["environment"].as_str().unwrap_or("?")
                    )
                })
                .unwrap_or_default(),
            "approval" | "rejection" => detail
                .as_ref()
                .map(|d| format!("note: {}", d["note"].as_str().unwrap_or("")))
                .unwrap_or_default(),
            _ => String::new(),
        };
        println!(
            "#{:<4} {}  {:<18} {:<17} {:<12} {}  [signed {}]",
            e.seq,
            e.at,
            e.kind,
            e.stage.as_deref().unwrap_or("-"),
            e.actor,
            extra,
            e.signer
        );
    }
    Ok(exit_code::OK)
}
