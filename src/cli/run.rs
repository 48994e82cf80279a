//! `stagegate run`: one stage of one release, end to end.

use super::interruption::{self, Interrupts, RunTracker};
use super::metrics_args::LiveMetrics;
use super::progress::TerminalProgress;
use super::provisioning;
use super::OutputFormat;
use crate::exit_code;
use crate::gate::GateOutcome;
use crate::report;
use crate::stage::StageId;
use crate::stage_run::{self, StageRunError};
use clap::Args;
use std::path::{Path, PathBuf};

/// How long an interrupted load may take to stop and record its run before the stage
/// is abandoned and recorded as aborted here: goose stops users within a second; ten
/// leaves room for in-flight requests to time out on a struggling system.
const LOAD_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

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
    #[command(flatten)]
    pub metrics: super::metrics_args::MetricsArgs,
}

pub(super) async fn run(
    root: &Path,
    ledger_path: &crate::ledger::LedgerLocation,
    args: RunArgs,
) -> u8 {
    // Caught from the start, so that no later handler (goose's) takes them.
    let mut interrupts = match Interrupts::install() {
        Ok(i) => i,
        Err(code) => return code,
    };
    let project = match super::load_project(root) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let plan = match crate::plan::build(&project, &args.system, &args.release, args.stage) {
        Ok(p) => p,
        Err(e) => {
            eprint!("error: {e}");
            return exit_code::INVALID_INPUT;
        }
    };
    let mut ledger = match super::open_ledger(ledger_path) {
        Ok(l) => l,
        Err(code) => return code,
    };
    // Refuse before anything starts (metrics server, container): first a missing secret
    // (invalid input, exit 2), then a stage out of order (exit 3).
    if let Err(crate::plan::TargetError::MissingSecret(e)) =
        crate::plan::Target::resolve(&plan.environment, |name| std::env::var(name).ok())
    {
        eprintln!("error: {e}");
        return exit_code::INVALID_INPUT;
    }
    // Who runs it: the key's owner in people.toml; every event of the run is signed.
    let actor = match super::signer_args::actor(&project, &args.signer) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let signed_by =
        super::signer_args::describe(&actor.identity.person, &actor.identity.fingerprint);
    let person = actor.identity.person.id.clone();
    if let Err(e) = ledger.sign_as(actor) {
        return super::ledger_failure(&e);
    }
    if let Err(e) = ledger.may_begin(&plan.system, &plan.release, plan.stage) {
        return super::ledger_failure(&e);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join(".stagegate").join("runs"));
    // The ledger keeps the report folder's path: absolute, so `stagegate report` and
    // `stagegate evidence` find it from any working directory.
    let out = std::path::absolute(&out).unwrap_or(out);
    // Before the container starts, so that a bad metrics flag leaves nothing to clean up.
    let live = match LiveMetrics::start(&args.metrics).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return exit_code::INVALID_INPUT;
        }
    };
    let container = match provisioning::start(root, &plan, &mut interrupts).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = container
        .as_ref()
        .map_or_else(|| plan.clone(), |c| c.point(&plan));
    let secrets = |name: &str| std::env::var(name).ok();
    let tracker = RunTracker::new(TerminalProgress::new());
    let sink = LiveMetrics::sink(&live, &tracker);
    let ended = {
        let stage = stage_run::run_stage(&plan, &mut ledger, &person, &out, &secrets, &*sink);
        tokio::pin!(stage);
        let first = tokio::select! {
            result = &mut stage => Ok(result),
            signal = interrupts.recv() => Err(signal),
        };
        match first {
            // During a load, the load stops itself and the stage records the run as
            // aborted with what was measured (summary.json included). A second signal,
            // or a load that does not stop in time, ends the stage here instead.
            Err(signal) if tracker.load_running() => {
                eprintln!("  {signal}: stopping the load ...");
                crate::load::interrupt(&format!("interrupted by {signal}"));
                tokio::select! {
                    result = &mut stage => Ok(result),
                    again = interrupts.recv() => Err(again),
                    _ = tokio::time::sleep(LOAD_STOP_GRACE) => Err(signal),
                }
            }
            other => other,
        }
    };
    drop(sink);
    let report_dir = tracker
        .run_id()
        .map(|id| stage_run::report_dir(&out, &plan, id));
    provisioning::finish(container, report_dir.as_deref()).await;
    let outcome = match ended {
        Err(signal) => {
            // No lingering for a last scrape: an interrupted command should end now.
            return interruption::record_aborted(
                &mut ledger,
                tracker.run_id(),
                report_dir.as_deref(),
                signal,
            );
        }
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            if let Some(live) = live {
                live.finish().await;
            }
            return match e {
                StageRunError::Target(_) => exit_code::INVALID_INPUT,
                StageRunError::Ledger(crate::ledger::LedgerError::Refused(_))
                | StageRunError::WrongRelease { .. } => exit_code::REFUSED,
                StageRunError::Ledger(_) | StageRunError::Reports { .. } => exit_code::FAILED,
            };
        }
    };
    match args.output {
        OutputFormat::Json => {
            let _ = super::print_json(&serde_json::json!({
                "run_id": outcome.run.id,
                "state": outcome.run.state,
                "verdict": outcome.verdict,
                "summary": outcome.summary_path,
            }));
        }
        OutputFormat::Text => {
            println!("{}", report::verdict_table(&outcome.verdict));
            for f in &outcome.findings {
                println!("  finding [{}] {} at {}", f.severity, f.check, f.url);
            }
            println!("  signed by {signed_by}");
            println!("  summary: {}", outcome.summary_path.display());
            if let Some(dir) = outcome.summary_path.parent() {
                println!(
                    "  report:  {}",
                    dir.join(crate::report::HTML_FILE).display()
                );
                println!(
                    "  junit:   {}",
                    dir.join(crate::report::JUNIT_FILE).display()
                );
            }
            if outcome.verdict.outcome == GateOutcome::Passed {
                println!(
                    "  next: stagegate approve {} --release {} --stage {} (signed by a release manager's key)",
                    plan.system, plan.release, plan.stage
                );
            }
        }
    }
    // The verdict is shown first; then the final metrics are pushed and, with
    // `--metrics-linger`, left up for one last scrape.
    if let Some(live) = live {
        live.finish().await;
    }
    match outcome.verdict.outcome {
        GateOutcome::Passed => exit_code::OK,
        GateOutcome::Failed => exit_code::FAILED,
    }
}
