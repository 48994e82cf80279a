//! `stagegate run`: one stage of one release, end to end. Builds the plan, refuses what
//! the rules refuse before anything starts, hands the stage to the runner with the
//! outputs asked for, and shows the verdict.

use super::metrics_args::{LiveMetrics, MetricsArgs};
use super::outputs::RunOutputs;
use super::{ui, CliError, OutputFormat};
use crate::exit_code;
use crate::gate::GateOutcome;
use crate::ledger::RunState;
use crate::notify::{Notifier, RunNotifier};
use crate::plan::Plan;
use crate::report::{HTML_FILE, JUNIT_FILE, SUMMARY_FILE};
use crate::run::{self, Cancel, RunRecord, RunRequest};
use crate::stage::StageId;
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// System (a folder under `scenarios/`).
    pub system: String,
    /// Release under test; the environment must serve it.
    #[arg(long)]
    pub release: String,
    /// Stage to run.
    #[arg(long)]
    pub stage: StageId,
    #[command(flatten)]
    pub signer: super::signer_args::SignerArgs,
    /// Folder for reports [default: <root>/.stagegate/runs].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Output format of the verdict on standard output.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Also write the run's events to FILE as JSON Lines, one object a line (see the
    /// README, "Event log").
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub sharding: super::shard_args::ShardArgs,
}

pub(super) async fn run(
    root: &Path,
    ledger_path: &crate::ledger::LedgerLocation,
    args: RunArgs,
) -> Result<u8, CliError> {
    // Caught from the start, so that no later handler (goose's) takes them.
    let cancel = Cancel::new();
    run::signals::install(&cancel).map_err(|e| CliError::Internal(e.to_string()))?;
    let project = super::project(root)?;
    let plan = crate::plan::build(
        &project,
        &args.system,
        &args.release,
        args.stage,
        args.sharding.processes(),
    )?;
    for note in &plan.notes {
        ui::eprint_message(&format!("note: {note}"));
    }
    let mut ledger = super::ledger(ledger_path)?;
    let secrets = |name: &str| std::env::var(name).ok();
    // Who runs it: the key's owner in people.toml; every event of the run is signed.
    let actor = super::signer_args::actor(&project, &args.signer)?;
    let signed_by =
        super::signer_args::describe(&actor.identity.person, &actor.identity.fingerprint);
    let person = actor.identity.person.id.clone();
    ledger.sign_as(actor)?;
    run::preflight(&plan, &ledger, &secrets)?;
    // The ledger keeps the report folder's path: absolute, so `stagegate report` and
    // `stagegate evidence` find it from any working directory.
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join(".stagegate").join("runs"));
    let out = std::path::absolute(&out).unwrap_or(out);
    let outputs = RunOutputs::new(args.events.as_deref())?;
    // Before the container starts, so that a bad metrics flag leaves nothing to clean up.
    let live = LiveMetrics::start(&args.metrics)
        .await
        .map_err(CliError::invalid)?;
    // Gate, approval and abort notifications: sent in the background, waited for
    // (boundedly) only after the verdict is shown.
    let notifier = Notifier::new(
        project
            .system(&args.system)
            .map(|s| s.rollout.notify.clone())
            .unwrap_or_default(),
    );
    let run_notifier = RunNotifier::new(&notifier);
    let consumers = outputs.consumers(live.as_ref()).with(&run_notifier);
    let shards = args.sharding.setup(root)?;
    let request = RunRequest {
        plan: &plan,
        actor: &person,
        out_dir: &out,
        shards: shards.as_ref(),
    };
    let ran = run::execute(root, &request, &secrets, &mut ledger, &cancel, &consumers).await;
    let unwritten = consumers.take_failures();
    let record = match ran {
        Ok(record) => record,
        Err(e) => {
            if let Some(live) = live {
                live.finish().await;
            }
            notifier.finish(super::approve::NOTIFY_WAIT);
            return Err(e.into());
        }
    };
    show(&plan, &record, &signed_by, args.output);
    notifier.finish(super::approve::NOTIFY_WAIT);
    // The verdict is shown first; then the final metrics are pushed and, with
    // `--metrics-linger`, left up for one last scrape — unless a signal ended the run.
    if let (Some(live), None) = (live, cancel.signal()) {
        live.finish().await;
    }
    if let Some(first) = unwritten.first() {
        return Err(CliError::Internal(format!(
            "run #{} was recorded, but {first}",
            record.run.id
        )));
    }
    Ok(match (record.run.state, record.verdict.outcome) {
        (RunState::Aborted, _) => exit_code::ABORTED,
        (_, GateOutcome::Passed) => exit_code::OK,
        (_, GateOutcome::Failed) => exit_code::FAILED,
    })
}

/// The shape identifier of `run --output json`; bumped on any incompatible change.
pub const RUN_SCHEMA: &str = "stagegate.run/v1";

/// `run --output json`: the verdict and where the full summary is.
#[derive(Debug, Serialize)]
struct RunJson<'a> {
    /// Always [`RUN_SCHEMA`].
    schema: &'static str,
    /// The run's id in the ledger (`approve --run N`).
    run_id: i64,
    state: RunState,
    verdict: &'a crate::gate::GateVerdict,
    /// The run's `summary.json` (format `stagegate.run-summary/v1`).
    summary: &'a Path,
}

/// The verdict on standard output, as text or JSON.
fn show(plan: &Plan, record: &RunRecord, signed_by: &str, format: OutputFormat) {
    let summary = record.report_dir.join(SUMMARY_FILE);
    if format == OutputFormat::Json {
        let _ = super::print_json(&RunJson {
            schema: RUN_SCHEMA,
            run_id: record.run.id,
            state: record.run.state,
            verdict: &record.verdict,
            summary: &summary,
        });
        return;
    }
    let w = ui::words().cli;
    ui::out(&ui::verdict_table(&record.verdict));
    for f in &record.findings {
        println!("  finding [{}] {} at {}", f.severity, f.check, f.url);
    }
    // Latency is judged corrected for coordinated omission; the stalls behind a
    // corrected tail are listed, as `load` lists them.
    for stall in &record.measurements.stalls {
        println!(
            "  stall      at {:.1}s nothing completed for {:.0}ms, {} request(s) waiting",
            stall.at_s, stall.duration_ms, stall.waiting
        );
    }
    println!("  {} {signed_by}", w.signed_by);
    println!("  {} {}", w.summary, summary.display());
    println!(
        "  {} {}",
        w.report,
        record.report_dir.join(HTML_FILE).display()
    );
    println!(
        "  {} {}",
        w.junit,
        record.report_dir.join(JUNIT_FILE).display()
    );
    if record.verdict.outcome == GateOutcome::Passed && record.run.state == RunState::Passed {
        println!(
            "  {} stagegate approve {} --release {} --stage {} {}",
            w.next, plan.system, plan.release, plan.stage, w.next_signed
        );
    }
}
