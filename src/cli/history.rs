//! `stagegate history`: every event of one release, from the audit log.

use crate::exit_code;
use crate::ledger::{AuditEvent, RunState};
use crate::report::command_words::CommandWords;
use clap::Args;
use serde::Serialize;

/// The shape identifier of `history --output json`; bumped on any incompatible change.
pub const HISTORY_SCHEMA: &str = "stagegate.history/v1";

/// `history --output json`: the release's events in ledger order.
#[derive(Debug, Serialize)]
pub struct HistoryJson<'a> {
    /// Always [`HISTORY_SCHEMA`].
    pub schema: &'static str,
    /// System.
    pub system: &'a str,
    /// Release.
    pub release: &'a str,
    /// The events, oldest first.
    pub events: Vec<HistoryEvent<'a>>,
}

/// One audit event with its payload as the JSON object it is (the ledger stores it as
/// text; printing that text inside JSON would encode it twice). `statement`, the exact
/// text the key signed, stays a string: it is checked byte for byte.
#[derive(Debug, Serialize)]
pub struct HistoryEvent<'a> {
    /// The event as recorded, its payload left out.
    #[serde(flatten)]
    pub event: EventFields<'a>,
    /// The row recorded, as an object (as text when it is not JSON).
    pub payload: serde_json::Value,
}

/// The fields of an [`AuditEvent`] other than its payload.
#[derive(Debug, Serialize)]
pub struct EventFields<'a> {
    seq: i64,
    at: &'a str,
    kind: &'a str,
    system: &'a str,
    release: &'a str,
    stage: Option<&'a str>,
    actor: &'a str,
    prev_hash: &'a str,
    roster: &'a str,
    signer: &'a str,
    statement: &'a str,
    signature: &'a str,
    hash: &'a str,
}

impl<'a> HistoryEvent<'a> {
    fn of(e: &'a AuditEvent) -> HistoryEvent<'a> {
        HistoryEvent {
            event: EventFields {
                seq: e.seq,
                at: &e.at,
                kind: &e.kind,
                system: &e.system,
                release: &e.release,
                stage: e.stage.as_deref(),
                actor: &e.actor,
                prev_hash: &e.prev_hash,
                roster: &e.roster,
                signer: &e.signer,
                statement: &e.statement,
                signature: &e.signature,
                hash: &e.hash,
            },
            payload: serde_json::from_str(&e.payload)
                .unwrap_or_else(|_| serde_json::Value::String(e.payload.clone())),
        }
    }
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// System.
    pub system: String,
    /// Release.
    #[arg(long)]
    pub release: String,
    #[command(flatten)]
    pub out: super::output_args::OutputArgs,
}

pub(super) fn run(
    ledger_path: &crate::ledger::LedgerLocation,
    args: HistoryArgs,
) -> Result<u8, super::CliError> {
    args.out.check()?;
    let ledger = super::open_ledger(ledger_path)?;
    let events = ledger.events(Some(&args.system), Some(&args.release))?;
    if args.out.json() {
        args.out.emit(&HistoryJson {
            schema: HISTORY_SCHEMA,
            system: &args.system,
            release: &args.release,
            events: events.iter().map(HistoryEvent::of).collect(),
        })?;
        return Ok(exit_code::OK);
    }
    let ui = super::ui::get();
    let w = ui.lang.messages().cli.commands;
    if events.is_empty() {
        println!("{}", (w.no_history)(&args.system, &args.release));
        return Ok(exit_code::OK);
    }
    for e in &events {
        println!(
            "#{:<4} {}  {:<18} {:<17} {:<12} {}  [{} {}]",
            e.seq,
            // Vietnamese shows local time, day first, as its reports do; English the
            // ledger's UTC as recorded.
            ui.lang.messages().time(&e.at, &ui.zone),
            (w.event_kind)(&e.kind),
            e.stage.as_deref().unwrap_or("-"),
            e.actor,
            detail(e, w),
            w.history_signed,
            e.signer
        );
    }
    Ok(exit_code::OK)
}

/// What one event adds to its line (a run's id and state or environment, a decision's
/// note), read from its recorded payload; nothing for other events.
fn detail(e: &AuditEvent, w: &CommandWords) -> String {
    let Ok(d) = serde_json::from_str::<serde_json::Value>(&e.payload) else {
        return String::new();
    };
    let id = d["id"].to_string();
    match e.kind.as_str() {
        "run-finished" | "run-aborted" => {
            let state = serde_json::from_value::<RunState>(d["state"].clone())
                .map_or("?", |state| (w.run_state)(state));
            (w.history_run_ended)(&id, state)
        }
        "run-started" => (w.history_run_started)(&id, d["environment"].as_str().unwrap_or("?")),
        "approval" | "rejection" => (w.history_note)(d["note"].as_str().unwrap_or("")),
        _ => String::new(),
    }
}
